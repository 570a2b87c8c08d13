import { useEffect, useState } from 'preact/hooks';
import type { AlphacutClient } from '../../../src/sdk/alphacut-client.ts';
import type { JobList } from '../../../src/sdk/api-types.ts';
import { ErrorNotice } from '../error-notice.tsx';
import { describeError, type ShownError } from '../error-text.ts';
import { formatDate, formatSeconds } from '../format.ts';
import { statusText } from '../new-job/job-progress.tsx';
import { UsagePanel } from './usage-panel.tsx';

const pageSize = 20;

/** Recent jobs of this key (GET /v1/jobs) and the usage panel. */
export function JobsPage({ client }: { client: AlphacutClient }) {
  const [list, setList] = useState<JobList | null>(null);
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<ShownError | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    client
      .listJobs({ limit: pageSize, offset })
      .then(setList, (err: unknown) => setError(describeError(err)));
  }, [client, offset, reload]);

  return (
    <div>
      <h1>Jobs and usage</h1>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      <UsagePanel client={client} />
      <section aria-labelledby="jobs-title">
        <div class="row spread">
          <h2 id="jobs-title">Recent jobs</h2>
          <button type="button" onClick={() => setReload((r) => r + 1)}>
            Refresh
          </button>
        </div>
        {list && list.jobs.length === 0 && <p>No jobs yet.</p>}
        {list && list.jobs.length > 0 && (
          <div class="table-wrap">
            <table class="jobs">
              <caption class="visually-hidden">
                Jobs {offset + 1}–{offset + list.jobs.length} of {list.total}, newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">Status</th>
                  <th scope="col">Model</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Credits</th>
                  <th scope="col">Job</th>
                </tr>
              </thead>
              <tbody>
                {list.jobs.map((j) => (
                  <tr key={j.id}>
                    <td>{formatDate(j.created_at)}</td>
                    <td>
                      <span class={`badge ${j.status}`}>{statusText(j.status)}</span>
                      {j.status === 'processing' ? ` ${Math.round(j.progress)} %` : ''}
                    </td>
                    <td>{j.model}</td>
                    <td>{formatSeconds(j.preview_duration ?? j.duration_seconds)}</td>
                    <td>
                      {j.credits_used ?? j.credits_reserved ?? '—'}
                      {j.billing_status === 'reserved' ? ' (reserved)' : ''}
                      {j.billing_status === 'refunded' ? ' (refunded)' : ''}
                    </td>
                    <td>
                      <a href={`#/jobs/${j.id}`}>Open {j.id.slice(-6)}</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {list && list.total > pageSize && (
          <div class="row">
            <button
              type="button"
              disabled={offset === 0}
              onClick={() => setOffset(Math.max(0, offset - pageSize))}
            >
              Newer
            </button>
            <button
              type="button"
              disabled={offset + pageSize >= list.total}
              onClick={() => setOffset(offset + pageSize)}
            >
              Older
            </button>
          </div>
        )}
      </section>
    </div>
  );
}
