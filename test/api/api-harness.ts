import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LocalBlobStore } from '../../src/adapters/local-blob-store.ts';
import { sqliteLeaseQueue } from '../../src/adapters/lease-queue/sqlite-lease-queue.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.ts';
import type { ApiConfig, ApiDeps } from '../../src/api/api-deps.ts';
import { buildApi } from '../../src/api/build-api.ts';
import { createKey } from '../../src/api/routes/admin-routes.ts';
import { defaultProbeLimits } from '../../src/pipeline/probe.ts';
import { GuardedFetcher } from '../../src/net/guarded-fetcher.ts';
import { SsrfPolicy } from '../../src/net/ssrf-policy.ts';
import { tempDir } from '../helpers/media.ts';

export const adminToken = 'test-admin-token';

/** A real API over a real SQLite store, lease queue and local blobs in a temp dir (no worker). */
export interface Harness {
  app: FastifyInstance;
  deps: ApiDeps;
  dir: string;
  /** A fresh key with `credits`. */
  newKey(credits?: number): Promise<{ id: string; key: string; webhookSecret: string }>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    config?: Partial<ApiConfig>;
    unlimitedCredits?: boolean;
    now?: () => Date;
    /** SSRF allow-list (SsrfPolicy.fromList form); loopback receivers by default. */
    ssrfAllow?: string;
    /** Optional deps such as devKeyFile and webDistDir. */
    extra?: Pick<ApiDeps, 'devKeyFile' | 'webDistDir'>;
  } = {},
): Promise<Harness> {
  const { dir, cleanup } = await tempDir('alphacut-api-');
  const database = await openSqliteDatabase(join(dir, 'alphacut.db'));
  const store = sqliteJobStore(database, { unlimitedCredits: opts.unlimitedCredits ?? false });
  const queue = sqliteLeaseQueue(database);
  const blobs = new LocalBlobStore(join(dir, 'blobs'));
  const config: ApiConfig = {
    adminToken,
    signingSecret: 'test-signing-secret',
    publicBaseUrl: undefined,
    fileUrlTtlSeconds: 86400,
    uploadMaxBytes: 20 * 1024 * 1024,
    fetchMaxBytes: 20 * 1024 * 1024,
    rateLimit: { limit: 1000, windowMs: 60_000 },
    maxActiveJobs: 10,
    probeLimits: defaultProbeLimits,
    keyPepper: undefined,
    defaultKeyCredits: 0,
    ...opts.config,
  };
  const deps: ApiDeps = {
    store,
    queue,
    blobs,
    config,
    clock: opts.now ?? (() => new Date()),
    fetcher: new GuardedFetcher(SsrfPolicy.fromList(opts.ssrfAllow ?? '127.0.0.1/32')),
    ...opts.extra,
  };
  const app = await buildApi(deps);
  await app.ready();
  return {
    app,
    deps,
    dir,
    async newKey(credits = 1000) {
      const { record, key, webhookSecret } = await createKey(store, { credits });
      return { id: record.id, key, webhookSecret };
    },
    async close() {
      await app.close();
      await queue.close();
      await store.close();
      await cleanup();
    },
  };
}

/** multipart/form-data with one file field, built by hand so tests need no form library. */
export function multipartBody(
  field: string,
  filename: string,
  content: Buffer,
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----alphacut${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    payload: Buffer.concat([head, content, tail]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}
