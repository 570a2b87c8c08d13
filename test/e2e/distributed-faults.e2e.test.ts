import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { creditsFor } from '../../src/core/credits.ts';
import {
  clusterAdminToken,
  clusterUnavailable,
  ledgerOf,
  startCluster,
  type Cluster,
} from '../helpers/cluster.ts';
import { tempDir } from '../helpers/media.ts';
import { squareClip, waitFor } from '../worker/worker-fixture.ts';

const skip = await clusterUnavailable();

interface JobRow {
  status: string;
  frames_done: number;
  frames_total: number | null;
  run_id: string | null;
  worker_id: string | null;
  output_blob: string | null;
  mask_blob: string | null;
  input_blob: string | null;
  credits_used: number;
}

describe('distributed mode under faults (PostgreSQL, BullMQ, S3)', { skip }, () => {
  let c: Cluster;
  let dir: string;
  let cleanup: () => Promise<void>;
  let key: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-faults-'));
    // A short lease so the test waits seconds, not the production 30 s, for the re-claim.
    c = await startCluster({ workerEnv: { ALPHACUT_WORKER_LEASE_MS: '2000' } });
    await Promise.all([c.startApi(), c.startApi()]);
    const res = await fetch(`${c.apis[0]!.url}/v1/admin/keys`, {
      method: 'POST',
      headers: { 'x-admin-token': clusterAdminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'faults', credits: 100 }),
    });
    ({ key } = (await res.json()) as { key: string });
  });
  after(async () => {
    await c?.close();
    await cleanup?.();
  });

  const row = async (id: string): Promise<JobRow> =>
    (await c.db.query<JobRow>('select * from jobs where id = $1', [id])).rows[0]!;

  it('kill -9 of a worker mid-job and of an API node: another worker completes it once, charged once, no orphaned objects', async () => {
    const clip = join(dir, 'clip.mp4');
    await squareClip(clip, 20);
    const form = new FormData();
    form.append('file', new Blob([await readFile(clip)]), 'clip.mp4');
    const api = (i: number, path: string, init: RequestInit = {}): Promise<Response> =>
      fetch(`${c.apis[i]!.url}${path}`, {
        ...init,
        headers: { 'x-api-key': key, ...(init.headers as Record<string, string>) },
      });
    const up = (await (await api(0, '/v1/uploads', { method: 'POST', body: form })).json()) as {
      video_url: string;
    };
    const created = await api(0, '/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ video_url: up.video_url, model: 'human', output_format: 'webm' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { id } = (await created.json()) as { id: string };

    // The API node that took the request dies; the other one knows the job all the same.
    const api0 = c.apis[0]!.child;
    process.kill(-api0.pid!, 'SIGKILL');
    await once(api0, 'exit');
    assert.equal(((await (await api(1, `/v1/jobs/${id}`)).json()) as { status: string }).status, 'pending');

    const first = await c.startWorker();
    const mid = await waitFor('the first worker to be mid-job', async () => {
      const r = await row(id);
      return r.frames_done >= 50 ? r : undefined;
    });
    assert.ok(mid.frames_total && mid.frames_done < mid.frames_total, 'killed before the end');
    process.kill(-first.child.pid!, 'SIGKILL');
    await once(first.child, 'exit');
    assert.equal((await row(id)).status, 'processing', 'nobody settled the job');

    await c.startWorker();
    const done = await waitFor(
      'another worker to complete the job',
      async () => {
        const r = await row(id);
        return r.status === 'completed' || r.status === 'failed' ? r : undefined;
      },
      120_000,
    );
    assert.equal(done.status, 'completed');
    assert.notEqual(done.run_id, mid.run_id);
    assert.notEqual(done.worker_id, mid.worker_id);
    assert.equal(done.frames_total, 500);
    const cost = creditsFor('human', 20);
    assert.equal(Number(done.credits_used), cost);
    assert.deepEqual(await ledgerOf(c, id), [`charge:${cost}`, `reserve:${cost}`]);
    const transitions = await c.db.query<{ to_status: string; reason: string | null }>(
      'select to_status, reason from job_transitions where job_id = $1 order by at, id',
      [id],
    );
    assert.deepEqual(
      transitions.rows.map((t) => `${t.to_status}${t.reason ? ` (${t.reason})` : ''}`),
      ['created', 'pending', 'processing', 'processing (re-claimed)', 'completed'],
    );

    // Exactly the upload, the job's input copy and the winning run's two outputs: the killed run
    // never wrote anything to S3.
    const objects = (await c.objects()).sort();
    const expected = [done.input_blob, done.output_blob, done.mask_blob].map((k) => `deploy/${k}`);
    assert.equal(objects.length, 4, objects.join('\n'));
    for (const k of expected) assert.ok(objects.includes(k), `${k} in\n${objects.join('\n')}`);
    assert.ok(objects.some((k) => k.includes('/uploads/')));

    const stats = await api(1, '/v1/jobs?status=completed');
    assert.equal(((await stats.json()) as { total: number }).total, 1);
  });
});
