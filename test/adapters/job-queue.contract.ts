import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { JobQueue } from '../../src/core/ports/job-queue.ts';

export type MakeQueue = () => Promise<{ queue: JobQueue; cleanup(): Promise<void> }>;

/** The JobQueue contract: the embedded lease table today, BullMQ later, with the same tests. */
export function jobQueueContract(name: string, makeQueue: MakeQueue): void {
  describe(`JobQueue contract: ${name}`, () => {
    async function withQueue(fn: (q: JobQueue) => Promise<void>): Promise<void> {
      const h = await makeQueue();
      try {
        await fn(h.queue);
      } finally {
        await h.cleanup();
      }
    }

    it('claims in enqueue order; enqueue is idempotent; an empty queue gives null', () =>
      withQueue(async (q) => {
        assert.equal(await q.claim('w1', 10_000), null);
        await q.enqueue('job_a');
        await sleep(2);
        await q.enqueue('job_b');
        await q.enqueue('job_a');
        assert.deepEqual(await q.stats(), { queued: 2, active: 0 });
        assert.equal(await q.claim('w1', 10_000), 'job_a');
        assert.equal(await q.claim('w2', 10_000), 'job_b');
        assert.equal(await q.claim('w3', 10_000), null, 'leased ids are invisible');
        await q.enqueue('job_a');
        assert.equal(await q.claim('w3', 10_000), null, 're-enqueueing a claimed id does not duplicate it');
        assert.deepEqual(await q.stats(), { queued: 0, active: 2 });
      }));

    it('has: true while waiting or leased, false once acked or never queued', () =>
      withQueue(async (q) => {
        assert.equal(await q.has('job_a'), false);
        await q.enqueue('job_a');
        assert.equal(await q.has('job_a'), true);
        assert.equal(await q.claim('w1', 10_000), 'job_a');
        assert.equal(await q.has('job_a'), true);
        await q.ack('job_a', 'w1');
        assert.equal(await q.has('job_a'), false);
      }));

    it('concurrent claims never hand one id to two workers', () =>
      withQueue(async (q) => {
        for (let i = 0; i < 5; i++) await q.enqueue(`job_${i}`);
        const got = await Promise.all(Array.from({ length: 10 }, (_, i) => q.claim(`w${i}`, 10_000)));
        const ids = got.filter((x): x is string => x !== null);
        assert.equal(ids.length, 5);
        assert.equal(new Set(ids).size, 5);
      }));

    it('an expired lease is claimed by another worker; the old owner then loses it', () =>
      withQueue(async (q) => {
        await q.enqueue('job_a');
        assert.equal(await q.claim('w1', 150), 'job_a');
        assert.equal(await q.heartbeat('job_a', 'w1', 150), true);
        assert.equal(await q.claim('w2', 150), null);
        await sleep(250);
        assert.equal(await q.claim('w2', 10_000), 'job_a');
        assert.equal(await q.heartbeat('job_a', 'w1', 10_000), false);
        await q.ack('job_a', 'w1');
        assert.deepEqual(await q.stats(), { queued: 0, active: 1 }, "a former owner's ack is ignored");
        assert.equal(await q.heartbeat('job_a', 'w2', 10_000), true);
        await q.ack('job_a', 'w2');
        assert.deepEqual(await q.stats(), { queued: 0, active: 0 });
        assert.equal(await q.heartbeat('job_a', 'w2', 10_000), false);
      }));

    it('heartbeats keep a lease alive past its first expiry', () =>
      withQueue(async (q) => {
        await q.enqueue('job_a');
        await q.claim('w1', 200);
        for (let i = 0; i < 4; i++) {
          await sleep(100);
          assert.equal(await q.heartbeat('job_a', 'w1', 200), true);
        }
        assert.equal(await q.claim('w2', 200), null);
      }));

    it('sweep makes expired leases claimable and counts them', () =>
      withQueue(async (q) => {
        await q.enqueue('job_a');
        await q.enqueue('job_b');
        await q.claim('w1', 50);
        await q.claim('w1', 60_000);
        await sleep(120);
        assert.equal(await q.sweep(), 1);
        assert.deepEqual(await q.stats(), { queued: 1, active: 1 });
        assert.equal(await q.claim('w2', 1000), 'job_a');
      }));

    it('release gives the id back (optionally delayed); only the owner can release', () =>
      withQueue(async (q) => {
        await q.enqueue('job_a');
        await q.claim('w1', 60_000);
        await q.release('job_a', 'w2');
        assert.equal(await q.claim('w2', 60_000), null);
        await q.release('job_a', 'w1', { delayMs: 150 });
        assert.equal(await q.claim('w2', 60_000), null, 'not before the delay');
        await sleep(200);
        assert.equal(await q.claim('w2', 60_000), 'job_a');
      }));

    it('delayed enqueue and remove', () =>
      withQueue(async (q) => {
        await q.enqueue('job_a', { delayMs: 150 });
        assert.equal(await q.claim('w1', 1000), null);
        await sleep(200);
        assert.equal(await q.remove('job_a'), true);
        assert.equal(await q.remove('job_a'), false);
        assert.equal(await q.claim('w1', 1000), null);
      }));
  });
}
