import { joinEntry, segmentEntry } from '../core/queue-entries.ts';
import type { JobQueue } from '../core/ports/job-queue.ts';
import type { JobStore } from '../core/ports/job-store.ts';

/** A processing job whose run has not reported for this many lease periods may be stranded. */
export const staleLeases = 3;

/** Whether any queue entry of the job (the job itself, an unfinished segment, the join) exists. */
async function hasQueueEntry(store: JobStore, queue: JobQueue, jobId: string): Promise<boolean> {
  if ((await queue.has(jobId)) || (await queue.has(joinEntry(jobId)))) return true;
  for (const s of await store.listSegments(jobId))
    if (s.status !== 'done' && (await queue.has(segmentEntry(jobId, s.index)))) return true;
  return false;
}

/**
 * The store, not the queue, decides what a job is; this puts back what the queue lost. Expired
 * leases become claimable; pending jobs older than a lease are enqueued (enqueue is idempotent:
 * a crash between startJob's commit and its enqueue, or Redis losing its data, strands nothing);
 * a processing job whose heartbeat stopped `staleLeases` lease periods ago and that has no queue
 * entry left (Redis restarted empty, or a worker acked it and then could not settle it) goes back
 * to pending under no run and is enqueued: the next claim starts a new run, and the old run, if
 * it is still alive somewhere, can no longer complete it. Safe to run in every worker at once.
 * Returns how many jobs were recovered from processing.
 */
export async function recoverStrandedJobs(o: {
  store: JobStore;
  queue: JobQueue;
  leaseMs: number;
  log: (message: string) => void;
  limit?: number;
}): Promise<number> {
  const limit = o.limit ?? 100;
  await o.queue.sweep();
  const pendingBefore = new Date(Date.now() - o.leaseMs);
  for (const id of await o.store.listPendingJobIds({ updatedBefore: pendingBefore, limit }))
    await o.queue.enqueue(id);
  const staleBefore = new Date(Date.now() - staleLeases * o.leaseMs);
  let recovered = 0;
  for (const id of await o.store.listStaleProcessingJobIds({ updatedBefore: staleBefore, limit })) {
    if (await hasQueueEntry(o.store, o.queue, id)) continue;
    const back = await o.store.requeueStaleJob(id, staleBefore, 'queue entry lost');
    if (!back) continue;
    await o.queue.enqueue(id);
    recovered++;
    o.log(`job ${id}: processing without a heartbeat or a queue entry; handed back to the queue`);
  }
  return recovered;
}
