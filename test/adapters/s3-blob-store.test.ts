import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { DeleteBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { parseS3Url, S3BlobStore, s3ClientConfigFromEnv } from '../../src/adapters/s3/s3-blob-store.ts';
import { startS3, uniqueName } from '../helpers/services.ts';
import { blobStoreContract } from './blob-store.contract.ts';

const s3 = await startS3();
const skip = typeof s3 === 'string' ? s3 : false;

function clientFor(env: Record<string, string>): S3Client {
  return new S3Client(s3ClientConfigFromEnv(env));
}

async function emptyAndDrop(client: S3Client, bucket: string): Promise<void> {
  const store = new S3BlobStore({ client, bucket });
  const left = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  if ((left.KeyCount ?? 0) > 0) for (const o of left.Contents ?? []) if (o.Key) await store.delete(o.Key);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

if (typeof s3 === 'string') it('BlobStore contract: s3', { skip }, () => {});
else {
  const client = clientFor(s3.env);
  const buckets: string[] = [];
  after(async () => {
    for (const b of buckets) await emptyAndDrop(client, b).catch(() => {});
    client.destroy();
  });
  const newBucket = (): string => {
    const b = uniqueName('alphacut').replaceAll('_', '-');
    buckets.push(b);
    return b;
  };

  // A bucket per store, under a prefix, so the contract also proves the prefix is honoured.
  blobStoreContract('s3 (OpenStack Swift s3api)', async () => {
    const blobs = new S3BlobStore({ client, bucket: newBucket(), prefix: 'deploy-a' });
    await blobs.ensureBucket();
    return { blobs, cleanup: async () => {} };
  });

  describe('S3BlobStore beyond the contract', () => {
    it('parses BLOB_URL', () => {
      assert.deepEqual(parseS3Url('s3://media-bucket'), { bucket: 'media-bucket', prefix: '' });
      assert.deepEqual(parseS3Url('s3://media-bucket/alphacut/prod/'), {
        bucket: 'media-bucket',
        prefix: 'alphacut/prod',
      });
      assert.throws(() => parseS3Url('https://x/y'));
      assert.throws(() => parseS3Url('s3://b/../x'));
    });

    it('creates a missing bucket once; keys live under the prefix only', async () => {
      const bucket = newBucket();
      const a = new S3BlobStore({ client, bucket, prefix: 'a' });
      await a.ensureBucket();
      await a.ensureBucket();
      const b = new S3BlobStore({ client, bucket, prefix: 'b' });
      await a.put('k/x', { stream: Readable.from([Buffer.from('hello')]) });
      assert.equal(await b.stat('k/x'), null);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      assert.deepEqual(
        listed.Contents?.map((o) => o.Key),
        ['a/k/x'],
      );
    });

    it('presigned GETs for clients use the public endpoint; forThisNode the one this process uses', async () => {
      const publicClient = new S3Client({
        ...s3ClientConfigFromEnv(s3.env),
        endpoint: 'http://media.example.invalid:9000',
        forcePathStyle: true,
      });
      const blobs = new S3BlobStore({ client, bucket: newBucket(), signingClient: publicClient });
      await blobs.ensureBucket();
      await blobs.put('k/x', { stream: Readable.from([Buffer.from('hello')]) });
      const forClients = await blobs.presignGet('k/x', { expiresInSeconds: 60 });
      assert.equal(new URL(forClients).host, 'media.example.invalid:9000');
      const forUs = await blobs.presignGet('k/x', { expiresInSeconds: 60, forThisNode: true });
      assert.equal(new URL(forUs).origin, new URL(s3.endpoint).origin);
      assert.equal(await (await fetch(forUs)).text(), 'hello');
      publicClient.destroy();
    });

    it('presigned GET serves the object with the given headers; a tampered or expired URL is refused', async () => {
      const blobs = new S3BlobStore({ client, bucket: newBucket() });
      await blobs.ensureBucket();
      const body = Buffer.alloc(4096, 7);
      await blobs.put('key_a/jobs/j/output.webm', { stream: Readable.from([body]) });
      const url = await blobs.presignGet('key_a/jobs/j/output.webm', {
        expiresInSeconds: 60,
        contentType: 'video/webm',
        contentDisposition: 'attachment; filename="out.webm"',
      });
      const ok = await fetch(url);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('content-type'), 'video/webm');
      assert.match(ok.headers.get('content-disposition') ?? '', /out\.webm/);
      assert.deepEqual(Buffer.from(await ok.arrayBuffer()), body);
      const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } });
      assert.equal(ranged.status, 206);
      assert.equal((await ranged.arrayBuffer()).byteLength, 10);
      const tampered = url.replace('output.webm', 'output.webn');
      assert.equal((await fetch(tampered)).status, 403);
      const short = await blobs.presignGet('key_a/jobs/j/output.webm', { expiresInSeconds: 1 });
      await new Promise((r) => setTimeout(r, 2100));
      assert.equal((await fetch(short)).status, 403, 'expired');
    });

    it('presigned PUT lets a client upload directly; wrong credentials are refused', async () => {
      const blobs = new S3BlobStore({ client, bucket: newBucket() });
      await blobs.ensureBucket();
      const url = await blobs.presignPut('key_a/uploads/u/video.mp4', { expiresInSeconds: 60 });
      const put = await fetch(url, { method: 'PUT', body: Buffer.from('direct upload') });
      assert.equal(put.status, 200);
      assert.equal((await blobs.stat('key_a/uploads/u/video.mp4'))?.size, 13);
      const wrong = new S3BlobStore({
        client: clientFor({ ...s3.env, AWS_SECRET_ACCESS_KEY: 'not-the-secret' }),
        bucket: blobs.bucket,
      });
      await assert.rejects(wrong.stat('key_a/uploads/u/video.mp4'), (e: unknown) => {
        assert.equal((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 403);
        return true;
      });
    });

    it('a large streamed put goes through a multipart upload and reads back whole', async () => {
      const blobs = new S3BlobStore({ client, bucket: newBucket() });
      await blobs.ensureBucket();
      const chunk = Buffer.alloc(1024 * 1024, 3);
      const parts = Array.from({ length: 20 }, () => chunk);
      assert.deepEqual(await blobs.put('key_a/big.bin', { stream: Readable.from(parts) }), {
        size: 20 * chunk.length,
      });
      assert.equal((await blobs.stat('key_a/big.bin'))?.size, 20 * chunk.length);
      const local = await blobs.localPath('key_a/big.bin');
      try {
        const { size } = await import('node:fs/promises').then((f) => f.stat(local.path));
        assert.equal(size, 20 * chunk.length);
      } finally {
        await local.release();
      }
    });
  });
}
