import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AlphacutError } from '../core/errors.ts';
import type { ApiDeps } from './api-deps.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Idempotency-Key this request owns (it ran and its answer must be stored). */
    idempotencyKey: string | undefined;
  }
}

const staleAfterMs = 10 * 60_000;

function headerKey(req: FastifyRequest): string | undefined {
  const v = req.headers['idempotency-key'];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return undefined;
  if (s.length > 255)
    throw new AlphacutError('invalid_request', 'Idempotency-Key must be at most 255 characters.');
  return s;
}

/**
 * Claims the request's Idempotency-Key for a request whose method, URL and body hash to `bodyHash`.
 * 'run': the request is new (or has no key) and runs; its answer is stored by the onSend hook.
 * 'replayed': the first answer was sent again. A key still running or used for another body
 * throws `idempotency_conflict`.
 */
export async function claimIdempotencyKey(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: ApiDeps,
  bodyHash: string,
): Promise<'run' | 'replayed'> {
  const key = headerKey(req);
  if (!key || !req.apiKeyId) return 'run';
  const r = await deps.store.beginIdempotency({
    keyId: req.apiKeyId,
    key,
    bodyHash,
    staleAfterMs,
    now: deps.clock(),
  });
  switch (r.state) {
    case 'new':
      req.idempotencyKey = key;
      return 'run';
    case 'done':
      await reply
        .code(r.status)
        .header('content-type', 'application/json; charset=utf-8')
        .header('idempotent-replayed', 'true')
        .send(r.body);
      return 'replayed';
    case 'in_progress':
      reply.header('retry-after', '1');
      throw new AlphacutError(
        'idempotency_conflict',
        'A request with this Idempotency-Key is still being processed; retry shortly.',
      );
    case 'conflict':
      throw new AlphacutError(
        'idempotency_conflict',
        'This Idempotency-Key was already used with a different request body.',
      );
  }
}

/** The hash of a request with a JSON (already parsed) body. */
function jsonRequestHash(req: FastifyRequest): string {
  return createHash('sha256')
    .update(`${req.method} ${req.url}\n${JSON.stringify(req.body ?? null)}`)
    .digest('hex');
}

/**
 * Idempotency-Key on POST routes (API.md): the first answer (< 500, not 429) is stored with a hash of
 * method, URL and body; the same key and body replay it (no second job, no second charge), another
 * body is 409. A 5xx is not stored, so the client's retry really retries. JSON routes are claimed
 * here (`config.idempotent`); a streamed body (multipart upload) is only known once read, so its
 * handler claims the key itself with claimIdempotencyKey.
 */
export function registerIdempotencyHooks(app: FastifyInstance, deps: ApiDeps): void {
  app.decorateRequest('idempotencyKey', undefined);
  app.addHook('preHandler', async (req, reply) => {
    if (!req.routeOptions.config.idempotent) return;
    // Returning the reply tells Fastify that the hook answered (no handler runs).
    if ((await claimIdempotencyKey(req, reply, deps, jsonRequestHash(req))) === 'replayed') return reply;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const key = req.idempotencyKey;
    const keyId = req.apiKeyId;
    if (!key || !keyId) return payload;
    req.idempotencyKey = undefined;
    // A rate-limited or failed attempt was not an answer to the request: let the retry run.
    if (reply.statusCode >= 500 || reply.statusCode === 429 || typeof payload !== 'string')
      await deps.store.abandonIdempotency(keyId, key);
    else await deps.store.completeIdempotency({ keyId, key, status: reply.statusCode, body: payload });
    return payload;
  });
}
