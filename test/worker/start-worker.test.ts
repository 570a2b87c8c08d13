import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveDataDir } from '../../src/app/paths.ts';
import { creditsFor } from '../../src/core/credits.ts';
import { startWorker, type WorkerOptions } from '../../src/worker/start-worker.ts';
import { countFrames, tempDir } from '../helpers/media.ts';
import { squareClip, waitFor, workerFixture, type WorkerFixture } from './worker-fixture.ts';

// Temp files go right after the job settles (the settle is what tests wait for), so poll briefly.
async function scratchCleared(f: WorkerFixture): Promise<void> {
  await waitFor('temp files removed', async () => (await f.scratchEntries()).length === 0, 5000);
}

describe('startWorker (SQLite store, lease queue, local blobs, real pipeline with the human model)', () => {
  let clips: string;
  let cleanupClips: () => Promise<void>;
  let short: string;
  let long: string;
  before(async () => {
    ({ dir: clips, cleanup: cleanupClips } = await tempDir('alphacut-clips-'));
    short = join(clips, 'short.mp4');
    long = join(clips, 'long.mp4');
    await squareClip(short, 2);
    await squareClip(long, 30);
  });
  after(() => cleanupClips());

  async function withWorker(
    fn: (f: WorkerFixture, stop: AbortController, worker: ReturnType<typeof startWorker>) => Promise<void>,
    over: Partial<WorkerOptions> = {},
    setup?: (f: WorkerFixture) => Promise<void>,
  ): Promise<void> {
    const f = await workerFixture();
    await setup?.(f);
    const stop = new AbortController();
    const worker = startWorker({
      store: f.store,
      queue: f.queue,
      blobs: f.blobs,
      dataDir: resolveDataDir(),
      scratchDir: f.scratch,
      leaseMs: 3000,
      pollMs: 50,
      signal: stop.signal,
      ...over,
    });
    try {
      await fn(f, stop, worker);
    } finally {
      stop.abort();
      await worker.stopped;
      await f.cleanup();
    }
  }

  it('completes a job: outputs stored, actual cost charged once, webhook rows, progress 100', () =>
    withWorker(async (f) => {
      const job = await f.submit(short, 2, { webhookUrl: 'https://hooks.example/h' });
      const done = await waitFor('completion', async () => {
        const j = await f.store.getJob(f.keyId, job.id);
        return j?.status === 'completed' || j?.status === 'failed' ? j : undefined;
      });
      assert.equal(done.status, 'completed', `${done.errorCode}: ${done.error}`);
      assert.equal(done.progress, 100);
      assert.equal(done.framesTotal, 50);
      assert.equal(done.width, 320);
      assert.equal(done.creditsUsed, creditsFor('human', 2));
      assert.equal(done.billingStatus, 'charged');
      assert.ok(done.outputBlob?.startsWith(`${f.keyId}/jobs/${job.id}/`));
      const out = await f.blobs.localPath(done.outputBlob!);
      assert.equal(await countFrames(out.path, true), 50);
      assert.ok((await f.blobs.stat(done.maskBlob!))!.size > 0);
      const ledger = await f.store.listLedger(f.keyId, { jobId: job.id });
      assert.deepEqual(ledger.map((l) => l.kind).sort(), ['charge', 'reserve']);
      assert.deepEqual(
        (await f.store.listWebhookEvents(job.id)).map((e) => e.event),
        ['job.started', 'job.completed'],
      );
      assert.deepEqual(await f.queue.stats(), { queued: 0, active: 0 });
      await scratchCleared(f);
    }));

  it('a job whose input is not a video fails with its pipeline code and is refunded', () =>
    withWorker(async (f) => {
      const bogus = join(f.dir, 'bogus.mp4');
      await writeFile(bogus, 'this is not a video');
      const job = await f.submit(bogus, 3);
      const failed = await waitFor('failure', async () => {
        const j = await f.store.getJob(f.keyId, job.id);
        return j?.status === 'failed' ? j : undefined;
      });
      assert.ok(failed.errorCode && failed.errorCode !== 'internal_error', `code ${failed.errorCode}`);
      assert.ok(failed.error);
      assert.equal(failed.billingStatus, 'refunded');
      assert.deepEqual(await f.store.getBalance(f.keyId), {
        total: 1000,
        used: 0,
        reserved: 0,
        remaining: 1000,
        unlimited: false,
      });
      await scratchCleared(f);
    }));

  it('cancel stops the running pipeline within seconds, refunds, and the worker goes on', () =>
    withWorker(async (f) => {
      const job = await f.submit(long, 30);
      await waitFor('frames', async () => ((await f.store.getJob(f.keyId, job.id))?.framesDone ?? 0) > 0);
      const t0 = Date.now();
      await f.store.cancelJob(f.keyId, job.id);
      await waitFor('the queue to let go', async () => (await f.queue.stats()).active === 0, 10_000);
      assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
      const canceled = await f.store.getJob(f.keyId, job.id);
      assert.equal(canceled?.status, 'canceled');
      assert.equal(canceled?.billingStatus, 'refunded');
      assert.equal(canceled?.outputBlob, null);
      assert.equal((await f.store.getBalance(f.keyId)).remaining, 1000);
      const next = await f.submit(short, 2);
      const done = await waitFor('the next job', async () => {
        const j = await f.store.getJob(f.keyId, next.id);
        return j?.status === 'completed' ? j : undefined;
      });
      assert.equal(done.creditsUsed, creditsFor('human', 2));
      await scratchCleared(f);
    }));

  it('on stop, a job that outlives the grace period is handed back as pending with its reservation', () =>
    withWorker(
      async (f, stop, worker) => {
        const job = await f.submit(long, 30);
        await waitFor('frames', async () => ((await f.store.getJob(f.keyId, job.id))?.framesDone ?? 0) > 0);
        stop.abort();
        await worker.stopped;
        const back = await f.store.getJob(f.keyId, job.id);
        assert.equal(back?.status, 'pending');
        assert.equal(back?.billingStatus, 'reserved');
        assert.equal(await f.queue.claim('other', 1000), job.id, 'claimable by another worker at once');
        assert.deepEqual(
          (await f.store.listTransitions(job.id)).map((t) => t.to),
          ['created', 'pending', 'processing', 'pending'],
        );
        await scratchCleared(f);
      },
      { graceMs: 200 },
    ));

  it('a crashed worker’s job (lease never renewed) is re-claimed after expiry and settled once', async () => {
    let jobId = '';
    let deadRun = '';
    await withWorker(
      async (f) => {
        const done = await waitFor('completion', async () => {
          const j = await f.store.getJob(f.keyId, jobId);
          return j?.status === 'completed' ? j : undefined;
        });
        assert.notEqual(done.runId, deadRun);
        assert.equal(done.creditsUsed, creditsFor('human', 2));
        // The dead worker coming back to life cannot settle it a second time.
        const late = await f.store.completeJob({
          jobId,
          runId: deadRun,
          outputBlob: `${f.keyId}/jobs/${jobId}/x/output.webm`,
          maskBlob: null,
          renderedSeconds: 2,
          framesTotal: 50,
          width: 320,
          height: 240,
          fps: 25,
        });
        assert.equal(late, null);
        const kinds = (await f.store.listLedger(f.keyId, { jobId })).map((l) => l.kind).sort();
        assert.deepEqual(kinds, ['charge', 'reserve']);
        assert.deepEqual(
          (await f.store.listTransitions(jobId)).map((t) => `${t.from}>${t.to}`),
          [
            'null>created',
            'created>pending',
            'pending>processing',
            'processing>processing',
            'processing>completed',
          ],
        );
        assert.deepEqual(
          (await f.store.listWebhookEvents(jobId)).map((e) => e.event),
          ['job.started', 'job.completed'],
        );
      },
      {},
      async (f) => {
        // A worker that claimed and started the job, then died without a trace.
        jobId = (await f.submit(short, 2, { webhookUrl: 'https://hooks.example/h' })).id;
        assert.equal(await f.queue.claim('dead-worker', 300), jobId);
        deadRun = (await f.store.beginProcessing(jobId, 'dead-worker'))!.runId!;
      },
    );
  });
});
