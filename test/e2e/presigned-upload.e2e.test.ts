import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import { sqliteLeaseQueue } from '../../src/adapters/lease-queue/sqlite-lease-queue.ts';
import { S3BlobStore, s3ClientConfigFromEnv } from '../../src/adapters/s3/s3-blob-store.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.ts';
import type { ApiConfig, ApiDeps } from '../../src/api/api-deps.ts';
import { buildApi } from '../../src/api/build-api.ts';
import { createKey } from '../../src/api/routes/admin-routes.ts';
import { GuardedFetcher } from '../../src/net/guarded-fetcher.ts';
import { SsrfPolicy } from '../../src/net/ssrf-policy.ts';
import { defaultProbeLimits } from '../../src/pipeline/probe.ts';
import { multipartBody, startHarness } from '../api/api-harness.ts';
import { ffmpeg, makeClip, tempDir } from '../helpers/media.ts';
import { startS3, uniqueName } from '../helpers/services.ts';

/**
 * Stateless API nodes on S3 (issue 7): multipart uploads, presigned uploads and URL inputs are
 * streamed into the bucket and probed there (ffprobe over a presigned GET of our own key), so
 * the API node's temp dir is never even created.
 *
 * `POST /v1/uploads/presign`: with S3 storage the client sends the video to the bucket itself
 * (the API node's disk never sees the upload); a job using its video_url probes it from S3 before
 * any credit moves. Against OpenStack Swift (s3api), through the real API over SQLite.
 */
const s3 = await startS3();
const skip = typeof s3 === 'string' ? s3 : false;

interface Presigned {
  video_id: string;
  video_url: string;
  upload_url: string;
  method: string;
  expires_at: string;
}

