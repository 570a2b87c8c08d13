import { v7 as uuidv7 } from 'uuid';
import type { ModelName, RenderFields } from './job-spec.ts';
import type { OutputFormat } from './output-formats.ts';

/** The job states of API.md; `deleted` keeps the row (audit, billing) after its files are gone. */
export const jobStatuses = [
  'created',
  'pending',
  'processing',
  'completed',
  'failed',
  'canceled',
  'deleted',
] as const;
export type JobStatus = (typeof jobStatuses)[number];

export const billingStatuses = ['none', 'reserved', 'charged', 'refunded'] as const;
export type BillingStatus = (typeof billingStatuses)[number];

/**
 * One job as the store keeps it: domain (camelCase) form of API.md's job object. Timestamps are
 * ISO-8601 UTC strings so that SQLite and PostgreSQL hand back the same thing.
 */
export interface JobRecord {
  /** `job_<uuidv7>`: time-ordered, so "newest first" is also id order. */
  id: string;
  keyId: string;
  status: JobStatus;
  /** What the caller sent (an http(s) URL or an upload's `video_url`), echoed back as-is. */
  videoUrl: string;
  /** Blob key of the fetched/uploaded input; null until the API has stored it. */
  inputBlob: string | null;
  /** Blob key of a fetched image/video background, when the request has one. */
  backgroundBlob: string | null;
  /** Merged wire-form render fields (create, then each start's overrides). */
  request: RenderFields;
  model: ModelName;
  outputFormat: OutputFormat;
  webhookUrl: string | null;
  metadata: Record<string, unknown> | null;
  /** 0..100, integer. */
  progress: number;
  framesDone: number;
  framesTotal: number | null;
  etaSeconds: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  /** Duration of the source (probed at create); the rendered range may be shorter. */
  durationSeconds: number | null;
  outputBlob: string | null;
  maskBlob: string | null;
  error: string | null;
  errorCode: string | null;
  /** Credits held for the current attempt (kept after settlement so the job shows what was quoted). */
  creditsReserved: number;
  creditsUsed: number;
  billingStatus: BillingStatus;
  /** How many times the job was started (a failed job may be started again). */
  attempt: number;
  /** Worker that runs (or last ran) the job; diagnostics only. */
  workerId: string | null;
  /**
   * Token of the current processing run. Every claim replaces it, so a worker whose lease was
   * taken over can no longer complete, fail or charge the job: that is the exactly-once guard.
   */
  runId: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
}

export interface JobTransition {
  jobId: string;
  from: JobStatus | null;
  to: JobStatus;
  at: string;
  attempt: number;
  reason: string | null;
}

export function newJobId(): string {
  return `job_${uuidv7()}`;
}

export function newUploadId(): string {
  return `upl_${uuidv7()}`;
}

export function isJobId(s: string): boolean {
  return /^job_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(s);
}

export function isUploadId(s: string): boolean {
  return /^upl_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(s);
}
