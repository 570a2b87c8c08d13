import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AlphacutError } from '../../core/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { readDevKeyFile } from '../dev-key-file.ts';

/** `npm run build:web` writes here (see web/vite.config.ts). */
export const defaultWebDist = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const missingBuildPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>alphacut</title></head>
<body><h1>alphacut</h1><p>The web UI has not been built. Run <code>npm run build:web</code>
(scripts/setup.sh does it) and restart the server. The API is at <a href="/docs">/docs</a>.</p></body></html>
`;

const loopbackAddresses = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A request from a browser on this machine to a loopback name. The Host check keeps a page on
 * another site from reading the key through DNS rebinding (its Host would be that site's name);
 * a forwarding header means a proxy is in front and the peer address says nothing about the user.
 */
function fromLocalBrowser(req: FastifyRequest): boolean {
  if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) return false;
  if (!loopbackAddresses.has(req.socket.remoteAddress ?? '')) return false;
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  return loopbackHosts.has(host);
}

/**
 * The browser UI: the static Vite build at `/` (it talks to the /v1 API like any client), and
 * `GET /ui/dev-key`, which hands the first-run development key to a browser on this machine in
 * embedded mode so that `alphacut serve` + opening the page is enough to try it.
 */
export async function registerWebRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const dist = deps.webDistDir ?? defaultWebDist;
  if (existsSync(`${dist}/index.html`)) {
    await app.register(fastifyStatic, {
      root: dist,
      prefix: '/',
      // One route per built file, so every other path keeps the API's JSON 404.
      wildcard: false,
      setHeaders(reply, path) {
        // Vite fingerprints everything under assets/; index.html must be re-read to see a new build.
        reply.header(
          'cache-control',
          path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
  } else {
    app.get('/', { schema: { hide: true }, config: { auth: 'none' } }, async (_req, reply) =>
      reply.type('text/html; charset=utf-8').send(missingBuildPage),
    );
  }

  app.get('/ui/dev-key', { schema: { hide: true }, config: { auth: 'none' } }, async (req, reply) => {
    const key = deps.devKeyFile && fromLocalBrowser(req) ? await readDevKeyFile(deps.devKeyFile) : undefined;
    // Same answer whatever the reason, so a remote caller learns nothing about the setup.
    if (!key) throw new AlphacutError('not_found', 'No development key is offered to this client.');
    return reply.header('cache-control', 'no-store').send({ key });
  });
}
