import { joinEntry, segmentEntry } from '../../core/queue-entries.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { segmentsBlobFolder } from '../../core/blob-key.ts';
import { billableSeconds, creditsFor } from '../../core/credits.ts';
import { AlphacutError } from '../../core/errors.ts';
import {
  jobCreateSchema,
  jobStartSchema,
  normalizeRenderSpec,
  renderRange,
  type RenderFields,
  type RenderSpec,
} from '../../core/job-spec.ts';
import { assertStartable } from '../../core/job-state.ts';
import { isJobId, jobStatuses, newJobId, type JobRecord } from '../../core/job.ts';
import type { ApiDeps } from '../api-deps.ts';
import { jobView } from '../job-view.ts';
import { MediaIntake } from '../media-intake.ts';
import { mergeRenderFields, renderFieldsOf } from '../render-fields.ts';
import { keyIdOf, originOf, signerFor } from '../request-context.ts';

const idParams = z.object({ id: z.string() });

/** Largest `GET /v1/jobs` page (API.md). */
export const maxPageSize = 100;

/** RFC 6761: these names always mean this machine, whatever DNS says. */
function isLoopbackName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/** The URL field a background source came from, for error messages. */
function backgroundField(request: RenderFields): string {
  if (request.background?.type === 'image') return 'background.image_url';
  if (request.background?.type === 'video') return 'background.video_url';
  return 'bg_image_url';
}

function needsBackgroundBlob(spec: RenderSpec): { url: string; kind: 'image' | 'video' } | undefined {
  return spec.background.type === 'image' || spec.background.type === 'video'
    ? { url: spec.background.source, kind: spec.background.type }
    : undefined;
}

function checkWebhookUrl(deps: ApiDeps, url: string | undefined): void {
  if (!url) return;
  // Delivery re-checks every resolved address; refusing an internal IP literal here just fails early.
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const policy = deps.fetcher.policy;
  const internal = ipaddr.isValid(host)
    ? !policy.isAllowedAddress(host)
    : isLoopbackName(host) && !policy.hostAllowListed(host) && !policy.isAllowedAddress('127.0.0.1');
  if (internal)
    throw new AlphacutError('invalid_request', `webhook_url: ${host} is an internal address.`, {
      fields: [{ field: 'webhook_url', message: 'internal address' }],
    });
}

function billable(job: Pick<JobRecord, 'durationSeconds'>, spec: RenderSpec): number {
  const seconds = billableSeconds(job.durationSeconds ?? 0, renderRange(spec));
  if (seconds <= 0)
    throw new AlphacutError('invalid_request', 'trim.start: the range starts after the end of the video.', {
      fields: [{ field: 'trim.start', message: 'after the end of the video' }],
    });
  return seconds;
}

