import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalBlobStore } from '../../src/adapters/local-blob-store.ts';
import { sqliteLeaseQueue } from '../../src/adapters/lease-queue/sqlite-lease-queue.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.ts';
import { generateApiKey, generateWebhookSecret, hashApiKey } from '../../src/core/api-keys.ts';
import { uploadBlobKey } from '../../src/core/blob-key.ts';
import { creditsFor } from '../../src/core/credits.ts';
import { newJobId, newUploadId, type JobRecord } from '../../src/core/job.ts';
import type { OutputFormat } from '../../src/core/output-formats.ts';
import type { LeaseJobQueue } from '../../src/adapters/lease-queue/lease-job-queue.ts';
import type { SqlJobStore } from '../../src/adapters/sql/sql-job-store.ts';
import { ffmpeg, tempDir } from '../helpers/media.ts';

/** A moving red square on a flat blue field: cheap to encode, and a clear subject. */
export async function squareClip(path: string, seconds: number): Promise<void> {
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `color=c=0x336699:size=320x240:rate=25:duration=${seconds}[bg];color=c=red:size=80x80:rate=25:duration=${seconds}[sq];[bg][sq]overlay=x='40+t*8':y=80`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    path,
  ]);
}

/**
 * The moving square of squareClip with a 440 Hz tone, and a keyframe every 2 s (-g 50 at
 * 25 fps): long enough to split into segments at keyframes (split-join and distributed-split).
 */
export async function longClip(path: string, seconds: number): Promise<void> {
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `color=c=0x336699:size=320x240:rate=25:duration=${seconds}[bg];color=c=red:size=80x80:rate=25:duration=${seconds}[sq];[bg][sq]overlay=x='40+t*16':y='80+20*sin(t)'`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '50',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    path,
  ]);
}

export interface WorkerFixture {
  dir: string;
  dbFile: string;
  blobRoot: string;
  scratch: string;
  store: SqlJobStore;
  queue: LeaseJobQueue;
  blobs: LocalBlobStore;
  keyId: string;
  /** Stores `clipPath` as the job's input, creates and starts the job (human model) and enqueues it. */
  submit(
    clipPath: string,
    seconds: number,
    over?: { webhookUrl?: string; request?: Record<string, unknown> },
  ): Promise<JobRecord>;
  scratchEntries(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function workerFixture(credits = 1000): Promise<WorkerFixture> {
  const { dir, cleanup } = await tempDir('alphacut-worker-');
  const dbFile = join(dir, 'alphacut.db');
  const database = await openSqliteDatabase(dbFile);
  const store = sqliteJobStore(database);
  const queue = sqliteLeaseQueue(database);
  const blobRoot = join(dir, 'blobs');
  const blobs = new LocalBlobStore(blobRoot);
  const scratch = join(dir, 'scratch');
  const key = await store.createApiKey({
    keyHash: hashApiKey(generateApiKey()),
    fingerprint: 'ak_…test',
    webhookSecret: generateWebhookSecret(),
  });
  await store.grantCredits(key.id, credits);
  return {
    dir,
    dbFile,
    blobRoot,
    scratch,
    store,
    queue,
    blobs,
    keyId: key.id,
    async submit(clipPath, seconds, over = {}) {
      const uploadId = newUploadId();
      const inputBlob = uploadBlobKey(key.id, uploadId, 'input.mp4');
      await blobs.put(inputBlob, { path: clipPath });
      const job = await store.insertJob(
        {
          id: newJobId(),
          keyId: key.id,
          videoUrl: `upload://${uploadId}`,
          inputBlob,
          request: { model: 'human', ...over.request },
          model: 'human',
          outputFormat: (over.request?.output_format as OutputFormat | undefined) ?? 'webm',
          webhookUrl: over.webhookUrl ?? null,
          metadata: null,
          durationSeconds: seconds,
          width: 320,
          height: 240,
          fps: 25,
        },
        { credits: creditsFor('human', seconds) },
      );
      await queue.enqueue(job.id);
      return job;
    },
    async scratchEntries() {
      return readdir(scratch).catch(() => []);
    },
    async cleanup() {
      await store.close();
      await queue.close();
      await cleanup();
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
