import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApiDeps, HealthCheck } from '../api-deps.ts';

async function runCheck(
  check: HealthCheck,
  timeoutMs: number,
): Promise<{ status: 'ok' | 'error'; message?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'ok' };
  } catch (err) {
    return { status: 'error', message: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /health and /metrics. The registry is per app (not prom-client's global one) so that several
 * apps in one process (tests) do not collide.
 */
export function registerOpsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'alphacut_' });
  const requests = new Counter({
    name: 'alphacut_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'alphacut_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'alphacut_queue_jobs',
    help: 'Jobs in the queue by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      try {
        const s = await deps.queue.stats();
        this.set({ state: 'queued' }, s.queued);
        this.set({ state: 'active' }, s.active);
      } catch {
        // A broken queue shows in /health; metrics keep the last values.
      }
    },
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.get(
    '/health',
    { schema: { tags: ['operations'], summary: 'Readiness of every dependency' }, config: { auth: 'none' } },
    async (_req, reply) => {
      const checks: Record<string, HealthCheck> = {
        db: () => deps.store.check(),
        queue: () => deps.queue.stats(),
        storage: () => deps.blobs.check(),
        ...deps.healthChecks,
      };
      const results = Object.fromEntries(
        await Promise.all(
          Object.entries(checks).map(async ([name, c]) => [name, await runCheck(c, 5000)] as const),
        ),
      );
      const healthy = Object.values(results).every((r) => r.status === 'ok');
      return reply
        .code(healthy ? 200 : 503)
        .send({ status: healthy ? 'healthy' : 'degraded', checks: results });
    },
  );

  app.get('/metrics', { schema: { hide: true }, config: { auth: 'none' } }, async (_req, reply) =>
    reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
}
