import type { CreditBalance, LedgerEntry } from '../credits.ts';
import type { ModelName, RenderFields } from '../job-spec.ts';
import type { JobRecord, JobStatus, JobTransition } from '../job.ts';
import type { OutputFormat } from '../output-formats.ts';

export interface ApiKeyRecord {
  /** `key_<uuidv7>`; the key itself is never stored. */
  id: string;
  name: string | null;
  keyHash: string;
  fingerprint: string;
  disabled: boolean;
  createdAt: string;
}

export interface UploadRecord {
  /** `upl_<uuidv7>` */
  id: string;
  keyId: string;
  blobKey: string;
  filename: string;
  size: number;
  /** Probe summary the API chose to keep (duration, size, codecs); opaque to the store. */
  probe: Record<string, unknown> | null;
  createdAt: string;
}

export type WebhookEventName = 'job.started' | 'job.completed' | 'job.failed' | 'job.canceled';
export type WebhookDeliveryStatus = 'pending' | 'sent' | 'failed';

export interface WebhookEventRecord {
  /** Delivery id (`X-Webhook-Delivery-Id`, `webhook-id`): `evt_<uuidv7>`, the same on every retry. */
  id: string;
  jobId: string;
  keyId: string;
  event: WebhookEventName;
  url: string;
  /** The job as it was when the event happened (the dispatcher turns it into the wire object). */
  job: JobRecord;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
}

export interface UsageEvent {
  id: string;
  keyId: string;
  /** `api_call` for requests, `job` for job life-cycle events. */
  kind: 'api_call' | 'job';
  /** e.g. `POST /v1/jobs`, or `job.completed`. */
  name: string;
  jobId: string | null;
  statusCode: number | null;
  seconds: number | null;
  credits: number | null;
  createdAt: string;
}

export interface UsageDay {
  /** `YYYY-MM-DD`, UTC. */
  date: string;
  jobs: number;
  completedJobs: number;
  failedJobs: number;
  secondsProcessed: number;
  creditsUsed: number;
}

export interface UsageSummary {
  days: UsageDay[];
  totals: Omit<UsageDay, 'date'>;
}

export type IdempotencyBegin =
  /** First time: the caller runs the request, then calls completeIdempotency (or abandonIdempotency). */
  | { state: 'new' }
  /** A request with this key is running right now. */
  | { state: 'in_progress' }
  | { state: 'done'; status: number; body: string }
  /** Same key, different body: 409 idempotency_conflict. */
  | { state: 'conflict' };

export interface NewJob {
  id: string;
  keyId: string;
  videoUrl: string;
  inputBlob: string | null;
  backgroundBlob?: string | null;
  request: RenderFields;
  model: ModelName;
  outputFormat: OutputFormat;
  webhookUrl: string | null;
  metadata: Record<string, unknown> | null;
  durationSeconds: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  framesTotal?: number | null;
}

/** What `start` (or create with auto_start) sets, atomically with the reservation. */
export interface StartJob {
  /** Merged request after the start body's overrides, and what it resolves to. */
  request?: RenderFields;
  model?: ModelName;
  outputFormat?: OutputFormat;
  webhookUrl?: string | null;
  backgroundBlob?: string | null;
  /** Credits to reserve (creditsFor(model, billableSeconds(...))). */
  credits: number;
  /** Per-key cap on pending+processing jobs; exceeding it throws `rate_limited`. */
  maxActiveJobs?: number;
}

export interface JobProgress {
  progress: number;
  framesDone: number;
  framesTotal: number | null;
  etaSeconds: number | null;
}

export interface CompleteJob {
  jobId: string;
  runId: string;
  outputBlob: string;
  maskBlob: string | null;
  /** Seconds actually rendered; the charge is creditsFor(model, seconds), at most the reservation. */
  renderedSeconds: number;
  framesTotal: number;
  width: number;
  height: number;
  fps: number;
}

/** A part of a long job's frames, rendered by any worker while others render the other parts. */
export interface SegmentPlan {
  /** Source frames [startFrame, endFrame), counted from the first video frame; startFrame is a keyframe. */
  startFrame: number;
  endFrame: number;
}

export type SegmentStatus = 'pending' | 'processing' | 'done';

export interface JobSegment extends SegmentPlan {
  jobId: string;
  index: number;
  status: SegmentStatus;
  /** The current render of this segment; only it may report progress or finish it. */
  runId: string | null;
  workerId: string | null;
  framesDone: number;
  /** Blob folder of the finished segment's intermediates (set by finishSegment). */
  blobPrefix: string | null;
  /** How many renders have begun (a re-claim after a lost lease adds one). */
  claims: number;
  updatedAt: string;
}

