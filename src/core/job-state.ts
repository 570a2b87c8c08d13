import { AlphacutError } from './errors.ts';
import type { JobStatus } from './job.ts';

/**
 * The job state machine of API.md. `processing → pending` is the graceful hand-back of a worker
 * that stops; `processing → processing` is a re-claim after a crashed worker's lease expired.
 */
const transitions: Record<JobStatus, readonly JobStatus[]> = {
  created: ['pending', 'canceled', 'deleted'],
  pending: ['processing', 'failed', 'canceled', 'deleted'],
  processing: ['processing', 'pending', 'completed', 'failed', 'canceled', 'deleted'],
  completed: ['deleted'],
  failed: ['pending', 'deleted'],
  canceled: ['deleted'],
  deleted: [],
};

export const startableStatuses: readonly JobStatus[] = ['created', 'failed'];
export const cancelableStatuses: readonly JobStatus[] = ['created', 'pending', 'processing'];
/** States in which a job counts against the per-key cap of queued+processing jobs. */
export const activeStatuses: readonly JobStatus[] = ['pending', 'processing'];
export const finalStatuses: readonly JobStatus[] = ['completed', 'failed', 'canceled', 'deleted'];

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return transitions[from].includes(to);
}

export function assertStartable(jobId: string, status: JobStatus): void {
  if (!startableStatuses.includes(status))
    throw new AlphacutError(
      'job_not_startable',
      `Job ${jobId} is ${status}; only created or failed jobs can be started.`,
      { status },
    );
}

export function assertCancelable(jobId: string, status: JobStatus): void {
  // API.md names no dedicated code; 409 job_not_startable is the closest conflict it defines.
  if (!cancelableStatuses.includes(status))
    throw new AlphacutError(
      'job_not_startable',
      `Job ${jobId} is ${status}; only created, pending or processing jobs can be canceled.`,
      { status },
    );
}
