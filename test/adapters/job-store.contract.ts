import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  apiKeyFingerprint,
  generateApiKey,
  generateWebhookSecret,
  hashApiKey,
} from '../../src/core/api-keys.ts';
import { AlphacutError } from '../../src/core/errors.ts';
import type { LedgerEntry } from '../../src/core/credits.ts';
import { newJobId, newUploadId } from '../../src/core/job.ts';
import type { JobStore, NewJob } from '../../src/core/ports/job-store.ts';

export interface StoreHandle {
  store: JobStore;
  cleanup(): Promise<void>;
}
export type MakeStore = (opts?: { unlimitedCredits?: boolean }) => Promise<StoreHandle>;

function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(p, (e: unknown) => e instanceof AlphacutError && e.code === code);
}

async function newKey(store: JobStore, credits = 0): Promise<string> {
  const key = await store.createApiKey({
    name: 'test',
    keyHash: hashApiKey(generateApiKey()),
    fingerprint: 'ak_…test',
    webhookSecret: generateWebhookSecret(),
  });
  if (credits > 0) await store.grantCredits(key.id, credits, 'test grant');
  return key.id;
}

function jobInput(keyId: string, over: Partial<NewJob> = {}): NewJob {
  return {
    id: newJobId(),
    keyId,
    videoUrl: 'https://example.com/v.mp4',
    inputBlob: null,
    request: { model: 'human' },
    model: 'human',
    outputFormat: 'webm',
    webhookUrl: null,
    metadata: { order: 7 },
    durationSeconds: 10,
    width: 320,
    height: 240,
    fps: 25,
    ...over,
  };
}

/** Sums per kind of the ledger rows of one job. */
function sums(rows: LedgerEntry[]): Record<string, number> {
  const s: Record<string, number> = {};
  for (const r of rows) s[r.kind] = (s[r.kind] ?? 0) + r.amount;
  return s;
}

/**
 * The JobStore contract: every adapter (SQLite today, PostgreSQL later) must pass it unchanged.
 * Call it once per adapter with a factory that yields a fresh, empty store.
 */
