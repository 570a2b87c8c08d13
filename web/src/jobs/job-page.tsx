import type { AlphacutClient } from '../../../src/sdk/alphacut-client.ts';
import { useState } from 'preact/hooks';
import { ErrorNotice } from '../error-notice.tsx';
import { describeError, describeJobFailure, type ShownError } from '../error-text.ts';
import { JobProgress } from '../new-job/job-progress.tsx';
import { JobResult } from '../new-job/job-result.tsx';
import { useJob } from '../use-job.ts';

/** One job opened from the list: live progress while it runs, then the result with fresh links. */
export function JobPage({ client, jobId }: { client: AlphacutClient; jobId: string }) {
  const { job, error } = useJob(client, jobId);
  const [cancelError, setCancelError] = useState<ShownError | null>(null);
  const failure = job?.status === 'failed' ? describeJobFailure(job.error_code, job.error) : null;
  return (
    <div>
      <p>
        <a href="#/jobs">← All jobs</a>
      </p>
      <h1>Job {jobId}</h1>
      <ErrorNotice error={cancelError ?? error ?? failure} />
      {!job && !error && <p>Loading…</p>}
      {job && (
        <JobProgress
          job={job}
          onCancel={() =>
            void client.cancelJob(job.id).catch((err: unknown) => setCancelError(describeError(err)))
          }
        />
      )}
      {job && <JobResult job={job} original={null} />}
    </div>
  );
}
