import { normalizeRenderSpec, type BackgroundSpec, type RenderFields } from '../core/job-spec.ts';
import type { JobRecord } from '../core/job.ts';
import { outputFormats } from '../core/output-formats.ts';
import type { WebhookEventRecord } from '../core/ports/job-store.ts';
import { signFileToken } from './file-token.ts';

/**
 * The job object of API.md (snake_case wire form). Shared by the routes and the webhook
 * dispatcher so a webhook's `data` is exactly what GET /v1/jobs/{id} shows.
 */
export interface LinkSigner {
  baseUrl: string;
  secret: string;
  ttlSeconds: number;
  nowSeconds: number;
}

export function signedFileUrl(
  s: LinkSigner,
  blob: string,
  filename: string,
  contentType: string,
): { url: string; expiresAt: string } {
  const e = s.nowSeconds + s.ttlSeconds;
  const token = signFileToken(s.secret, { b: blob, n: filename, t: contentType, e });
  return { url: `${s.baseUrl}/v1/files/${token}`, expiresAt: new Date(e * 1000).toISOString() };
}

function hex(rgb: readonly number[]): string {
  return `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

function backgroundWire(b: BackgroundSpec): Record<string, unknown> {
  switch (b.type) {
    case 'transparent':
      return { type: 'transparent' };
    case 'color':
      return { type: 'color', color: hex(b.rgb) };
    case 'image':
      return { type: 'image', image_url: b.source };
    case 'video':
      return { type: 'video', video_url: b.source, audio: b.audio };
    case 'blur':
      return { type: 'blur', strength: b.strength };
  }
}

/** The background as one object even when the caller used the legacy flat fields. */
function backgroundOf(request: RenderFields): Record<string, unknown> {
  try {
    return backgroundWire(normalizeRenderSpec(request).background);
  } catch {
    // A stored request was valid when stored; a rule added later must not break reads.
    return request.background ?? { type: 'transparent' };
  }
}

export function webhookEventsView(events: WebhookEventRecord[]): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const e of events)
    map[e.event] = {
      status: e.status,
      attempts: e.attempts,
      last_status_code: e.lastStatusCode,
      last_attempt_at: e.lastAttemptAt,
    };
  return map;
}

export function jobView(
  job: JobRecord,
  signer: LinkSigner,
  events: WebhookEventRecord[] = [],
): Record<string, unknown> {
  const fmt = outputFormats[job.outputFormat];
  const done = job.status === 'completed';
  const output =
    done && job.outputBlob
      ? signedFileUrl(signer, job.outputBlob, `${job.id}.${fmt.extension}`, fmt.contentType).url
      : null;
  const mask =
    done && job.maskBlob ? signedFileUrl(signer, job.maskBlob, `${job.id}-mask.mp4`, 'video/mp4').url : null;
  return {
    id: job.id,
    status: job.status,
    progress: job.progress,
    output_url: output,
    mask_url: mask,
    error: job.error,
    error_code: job.errorCode,
    model: job.model,
    output_format: job.outputFormat,
    background: backgroundOf(job.request),
    composition: job.request.composition ?? null,
    text_prompt: job.request.text_prompt ?? null,
    video_url: job.videoUrl,
    webhook_url: job.webhookUrl,
    webhook_events: webhookEventsView(events),
    metadata: job.metadata,
    created_at: job.createdAt,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    duration_seconds: job.durationSeconds,
    width: job.width,
    height: job.height,
    fps: job.fps,
    frames_total: job.framesTotal,
    frames_done: job.framesDone,
    eta_seconds: job.etaSeconds,
    credits_reserved: job.creditsReserved,
    credits_used: job.creditsUsed,
    billing_status: job.billingStatus,
    attempt: job.attempt,
    trim: job.request.trim ?? null,
    preview_duration: job.request.preview_duration ?? null,
  };
}