export function jobStoreContract(name: string, makeStore: MakeStore): void {
  describe(`JobStore contract: ${name}`, () => {
    async function withStore(fn: (s: JobStore) => Promise<void>, unlimitedCredits = false): Promise<void> {
      const h = await makeStore({ unlimitedCredits });
      try {
        await fn(h.store);
      } finally {
        await h.cleanup();
      }
    }

    it('API keys: create, find by hash, list, disable/enable, webhook secret rotate', () =>
      withStore(async (store) => {
        const plain = generateApiKey();
        const k = await store.createApiKey({
          name: 'alice',
          keyHash: hashApiKey(plain),
          fingerprint: apiKeyFingerprint(plain),
          webhookSecret: 'whsec_a',
        });
        assert.match(k.id, /^key_/);
        assert.equal((await store.findApiKeyByHash(hashApiKey(plain)))?.id, k.id);
        assert.equal(await store.findApiKeyByHash(hashApiKey(generateApiKey())), null);
        assert.deepEqual(
          (await store.listApiKeys()).map((x) => x.id),
          [k.id],
        );
        assert.equal(await store.setApiKeyDisabled(k.id, true), true);
        assert.equal((await store.getApiKey(k.id))?.disabled, true);
        assert.equal(await store.setApiKeyDisabled(k.id, false), true);
        assert.equal((await store.getApiKey(k.id))?.disabled, false);
        assert.equal(await store.setApiKeyDisabled('key_nope', true), false);
        assert.equal(await store.getWebhookSecret(k.id), 'whsec_a');
        assert.equal(await store.rotateWebhookSecret(k.id, 'whsec_b'), true);
        assert.equal(await store.getWebhookSecret(k.id), 'whsec_b');
        assert.equal(await store.getWebhookSecret('key_nope'), null);
      }));

    it('credits: grants add up, unknown key and non-integer amounts are refused', () =>
      withStore(async (store) => {
        const k = await newKey(store);
        assert.deepEqual(await store.getBalance(k), {
          total: 0,
          used: 0,
          reserved: 0,
          remaining: 0,
          unlimited: false,
        });
        await store.grantCredits(k, 100);
        const b = await store.grantCredits(k, 50, 'top-up');
        assert.deepEqual(b, { total: 150, used: 0, reserved: 0, remaining: 150, unlimited: false });
        await rejectsWith(store.grantCredits('key_nope', 5), 'not_found');
        await rejectsWith(store.grantCredits(k, 1.5), 'invalid_request');
        await rejectsWith(store.grantCredits(k, 0), 'invalid_request');
        assert.equal((await store.listLedger(k)).length, 2);
      }));

    it('uploads are scoped to their key', () =>
      withStore(async (store) => {
        const a = await newKey(store);
        const b = await newKey(store);
        const id = newUploadId();
        await store.createUpload({
          id,
          keyId: a,
          blobKey: `${a}/uploads/${id}/input.mp4`,
          filename: 'v.mp4',
          size: 3_000_000_000,
          probe: { durationSeconds: 4 },
        });
        const u = await store.getUpload(a, id);
        assert.equal(u?.size, 3_000_000_000);
        assert.deepEqual(u?.probe, { durationSeconds: 4 });
        assert.equal(await store.getUpload(b, id), null);
      }));

    it('jobs: insert, scoped get, newest-first list with total, limit, offset and status filter', () =>
      withStore(async (store) => {
        const a = await newKey(store, 1000);
        const b = await newKey(store);
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await store.insertJob(jobInput(a))).id);
        await store.insertJob(jobInput(b));
        await store.startJob(a, ids[1]!, { credits: 8 });
        const j = await store.getJob(a, ids[0]!);
        assert.equal(j?.status, 'created');
        assert.deepEqual(j?.metadata, { order: 7 });
        assert.deepEqual(j?.request, { model: 'human' });
        assert.equal(j?.billingStatus, 'none');
        assert.equal(await store.getJob(b, ids[0]!), null, "another key's job is not found");
        const page = await store.listJobs(a, { limit: 2, offset: 1 });
        assert.equal(page.total, 5);
        assert.deepEqual(
          page.jobs.map((x) => x.id),
          [ids[3], ids[2]],
        );
        const pending = await store.listJobs(a, { limit: 10, offset: 0, status: 'pending' });
        assert.deepEqual(
          pending.jobs.map((x) => x.id),
          [ids[1]],
        );
        assert.equal(pending.total, 1);
        assert.equal(await store.countActiveJobs(a), 1);
      }));

    it('start reserves credits with a ledger row and an audit transition', () =>
      withStore(async (store) => {
        const k = await newKey(store, 100);
        const job = await store.insertJob(jobInput(k));
        const started = await store.startJob(k, job.id, {
          credits: 8,
          model: 'original',
          outputFormat: 'mov',
          request: { model: 'original', output_format: 'mov' },
          webhookUrl: 'https://hooks.example/x',
        });
        assert.equal(started.status, 'pending');
        assert.equal(started.billingStatus, 'reserved');
        assert.equal(started.creditsReserved, 8);
        assert.equal(started.attempt, 1);
        assert.equal(started.model, 'original');
        assert.equal(started.outputFormat, 'mov');
        assert.equal(started.webhookUrl, 'https://hooks.example/x');
        assert.deepEqual(started.request, { model: 'original', output_format: 'mov' });
        assert.deepEqual(await store.getBalance(k), {
          total: 100,
          used: 0,
          reserved: 8,
          remaining: 92,
          unlimited: false,
        });
        assert.deepEqual(sums(await store.listLedger(k, { jobId: job.id })), { reserve: 8 });
        assert.deepEqual(
          (await store.listTransitions(job.id)).map((t) => [t.from, t.to]),
          [
            [null, 'created'],
            ['created', 'pending'],
          ],
        );
      }));

    it('insufficient_credits changes nothing, and create+start leaves no draft behind', () =>
      withStore(async (store) => {
        const k = await newKey(store, 5);
        const job = await store.insertJob(jobInput(k));
        await rejectsWith(store.startJob(k, job.id, { credits: 6 }), 'insufficient_credits');
        const after = await store.getJob(k, job.id);
        assert.equal(after?.status, 'created');
        assert.equal(after?.billingStatus, 'none');
        assert.equal(after?.attempt, 0);
        assert.equal((await store.listTransitions(job.id)).length, 1);
        assert.deepEqual(await store.getBalance(k), {
          total: 5,
          used: 0,
          reserved: 0,
          remaining: 5,
          unlimited: false,
        });
        const draft = jobInput(k);
        await rejectsWith(store.insertJob(draft, { credits: 6 }), 'insufficient_credits');
        assert.equal(await store.getJob(k, draft.id), null);
        const ok = await store.insertJob(jobInput(k), { credits: 5 });
        assert.equal(ok.status, 'pending');
        assert.equal((await store.getBalance(k)).remaining, 0);
      }));

    it('state machine: only created/failed start; cancel only from created/pending/processing', () =>
      withStore(async (store) => {
        const k = await newKey(store, 100);
        const other = await newKey(store, 100);
        const job = await store.insertJob(jobInput(k));
        await rejectsWith(store.startJob(other, job.id, { credits: 1 }), 'not_found');
        await rejectsWith(store.startJob(k, 'job_missing', { credits: 1 }), 'not_found');
        await store.startJob(k, job.id, { credits: 1 });
        await rejectsWith(store.startJob(k, job.id, { credits: 1 }), 'job_not_startable');
        const run = await store.beginProcessing(job.id, 'w1');
        await rejectsWith(store.startJob(k, job.id, { credits: 1 }), 'job_not_startable');
        await store.completeJob(done(job.id, run!.runId!));
        await rejectsWith(store.startJob(k, job.id, { credits: 1 }), 'job_not_startable');
        await rejectsWith(store.cancelJob(k, job.id), 'job_not_startable');
        await rejectsWith(store.cancelJob(other, job.id), 'not_found');
        assert.equal(await store.beginProcessing(job.id, 'w2'), null, 'a completed job is not runnable');
        assert.equal(await store.failJob({ jobId: job.id, code: 'x', message: 'x' }), null);
      }));

    it('segments: created once per job, run-guarded claims, aggregate progress, all-done once', () =>
      withStore(async (store) => {
        const k = await newKey(store, 100);
        const job = await store.insertJob(jobInput(k));
        await store.startJob(k, job.id, { credits: 8 });
        const run = await store.beginProcessing(job.id, 'parent');
        const plan = [
          { startFrame: 0, endFrame: 100 },
          { startFrame: 100, endFrame: 250 },
        ];
        assert.equal(await store.createSegments(job.id, 'not-the-run', plan), null);
        const segs = await store.createSegments(job.id, run!.runId!, plan);
        assert.deepEqual(
          segs?.map((s) => [s.index, s.startFrame, s.endFrame, s.status]),
          [
            [0, 0, 100, 'pending'],
            [1, 100, 250, 'pending'],
          ],
        );
        // A re-claimed parent adopts the first split rather than making another.
        const again = await store.beginProcessing(job.id, 'parent2');
        const adopted = await store.createSegments(job.id, again!.runId!, [{ startFrame: 0, endFrame: 250 }]);
        assert.equal(adopted?.length, 2);
        assert.equal((await store.getJobById(job.id))?.framesTotal, 250);

        const a1 = await store.beginSegment(job.id, 0, 'w1');
        const a2 = await store.beginSegment(job.id, 0, 'w2'); // w1's lease ran out
        assert.equal(a2?.segment.claims, 2);
        const b = await store.beginSegment(job.id, 1, 'w3');
        assert.equal(await store.beginSegment(job.id, 7, 'w3'), null);
        assert.equal(await store.updateSegmentProgress(job.id, 0, a1!.segment.runId!, 10), null);
        assert.equal(await store.updateSegmentProgress(job.id, 0, a2!.segment.runId!, 40), 'processing');
        assert.equal(await store.updateSegmentProgress(job.id, 1, b!.segment.runId!, 60), 'processing');
        const mid = await store.getJobById(job.id);
        assert.equal(mid?.framesDone, 100);
        assert.equal(mid?.progress, 40);

        const fin = (index: number, runId: string) =>
          store.finishSegment({ jobId: job.id, index, runId, blobPrefix: `p/${index}` });
        assert.equal(await fin(0, a1!.segment.runId!), null, 'a superseded render cannot finish');
        assert.deepEqual(await fin(0, a2!.segment.runId!), { allDone: false });
        assert.equal(await fin(0, a2!.segment.runId!), null, 'once');
        assert.equal(await store.beginSegment(job.id, 0, 'w4'), null, 'a done segment is not runnable');
        assert.deepEqual(await fin(1, b!.segment.runId!), { allDone: true });
        const list = await store.listSegments(job.id);
        assert.deepEqual(
          list.map((s) => [s.status, s.blobPrefix, s.framesDone]),
          [
            ['done', 'p/0', 100],
            ['done', 'p/1', 150],
          ],
        );
        // A canceled job's segments can neither begin nor report.
        const job2 = await store.insertJob(jobInput(k));
        await store.startJob(k, job2.id, { credits: 8 });
        const run2 = await store.beginProcessing(job2.id, 'parent');
        await store.createSegments(job2.id, run2!.runId!, plan);
        const c = await store.beginSegment(job2.id, 0, 'w1');
        await store.cancelJob(k, job2.id);
        assert.equal(await store.updateSegmentProgress(job2.id, 0, c!.segment.runId!, 5), 'canceled');
        assert.equal(await store.beginSegment(job2.id, 1, 'w1'), null);
        assert.equal(
          await store.finishSegment({ jobId: job2.id, index: 0, runId: c!.segment.runId!, blobPrefix: 'x' }),
          null,
        );
      }));

    it('concurrent starts of one key cannot overdraw', () =>
      withStore(async (store) => {
        const k = await newKey(store, 10);
        const jobs = await Promise.all(Array.from({ length: 6 }, () => store.insertJob(jobInput(k))));
        const results = await Promise.allSettled(jobs.map((j) => store.startJob(k, j.id, { credits: 3 })));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
        for (const r of results)
          if (r.status === 'rejected') assert.equal((r.reason as AlphacutError).code, 'insufficient_credits');
        assert.deepEqual(await store.getBalance(k), {
          total: 10,
          used: 0,
          reserved: 9,
          remaining: 1,
          unlimited: false,
        });
      }));

    it('complete charges the actual cost once, releases the rest; a stale run cannot complete', () =>
      withStore(async (store) => {
        const k = await newKey(store, 100);
        const job = await store.insertJob(jobInput(k, { webhookUrl: 'https://hooks.example/h' }));
        await store.startJob(k, job.id, { credits: 8 }); // 10 s of human = ceil(10*45/60) = 8
        const r1 = await store.beginProcessing(job.id, 'w1');
        assert.equal(r1?.status, 'processing');
        // w1 dies; its lease expires and w2 re-claims the same attempt.
        const r2 = await store.beginProcessing(job.id, 'w2');
        assert.notEqual(r2?.runId, r1?.runId);
        assert.equal(r2?.attempt, 1);
        assert.equal(r2?.startedAt, r1?.startedAt, 'a re-claim keeps started_at');
        assert.equal(
          await store.updateProgress(job.id, r1!.runId!, prog(10)),
          null,
          'the old run lost the job',
        );
        assert.equal(await store.updateProgress(job.id, r2!.runId!, prog(50)), 'processing');
        assert.equal((await store.getJob(k, job.id))?.progress, 50);
        assert.equal(await store.completeJob(done(job.id, r1!.runId!, 4)), null);
        const c = await store.completeJob(done(job.id, r2!.runId!, 4.2)); // 5 s → ceil(5*45/60) = 4
        assert.equal(c?.status, 'completed');
        assert.equal(c?.creditsUsed, 4);
        assert.equal(c?.billingStatus, 'charged');
        assert.equal(c?.outputBlob, `key_test/jobs/${job.id}/output.webm`);
        assert.equal(c?.progress, 100);
        assert.equal(await store.completeJob(done(job.id, r2!.runId!, 4.2)), null, 'exactly once');
        assert.deepEqual(sums(await store.listLedger(k, { jobId: job.id })), {
          reserve: 8,
          charge: 4,
          release: 4,
        });
        assert.deepEqual(await store.getBalance(k), {
          total: 100,
          used: 4,
          reserved: 0,
          remaining: 96,
          unlimited: false,
        });
        const events = await store.listWebhookEvents(job.id);
        assert.deepEqual(
          events.map((e) => e.event),
          ['job.started', 'job.completed'],
          'a re-claim does not announce a second start',
        );
        assert.equal(events[1]?.job.status, 'completed');
        assert.deepEqual(
          (await store.listTransitions(job.id)).map((t) => `${t.from}>${t.to}`),
          [
            'null>created',
            'created>pending',
            'pending>processing',
            'processing>processing',
            'processing>completed',
          ],
        );
      }));

    it('the charge never exceeds the reservation', () =>
      withStore(async (store) => {
        const k = await newKey(store, 100);
        const job = await store.insertJob(jobInput(k), { credits: 2 });
        const run = await store.beginProcessing(job.id, 'w');
        const c = await store.completeJob(done(job.id, run!.runId!, 60));
        assert.equal(c?.creditsUsed, 2);
        assert.deepEqual(sums(await store.listLedger(k, { jobId: job.id })), { reserve: 2, charge: 2 });
      }));

    it('fail refunds everything; a failed job can be started again as a new attempt', () =>
      withStore(async (store) => {
        const k = await newKey(store, 20);
        const job = await store.insertJob(jobInput(k, { webhookUrl: 'https://hooks.example/h' }), {
          credits: 8,
        });
        const run = await store.beginProcessing(job.id, 'w');
        assert.equal(
          await store.failJob({ jobId: job.id, runId: 'stale', code: 'decode_failed', message: 'x' }),
          null,
        );
        const f = await store.failJob({
          jobId: job.id,
          runId: run!.runId!,
          code: 'decode_failed',
          message: 'bad file',
        });
        assert.equal(f?.status, 'failed');
        assert.equal(f?.errorCode, 'decode_failed');
        assert.equal(f?.error, 'bad file');
        assert.equal(f?.billingStatus, 'refunded');
        assert.deepEqual(await store.getBalance(k), {
          total: 20,
          used: 0,
          reserved: 0,
          remaining: 20,
          unlimited: false,
        });
        const again = await store.startJob(k, job.id, { credits: 8 });
        assert.equal(again.attempt, 2);
        assert.equal(again.error, null);
        assert.equal(again.errorCode, null);
        const run2 = await store.beginProcessing(job.id, 'w');
        await store.completeJob(done(job.id, run2!.runId!, 10));
        assert.deepEqual(sums(await store.listLedger(k, { jobId: job.id })), {
          reserve: 16,
          refund: 8,
          charge: 8,
        });
        assert.deepEqual(await store.getBalance(k), {
          total: 20,
          used: 8,
          reserved: 0,
          remaining: 12,
          unlimited: false,
        });
        assert.deepEqual(
          (await store.listWebhookEvents(job.id)).map((e) => e.event),
          ['job.started', 'job.failed', 'job.started', 'job.completed'],
        );
      }));

    it('cancel refunds from created, pending and processing; the running worker sees it', () =>
      withStore(async (store) => {
        const k = await newKey(store, 30);
        const draft = await store.insertJob(jobInput(k));
        assert.equal((await store.cancelJob(k, draft.id)).status, 'canceled');
        assert.equal((await store.cancelJob(k, draft.id)).status, 'canceled', 'cancel is idempotent');
        const queued = await store.insertJob(jobInput(k), { credits: 8 });
        const c1 = await store.cancelJob(k, queued.id);
        assert.equal(c1.billingStatus, 'refunded');
        assert.equal(await store.beginProcessing(queued.id, 'w'), null);
        const running = await store.insertJob(jobInput(k, { webhookUrl: 'https://hooks.example/h' }), {
          credits: 8,
        });
        const run = await store.beginProcessing(running.id, 'w');
        await store.cancelJob(k, running.id);
        assert.equal(await store.updateProgress(running.id, run!.runId!, prog(60)), 'canceled');
        assert.equal(
          await store.completeJob(done(running.id, run!.runId!)),
          null,
          'a canceled job is never charged',
        );
        assert.deepEqual(await store.getBalance(k), {
          total: 30,
          used: 0,
          reserved: 0,
          remaining: 30,
          unlimited: false,
        });
        assert.deepEqual(
          (await store.listWebhookEvents(running.id)).map((e) => e.event),
          ['job.started', 'job.canceled'],
        );
      }));

    it('requeue hands a processing job back with its reservation intact', () =>
      withStore(async (store) => {
        const k = await newKey(store, 30);
        const job = await store.insertJob(jobInput(k), { credits: 8 });
        const run = await store.beginProcessing(job.id, 'w');
        assert.equal(await store.requeueJob(job.id, 'stale'), null);
        const back = await store.requeueJob(job.id, run!.runId!);
        assert.equal(back?.status, 'pending');
        assert.equal(back?.billingStatus, 'reserved');
        assert.equal((await store.getBalance(k)).reserved, 8);
        assert.equal((await store.beginProcessing(job.id, 'w2'))?.status, 'processing');
      }));

    it('delete keeps the row as deleted, refunds a live reservation and returns only its own blobs', () =>
      withStore(async (store) => {
        const k = await newKey(store, 30);
        const own = `${k}/jobs/`;
        const j = jobInput(k);
        const job = await store.insertJob(
          { ...j, inputBlob: `${own}${j.id}/input.mp4`, backgroundBlob: `${k}/uploads/upl_x/bg.png` },
          { credits: 8 },
        );
        const run = await store.beginProcessing(job.id, 'w');
        const { job: del, blobKeys } = await store.deleteJob(k, job.id);
        assert.equal(del.status, 'deleted');
        assert.equal(del.billingStatus, 'refunded');
        assert.deepEqual(blobKeys, [`${own}${j.id}/input.mp4`]);
        assert.equal(await store.updateProgress(job.id, run!.runId!, prog(1)), 'deleted');
        assert.equal((await store.getJob(k, job.id))?.status, 'deleted');
        assert.equal((await store.getBalance(k)).remaining, 30);
        await rejectsWith(store.startJob(k, job.id, { credits: 1 }), 'job_not_startable');
        await rejectsWith(store.deleteJob(await newKey(store), job.id), 'not_found');
      }));

    it('per-key cap on active jobs answers rate_limited', () =>
      withStore(async (store) => {
        const k = await newKey(store, 100);
        await store.insertJob(jobInput(k), { credits: 1, maxActiveJobs: 2 });
        await store.insertJob(jobInput(k), { credits: 1, maxActiveJobs: 2 });
        const third = await store.insertJob(jobInput(k));
        await rejectsWith(store.startJob(k, third.id, { credits: 1, maxActiveJobs: 2 }), 'rate_limited');
        assert.equal((await store.getBalance(k)).reserved, 2);
      }));

    it('unlimited deployments never refuse for credits but still keep the ledger', () =>
      withStore(async (store) => {
        const k = await newKey(store);
        const job = await store.insertJob(jobInput(k), { credits: 500 });
        assert.equal(job.billingStatus, 'reserved');
        const b = await store.getBalance(k);
        assert.equal(b.unlimited, true);
        assert.equal(b.reserved, 500);
      }, true));

    it('webhook events: only with a webhook_url; claim locks them; attempts are recorded', () =>
      withStore(async (store) => {
        const k = await newKey(store, 100);
        const silent = await store.insertJob(jobInput(k), { credits: 1 });
        await store.beginProcessing(silent.id, 'w');
        assert.deepEqual(await store.listWebhookEvents(silent.id), []);
        const job = await store.insertJob(jobInput(k, { webhookUrl: 'https://hooks.example/h' }), {
          credits: 1,
        });
        await store.beginProcessing(job.id, 'w');
        const [ev] = await store.listWebhookEvents(job.id);
        assert.equal(ev?.status, 'pending');
        assert.equal(ev?.attempts, 0);
        assert.equal(ev?.url, 'https://hooks.example/h');
        assert.equal(ev?.job.status, 'processing');
        assert.match(ev?.id ?? '', /^evt_/);
        const claimed = await store.claimDueWebhookEvents({ limit: 10, lockMs: 30_000 });
        assert.deepEqual(
          claimed.map((e) => e.id),
          [ev?.id],
        );
        assert.deepEqual(
          await store.claimDueWebhookEvents({ limit: 10, lockMs: 30_000 }),
          [],
          'locked while sending',
        );
        const retryAt = new Date(Date.now() + 60_000);
        await store.recordWebhookAttempt({
          id: ev!.id,
          ok: false,
          statusCode: 500,
          error: 'HTTP 500',
          nextAttemptAt: retryAt,
        });
        let [after] = await store.listWebhookEvents(job.id);
        assert.equal(after?.status, 'pending');
        assert.equal(after?.attempts, 1);
        assert.equal(after?.lastStatusCode, 500);
        assert.equal(after?.nextAttemptAt, retryAt.toISOString());
        assert.ok(after?.lastAttemptAt);
        assert.deepEqual(await store.claimDueWebhookEvents({ limit: 10, lockMs: 1000 }), []);
        const later = await store.claimDueWebhookEvents({
          limit: 10,
          lockMs: 1000,
          now: new Date(retryAt.getTime() + 1),
        });
        assert.equal(later.length, 1);
        await store.recordWebhookAttempt({ id: ev!.id, ok: true, statusCode: 204, nextAttemptAt: null });
        [after] = await store.listWebhookEvents(job.id);
        assert.equal(after?.status, 'sent');
        assert.equal(after?.attempts, 2);
        assert.equal(after?.nextAttemptAt, null);
        const f = await store.insertJob(jobInput(k, { webhookUrl: 'https://hooks.example/h' }), {
          credits: 1,
        });
        await store.beginProcessing(f.id, 'w');
        const [fe] = await store.listWebhookEvents(f.id);
        await store.recordWebhookAttempt({
          id: fe!.id,
          ok: false,
          statusCode: null,
          error: 'timeout',
          nextAttemptAt: null,
        });
        assert.equal((await store.listWebhookEvents(f.id))[0]?.status, 'failed');
      }));

    it('usage: events listed newest first; summary per UTC day with zero days', () =>
      withStore(async (store) => {
        const k = await newKey(store, 1000);
        const other = await newKey(store, 1000);
        await store.recordUsageEvent({ keyId: k, kind: 'api_call', name: 'POST /v1/jobs', statusCode: 201 });
        const a = await store.insertJob(jobInput(k), { credits: 8 });
        const ra = await store.beginProcessing(a.id, 'w');
        await store.completeJob(done(a.id, ra!.runId!, 10));
        const b = await store.insertJob(jobInput(k), { credits: 8 });
        await store.beginProcessing(b.id, 'w');
        await store.failJob({ jobId: b.id, code: 'decode_failed', message: 'x' });
        await store.insertJob(jobInput(other), { credits: 8 });
        const events = await store.listUsageEvents(k, 100);
        assert.equal(events.at(-1)?.name, 'POST /v1/jobs');
        assert.equal(events.at(-1)?.statusCode, 201);
        assert.equal(events[0]?.name, 'job.failed');
        assert.equal((await store.listUsageEvents(k, 2)).length, 2);
        const s = await store.usageSummary(k, 3);
        assert.equal(s.days.length, 3);
        assert.equal(s.days[2]?.date, new Date().toISOString().slice(0, 10));
        assert.deepEqual(s.days[0], {
          date: s.days[0]?.date,
          jobs: 0,
          completedJobs: 0,
          failedJobs: 0,
          secondsProcessed: 0,
          creditsUsed: 0,
        });
        assert.deepEqual(s.totals, {
          jobs: 2,
          completedJobs: 1,
          failedJobs: 1,
          secondsProcessed: 10,
          creditsUsed: 8,
        });
        const tomorrow = new Date(Date.now() + 86_400_000);
        const s2 = await store.usageSummary(k, 1, tomorrow);
        assert.equal(s2.totals.jobs, 0, 'the window ends at the given day');
      }));

    it('idempotency: first runs, duplicates wait or replay, another body conflicts, stale takes over', () =>
      withStore(async (store) => {
        const k = await newKey(store);
        const other = await newKey(store);
        const base = { keyId: k, key: 'idem-1', bodyHash: 'h1', staleAfterMs: 60_000 };
        assert.deepEqual(await store.beginIdempotency(base), { state: 'new' });
        assert.deepEqual(await store.beginIdempotency(base), { state: 'in_progress' });
        assert.deepEqual(await store.beginIdempotency({ ...base, bodyHash: 'h2' }), { state: 'conflict' });
        assert.deepEqual(
          await store.beginIdempotency({ ...base, keyId: other }),
          { state: 'new' },
          'scoped per key',
        );
        await store.completeIdempotency({ keyId: k, key: 'idem-1', status: 201, body: '{"id":"job_x"}' });
        assert.deepEqual(await store.beginIdempotency(base), {
          state: 'done',
          status: 201,
          body: '{"id":"job_x"}',
        });
        const concurrent = await Promise.all(
          Array.from({ length: 5 }, () => store.beginIdempotency({ ...base, key: 'idem-2' })),
        );
        assert.equal(
          concurrent.filter((r) => r.state === 'new').length,
          1,
          'concurrent duplicates do not both run',
        );
        const later = new Date(Date.now() + 120_000);
        assert.deepEqual(await store.beginIdempotency({ ...base, key: 'idem-2', now: later }), {
          state: 'new',
        });
        await store.abandonIdempotency(k, 'idem-2');
        assert.deepEqual(await store.beginIdempotency({ ...base, key: 'idem-2' }), { state: 'new' });
        assert.equal(await store.purgeIdempotency(new Date(Date.now() + 1000)), 3);
      }));

    it('lists pending jobs not touched for a while (stranded before their enqueue)', () =>
      withStore(async (store) => {
        const k = await newKey(store, 100);
        const a = await store.insertJob(jobInput(k), { credits: 1 });
        const b = await store.insertJob(jobInput(k), { credits: 1 });
        await store.insertJob(jobInput(k));
        await store.beginProcessing(b.id, 'w');
        const later = new Date(Date.now() + 1000);
        assert.deepEqual(await store.listPendingJobIds({ updatedBefore: later, limit: 10 }), [a.id]);
        assert.deepEqual(
          await store.listPendingJobIds({ updatedBefore: new Date(Date.now() - 60_000), limit: 10 }),
          [],
        );
      }));

    it('a processing job without a heartbeat goes back to pending once; its old run cannot complete it', () =>
      withStore(async (store) => {
        const k = await newKey(store, 100);
        const job = await store.insertJob(jobInput(k), { credits: 5 });
        const run = await store.beginProcessing(job.id, 'w');
        const past = new Date(Date.now() - 60_000);
        const later = new Date(Date.now() + 1000);
        assert.deepEqual(await store.listStaleProcessingJobIds({ updatedBefore: past, limit: 10 }), []);
        assert.deepEqual(await store.listStaleProcessingJobIds({ updatedBefore: later, limit: 10 }), [
          job.id,
        ]);
        assert.equal(await store.requeueStaleJob(job.id, past, 'lost'), null, 'a recent heartbeat wins');
        const back = await store.requeueStaleJob(job.id, later, 'queue entry lost');
        assert.equal(back?.status, 'pending');
        assert.equal(back?.runId, null);
        assert.equal(back?.billingStatus, 'reserved');
        assert.equal(await store.requeueStaleJob(job.id, later, 'again'), null, 'only processing jobs');
        const stale = {
          jobId: job.id,
          runId: run!.runId!,
          outputBlob: 'o',
          maskBlob: null,
          renderedSeconds: 1,
          framesTotal: 1,
          width: 1,
          height: 1,
          fps: 1,
        };
        assert.equal(await store.completeJob(stale), null, 'the old run is refused');
        const again = await store.beginProcessing(job.id, 'w2');
        assert.ok(await store.completeJob({ ...stale, runId: again!.runId! }));
        assert.deepEqual((await store.listLedger(k, { jobId: job.id })).map((e) => e.kind).sort(), [
          'charge',
          'release',
          'reserve',
        ]);
        assert.deepEqual(
          (await store.listTransitions(job.id)).map((t) => `${t.to}${t.reason ? ` (${t.reason})` : ''}`),
          ['created', 'pending', 'processing', 'pending (queue entry lost)', 'processing', 'completed'],
        );
      }));

    it('check() answers when the store is usable', () => withStore((store) => store.check()));
  });
}

function prog(progress: number) {
  return { progress, framesDone: progress, framesTotal: 100, etaSeconds: 1 };
}

function done(jobId: string, runId: string, seconds = 10) {
  return {
    jobId,
    runId,
    outputBlob: `key_test/jobs/${jobId}/output.webm`,
    maskBlob: null,
    renderedSeconds: seconds,
    framesTotal: Math.round(seconds * 25),
    width: 320,
    height: 240,
    fps: 25,
  };
}
