import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { AlphacutError } from '../../src/core/errors.ts';
import type { BlobStore } from '../../src/core/ports/blob-store.ts';
import { tempDir } from '../helpers/media.ts';

export type MakeBlobStore = () => Promise<{ blobs: BlobStore; cleanup(): Promise<void> }>;

const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(p, (e: unknown) => e instanceof AlphacutError && e.code === code);
}

/** The BlobStore contract: local disk today, S3 later. */
export function blobStoreContract(name: string, makeBlobs: MakeBlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    async function withBlobs(fn: (b: BlobStore) => Promise<void>): Promise<void> {
      const h = await makeBlobs();
      try {
        await fn(h.blobs);
      } finally {
        await h.cleanup();
      }
    }

    it('put from a stream and from a file, stat, get, replace', () =>
      withBlobs(async (blobs) => {
        assert.deepEqual(
          await blobs.put('key_a/jobs/job_1/output.webm', { stream: Readable.from([bytes]) }),
          {
            size: 1000,
          },
        );
        assert.equal((await blobs.stat('key_a/jobs/job_1/output.webm'))?.size, 1000);
        assert.deepEqual(await buffer(await blobs.get('key_a/jobs/job_1/output.webm')), bytes);
        const { dir, cleanup } = await tempDir();
        try {
          const src = join(dir, 'src.bin');
          await writeFile(src, bytes.subarray(0, 10));
          assert.deepEqual(await blobs.put('key_a/jobs/job_1/output.webm', { path: src }), { size: 10 });
          assert.deepEqual(
            await buffer(await blobs.get('key_a/jobs/job_1/output.webm')),
            bytes.subarray(0, 10),
          );
        } finally {
          await cleanup();
        }
        await blobs.check();
      }));

    it('copy stores an independent copy; a missing source is not_found', () =>
      withBlobs(async (blobs) => {
        await blobs.put('key_a/uploads/upl_1/video.mp4', { stream: Readable.from([bytes]) });
        await blobs.put('key_a/jobs/job_1/input.mp4', { stream: Readable.from([Buffer.from('old')]) });
        assert.deepEqual(await blobs.copy('key_a/uploads/upl_1/video.mp4', 'key_a/jobs/job_1/input.mp4'), {
          size: 1000,
        });
        assert.deepEqual(await buffer(await blobs.get('key_a/jobs/job_1/input.mp4')), bytes);
        await blobs.delete('key_a/uploads/upl_1/video.mp4');
        assert.deepEqual(await buffer(await blobs.get('key_a/jobs/job_1/input.mp4')), bytes);
        await rejectsWith(blobs.copy('key_a/uploads/upl_1/video.mp4', 'key_a/jobs/job_1/x'), 'not_found');
        assert.equal(await blobs.stat('key_a/jobs/job_1/x'), null);
      }));

    it('byte ranges are inclusive, open-ended ranges run to the end, ranges past the end are refused', () =>
      withBlobs(async (blobs) => {
        await blobs.put('key_a/b.bin', { stream: Readable.from([bytes]) });
        assert.deepEqual(
          await buffer(await blobs.get('key_a/b.bin', { start: 10, end: 19 })),
          bytes.subarray(10, 20),
        );
        assert.deepEqual(await buffer(await blobs.get('key_a/b.bin', { start: 990 })), bytes.subarray(990));
        assert.deepEqual(
          await buffer(await blobs.get('key_a/b.bin', { start: 995, end: 5000 })),
          bytes.subarray(995),
        );
        await rejectsWith(blobs.get('key_a/b.bin', { start: 1000 }), 'invalid_request');
      }));

    it('missing blobs: stat null, get and localPath not_found, delete is idempotent', () =>
      withBlobs(async (blobs) => {
        assert.equal(await blobs.stat('key_a/none'), null);
        await rejectsWith(blobs.get('key_a/none'), 'not_found');
        await rejectsWith(blobs.localPath('key_a/none'), 'not_found');
        await blobs.delete('key_a/none');
      }));

    it('localPath gives a readable file', () =>
      withBlobs(async (blobs) => {
        await blobs.put('key_a/in.mp4', { stream: Readable.from([bytes]) });
        const local = await blobs.localPath('key_a/in.mp4');
        try {
          assert.deepEqual(await readFile(local.path), bytes);
        } finally {
          await local.release();
        }
      }));

    it('delete and delete by prefix (a folder, or a plain key prefix)', () =>
      withBlobs(async (blobs) => {
        for (const k of [
          'key_a/jobs/j1/x',
          'key_a/jobs/j1/y',
          'key_a/jobs/j2/x',
          'key_a/jobs/j10/x',
          'key_b/jobs/j1/x',
        ])
          await blobs.put(k, { stream: Readable.from([Buffer.from(k)]) });
        await blobs.delete('key_a/jobs/j1/y');
        assert.equal(await blobs.stat('key_a/jobs/j1/y'), null);
        assert.equal(await blobs.deletePrefix('key_a/jobs/j1/'), 1);
        assert.equal(
          (await blobs.stat('key_a/jobs/j10/x')) !== null,
          true,
          'a folder prefix does not match j10',
        );
        assert.equal(await blobs.deletePrefix('key_a/jobs/j1'), 1, 'a plain prefix matches j10');
        assert.equal((await blobs.stat('key_a/jobs/j2/x')) !== null, true);
        assert.equal(await blobs.deletePrefix('key_a/'), 1);
        assert.equal(
          (await blobs.stat('key_b/jobs/j1/x'))?.size,
          'key_b/jobs/j1/x'.length,
          'other tenants untouched',
        );
        assert.equal(await blobs.deletePrefix('key_zzz/'), 0);
      }));

    it('rejects keys that could escape the store or alias another key', () =>
      withBlobs(async (blobs) => {
        for (const bad of [
          '../x',
          'key_a/../../etc/passwd',
          '/etc/passwd',
          'key_a//x',
          'key_a/./x',
          '.hidden',
          'key_a/.partial',
          'a\\b',
          '%2e%2e/x',
          'a/b/',
          '',
          'a\0b',
          'é',
        ])
          await rejectsWith(blobs.put(bad, { stream: Readable.from([bytes]) }), 'invalid_request');
        for (const bad of ['../x', 'key_a/../../x', '/x']) {
          await rejectsWith(blobs.get(bad), 'invalid_request');
          await rejectsWith(blobs.stat(bad), 'invalid_request');
          await rejectsWith(blobs.delete(bad), 'invalid_request');
          await rejectsWith(blobs.localPath(bad), 'invalid_request');
          await rejectsWith(blobs.deletePrefix(bad), 'invalid_request');
        }
        await rejectsWith(blobs.deletePrefix('../'), 'invalid_request');
        await rejectsWith(blobs.deletePrefix(''), 'invalid_request');
      }));
  });
}