describe('presigned uploads', () => {
  it('embedded storage (local disk) refuses with invalid_request and says what to use instead', async () => {
    const h = await startHarness();
    try {
      const { key } = await h.newKey(10);
      const r = await h.app.inject({
        method: 'POST',
        url: '/v1/uploads/presign',
        headers: { 'x-api-key': key },
        payload: { filename: 'clip.mp4' },
      });
      assert.equal(r.statusCode, 400, r.body);
      const body = r.json() as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'invalid_request');
      assert.match(body.error.message, /S3/);
      assert.match(body.error.message, /POST \/v1\/uploads/);
    } finally {
      await h.close();
    }
  });

  describe('on S3 (Swift)', { skip }, () => {
    let app: FastifyInstance;
    let deps: ApiDeps;
    let client: S3Client;
    let bucket: string;
    let dir: string;
    let cleanup: () => Promise<void>;
    let keyA: { id: string; key: string };
    let keyB: { id: string; key: string };
    let clip: Buffer;
    let png: Buffer;
    let media: Server;
    let mediaBase: string;

    before(async () => {
      if (typeof s3 === 'string') return;
      ({ dir, cleanup } = await tempDir('alphacut-presign-'));
      client = new S3Client(s3ClientConfigFromEnv(s3.env));
      bucket = uniqueName('alphacut-presign').replaceAll('_', '-');
      const blobs = new S3BlobStore({ client, bucket, prefix: 'p', scratchDir: join(dir, 'scratch') });
      await blobs.ensureBucket();
      const database = await openSqliteDatabase(join(dir, 'alphacut.db'));
      const store = sqliteJobStore(database);
      const config: ApiConfig = {
        adminToken: 'admin',
        signingSecret: 'secret',
        publicBaseUrl: undefined,
        fileUrlTtlSeconds: 86400,
        uploadMaxBytes: 5 * 1024 * 1024,
        fetchMaxBytes: 5 * 1024 * 1024,
        rateLimit: { limit: 1000, windowMs: 60_000 },
        maxActiveJobs: 10,
        probeLimits: defaultProbeLimits,
        keyPepper: undefined,
        defaultKeyCredits: 0,
      };
      deps = {
        store,
        queue: sqliteLeaseQueue(database),
        blobs,
        config,
        clock: () => new Date(),
        fetcher: new GuardedFetcher(SsrfPolicy.fromList('127.0.0.1/32')),
      };
      app = await buildApi(deps);
      await app.ready();
      const a = await createKey(store, { credits: 100 });
      const b = await createKey(store, { credits: 100 });
      keyA = { id: a.record.id, key: a.key };
      keyB = { id: b.record.id, key: b.key };
      const path = join(dir, 'clip.mp4');
      await makeClip(path, { seconds: 2 });
      clip = await readFile(path);
      const pngPath = join(dir, 'bg.png');
      await ffmpeg(['-f', 'lavfi', '-i', 'color=red:s=64x48', '-frames:v', '1', pngPath]);
      png = await readFile(pngPath);
      media = createServer((req, res) => {
        const body = req.url === '/clip.mp4' ? clip : req.url === '/bg.png' ? png : undefined;
        if (body) res.writeHead(200, { 'content-length': body.length }).end(body);
        else if (req.url === '/notes.mp4') res.writeHead(200).end('not a video\n'.repeat(100));
        else res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => media.listen(0, '127.0.0.1', resolve));
      mediaBase = `http://127.0.0.1:${(media.address() as AddressInfo).port}`;
    });
    after(async () => {
      media?.close();
      await app?.close();
      await deps?.queue.close();
      await deps?.store.close();
      if (client) {
        const left = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
        for (const o of left.Contents ?? [])
          if (o.Key) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
        await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
        client.destroy();
      }
      await cleanup?.();
    });

    const presign = async (key: string, payload: object = { filename: 'clip.mp4' }): Promise<Presigned> => {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/uploads/presign',
        headers: { 'x-api-key': key },
        payload,
      });
      assert.equal(r.statusCode, 201, r.body);
      return r.json();
    };
    const createJob = (key: string, videoUrl: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'x-api-key': key },
        payload: { video_url: videoUrl, model: 'human' },
      });
    const put = (url: string, body: Buffer): Promise<Response> =>
      fetch(url, { method: 'PUT', body: new Uint8Array(body) });
    const bucketKeys = async (): Promise<string[]> =>
      ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!);
    const scratchLeft = async (): Promise<string[]> => [
      ...(await readdir(join(dir, 'scratch')).catch(() => [])),
      ...(await readdir(join(dir, 'tmp')).catch(() => [])),
    ];

    /** The API node's own disk: its temp dir and the S3 store's localPath scratch are never made. */
    const assertNoLocalDisk = (): void => {
      assert.equal(existsSync(join(dir, 'tmp')), false, 'the temp dir was never created');
      assert.equal(existsSync(join(dir, 'scratch')), false, 'nothing was downloaded for a probe');
    };
    const uploadMultipart = (
      key: string,
      file: Buffer,
      name: string,
      headers: Record<string, string> = {},
    ) => {
      const mp = multipartBody('file', name, file);
      return app.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: { 'x-api-key': key, ...headers, ...mp.headers },
        payload: mp.payload,
      });
    };
    const keysOf = async (keyId: string, folder: string): Promise<string[]> =>
      (await bucketKeys()).filter((k) => k.startsWith(`p/${keyId}/${folder}/`));

    it('a multipart upload streams into S3 and is probed there; a replay stores nothing more', async () => {
      const k = await createKey(deps.store, { credits: 100 });
      const r = await uploadMultipart(k.key, clip, 'clip.mp4', { 'idempotency-key': 'mp-1' });
      assert.equal(r.statusCode, 201, r.body);
      const up = r.json() as { video_id: string; size: number; duration_seconds: number; width: number };
      assert.equal(up.size, clip.length);
      assert.ok(Math.abs(up.duration_seconds - 2) < 0.1, String(up.duration_seconds));
      assert.equal(up.width, 320);
      assert.deepEqual(await keysOf(k.record.id, 'uploads'), [
        `p/${k.record.id}/uploads/${up.video_id}/video.mp4`,
      ]);
      const again = await uploadMultipart(k.key, clip, 'clip.mp4', { 'idempotency-key': 'mp-1' });
      assert.equal(again.statusCode, 201, again.body);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal((again.json() as { video_id: string }).video_id, up.video_id);
      // The replay is answered before its handler deletes the copy it stored: wait for that.
      let uploads = await keysOf(k.record.id, 'uploads');
      for (let i = 0; i < 40 && uploads.length > 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        uploads = await keysOf(k.record.id, 'uploads');
      }
      assert.equal(uploads.length, 1, `the replayed copy was deleted: ${uploads.join(' ')}`);
      // The upload makes a job like on local disk (a server-side copy into the job's folder).
      const job = await createJob(k.key, `http://localhost/v1/uploads/${up.video_id}`);
      assert.equal(job.statusCode, 201, job.body);
      const jobKeys = await keysOf(k.record.id, 'jobs');
      assert.equal(jobKeys.length, 1, jobKeys.join(' '));
      assert.match(jobKeys[0] ?? '', /\/input\.mp4$/);
      assertNoLocalDisk();
    });

    it('a multipart non-video is refused 422 and an oversized file 413; neither leaves an object', async () => {
      const k = await createKey(deps.store, { credits: 100 });
      const text = await uploadMultipart(k.key, Buffer.from('not a video at all\n'.repeat(100)), 'notes.mp4');
      assert.equal(text.statusCode, 422, text.body);
      assert.equal((text.json() as { error: { code: string } }).error.code, 'unsupported_media');
      assert.doesNotMatch(text.body, /X-Amz|https?:\/\//, 'no presigned URL in the message');
      const big = await uploadMultipart(k.key, Buffer.alloc(6 * 1024 * 1024, 1), 'big.mp4');
      assert.equal(big.statusCode, 413, big.body);
      assert.equal((big.json() as { error: { code: string } }).error.code, 'payload_too_large');
      assert.deepEqual(await keysOf(k.record.id, 'uploads'), []);
      assertNoLocalDisk();
    });

    it('a URL input and an image background stream into S3 and are checked there', async () => {
      const k = await createKey(deps.store, { credits: 100 });
      const r = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'x-api-key': k.key },
        payload: {
          video_url: `${mediaBase}/clip.mp4`,
          background: { type: 'image', image_url: `${mediaBase}/bg.png` },
          auto_start: false,
        },
      });
      assert.equal(r.statusCode, 201, r.body);
      assert.ok(Math.abs((r.json() as { duration_seconds: number }).duration_seconds - 2) < 0.1);
      const jobKeys = (await keysOf(k.record.id, 'jobs')).map((x) => x.split('/').pop()).sort();
      assert.deepEqual(jobKeys, ['background.png', 'input.mp4'], 'no staging object left');
      const bad = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'x-api-key': k.key },
        payload: { video_url: `${mediaBase}/notes.mp4` },
      });
      assert.equal(bad.statusCode, 422, bad.body);
      assert.match(bad.body, /video_url: /);
      assert.doesNotMatch(bad.body, /X-Amz/);
      const notImage = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'x-api-key': k.key },
        payload: {
          video_url: `${mediaBase}/clip.mp4`,
          background: { type: 'image', image_url: `${mediaBase}/notes.mp4` },
        },
      });
      assert.equal(notImage.statusCode, 422, notImage.body);
      assert.equal((await keysOf(k.record.id, 'jobs')).length, 2, 'refused jobs left no object');
      assertNoLocalDisk();
    });

    it('the client PUTs to S3; a job from its video_url is probed from S3 and reserves credits', async () => {
      const p = await presign(keyA.key);
      assert.equal(p.method, 'PUT');
      assert.match(p.video_url, /\/v1\/uploads\/upl_/);
      const ttl = Date.parse(p.expires_at) - Date.now();
      assert.ok(ttl > 3500_000 && ttl <= 3600_000, p.expires_at);
      assert.ok(!p.upload_url.includes(keyA.key), 'the API key never appears in the URL');
      const res = await put(p.upload_url, clip);
      assert.ok(res.ok, `PUT ${res.status} ${await res.text()}`);
      assert.ok((await bucketKeys()).some((k) => k.includes(`/uploads/${p.video_id}/`)));

      const created = await createJob(keyA.key, p.video_url);
      assert.equal(created.statusCode, 201, created.body);
      const job = created.json() as {
        id: string;
        status: string;
        duration_seconds: number;
        credits_reserved: number;
      };
      assert.equal(job.status, 'pending');
      assert.ok(Math.abs(job.duration_seconds - 2) < 0.1, String(job.duration_seconds));
      assert.ok(job.credits_reserved > 0);
      const record = await deps.store.getJob(keyA.id, job.id);
      assert.ok(record?.inputBlob);
      const copy = await deps.blobs.stat(record.inputBlob);
      assert.equal(copy?.size, clip.length, "the job's input is the uploaded file");
      assert.deepEqual(await scratchLeft(), [], 'the probe copy is deleted');
      assertNoLocalDisk();
      assert.equal(await deps.queue.has(job.id), true);
    });

    it("another key's presigned upload answers 404, like a missing one", async () => {
      const p = await presign(keyA.key);
      assert.ok((await put(p.upload_url, clip)).ok);
      const r = await createJob(keyB.key, p.video_url);
      assert.equal(r.statusCode, 404, r.body);
      assert.equal((await deps.store.getBalance(keyB.id)).reserved, 0);
    });

    it('nothing PUT yet, or not a video: refused before any credit moves', async () => {
      const before = await deps.store.getBalance(keyA.id);
      const empty = await presign(keyA.key);
      const r1 = await createJob(keyA.key, empty.video_url);
      assert.equal(r1.statusCode, 400, r1.body);
      assert.match(r1.body, /PUT the video to its upload_url/);

      const jobObjects = await keysOf(keyA.id, 'jobs');
      const text = await presign(keyA.key, { filename: 'notes.mp4' });
      assert.ok((await put(text.upload_url, Buffer.from('not a video at all\n'.repeat(100)))).ok);
      const r2 = await createJob(keyA.key, text.video_url);
      assert.equal(r2.statusCode, 422, r2.body);
      assert.equal((r2.json() as { error: { code: string } }).error.code, 'unsupported_media');
      assert.ok(!r2.body.includes(dir), 'no server path in the message');
      assert.deepEqual(await deps.store.getBalance(keyA.id), before);
      assert.deepEqual(await scratchLeft(), []);
      assert.deepEqual(await keysOf(keyA.id, 'jobs'), jobObjects, 'the refused job left no copy');
      assertNoLocalDisk();
    });

    it('a declared size over the upload limit is refused up front', async () => {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/uploads/presign',
        headers: { 'x-api-key': keyA.key },
        payload: { filename: 'big.mp4', size: 6 * 1024 * 1024 },
      });
      assert.equal(r.statusCode, 413, r.body);
    });
  });
});
