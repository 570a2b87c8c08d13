import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { v7 as uuidv7 } from 'uuid';
import { AlphacutError } from '../core/errors.ts';
import type { ApiDeps } from './api-deps.ts';
import { registerAuthHooks } from './auth-hooks.ts';
import { errorHandler } from './error-envelope.ts';
import { registerIdempotencyHooks } from './idempotency-hooks.ts';
import { registerAccountRoutes } from './routes/account-routes.ts';
import { registerAdminRoutes } from './routes/admin-routes.ts';
import { registerFilesRoutes } from './routes/files-routes.ts';
import { registerJobsRoutes } from './routes/jobs-routes.ts';
import { registerOpsRoutes } from './routes/ops-routes.ts';
import { registerUploadsRoutes } from './routes/uploads-routes.ts';
import { registerWebRoutes } from './routes/web-routes.ts';

const callerRequestId = /^[\w.:-]{1,128}$/;

/**
 * The /v1 HTTP API of API.md as a Fastify instance (not listening; the caller decides where).
 * Routes are thin: they validate, call the store/queue/blob ports and shape the wire form.
 */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logLevel ? { level: deps.logLevel } : false,
    bodyLimit: 1024 * 1024,
    // Signed file tokens are a few hundred characters.
    routerOptions: { maxParamLength: 2048 },
    // Echo a sane caller id (so logs on both sides match); anything else gets our own.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      const id = Array.isArray(given) ? given[0] : given;
      return id && callerRequestId.test(id) ? id : `req_${uuidv7().replaceAll('-', '')}`;
    },
    requestIdHeader: false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req) => {
    throw new AlphacutError('not_found', `Route ${req.method} ${req.url.split('?')[0]} not found.`);
  });

  // SDKs post `start`/`cancel` with a JSON content type and no body; that is an empty object.
  // Only JSON (and multipart on /v1/uploads): a text/plain body is a 415, not a 400 later.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      const e = new AlphacutError('invalid_request', `The body is not valid JSON: ${(err as Error).message}`);
      done(e, undefined);
    }
  });

  // A POST without any body (and without a content type) reads as `{}` like an empty JSON one.
  app.addHook('preValidation', async (req) => {
    if (req.method === 'POST' && req.body == null && !req.isMultipart()) req.body = {};
  });
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-request-id', req.id);
    return payload;
  });

  await app.register(multipart, {
    limits: { fileSize: deps.config.uploadMaxBytes, files: 1, fields: 20, parts: 30 },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'alphacut API',
        version: '1',
        description: 'Video background removal, wire-compatible with the removebgvideo.com /v1 API.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
          adminToken: { type: 'apiKey', in: 'header', name: 'X-Admin-Token' },
        },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  // swagger-ui serves its own bundled assets: the docs work with no internet access.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  registerAuthHooks(app, deps);
  registerIdempotencyHooks(app, deps);
  app.addHook('onResponse', async (req, reply) => {
    const keyId = req.apiKeyId;
    if (!keyId) return;
    // Usage is bookkeeping: a failure to record it must not fail or slow the request.
    void deps.store
      .recordUsageEvent({
        keyId,
        kind: 'api_call',
        name: `${req.method} ${req.routeOptions.url ?? req.url}`,
        statusCode: reply.statusCode,
      })
      .catch((err: unknown) => req.log.warn({ err }, 'usage event not recorded'));
  });

  registerOpsRoutes(app, deps);
  registerUploadsRoutes(app, deps);
  registerJobsRoutes(app, deps);
  registerFilesRoutes(app, deps);
  registerAccountRoutes(app, deps);
  registerAdminRoutes(app, deps);
  await registerWebRoutes(app, deps);
  app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'none' } }, async () => app.swagger());
  return app;
}
