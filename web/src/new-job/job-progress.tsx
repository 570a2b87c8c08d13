import type { Job } from '../../../src/sdk/api-types.ts';
import { formatSeconds } from '../format.ts';

const statusWords: Record<string, string> = {
  created: 'Draft (not started)',
  pending: 'Queued',
  processing: 'Processing',
  completed: 'Done',
  failed: 'Failed',
  canceled: 'Canceled',
  deleted: 'Deleted',
};

export function statusText(status: string): string {
  return statusWords[status] ?? status;
}

/** Step 5: live progress of the running job (frames done and ETA from the job object). */
export function JobProgress({ job, onCancel }: { job: Job; onCancel?: () => void }) {
  const running = job.status === 'pending' || job.status === 'processing';
  const frames =
    job.frames_total !== null ? `${job.frames_done ?? 0} of ${job.frames_total} frames` : 'frames: —';
  return (
    <section class="step" aria-labelledby="progress-title">
      <h2 id="progress-title">5. Progress</h2>
      <p>
        Job <code>{job.id}</code> · {job.model} · {job.output_format}
      </p>
      <label for="job-progress">
        {statusText(job.status)} · {Math.round(job.progress)} %
      </label>
      <progress id="job-progress" max={100} value={job.progress} />
      {/* Polite: announced when it changes, without interrupting. */}
      <p aria-live="polite" data-status={job.status} class="job-status">
        {statusText(job.status)}: {frames}
        {running && job.eta_seconds !== null ? ` · about ${formatSeconds(job.eta_seconds)} left` : ''}
      </p>
      {running && onCancel && (
        <button type="button" onClick={onCancel}>
          Cancel job
        </button>
      )}
    </section>
  );
}
