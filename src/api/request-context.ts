import type { FastifyRequest } from 'fastify';
import { AlphacutError } from '../core/errors.ts';
import type { ApiDeps } from './api-deps.ts';
import type { LinkSigner } from './job-view.ts';

/** Which guard a route sits behind; set per route in `config`. */
export type RouteAuth = 'key' | 'admin' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /** POST routes whose JSON body takes part in Idempotency-Key replay. */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated key's row id (`key_…`), set by the auth hook. */
    apiKeyId: string | undefined;
  }
}

export function keyIdOf(req: FastifyRequest): string {
  if (!req.apiKeyId) throw new AlphacutError('missing_api_key', 'An API key is required.');
  return req.apiKeyId;
}

/** The origin signed links and upload URLs are built on. */
export function originOf(deps: ApiDeps, req: FastifyRequest): string {
  return deps.config.publicBaseUrl?.replace(/\/+$/, '') ?? `${req.protocol}://${req.host}`;
}

export function signerFor(deps: ApiDeps, origin: string): LinkSigner {
  return {
    baseUrl: origin,
    secret: deps.config.signingSecret,
    ttlSeconds: deps.config.fileUrlTtlSeconds,
    nowSeconds: Math.floor(deps.clock().getTime() / 1000),
  };
}
