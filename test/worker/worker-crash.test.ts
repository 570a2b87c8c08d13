import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { creditsFor } from '../../src/core/credits.ts';
import { countFrames } from '../helpers/media.ts';
import { squareClip, waitFor, workerFixture, type WorkerFixture } from './worker-fixture.ts';

const entry = fileURLToPath(new URL('./fixtures/worker-process.ts', import.meta.url));

describe('a worker process killed with SIGKILL mid-job', () => {
  let f: WorkerFixture;
  const children: ChildProcess[] = [];
  before(async () => {
    f = await workerFixture();
  });
  after(async () => {
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(-c.pid, 'SIGKILL');
    await f.cleanup();
  });

  function spawnWorker(): ChildProcess {
    // Own process group, so the crash can take its ffmpeg and inference children with it, as a
    // machine or container dying would.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', entry, f.dbFile, f.blobRoot, f.scratch, '1500'],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let log = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-8000)));
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL')
        process.stderr.write(`worker ${child.pid} exited ${code ?? signal}:\n${log}\n`);
    });
    children.push(child);
    return child;
  }

  it('is re-claimed by another process after the lease expires, completed once and charged once', async () => {
    const clip = join(f.dir, 'clip.mp4');
    await squareClip(clip, 20);
    const job = await f.submit(clip, 20, { webhookUrl: 'https://hooks.example/h' });

    const first = spawnWorker();
    const mid = await waitFor('the first worker to be mid-job', async () => {
      const j = await f.store.getJob(f.keyId, job.id);
      return j && j.framesDone >= 50 ? j : undefined;
    });
    assert.ok(mid.framesTotal && mid.framesDone < mid.framesTotal, 'killed before the end');
    process.kill(-first.pid!, 'SIGKILL');
    await once(first, 'exit');
    const orphaned = await f.store.getJob(f.keyId, job.id);
    assert.equal(orphaned?.status, 'processing', 'nobody settled the job');

    const second = spawnWorker();
    const done = await waitFor(
      'the second worker to complete the job',
      async () => {
        const j = await f.store.getJob(f.keyId, job.id);
        return j?.status === 'completed' || j?.status === 'failed' ? j : undefined;
      },
      120_000,
    );
    assert.equal(done.status, 'completed', `${done.errorCode}: ${done.error}`);
    assert.notEqual(done.runId, mid.runId);
    assert.notEqual(done.workerId, mid.workerId);
    assert.equal(done.framesTotal, 500);
    assert.equal(await countFrames((await f.blobs.localPath(done.outputBlob!)).path, true), 500);

    const cost = creditsFor('human', 20);
    assert.equal(done.creditsUsed, cost);
    const ledger = await f.store.listLedger(f.keyId, { jobId: job.id });
    assert.deepEqual(ledger.map((l) => `${l.kind}:${l.amount}`).sort(), [
      `charge:${cost}`,
      `reserve:${cost}`,
    ]);
    assert.deepEqual(await f.store.getBalance(f.keyId), {
      total: 1000,
      used: cost,
      reserved: 0,
      remaining: 1000 - cost,
      unlimited: false,
    });
    assert.deepEqual(
      (await f.store.listTransitions(job.id)).map(
        (t) => `${t.from}>${t.to}${t.reason ? ` (${t.reason})` : ''}`,
      ),
      [
        'null>created',
        'created>pending',
        'pending>processing',
        'processing>processing (re-claimed)',
        'processing>completed',
      ],
    );
    assert.deepEqual(
      (await f.store.listWebhookEvents(job.id)).map((e) => e.event),
      ['job.started', 'job.completed'],
    );
    assert.deepEqual(await f.queue.stats(), { queued: 0, active: 0 });

    process.kill(second.pid!, 'SIGTERM');
    const [code] = (await once(second, 'exit')) as [number | null];
    assert.equal(code, 0, 'SIGTERM stops an idle worker cleanly');
  });
});