export interface ListJobsQuery {
  limit: number;
  offset: number;
  status?: JobStatus;
}

/**
 * Everything the service persists except blobs and the queue. Each job method that changes a
 * job's status is one transaction covering the status, the audit row (job_transitions), the
 * credit ledger, the webhook event rows and the usage event: either all of it happened or none.
 *
 * Errors: AlphacutError `not_found` (missing, or another key's), `job_not_startable`,
 * `insufficient_credits`, `rate_limited`.
 */
export interface JobStore {
  // ---- API keys
  createApiKey(input: {
    name?: string | null;
    keyHash: string;
    fingerprint: string;
    webhookSecret: string;
  }): Promise<ApiKeyRecord>;
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  getApiKey(keyId: string): Promise<ApiKeyRecord | null>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** false if no such key. */
  setApiKeyDisabled(keyId: string, disabled: boolean): Promise<boolean>;
  getWebhookSecret(keyId: string): Promise<string | null>;
  /** false if no such key. */
  rotateWebhookSecret(keyId: string, secret: string): Promise<boolean>;

  // ---- credits
  /** Adds a `grant` ledger row (amount > 0, integer). */
  grantCredits(keyId: string, amount: number, note?: string): Promise<CreditBalance>;
  getBalance(keyId: string): Promise<CreditBalance>;
  listLedger(keyId: string, opts?: { jobId?: string; limit?: number }): Promise<LedgerEntry[]>;

  // ---- uploads
  createUpload(input: Omit<UploadRecord, 'createdAt'>): Promise<UploadRecord>;
  /** Scoped: another key's upload is null. */
  getUpload(keyId: string, uploadId: string): Promise<UploadRecord | null>;

  // ---- jobs (reads)
  /** Scoped: another key's job is null. */
  getJob(keyId: string, jobId: string): Promise<JobRecord | null>;
  /** Unscoped, for the worker and the webhook dispatcher. */
  getJobById(jobId: string): Promise<JobRecord | null>;
  /** Newest first. */
  listJobs(keyId: string, query: ListJobsQuery): Promise<{ jobs: JobRecord[]; total: number }>;
  countActiveJobs(keyId: string): Promise<number>;
  listTransitions(jobId: string): Promise<JobTransition[]>;
  /**
   * Pending jobs untouched since `updatedBefore`: the sweeper re-enqueues them (enqueue is
   * idempotent), so a crash between startJob's commit and the enqueue cannot strand a job.
   */
  listPendingJobIds(opts: { updatedBefore: Date; limit: number }): Promise<string[]>;
  /**
   * Processing jobs whose current run has not reported since `updatedBefore` (its heartbeat
   * stopped): candidates for recovery when their queue entry is gone too (see requeueStaleJob).
   */
  listStaleProcessingJobIds(opts: { updatedBefore: Date; limit: number }): Promise<string[]>;

  // ---- jobs (transitions; each is one transaction)
  /**
   * Inserts a `created` job; with `start`, also starts it in the same transaction, so a create
   * that fails for credits leaves no draft behind.
   */
  insertJob(job: NewJob, start?: StartJob): Promise<JobRecord>;
  /** created|failed → pending; reserves credits (ledger `reserve`); attempt + 1. */
  startJob(keyId: string, jobId: string, start: StartJob): Promise<JobRecord>;
  /**
   * pending → processing (emits job.started), or processing → processing when a crashed
   * worker's job is re-claimed. Issues a new runId. null when the job is not runnable any more
   * (canceled, deleted, completed...): the worker drops it.
   */
  beginProcessing(jobId: string, workerId: string): Promise<JobRecord | null>;
  /** Returns the job's status, or null when `runId` is no longer the current run. */
  updateProgress(jobId: string, runId: string, progress: JobProgress): Promise<JobStatus | null>;
  /**
   * processing → completed; charges creditsFor(model, renderedSeconds) capped at the reservation,
   * releases the rest. null (nothing changed) unless the job is processing under `runId`.
   */
  completeJob(input: CompleteJob): Promise<JobRecord | null>;
  /** pending|processing → failed, refunds the reservation. With `runId`, only if it is the current run. */
  failJob(input: { jobId: string; runId?: string; code: string; message: string }): Promise<JobRecord | null>;
  /** processing → pending under `runId` (a stopping worker hands the job back); credits stay reserved. */
  requeueJob(jobId: string, runId: string): Promise<JobRecord | null>;
  /**
   * processing → pending under no run, but only while the job is still processing and untouched
   * since `updatedBefore` (re-checked in the transaction, so a heartbeat that lands first wins):
   * a job whose queue entry vanished (Redis lost its data, or a worker acked it and then failed
   * to settle it) is handed back for a new run; the old run can no longer complete it.
   * Credits stay reserved. null when nothing changed.
   */
  requeueStaleJob(jobId: string, updatedBefore: Date, reason: string): Promise<JobRecord | null>;
  /** created|pending|processing → canceled, refunds; canceling a canceled job returns it unchanged. */
  cancelJob(keyId: string, jobId: string): Promise<JobRecord>;
  /** Any state → deleted (refunding a live reservation); returns the blob keys to delete now. */
  deleteJob(keyId: string, jobId: string): Promise<{ job: JobRecord; blobKeys: string[] }>;

