import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AlphacutError } from '../../core/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { sendError } from '../error-envelope.ts';
import { verifyFileToken } from '../file-token.ts';

/** A single `bytes=` range; multi-range requests get the whole file (allowed by RFC 9110). */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'whole' | 'unsatisfiable' {
  if (!header) return 'whole';
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return 'whole';
  const [, a, b] = m;
  if (a === '' && b === '') return 'whole';
  let start: number;
  let end: number;
  if (a === '') {
    // Suffix range: the last N bytes.
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** RFC 6266: an ASCII fallback plus the UTF-8 form. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function registerFilesRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/files/:token',
    {
      schema: {
        params: z.object({ token: z.string() }),
        tags: ['outputs'],
        summary: 'A signed, expiring output link (no API key; Range supported)',
      },
      config: { auth: 'none' },
    },
    async (req, reply) => {
      const p = verifyFileToken(
        deps.config.signingSecret,
        req.params.token,
        Math.floor(deps.clock().getTime() / 1000),
      );
      if (!p) throw new AlphacutError('not_found', 'This link is invalid or has expired.');
      const st = await deps.blobs.stat(p.b);
      // A deleted job's outputs are gone even while old links are still within their lifetime.
      if (!st) throw new AlphacutError('not_found', 'This file no longer exists.');
      if (deps.blobs.presignGet) {
        // S3 serves the bytes (and Range) itself; the link stays ours, so it can still be
        // revoked by deleting the job. The presigned URL lives no longer than the token.
        const left = p.e - Math.floor(deps.clock().getTime() / 1000);
        const url = await deps.blobs.presignGet(p.b, {
          expiresInSeconds: Math.max(60, Math.min(3600, left)),
          contentType: p.t,
          contentDisposition: contentDisposition(p.n),
        });
        return reply.header('cache-control', 'private, no-store').redirect(url, 302);
      }
      const range = parseRange(req.headers.range, st.size);
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${st.size}`);
        return sendError(
          req,
          reply,
          'invalid_request',
          `Range not satisfiable (size ${st.size}).`,
          undefined,
          416,
        );
      }
      reply
        .header('content-type', p.t)
        .header('content-disposition', contentDisposition(p.n))
        // The type is ours (from the signed token); a browser must not guess another one.
        .header('x-content-type-options', 'nosniff')
        .header('accept-ranges', 'bytes')
        .header('cache-control', 'private, max-age=3600')
        .header('last-modified', new Date(st.modifiedAt).toUTCString());
      if (range === 'whole') {
        reply.header('content-length', String(st.size));
        return reply.send(await deps.blobs.get(p.b));
      }
      reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${st.size}`)
        .header('content-length', String(range.end - range.start + 1));
      return reply.send(await deps.blobs.get(p.b, range));
    },
  );
}
