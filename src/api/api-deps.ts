import type { JobStore } from '../core/ports/job-store.ts';
import type { JobQueue } from '../core/ports/job-queue.ts';
import type { BlobStore } from '../core/ports/blob-store.ts';
import type { GuardedFetcher } from '../net/guarded-fetcher.ts';
import type { ProbeLimits } from '../pipeline/probe.ts';
import type { TierName } from '../models/tiers.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** What the HTTP layer needs to know from the deployment's config (see app/config.ts). */
export interface ApiConfig {
  /** `X-Admin-Token`; admin routes answer 404 when unset. */
  adminToken: string | undefined;
  /** HMAC key of signed file URLs; must survive restarts or old links break. */
  signingSecret: string;
  /** Absolute origin for signed links (`https://videos.example.com`); else the request's own. */
  publicBaseUrl: string | undefined;
  fileUrlTtlSeconds: number;
  uploadMaxBytes: number;
  /** Limit for remote inputs and backgrounds fetched at create time. */
  fetchMaxBytes: number;
  /** Requests per window per key. */
  rateLimit: { limit: number; windowMs: number };
  /** Per-key cap on pending+processing jobs. */
  maxActiveJobs: number;
  probeLimits: ProbeLimits;
  /** Sent in API key pepper form to hashApiKey. */
  keyPepper: string | undefined;
  /** Keys created by the admin API start with this many credits unless the request says. */
  defaultKeyCredits: number;
}

export type HealthCheck = () => Promise<unknown>;

export interface ApiDeps {
  store: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  config: ApiConfig;
  clock: () => Date;
  fetcher: GuardedFetcher;
  rateLimiter?: RateLimiter;
  /** Extra /health checks besides db, queue and storage (ffmpeg, models). */
  healthChecks?: Record<string, HealthCheck>;
  /** Whether a tier's model files are built and verified (GET /v1/models `installed`). */
  modelInstalled?: (tier: TierName) => Promise<boolean>;
  /** Called after a state change that creates webhook events (lets the dispatcher send at once). */
  onWebhookEvents?: () => void;
  logLevel?: string;
  /** Embedded mode only: the first-run dev key file the UI may read from loopback (dev-key-file.ts). */
  devKeyFile?: string;
  /** The built web UI; defaults to web/dist of this checkout. */
  webDistDir?: string;
}