  // ---- split jobs (segments rendered by several workers, then joined by one)
  /**
   * Records a processing job's segments (job run `runId`) and sets its frames_total to their sum.
   * A job that already has segments keeps them (a re-claimed parent adopts the first split).
   * null unless the job is processing under `runId`.
   */
  createSegments(jobId: string, runId: string, plan: SegmentPlan[]): Promise<JobSegment[] | null>;
  /** In index order. */
  listSegments(jobId: string): Promise<JobSegment[]>;
  /**
   * Starts a render of a segment under a new segment run id (a re-claim supersedes the previous
   * render). null when the job is not processing or the segment is missing or already done.
   */
  beginSegment(
    jobId: string,
    index: number,
    workerId: string,
  ): Promise<{ job: JobRecord; segment: JobSegment } | null>;
  /**
   * Records a segment's frames and the job's aggregate (frames_done = sum over segments, progress,
   * ETA from the rate since the job started). Returns the job's status, or null when `runId` is no
   * longer the segment's current render.
   */
  updateSegmentProgress(
    jobId: string,
    index: number,
    runId: string,
    framesDone: number,
  ): Promise<JobStatus | null>;
  /**
   * processing → done under the segment's current run. `allDone` is true when every segment of the
   * job is done after this one (the caller enqueues the join). null when the run lost the segment
   * or the job is no longer processing.
   */
  finishSegment(input: {
    jobId: string;
    index: number;
    runId: string;
    blobPrefix: string;
  }): Promise<{ allDone: boolean } | null>;

  // ---- webhooks (rows are created by the transitions above when the job has a webhook_url)
  listWebhookEvents(jobId: string): Promise<WebhookEventRecord[]>;
  /**
   * Due pending events (nextAttemptAt ≤ now), oldest first, each locked for `lockMs` (its
   * nextAttemptAt pushed forward) so two dispatchers never send the same attempt.
   */
  claimDueWebhookEvents(opts: { limit: number; lockMs: number; now?: Date }): Promise<WebhookEventRecord[]>;
  /** Records one attempt: ok → sent; else pending again at `nextAttemptAt`, or failed when null. */
  recordWebhookAttempt(input: {
    id: string;
    ok: boolean;
    statusCode: number | null;
    error?: string | null;
    nextAttemptAt: Date | null;
    at?: Date;
  }): Promise<void>;

  // ---- usage
  recordUsageEvent(
    e: Omit<UsageEvent, 'id' | 'createdAt' | 'jobId' | 'statusCode' | 'seconds' | 'credits'> &
      Partial<Pick<UsageEvent, 'jobId' | 'statusCode' | 'seconds' | 'credits' | 'createdAt'>>,
  ): Promise<void>;
  /** Newest first. */
  listUsageEvents(keyId: string, limit: number): Promise<UsageEvent[]>;
  /** The last `days` UTC days including today (oldest first, zero days included). */
  usageSummary(keyId: string, days: number, now?: Date): Promise<UsageSummary>;

  // ---- idempotency (per key id + Idempotency-Key; bodyHash should cover method, path and body)
  beginIdempotency(input: {
    keyId: string;
    key: string;
    bodyHash: string;
    /** An in-progress record older than this is treated as abandoned (its process died). */
    staleAfterMs: number;
    now?: Date;
  }): Promise<IdempotencyBegin>;
  completeIdempotency(input: { keyId: string; key: string; status: number; body: string }): Promise<void>;
  /** Forget an in-progress record (the request failed in a way worth retrying). */
  abandonIdempotency(keyId: string, key: string): Promise<void>;
  /** Deletes records older than `olderThan`; returns how many. */
  purgeIdempotency(olderThan: Date): Promise<number>;

  /** Cheap readiness probe for /health. */
  check(): Promise<void>;
  close(): Promise<void>;
}
