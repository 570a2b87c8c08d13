import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hashApiKey } from '../core/api-keys.ts';
import { AlphacutError } from '../core/errors.ts';
import type { ApiDeps } from './api-deps.ts';
import { FixedWindowRateLimiter } from './rate-limiter.ts';

function presentedKey(req: FastifyRequest): string | undefined {
  const header = req.headers['x-api-key'];
  const direct = Array.isArray(header) ? header[0] : header;
  if (direct?.trim()) return direct.trim();
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1]?.trim() || undefined;
}

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison is constant-time whatever the lengths.
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function setRateHeaders(reply: FastifyReply, limit: number, remaining: number, reset: number): void {
  for (const prefix of ['', 'x-'])
    reply
      .header(`${prefix}ratelimit-limit`, String(limit))
      .header(`${prefix}ratelimit-remaining`, String(remaining))
      .header(`${prefix}ratelimit-reset`, String(reset));
}

/**
 * onRequest guards, so a request without a valid key is refused before its body is even read:
 * API keys (X-Api-Key or Bearer; a disabled key reads as invalid), the per-key request budget,
 * and the admin token.
 */
export function registerAuthHooks(app: FastifyInstance, deps: ApiDeps): void {
  const limiter =
    deps.rateLimiter ??
    new FixedWindowRateLimiter(deps.config.rateLimit.limit, deps.config.rateLimit.windowMs);
  app.decorateRequest('apiKeyId', undefined);
  app.addHook('onRequest', async (req, reply) => {
    const auth = req.routeOptions.config.auth ?? 'none';
    if (auth === 'admin') {
      const configured = deps.config.adminToken;
      // Without a configured token the admin API does not exist.
      if (!configured) throw new AlphacutError('not_found', `Route ${req.method} ${req.url} not found.`);
      const given = req.headers['x-admin-token'];
      const token = Array.isArray(given) ? given[0] : given;
      if (!token) throw new AlphacutError('missing_api_key', 'The X-Admin-Token header is required.');
      if (!sameSecret(token, configured))
        throw new AlphacutError('invalid_api_key', 'The admin token is not valid.');
      return;
    }
    if (auth !== 'key') return;
    const key = presentedKey(req);
    if (!key)
      throw new AlphacutError(
        'missing_api_key',
        'An API key is required: send it as the X-Api-Key header (or Authorization: Bearer <key>).',
      );
    const record = await deps.store.findApiKeyByHash(hashApiKey(key, deps.config.keyPepper));
    if (!record || record.disabled) throw new AlphacutError('invalid_api_key', 'The API key is not valid.');
    req.apiKeyId = record.id;
    const d = await limiter.hit(record.id, deps.clock().getTime());
    setRateHeaders(reply, d.limit, d.remaining, d.resetSeconds);
    if (!d.allowed) {
      reply.header('retry-after', String(d.resetSeconds));
      throw new AlphacutError(
        'rate_limited',
        `Too many requests: at most ${d.limit} per ${Math.round(deps.config.rateLimit.windowMs / 1000)} s. Retry after ${d.resetSeconds} s.`,
        { retry_after_seconds: d.resetSeconds },
      );
    }
  });
}
