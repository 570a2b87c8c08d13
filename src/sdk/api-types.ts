/**
 * The wire shapes of the public /v1 API (API.md) as seen by a client. Written out here rather than
 * derived from the server's zod schemas so that this folder has no Node-only imports and can be
 * bundled into the browser UI; test/sdk checks the enumerations against the server's tables.
 */

export const anchors = [
  'top-left',
  'top-center',
  'top-right',
  'center-left',
  'center',
  'center-right',
  'bottom-left',
  'bottom-center',
  'bottom-right',
] as const;
export type Anchor = (typeof anchors)[number];

export const modelIds = ['original', 'light', 'pro', 'human'] as const;
export type ModelId = (typeof modelIds)[number];

export const outputFormatIds = [
  'webm',
  'mov',
  'mp4',
  'gif',
  'webp',
  'png_sequence',
  'mask',
  'stacked',
  'pro_bundle',
] as const;
export type OutputFormatId = (typeof outputFormatIds)[number];

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

export type Background =
  | { type: 'transparent' }
  | { type: 'color'; color: string }
  | { type: 'image'; image_url: string }
  | { type: 'video'; video_url: string; audio?: boolean }
  | { type: 'blur'; strength: number };

export interface Composition {
  canvas?: { width: number; height: number };
  foreground?: { anchor: Anchor; scale: number; offset: { x: number; y: number } };
}

/** Body of `POST /v1/jobs` (the subset a client of alphacut sets; legacy flat fields omitted). */
export interface JobCreateRequest {
  video_url: string;
  model?: ModelId;
  output_format?: OutputFormatId;
  background?: Background;
  composition?: Composition;
  text_prompt?: string;
  webhook_url?: string;
  auto_start?: boolean;
  metadata?: Record<string, unknown>;
  preview_duration?: number;
  trim?: { start: number; end?: number };
  preserve_audio?: boolean;
}

export interface Job {
  id: string;
  status: JobStatus;
  progress: number;
  output_url: string | null;
  mask_url: string | null;
  error: string | null;
  error_code: string | null;
  model: ModelId;
  output_format: OutputFormatId;
  background: Background;
  composition: Composition | null;
  video_url: string;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_seconds: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  frames_total: number | null;
  frames_done: number | null;
  eta_seconds: number | null;
  credits_reserved: number | null;
  credits_used: number | null;
  billing_status: 'none' | 'reserved' | 'charged' | 'refunded';
  preview_duration: number | null;
}

export interface JobList {
  jobs: Job[];
  total: number;
  limit: number;
  offset: number;
}

export interface ModelInfo {
  id: ModelId;
  name: string;
  credits_per_minute: number;
  capabilities: { text_prompt: boolean; subjects: string };
  installed: boolean;
  speed_class: string;
  default: boolean;
}

export interface Credits {
  total_credits: number;
  used_credits: number;
  remaining_credits: number;
  reserved_credits: number;
  unlimited?: boolean;
}

export interface UsageDay {
  jobs: number;
  completed_jobs: number;
  failed_jobs: number;
  seconds_processed: number;
  credits_used: number;
}

export interface UsageSummary {
  days: number;
  daily: Array<UsageDay & { date: string }>;
  totals: UsageDay;
}

export interface UploadResult {
  video_id: string;
  video_url: string;
  filename: string;
  size: number;
  duration_seconds?: number;
  width?: number;
  height?: number;
  fps?: number;
}

/** `{"error": {...}}`, the only error shape the API answers with. */
export interface ApiErrorBody {
  error: { code: string; message: string; request_id?: string; details?: Record<string, unknown> };
}
