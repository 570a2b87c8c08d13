import { LocalBlobStore } from '../../src/adapters/local-blob-store.ts';
import { sqliteLeaseQueue } from '../../src/adapters/lease-queue/sqlite-lease-queue.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.ts';
import { resolveDataDir } from '../../src/app/paths.ts';
import { startWorker } from '../../src/worker/start-worker.ts';
import type { SplitSettings } from '../../src/worker/worker-runtime.ts';

/**
 * One worker process of the scale benchmark: the embedded SQLite store and lease queue shared
 * with the other processes through the database file, as separate `alphacut worker` processes
 * on one machine would. Settings come as JSON in ALPHACUT_SCALE_WORKER; SIGTERM stops it.
 */
interface Settings {
  dbFile: string;
  blobRoot: string;
  scratch: string;
  workerId: string;
  split: SplitSettings | null;
}

const s = JSON.parse(process.env.ALPHACUT_SCALE_WORKER ?? '{}') as Settings;
const database = await openSqliteDatabase(s.dbFile);
const store = sqliteJobStore(database);
const queue = sqliteLeaseQueue(database);
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
const worker = startWorker({
  store,
  queue,
  blobs: new LocalBlobStore(s.blobRoot),
  dataDir: resolveDataDir(),
  scratchDir: s.scratch,
  workerId: s.workerId,
  leaseMs: 10_000,
  pollMs: 100,
  graceMs: 0,
  signal: stop.signal,
  ...(s.split ? { split: s.split } : {}),
  log: (m) => process.stderr.write(`[${s.workerId}] ${m}\n`),
});
await worker.stopped;
await store.close();
await queue.close();