export function registerJobsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const intake = new MediaIntake(deps);

  async function viewOf(req: FastifyRequest, job: JobRecord): Promise<Record<string, unknown>> {
    return jobView(job, signerFor(deps, originOf(deps, req)), await deps.store.listWebhookEvents(job.id));
  }

  /**
   * The cheap half of what startJob checks atomically, done before any download: a key at its
   * cap of active jobs, or with no credit left at all, is answered at once instead of after
   * fetching and probing an input (up to fetchMaxBytes) it could never process. startJob still
   * has the last word (exact cost, concurrent starts).
   */
  async function refuseEarly(keyId: string): Promise<void> {
    const max = deps.config.maxActiveJobs;
    if ((await deps.store.countActiveJobs(keyId)) >= max)
      throw new AlphacutError(
        'rate_limited',
        `At most ${max} jobs may be queued or processing at once for this key.`,
        { max_active_jobs: max },
      );
    const balance = await deps.store.getBalance(keyId);
    if (!balance.unlimited && balance.remaining <= 0)
      throw new AlphacutError('insufficient_credits', `No credits remain (${balance.remaining}).`, {
        remaining_credits: balance.remaining,
      });
  }

  async function owned(req: FastifyRequest, id: string): Promise<JobRecord> {
    const job = isJobId(id) ? await deps.store.getJob(keyIdOf(req), id) : null;
    if (!job) throw new AlphacutError('not_found', `Job ${id} not found.`);
    return job;
  }

  r.post(
    '/v1/jobs',
    {
      schema: {
        body: jobCreateSchema,
        tags: ['jobs'],
        summary: 'Create a job (and start it unless auto_start is false)',
      },
      config: { auth: 'key', idempotent: true },
    },
    async (req, reply) => {
      const keyId = keyIdOf(req);
      const body = req.body;
      const request = renderFieldsOf(body);
      // Cross-field rules first: a request that can never render is refused before any download.
      const spec = normalizeRenderSpec(request);
      checkWebhookUrl(deps, body.webhook_url);
      const autoStart = body.auto_start ?? true;
      if (autoStart) await refuseEarly(keyId);
      const id = newJobId();
      const origin = originOf(deps, req);
      const { blobKey, media } = await intake.input(keyId, id, body.video_url, origin);
      try {
        const bg = needsBackgroundBlob(spec);
        const backgroundBlob = bg
          ? await intake.background(keyId, id, bg.url, backgroundField(request), origin, bg.kind)
          : null;
        const seconds = billable({ durationSeconds: media.durationSeconds }, spec);
        const job = await deps.store.insertJob(
          {
            id,
            keyId,
            videoUrl: body.video_url,
            inputBlob: blobKey,
            backgroundBlob,
            request,
            model: spec.model,
            outputFormat: spec.outputFormat,
            webhookUrl: body.webhook_url ?? null,
            metadata: body.metadata ?? null,
            durationSeconds: media.durationSeconds,
            width: media.width,
            height: media.height,
            fps: media.fps,
            framesTotal: media.frameCount,
          },
          autoStart
            ? { credits: creditsFor(spec.model, seconds), maxActiveJobs: deps.config.maxActiveJobs }
            : undefined,
        );
        if (autoStart) await deps.queue.enqueue(job.id);
        return reply.code(201).send({
          success: true,
          message: autoStart
            ? 'Job created and queued.'
            : 'Job created; start it with POST /v1/jobs/{id}/start.',
          ...(await viewOf(req, job)),
        });
      } catch (err) {
        // No job row means nobody will ever delete these blobs.
        await deps.blobs.deletePrefix(`${keyId}/jobs/${id}/`).catch(() => undefined);
        throw err;
      }
    },
  );

  r.post(
    '/v1/jobs/:id/start',
    {
      schema: {
        params: idParams,
        body: jobStartSchema.optional(),
        tags: ['jobs'],
        summary: 'Start a draft or failed job',
      },
      config: { auth: 'key', idempotent: true },
    },
    async (req) => {
      const keyId = keyIdOf(req);
      const job = await owned(req, req.params.id);
      assertStartable(job.id, job.status);
      const overrides = req.body ?? {};
      const request = mergeRenderFields(job.request, overrides);
      const spec = normalizeRenderSpec(request);
      checkWebhookUrl(deps, request.webhook_url);
      await refuseEarly(keyId);
      const touchesBackground = (['background', 'bg_type', 'bg_color', 'bg_image_url'] as const).some(
        (k) => overrides[k] !== undefined,
      );
      let backgroundBlob = job.backgroundBlob;
      if (touchesBackground) {
        const bg = needsBackgroundBlob(spec);
        backgroundBlob = bg
          ? await intake.background(
              keyId,
              job.id,
              bg.url,
              backgroundField(request),
              originOf(deps, req),
              bg.kind,
            )
          : null;
      }
      const started = await deps.store.startJob(keyId, job.id, {
        request,
        model: spec.model,
        outputFormat: spec.outputFormat,
        webhookUrl: request.webhook_url ?? null,
        backgroundBlob,
        credits: creditsFor(spec.model, billable(job, spec)),
        maxActiveJobs: deps.config.maxActiveJobs,
      });
      await deps.queue.enqueue(started.id);
      return { success: true, message: 'Job queued.', ...(await viewOf(req, started)) };
    },
  );

  r.get(
    '/v1/jobs/:id',
    { schema: { params: idParams, tags: ['jobs'], summary: 'A job' }, config: { auth: 'key' } },
    async (req) => ({ success: true, ...(await viewOf(req, await owned(req, req.params.id))) }),
  );

  r.get(
    '/v1/jobs',
    {
      schema: {
        querystring: z.object({
          // API.md: "limit ≤ 100". Larger pages (hosted-service SDKs ask for them) are clamped
          // to 100 rather than refused; the answer's `limit` says what was applied.
          limit: z.coerce.number().int().min(1).default(20),
          offset: z.coerce.number().int().min(0).default(0),
          // `?status=` (empty, as API.md's own example spells it) means no filter.
          status: z.union([z.literal(''), z.enum(jobStatuses)]).optional(),
        }),
        tags: ['jobs'],
        summary: 'Jobs of this key, newest first',
      },
      config: { auth: 'key' },
    },
    async (req) => {
      const { offset, status } = req.query;
      const limit = Math.min(req.query.limit, maxPageSize);
      const { jobs, total } = await deps.store.listJobs(keyIdOf(req), {
        limit,
        offset,
        ...(status ? { status } : {}),
      });
      return {
        success: true,
        jobs: await Promise.all(jobs.map((j) => viewOf(req, j))),
        total,
        limit,
        offset,
      };
    },
  );

  /**
   * The job's own queue entry and, for a split job, its segments' and its join's. Returns
   * whether the job was split.
   */
  const removeQueueEntries = async (jobId: string): Promise<boolean> => {
    const segments = await deps.store.listSegments(jobId);
    await Promise.all([
      deps.queue.remove(jobId),
      ...(segments.length > 0 ? [deps.queue.remove(joinEntry(jobId))] : []),
      ...segments.map((s) => deps.queue.remove(segmentEntry(jobId, s.index))),
    ]);
    return segments.length > 0;
  };

  r.post(
    '/v1/jobs/:id/cancel',
    {
      schema: { params: idParams, tags: ['jobs'], summary: 'Cancel a job (refunds its reservation)' },
      config: { auth: 'key', idempotent: true },
    },
    async (req) => {
      const job = await owned(req, req.params.id);
      const canceled = await deps.store.cancelJob(keyIdOf(req), job.id);
      // Workers notice on their next heartbeat; removing the entries only spares them a claim.
      const split = await removeQueueEntries(job.id);
      // Finished segments' intermediates wait for a join that will not come. A worker deletes
      // them only when it sees the cancel during a render of the job, which it may not be
      // doing now (the rest queued, or the join not yet claimed). A render still uploading
      // after this finds the job canceled and drops its own files.
      if (split)
        await deps.blobs
          .deletePrefix(segmentsBlobFolder(job))
          .catch((err: unknown) => req.log.warn({ err }, `job ${job.id}: segment intermediates not deleted`));
      deps.onWebhookEvents?.();
      return { success: true, message: 'Job canceled.', ...(await viewOf(req, canceled)) };
    },
  );

  r.delete(
    '/v1/jobs/:id',
    {
      schema: { params: idParams, tags: ['jobs'], summary: 'Delete a job and its files' },
      config: { auth: 'key' },
    },
    async (req) => {
      const keyId = keyIdOf(req);
      const job = await owned(req, req.params.id);
      const { job: deleted, blobKeys } = await deps.store.deleteJob(keyId, job.id);
      await removeQueueEntries(job.id);
      await Promise.all(blobKeys.map((k) => deps.blobs.delete(k)));
      await deps.blobs.deletePrefix(`${keyId}/jobs/${job.id}/`);
      deps.onWebhookEvents?.();
      return { success: true, message: 'Job deleted.', ...(await viewOf(req, deleted)) };
    },
  );

  r.get(
    '/v1/jobs/:id/webhooks',
    {
      schema: { params: idParams, tags: ['jobs'], summary: 'Webhook deliveries of a job' },
      config: { auth: 'key' },
    },
    async (req) => {
      const job = await owned(req, req.params.id);
      const events = await deps.store.listWebhookEvents(job.id);
      return {
        success: true,
        job_id: job.id,
        webhook_url: job.webhookUrl,
        deliveries: events.map((e) => ({
          id: e.id,
          event: e.event,
          url: e.url,
          status: e.status,
          attempts: e.attempts,
          last_status_code: e.lastStatusCode,
          last_error: e.lastError,
          last_attempt_at: e.lastAttemptAt,
          next_attempt_at: e.nextAttemptAt,
          created_at: e.createdAt,
        })),
      };
    },
  );

  r.get(
    '/v1/jobs/:id/output',
    {
      schema: {
        params: idParams,
        querystring: z.object({ type: z.enum(['output', 'mask']).default('output') }),
        tags: ['jobs'],
        summary: 'Redirect to a fresh signed URL of the output (or ?type=mask)',
      },
      config: { auth: 'key' },
    },
    async (req, reply) => {
      const job = await owned(req, req.params.id);
      const blob = req.query.type === 'mask' ? job.maskBlob : job.outputBlob;
      if (job.status !== 'completed' || !blob)
        throw new AlphacutError(
          'not_found',
          `Job ${job.id} has no ${req.query.type} (status ${job.status}).`,
        );
      const view = jobView(job, signerFor(deps, originOf(deps, req)));
      const url = (req.query.type === 'mask' ? view.mask_url : view.output_url) as string;
      return reply.redirect(url, 302);
    },
  );
}
