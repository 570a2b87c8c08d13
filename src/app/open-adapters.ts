import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { BullmqJobQueue } from '../adapters/bullmq/bullmq-job-queue.ts';
import { LeaseJobQueue } from '../adapters/lease-queue/lease-job-queue.ts';
import { LocalBlobStore } from '../adapters/local-blob-store.ts';
import { openPostgresDatabase, type PostgresDatabase } from '../adapters/postgres/postgres-database.ts';
import { postgresJobStore } from '../adapters/postgres/postgres-job-store.ts';
import { RedisRateLimiter } from '../adapters/redis-rate-limiter.ts';
import { parseS3Url, S3BlobStore, s3ClientConfigFromEnv } from '../adapters/s3/s3-blob-store.ts';
import { openSqliteDatabase, type SqliteDatabase } from '../adapters/sqlite/sqlite-database.ts';
import { sqliteJobStore } from '../adapters/sqlite/sqlite-job-store.ts';
import type { BlobStore } from '../core/ports/blob-store.ts';
import type { JobQueue } from '../core/ports/job-queue.ts';
import type { JobStore } from '../core/ports/job-store.ts';
import type { RateLimiter } from '../api/rate-limiter.ts';
import type { AppConfig } from './config.ts';

type Env = Record<string, string | undefined>;

export interface StoreHandle {
  store: JobStore;
  kind: 'sqlite' | 'postgres';
  database: { sqlite: SqliteDatabase } | { postgres: PostgresDatabase };
}

/** The store the config names: PostgreSQL with DATABASE_URL, else SQLite in the data dir. */
export async function openStore(config: AppConfig): Promise<StoreHandle> {
  const opts = { unlimitedCredits: config.unlimitedCredits };
  if (config.databaseUrl) {
    const pg = await openPostgresDatabase({ connectionString: config.databaseUrl });
    return { store: postgresJobStore(pg, opts), kind: 'postgres', database: { postgres: pg } };
  }
  const sqlite = await openSqliteDatabase(join(config.dataDir, 'alphacut.db'));
  return { store: sqliteJobStore(sqlite, opts), kind: 'sqlite', database: { sqlite } };
}

export interface Adapters {
  store: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  /** Shared through Redis when there is one; undefined = the API's in-memory limiter. */
  rateLimiter: RateLimiter | undefined;
  /** What was chosen, for the start-up banner and /health. */
  mode: { store: 'sqlite' | 'postgres'; queue: 'lease-table' | 'bullmq'; blobs: 'local' | 's3' };
  close(): Promise<void>;
}

async function openBlobs(config: AppConfig, env: Env): Promise<{ blobs: BlobStore; kind: 'local' | 's3' }> {
  const url = config.blobUrl;
  if (url?.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Url(url);
    const clientConfig = s3ClientConfigFromEnv(env);
    // Browsers may reach S3 at another address than the nodes do (an internal endpoint).
    const publicEndpoint = env.ALPHACUT_S3_PUBLIC_ENDPOINT;
    const blobs = new S3BlobStore({
      client: new S3Client(clientConfig),
      bucket,
      prefix,
      ...(publicEndpoint
        ? { signingClient: new S3Client({ ...clientConfig, endpoint: publicEndpoint, forcePathStyle: true }) }
        : {}),
      scratchDir: join(config.dataDir, 'tmp'),
    });
    await blobs.ensureBucket();
    return { blobs, kind: 's3' };
  }
  if (url && !/^(file:|\/|\.)/.test(url))
    throw new Error(`BLOB_URL must be s3://bucket[/prefix], file:///dir or a directory; got ${url}`);
  const dir = url
    ? url.startsWith('file:')
      ? fileURLToPath(url)
      : resolve(url)
    : join(config.dataDir, 'blobs');
  return { blobs: new LocalBlobStore(dir), kind: 'local' };
}

/**
 * Chooses every adapter from the config alone, never from a mode switch: DATABASE_URL →
 * PostgreSQL, REDIS_URL → BullMQ and shared rate limits, BLOB_URL=s3://… → S3. Whatever is not
 * set stays embedded (SQLite, its lease table, local files), so a half-distributed setup such as
 * PostgreSQL + local disk on one machine also works.
 */
export async function openAdapters(config: AppConfig, env: Env = process.env): Promise<Adapters> {
  const s = await openStore(config);
  const closers: Array<() => Promise<void>> = [() => s.store.close()];
  try {
    let queue: JobQueue;
    if (config.redisUrl)
      queue = await BullmqJobQueue.open({ redisUrl: config.redisUrl, prefix: config.redisPrefix });
    else if ('postgres' in s.database)
      queue = new LeaseJobQueue(s.database.postgres.db, s.database.postgres.retain());
    else queue = new LeaseJobQueue(s.database.sqlite.db, s.database.sqlite.retain());
    closers.unshift(() => queue.close());
    const { blobs, kind } = await openBlobs(config, env);
    let rateLimiter: RedisRateLimiter | undefined;
    if (config.redisUrl) {
      rateLimiter = new RedisRateLimiter({
        redisUrl: config.redisUrl,
        prefix: config.redisPrefix,
        ...config.rateLimit,
      });
      const rl = rateLimiter;
      closers.unshift(() => rl.close());
    }
    return {
      store: s.store,
      queue,
      blobs,
      rateLimiter,
      mode: { store: s.kind, queue: config.redisUrl ? 'bullmq' : 'lease-table', blobs: kind },
      async close() {
        for (const c of closers) await c();
      },
    };
  } catch (err) {
    for (const c of closers) await c().catch(() => {});
    throw err;
  }
}
