import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LeaseJobQueue } from '../../src/adapters/lease-queue/lease-job-queue.ts';
import { LocalBlobStore } from '../../src/adapters/local-blob-store.ts';
import {
  openPostgresDatabase,
  type PostgresDatabase,
} from '../../src/adapters/postgres/postgres-database.ts';
import { postgresJobStore } from '../../src/adapters/postgres/postgres-job-store.ts';
import type { SqlJobStore } from '../../src/adapters/sql/sql-job-store.ts';
import { generateApiKey, generateWebhookSecret, hashApiKey } from '../../src/core/api-keys.ts';
import { uploadBlobKey } from '../../src/core/blob-key.ts';
import { creditsFor } from '../../src/core/credits.ts';
import { newJobId, newUploadId } from '../../src/core/job.ts';
import { projectRoot, resolveDataDir } from '../../src/app/paths.ts';
import { tempDir } from '../helpers/media.ts';
import { ensurePostgres, freePort, postgresUrl, uniqueName } from '../helpers/services.ts';
import { squareClip, waitFor } from '../worker/worker-fixture.ts';

/**
 * A worker process that loses its database (PostgreSQL; the lease queue lives there too, so
 * claims fail as well) keeps running, stops claiming while it cannot reach it, hands back the job
 * it was rendering, and resumes when the database answers again. The database is reached through
 * a TCP proxy the test controls: cutting it closes every connection and refuses new ones.
 */
const skip = await ensurePostgres();

/** A TCP relay to PostgreSQL that can drop every connection and refuse new ones for a while. */
class CuttableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;
  constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      if (this.#cut) {
        client.destroy();
        return;
      }
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }
  async listen(port: number): Promise<void> {
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening');
  }
  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }
  allow(): void {
    this.#cut = false;
  }
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

interface JobRow {
  status: string;
  frames_done: number;
  run_id: string | null;
  credits_used: number;
}

describe('a worker that loses its PostgreSQL database', { skip }, () => {
  let dbName: string;
  let dbUrl: URL;
  let database: PostgresDatabase;
  let store: SqlJobStore;
  let queue: LeaseJobQueue;
  let blobs: LocalBlobStore;
  let proxy: CuttableProxy;
  let worker: ChildProcess;
  let output = '';
  let dir: string;
  let cleanup: () => Promise<void>;
  let keyId: string;
  let clip: string;
  const seconds = 20;

  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-dbloss-'));
    dbName = uniqueName('alphacut_dbloss');
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    dbUrl = new URL(postgresUrl);
    dbUrl.pathname = `/${dbName}`;
    database = await openPostgresDatabase({ connectionString: dbUrl.toString(), maxConnections: 3 });
    store = postgresJobStore(database);
    queue = new LeaseJobQueue(database.db, database.retain());
    blobs = new LocalBlobStore(join(dir, 'blobs'));
    const key = await store.createApiKey({
      keyHash: hashApiKey(generateApiKey()),
      fingerprint: 'ak_…test',
      webhookSecret: generateWebhookSecret(),
    });
    keyId = key.id;
    await store.grantCredits(keyId, 100);
    clip = join(dir, 'clip.mp4');
    await squareClip(clip, seconds);

    const port = await freePort();
    proxy = new CuttableProxy({ host: dbUrl.hostname, port: Number(dbUrl.port || 5432) });
    await proxy.listen(port);
    const viaProxy = new URL(dbUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(port);
    worker = spawn(
      process.execPath,
      [join(projectRoot, 'bin/alphacut.js'), '--data-dir', resolveDataDir(), 'worker'],
      {
        env: {
          ...process.env,
          DATABASE_URL: viaProxy.toString(),
          BLOB_URL: join(dir, 'blobs'),
          ALPHACUT_SIGNING_SECRET: 'dbloss-secret',
          ALPHACUT_WORKER_LEASE_MS: '1500',
          ALPHACUT_LOG_LEVEL: 'info',
          REDIS_URL: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const onData = (d: Buffer): void => {
      output = (output + d.toString()).slice(-50_000);
    };
    worker.stdout?.on('data', onData);
    worker.stderr?.on('data', onData);
    await waitFor('the worker to start', async () => /alphacut worker running/.test(output));
  });
  after(async () => {
    if (worker?.pid && worker.exitCode === null && worker.signalCode === null) {
      process.kill(-worker.pid, 'SIGKILL');
      await once(worker, 'exit');
    }
    await proxy?.close();
    await queue?.close();
    await store?.close();
    const a = new pg.Client({ connectionString: postgresUrl });
    await a.connect();
    await a.query(`drop database if exists ${dbName} with (force)`);
    await a.end();
    await cleanup?.();
  });

  const submit = async (): Promise<string> => {
    const uploadId = newUploadId();
    const inputBlob = uploadBlobKey(keyId, uploadId, 'input.mp4');
    await blobs.put(inputBlob, { path: clip });
    const job = await store.insertJob(
      {
        id: newJobId(),
        keyId,
        videoUrl: `upload://${uploadId}`,
        inputBlob,
        request: { model: 'human' },
        model: 'human',
        outputFormat: 'webm',
        webhookUrl: null,
        metadata: null,
        durationSeconds: seconds,
        width: 320,
        height: 240,
        fps: 25,
      },
      { credits: creditsFor('human', seconds) },
    );
    await queue.enqueue(job.id);
    return job.id;
  };
  const row = async (id: string): Promise<JobRow> =>
    (await database.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow()) as JobRow;
  const completed = (id: string): Promise<JobRow> =>
    waitFor(
      `job ${id} to settle`,
      async () => {
        const r = await row(id);
        return r.status === 'completed' || r.status === 'failed' ? r : undefined;
      },
      150_000,
    );
  const ledger = async (id: string): Promise<string[]> =>
    (await store.listLedger(keyId, { jobId: id })).map((e) => `${e.kind}:${e.amount}`).sort();

  it('keeps running through a 5 s outage mid-job, hands that job back, and completes it and a new job once', async () => {
    const first = await submit();
    const mid = await waitFor('the worker to be mid-job', async () => {
      const r = await row(first);
      return r.status === 'processing' && r.frames_done >= 20 ? r : undefined;
    });
    proxy.cut();
    await sleep(5000);
    assert.equal(worker.exitCode, null, `the worker is still running:\n${output}`);
    assert.equal(worker.signalCode, null);
    proxy.allow();
    const second = await submit();

    const cost = creditsFor('human', seconds);
    const [a, b] = [await completed(first), await completed(second)];
    assert.equal(a.status, 'completed', output);
    assert.equal(b.status, 'completed', output);
    assert.notEqual(a.run_id, mid.run_id, 'the interrupted run did not complete it');
    for (const id of [first, second]) {
      assert.equal(Number((await row(id)).credits_used), cost);
      assert.deepEqual(await ledger(id), [`charge:${cost}`, `reserve:${cost}`]);
    }
    assert.match(output, /claim failed/);
    assert.match(output, /handed back \(database or queue unreachable/);
    assert.match(output, /claiming again/);
    assert.equal(worker.exitCode, null);
  });
});
