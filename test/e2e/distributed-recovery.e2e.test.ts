import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { creditsFor } from '../../src/core/credits.ts';
import {
  clusterAdminToken,
  clusterUnavailable,
  ledgerOf,
  startCluster,
  type Cluster,
} from '../helpers/cluster.ts';
import { tempDir } from '../helpers/media.ts';
import { freePort } from '../helpers/services.ts';
import { squareClip, waitFor } from '../worker/worker-fixture.ts';

/**
 * Redis losing its data (FLUSHALL, or a restart without persistence) loses no job: the store is
 * the truth, and every worker's recovery sweep puts pending jobs and heartbeat-less processing
 * jobs back in the queue. A Redis server of this test's own, so the shared one is never touched.
 */
const skip = await clusterUnavailable();

interface JobRow {
  status: string;
  frames_done: number;
  run_id: string | null;
  input_blob: string | null;
  output_blob: string | null;
  mask_blob: string | null;
  credits_used: number;
}

interface OwnRedis {
  url: string;
  child: ChildProcess;
}

async function startRedis(port: number): Promise<OwnRedis> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitFor('redis-server to answer', async () => {
    const r = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    r.on('error', () => {});
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  });
  return { url, child };
}

async function stopRedis(r: OwnRedis): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill('SIGKILL');
  await once(r.child, 'exit');
}

describe('distributed mode: Redis loses its data (PostgreSQL, BullMQ, S3)', { skip }, () => {
  let c: Cluster;
  let redis: OwnRedis;
  let port: number;
  let dir: string;
  let cleanup: () => Promise<void>;
  let key: string;
  let videoUrl: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-recovery-'));
    port = await freePort();
    redis = await startRedis(port);
    // A short lease: a stranded processing job is recovered after 3 leases without a heartbeat.
    c = await startCluster({ workerEnv: { ALPHACUT_WORKER_LEASE_MS: '1500', ALPHACUT_LOG_LEVEL: 'info' } });
    // Every node of this cluster (started below) uses the test's own Redis.
    c.env.REDIS_URL = redis.url;
    await c.startApi();
    const res = await fetch(`${c.apis[0]!.url}/v1/admin/keys`, {
      method: 'POST',
      headers: { 'x-admin-token': clusterAdminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'recovery', credits: 100 }),
    });
    ({ key } = (await res.json()) as { key: string });
    const clip = join(dir, 'clip.mp4');
    await squareClip(clip, 20);
    const form = new FormData();
    form.append('file', new Blob([await readFile(clip)]), 'clip.mp4');
    const up = await api('/v1/uploads', { method: 'POST', body: form });
    assert.equal(up.status, 201, await up.clone().text());
    ({ video_url: videoUrl } = (await up.json()) as { video_url: string });
  });
  after(async () => {
    await c?.close();
    if (redis) await stopRedis(redis);
    await cleanup?.();
  });

  const api = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${c.apis[0]!.url}${path}`, {
      ...init,
      headers: { 'x-api-key': key, ...(init.headers as Record<string, string>) },
    });
  const row = async (id: string): Promise<JobRow> =>
    (await c.db.query<JobRow>('select * from jobs where id = $1', [id])).rows[0]!;
  const createJob = async (): Promise<string> => {
    const res = await api('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ video_url: videoUrl, model: 'human', output_format: 'webm' }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { id: string }).id;
  };
  const settled = (id: string): Promise<JobRow> =>
    waitFor(
      `job ${id} to settle`,
      async () => {
        const r = await row(id);
        return r.status === 'completed' || r.status === 'failed' ? r : undefined;
      },
      120_000,
    );
  const ledger = (id: string): Promise<string[]> => ledgerOf(c, id);
  const transitions = async (id: string): Promise<string[]> =>
    (
      await c.db.query<{ to_status: string; reason: string | null }>(
        'select to_status, reason from job_transitions where job_id = $1 order by at, id',
        [id],
      )
    ).rows.map((t) => `${t.to_status}${t.reason ? ` (${t.reason})` : ''}`);
  const cost = creditsFor('human', 20);

  it('FLUSHALL while a job is pending: a worker started afterwards still completes it, charged once', async () => {
    const id = await createJob();
    const r = new Redis(redis.url);
    try {
      assert.ok((await r.dbsize()) > 0, 'the job was enqueued');
      await r.flushall();
      assert.equal(await r.dbsize(), 0);
    } finally {
      r.disconnect();
    }
    await c.startWorker();
    const done = await settled(id);
    assert.equal(done.status, 'completed');
    assert.equal(Number(done.credits_used), cost);
    assert.deepEqual(await ledger(id), [`charge:${cost}`, `reserve:${cost}`]);
    assert.deepEqual(await transitions(id), ['created', 'pending', 'processing', 'completed']);
  });

  it('Redis restarted empty mid-job: the heartbeat-less job is handed back under a new run and completes once', async () => {
    const id = await createJob();
    const mid = await waitFor('the worker to be mid-job', async () => {
      const r = await row(id);
      return r.status === 'processing' && r.frames_done >= 20 ? r : undefined;
    });
    await stopRedis(redis);
    await sleep(1000);
    redis = await startRedis(port);
    const done = await settled(id);
    assert.equal(done.status, 'completed', c.workers[0]!.output());
    assert.notEqual(done.run_id, mid.run_id, c.workers[0]!.output());
    assert.equal(Number(done.credits_used), cost);
    assert.deepEqual(await ledger(id), [`charge:${cost}`, `reserve:${cost}`]);
    assert.deepEqual(await transitions(id), [
      'created',
      'pending',
      'processing',
      'pending (queue entry lost)',
      'processing',
      'completed',
    ]);
    // The superseded run left nothing: this job's objects are its input and one run's outputs.
    const mine = (await c.objects()).filter((k) => k.includes(id)).sort();
    const expected = [done.input_blob, done.output_blob, done.mask_blob].map((k) => `deploy/${k}`).sort();
    assert.deepEqual(mine, expected);
    assert.match(c.workers[0]!.output(), /handed back to the queue/);
  });
});
