import type { JobQueue } from '../core/ports/job-queue.ts';
import type { JobStatus } from '../core/job.ts';

/**
 * Why a run stopped early. 'unreachable': the database or the queue did not answer for a whole
 * lease period, so this run can no longer prove it owns the job; it hands the entry back.
 */
export type StopReason = 'canceled' | 'lost' | 'shutdown' | 'unreachable';

export class JobStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`job stopped: ${reason}`);
  }
}

/**
 * Renews a queue lease and reports progress every `intervalMs`, one beat at a time (a slow
 * database must not pile them up). `report` returns the job's status, or null when this run no
 * longer owns the work: either stops the run through `controller` ('lost' or 'canceled').
 */
export function startHeartbeat(o: {
  queue: JobQueue;
  entryId: string;
  workerId: string;
  leaseMs: number;
  intervalMs: number;
  controller: AbortController;
  report: () => Promise<JobStatus | null>;
  log: (message: string) => void;
}): { stop(): Promise<void> } {
  // The last beat that reached both the queue and the store.
  let lastOk = Date.now();
  const beat = async (): Promise<void> => {
    if (o.controller.signal.aborted) return;
    try {
      if (!(await o.queue.heartbeat(o.entryId, o.workerId, o.leaseMs))) {
        o.controller.abort(new JobStopped('lost'));
        return;
      }
      const status = await o.report();
      if (status === null) o.controller.abort(new JobStopped('lost'));
      else if (status !== 'processing') o.controller.abort(new JobStopped('canceled'));
      lastOk = Date.now();
    } catch (err) {
      o.log(`heartbeat failed: ${err instanceof Error ? err.message : String(err)}`);
      // Nobody else can take the job over while the database is down, but once it is back the
      // lease we failed to renew may be another worker's: stop rather than render for nothing.
      if (Date.now() - lastOk > o.leaseMs) o.controller.abort(new JobStopped('unreachable'));
    }
  };
  let beating = Promise.resolve();
  const timer = setInterval(() => {
    beating = beating.then(beat);
  }, o.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await beating;
    },
  };
}
