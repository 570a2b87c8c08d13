import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
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
import { startHarness } from '../api/api-harness.ts';
import { makeClip, tempDir } from '../helpers/media.ts';
import { startS3, uniqueName } from '../helpers/services.ts';

/**
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
        tmpDir: join(dir, 'tmp'),
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
    });
    after(async () => {
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

      const text = await presign(keyA.key, { filename: 'notes.mp4' });
      assert.ok((await put(text.upload_url, Buffer.from('not a video at all\n'.repeat(100)))).ok);
      const r2 = await createJob(keyA.key, text.video_url);
      assert.equal(r2.statusCode, 422, r2.body);
      assert.equal((r2.json() as { error: { code: string } }).error.code, 'unsupported_media');
      assert.ok(!r2.body.includes(dir), 'no server path in the message');
      assert.deepEqual(await deps.store.getBalance(keyA.id), before);
      assert.deepEqual(await scratchLeft(), []);
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
