import { useEffect, useState } from 'preact/hooks';
import type { AlphacutClient } from '../../src/sdk/alphacut-client.ts';
import type { Job } from '../../src/sdk/api-types.ts';
import { describeError, type ShownError } from './error-text.ts';

const terminal = new Set(['completed', 'failed', 'canceled', 'deleted']);

/**
 * Polls GET /v1/jobs/{id} once a second until the job settles. Polling (not webhooks) because a
 * browser cannot receive webhooks, and a second is what the progress bar needs.
 */
export function useJob(
  client: AlphacutClient,
  jobId: string | null,
  initial?: Job,
): { job: Job | null; error: ShownError | null; setJob: (j: Job) => void } {
  const [job, setJob] = useState<Job | null>(initial ?? null);
  const [error, setError] = useState<ShownError | null>(null);

  useEffect(() => {
    if (!jobId) {
      setJob(null);
      return;
    }
    let stopped = false;
    let timer: number | undefined;
    const poll = async (): Promise<void> => {
      try {
        const j = await client.getJob(jobId);
        if (stopped) return;
        setJob(j);
        setError(null);
        if (terminal.has(j.status)) return;
      } catch (err) {
        if (stopped) return;
        setError(describeError(err));
      }
      timer = window.setTimeout(() => void poll(), 1000);
    };
    void poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [client, jobId]);

  return { job, error, setJob };
}
