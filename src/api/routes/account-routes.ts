import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CreditBalance } from '../../core/credits.ts';
import type { UsageDay } from '../../core/ports/job-store.ts';
import { tierNames, tiers, type TierName } from '../../models/tiers.ts';
import type { ApiDeps } from '../api-deps.ts';
import { keyIdOf } from '../request-context.ts';

/** Measured 1080p speed order of the tiers (README tiers table), as coarse classes. */
const speedClass: Record<TierName, string> = {
  human: 'fastest',
  light: 'fast',
  original: 'standard',
  pro: 'slow',
};

export function creditsView(b: CreditBalance): Record<string, unknown> {
  return {
    total_credits: b.total,
    used_credits: b.used,
    remaining_credits: b.remaining,
    reserved_credits: b.reserved,
    unlimited: b.unlimited,
  };
}

function dayView(d: Omit<UsageDay, 'date'>): Record<string, number> {
  return {
    jobs: d.jobs,
    completed_jobs: d.completedJobs,
    failed_jobs: d.failedJobs,
    seconds_processed: d.secondsProcessed,
    credits_used: d.creditsUsed,
  };
}

export function registerAccountRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/v1/models',
    { schema: { tags: ['account'], summary: 'Models, prices and capabilities' }, config: { auth: 'key' } },
    async () => ({
      success: true,
      models: await Promise.all(
        tierNames.map(async (name) => {
          const t = tiers[name];
          return {
            id: name,
            name,
            credits_per_minute: t.creditsPerMinute,
            capabilities: { text_prompt: name === 'pro', subjects: t.subjects },
            installed: deps.modelInstalled ? await deps.modelInstalled(name) : true,
            speed_class: speedClass[name],
            default: name === 'original',
          };
        }),
      ),
    }),
  );

  r.get(
    '/v1/credits',
    { schema: { tags: ['account'], summary: 'Credit balance of this key' }, config: { auth: 'key' } },
    async (req) => ({
      success: true,
      ...creditsView(await deps.store.getBalance(keyIdOf(req))),
    }),
  );

  r.get(
    '/v1/usage/summary',
    {
      schema: {
        querystring: z.object({ days: z.coerce.number().int().min(1).max(90).default(7) }),
        tags: ['account'],
        summary: 'Per-day and total usage',
      },
      config: { auth: 'key' },
    },
    async (req) => {
      const s = await deps.store.usageSummary(keyIdOf(req), req.query.days, deps.clock());
      return {
        success: true,
        days: req.query.days,
        daily: s.days.map((d) => ({ date: d.date, ...dayView(d) })),
        totals: dayView(s.totals),
      };
    },
  );

  r.get(
    '/v1/usage/events',
    {
      schema: {
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
        tags: ['account'],
        summary: 'Recent API calls and job events',
      },
      config: { auth: 'key' },
    },
    async (req) => ({
      success: true,
      events: (await deps.store.listUsageEvents(keyIdOf(req), req.query.limit)).map((e) => ({
        id: e.id,
        kind: e.kind,
        name: e.name,
        job_id: e.jobId,
        status_code: e.statusCode,
        seconds: e.seconds,
        credits: e.credits,
        created_at: e.createdAt,
      })),
    }),
  );
}
