import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type {} from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { uploadBlobKey } from '../../core/blob-key.ts';
import { AlphacutError } from '../../core/errors.ts';
import { isUploadId, newUploadId } from '../../core/job.ts';
import type { ApiDeps } from '../api-deps.ts';
import { sendError } from '../error-envelope.ts';
import { claimIdempotencyKey } from '../idempotency-hooks.ts';
import { mediaSummary, probeStored } from '../media-intake.ts';
import { keyIdOf, originOf } from '../request-context.ts';

/** A file name safe to echo and to derive an extension from. */
function cleanFilename(name: string | undefined): string {
  const base = basename((name ?? '').replaceAll('\\', '/'))
    .replace(/[^\w.\- ()]/g, '_')
    .slice(-200);
  return base && base !== '.' && base !== '..' ? base : 'video';
}

/** How long a presigned PUT stays valid. */
export const presignedUploadTtlSeconds = 3600;

function uploadKeyFor(keyId: string, id: string, filename: string): string {
  const ext = filename.includes('.') ? (filename.split('.').pop() ?? '').toLowerCase() : '';
  return uploadBlobKey(keyId, id, `video.${/^[a-z0-9]{1,5}$/.test(ext) ? ext : 'bin'}`);
}

export function registerUploadsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/v1/uploads/presign',
    {
      schema: {
        tags: ['uploads'],
        summary:
          'S3 storage only: a presigned PUT URL for sending the video to the bucket directly; its video_url starts jobs of this key',
        body: z
          .object({
            filename: z.string().max(500).optional(),
            size: z.number().int().nonnegative().optional(),
          })
          .optional(),
      },
      config: { auth: 'key', idempotent: true },
    },
    async (req, reply) => {
      const keyId = keyIdOf(req);
      if (!deps.blobs.presignPut)
        throw new AlphacutError(
          'invalid_request',
          'Presigned uploads need S3 storage (BLOB_URL=s3://…); this server keeps files on its own disk. Upload with POST /v1/uploads (multipart/form-data) instead.',
          { reason: 'presign_unavailable' },
        );
      const size = req.body?.size;
      if (size !== undefined && size > deps.config.uploadMaxBytes)
        throw new AlphacutError(
          'payload_too_large',
          `The file is larger than the upload limit of ${deps.config.uploadMaxBytes} bytes.`,
          { limit_bytes: deps.config.uploadMaxBytes },
        );
      const id = newUploadId();
      const filename = cleanFilename(req.body?.filename);
      const blobKey = uploadKeyFor(keyId, id, filename);
      const expiresAt = new Date(deps.clock().getTime() + presignedUploadTtlSeconds * 1000);
      const uploadUrl = await deps.blobs.presignPut(blobKey, { expiresInSeconds: presignedUploadTtlSeconds });
      // No probe yet: the bytes arrive later, straight at S3. A job using this upload probes
      // them first (media-intake.ts), so a non-video never reserves credits.
      await deps.store.createUpload({ id, keyId, blobKey, filename, size: 0, probe: null });
      return reply.code(201).send({
        success: true,
        video_id: id,
        video_url: `${originOf(deps, req)}/v1/uploads/${id}`,
        upload_url: uploadUrl,
        method: 'PUT',
        expires_at: expiresAt.toISOString(),
        max_bytes: deps.config.uploadMaxBytes,
      });
    },
  );

  r.post(
    '/v1/uploads',
    {
      schema: {
        tags: ['uploads'],
        summary:
          'Upload a video (multipart/form-data, field "file"); its video_url can start jobs of this key',
        consumes: ['multipart/form-data'],
      },
      config: { auth: 'key' },
    },
    async (req, reply) => {
      const keyId = keyIdOf(req);
      if (!req.isMultipart())
        return sendError(
          req,
          reply,
          'unsupported_media',
          'Send the video as multipart/form-data with a "file" field.',
          { reason: 'not_multipart' },
          415,
        );
      const part = await req.file({ limits: { fileSize: deps.config.uploadMaxBytes, files: 1 } });
      if (!part)
        throw new AlphacutError('invalid_request', 'file: a file field is required.', {
          fields: [{ field: 'file', message: 'required' }],
        });
      const id = newUploadId();
      const filename = cleanFilename(part.filename);
      const blobKey = uploadKeyFor(keyId, id, filename);
      let kept = false;
      try {
        // Streamed straight into its blob (S3: a multipart upload; local disk: the blob file), so
        // the API node keeps no copy of its own. The hash for Idempotency-Key is taken on the
        // way, and the key is claimed once the whole file is stored (a replay deletes it again).
        const hash = createHash('sha256').update(`${req.method} ${req.url}\n${part.filename}\n`);
        const hashed = Readable.from(
          (async function* () {
            for await (const c of part.file as AsyncIterable<Buffer>) {
              hash.update(c);
              yield c;
            }
          })(),
        );
        const { size } = await deps.blobs.put(blobKey, { stream: hashed });
        if (part.file.truncated)
          throw new AlphacutError(
            'payload_too_large',
            `The file is larger than the upload limit of ${deps.config.uploadMaxBytes} bytes.`,
            { limit_bytes: deps.config.uploadMaxBytes },
          );
        if ((await claimIdempotencyKey(req, reply, deps, hash.digest('hex'))) === 'replayed') return reply;
        // Probed where it is stored, before it is accepted: a non-video never becomes an upload id.
        const info = await probeStored(deps.blobs, blobKey, deps.config.probeLimits, 'the file');
        const summary = mediaSummary(info);
        await deps.store.createUpload({ id, keyId, blobKey, filename, size, probe: { ...summary } });
        kept = true;
        return reply.code(201).send({
          success: true,
          video_id: id,
          video_url: `${originOf(deps, req)}/v1/uploads/${id}`,
          filename,
          size,
          duration_seconds: summary.durationSeconds,
          width: summary.width,
          height: summary.height,
          fps: summary.fps,
        });
      } finally {
        // Too large, replayed, not a video, or any other failure: no upload record, no blob.
        if (!kept) await deps.blobs.delete(blobKey).catch(() => undefined);
      }
    },
  );

  r.get(
    '/v1/uploads/:id',
    {
      schema: { params: z.object({ id: z.string() }), tags: ['uploads'], summary: 'An upload of this key' },
      config: { auth: 'key' },
    },
    async (req) => {
      const id = req.params.id;
      const up = isUploadId(id) ? await deps.store.getUpload(keyIdOf(req), id) : null;
      if (!up) throw new AlphacutError('not_found', `Upload ${id} not found.`);
      return {
        success: true,
        video_id: up.id,
        video_url: `${originOf(deps, req)}/v1/uploads/${up.id}`,
        filename: up.filename,
        size: up.size,
        created_at: up.createdAt,
        ...(up.probe ? { media: up.probe } : {}),
      };
    },
  );
}
