import { useEffect, useState } from 'preact/hooks';
import type { AlphacutClient } from '../../../src/sdk/alphacut-client.ts';
import type { Credits, UsageSummary } from '../../../src/sdk/api-types.ts';
import { ErrorNotice } from '../error-notice.tsx';
import { describeError, type ShownError } from '../error-text.ts';
import { formatSeconds } from '../format.ts';

/** Credit balance (GET /v1/credits) and credits used per day (GET /v1/usage/summary) as bars. */
export function UsagePanel({ client }: { client: AlphacutClient }) {
  const [days, setDays] = useState(7);
  const [credits, setCredits] = useState<Credits | null>(null);
  const [usage, setUsage] = useState<UsageSummary | null>(null);
  const [error, setError] = useState<ShownError | null>(null);

  useEffect(() => {
    const fail = (err: unknown) => setError(describeError(err));
    client.credits().then(setCredits, fail);
    client.usageSummary(days).then(setUsage, fail);
  }, [client, days]);

  return (
    <section class="usage" aria-labelledby="usage-title">
      <h2 id="usage-title">Usage</h2>
      <ErrorNotice error={error} />
      {credits && (
        <dl class="balance">
          <div>
            <dt>Remaining</dt>
            <dd data-testid="remaining-credits">
              {credits.unlimited ? 'unlimited' : credits.remaining_credits}
            </dd>
          </div>
          <div>
            <dt>Reserved</dt>
            <dd>{credits.reserved_credits}</dd>
          </div>
          <div>
            <dt>Used</dt>
            <dd>{credits.used_credits}</dd>
          </div>
          <div>
            <dt>Granted</dt>
            <dd>{credits.total_credits}</dd>
          </div>
        </dl>
      )}
      <label for="usage-days">Period</label>
      <select id="usage-days" value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
        <option value={7}>Last 7 days</option>
        <option value={30}>Last 30 days</option>
        <option value={90}>Last 90 days</option>
      </select>
      {usage && <UsageChart usage={usage} />}
      {usage && (
        <p>
          {usage.totals.jobs} {usage.totals.jobs === 1 ? 'job' : 'jobs'} ({usage.totals.completed_jobs}{' '}
          completed, {usage.totals.failed_jobs} failed) · {formatSeconds(usage.totals.seconds_processed)}{' '}
          processed · {usage.totals.credits_used} credits
        </p>
      )}
    </section>
  );
}

function UsageChart({ usage }: { usage: UsageSummary }) {
  const w = 600;
  const h = 140;
  const pad = 18;
  const max = Math.max(1, ...usage.daily.map((d) => d.credits_used));
  const n = Math.max(1, usage.daily.length);
  const slot = (w - pad) / n;
  const label = usage.daily.map((d) => `${d.date}: ${d.credits_used}`).join(', ');
  return (
    <svg class="chart" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`Credits used per day. ${label}`}>
      <line x1={pad} y1={h - pad} x2={w} y2={h - pad} class="axis" />
      <text x={0} y={12} class="tick">
        {max}
      </text>
      {usage.daily.map((d, i) => {
        const bh = ((h - 2 * pad) * d.credits_used) / max;
        const x = pad + i * slot + slot * 0.15;
        return (
          <g key={d.date}>
            <title>{`${d.date}: ${d.credits_used} credits, ${d.jobs} jobs`}</title>
            <rect
              x={x}
              y={h - pad - bh}
              width={slot * 0.7}
              height={Math.max(bh, d.credits_used ? 1 : 0)}
              class="bar"
            />
            {(n <= 10 || i % Math.ceil(n / 8) === 0) && (
              <text x={x} y={h - 4} class="tick">
                {d.date.slice(5)}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
