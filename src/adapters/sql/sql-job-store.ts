import type { Kysely, Selectable } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import {
  balanceFrom,
  creditsFor,
  type CreditBalance,
  type LedgerEntry,
  type LedgerKind,
} from '../../core/credits.ts';
import { AlphacutError } from '../../core/errors.ts';
import type { ModelName, RenderFields } from '../../core/job-spec.ts';
import { activeStatuses, assertCancelable, assertStartable, canTransition } from '../../core/job-state.ts';
import type { BillingStatus, JobRecord, JobStatus, JobTransition } from '../../core/job.ts';
import type { OutputFormat } from '../../core/output-formats.ts';
import type {
  ApiKeyRecord,
  CompleteJob,
  IdempotencyBegin,
  JobProgress,
  JobSegment,
  JobStore,
  ListJobsQuery,
  NewJob,
  SegmentPlan,
  SegmentStatus,
  StartJob,
  UploadRecord,
  UsageDay,
  UsageEvent,
  UsageSummary,
  WebhookEventName,
  WebhookEventRecord,
} from '../../core/ports/job-store.ts';
import type { Database, JobSegmentsTable, JobsTable } from './database.ts';

type Db = Kysely<Database>;

/**
 * Runs `fn` in one write transaction. Dialects differ in how to get one that is safe across
 * processes (SQLite: BEGIN IMMEDIATE on the single connection; PostgreSQL: a pooled
 * connection's transaction plus row locks), so the adapter supplies it.
 */
export type TransactionRunner = <T>(fn: (trx: Db) => Promise<T>) => Promise<T>;

export interface SqlJobStoreOptions {
  db: Db;
  transaction: TransactionRunner;
  /** Take `SELECT … FOR UPDATE` row locks (PostgreSQL). SQLite's write lock already serialises. */
  lockRows: boolean;
  /** The deployment does not limit credits: reservations are recorded but never refused. */
  unlimitedCredits: boolean;
  close: () => Promise<void>;
}

const now = (): string => new Date().toISOString();
const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

function jobFromRow(r: Selectable<JobsTable>): JobRecord {
  return {
    id: r.id,
    keyId: r.key_id,
    status: r.status as JobStatus,
    videoUrl: r.video_url,
    inputBlob: r.input_blob,
    backgroundBlob: r.background_blob,
    request: JSON.parse(r.request) as RenderFields,
    model: r.model as ModelName,
    outputFormat: r.output_format as OutputFormat,
    webhookUrl: r.webhook_url,
    metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as Record<string, unknown>),
    progress: Number(r.progress),
    framesDone: Number(r.frames_done),
    framesTotal: num(r.frames_total),
    etaSeconds: num(r.eta_seconds),
    width: num(r.width),
    height: num(r.height),
    fps: num(r.fps),
    durationSeconds: num(r.duration_seconds),
    outputBlob: r.output_blob,
    maskBlob: r.mask_blob,
    error: r.error,
    errorCode: r.error_code,
    creditsReserved: Number(r.credits_reserved),
    creditsUsed: Number(r.credits_used),
    billingStatus: r.billing_status as BillingStatus,
    attempt: Number(r.attempt),
    workerId: r.worker_id,
    runId: r.run_id,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    updatedAt: r.updated_at,
  };
}

function segmentFromRow(r: Selectable<JobSegmentsTable>): JobSegment {
  return {
    jobId: r.job_id,
    index: Number(r.idx),
    startFrame: Number(r.start_frame),
    endFrame: Number(r.end_frame),
    status: r.status as SegmentStatus,
    runId: r.run_id,
    workerId: r.worker_id,
    framesDone: Number(r.frames_done),
    blobPrefix: r.blob_prefix,
    claims: Number(r.claims),
    updatedAt: r.updated_at,
  };
}

function notFound(what: string, id: string): AlphacutError {
  return new AlphacutError('not_found', `${what} ${id} was not found.`);
}

/** JobStore on Kysely, shared by the SQLite and (later) PostgreSQL adapters. */
export class SqlJobStore implements JobStore {
  readonly #db: Db;
  readonly #tx: TransactionRunner;
  readonly #lockRows: boolean;
  readonly #unlimited: boolean;
  readonly #close: () => Promise<void>;

  constructor(o: SqlJobStoreOptions) {
    this.#db = o.db;
    this.#tx = o.transaction;
    this.#lockRows = o.lockRows;
    this.#unlimited = o.unlimitedCredits;
    this.#close = o.close;
  }

  // ---------------------------------------------------------------- API keys

  async createApiKey(input: {
    name?: string | null;
    keyHash: string;
    fingerprint: string;
    webhookSecret: string;
  }): Promise<ApiKeyRecord> {
    const row = {
      id: `key_${uuidv7()}`,
      name: input.name ?? null,
      key_hash: input.keyHash,
      fingerprint: input.fingerprint,
      webhook_secret: input.webhookSecret,
      disabled: 0,
      created_at: now(),
    };
    await this.#db.insertInto('api_keys').values(row).execute();
    return keyFromRow(row);
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const r = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', keyHash)
      .executeTakeFirst();
    return r ? keyFromRow(r) : null;
  }

  async getApiKey(keyId: string): Promise<ApiKeyRecord | null> {
    const r = await this.#db.selectFrom('api_keys').selectAll().where('id', '=', keyId).executeTakeFirst();
    return r ? keyFromRow(r) : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(keyFromRow);
  }

  async setApiKeyDisabled(keyId: string, disabled: boolean): Promise<boolean> {
    const r = await this.#db
      .updateTable('api_keys')
      .set({ disabled: disabled ? 1 : 0 })
      .where('id', '=', keyId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async getWebhookSecret(keyId: string): Promise<string | null> {
    const r = await this.#db
      .selectFrom('api_keys')
      .select('webhook_secret')
      .where('id', '=', keyId)
      .executeTakeFirst();
    return r?.webhook_secret ?? null;
  }

  async rotateWebhookSecret(keyId: string, secret: string): Promise<boolean> {
    const r = await this.#db
      .updateTable('api_keys')
      .set({ webhook_secret: secret })
      .where('id', '=', keyId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  // ---------------------------------------------------------------- credits

  async grantCredits(keyId: string, amount: number, note?: string): Promise<CreditBalance> {
    if (!Number.isSafeInteger(amount) || amount <= 0)
      throw new AlphacutError('invalid_request', 'A credit grant is a positive whole number.');
    return this.#tx(async (trx) => {
      const key = await trx.selectFrom('api_keys').select('id').where('id', '=', keyId).executeTakeFirst();
      if (!key) throw notFound('API key', keyId);
      await this.#ledger(trx, keyId, null, 'grant', amount, note ?? null);
      return this.#balance(trx, keyId);
    });
  }

  getBalance(keyId: string): Promise<CreditBalance> {
    return this.#balance(this.#db, keyId);
  }

  async listLedger(keyId: string, opts: { jobId?: string; limit?: number } = {}): Promise<LedgerEntry[]> {
    let q = this.#db.selectFrom('credit_ledger').selectAll().where('key_id', '=', keyId);
    if (opts.jobId !== undefined) q = q.where('job_id', '=', opts.jobId);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(opts.limit ?? 1000)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      keyId: r.key_id,
      jobId: r.job_id,
      kind: r.kind as LedgerKind,
      amount: Number(r.amount),
      note: r.note,
      createdAt: r.created_at,
    }));
  }

  async #balance(db: Db, keyId: string): Promise<CreditBalance> {
    const rows = await db
      .selectFrom('credit_ledger')
      .select(['kind', (eb) => eb.fn.sum<number | string>('amount').as('total')])
      .where('key_id', '=', keyId)
      .groupBy('kind')
      .execute();
    const sums: Partial<Record<LedgerKind, number>> = {};
    for (const r of rows) sums[r.kind as LedgerKind] = Number(r.total);
    return balanceFrom(sums, this.#unlimited);
  }

  async #ledger(
    db: Db,
    keyId: string,
    jobId: string | null,
    kind: LedgerKind,
    amount: number,
    note: string | null,
  ): Promise<void> {
    await db
      .insertInto('credit_ledger')
      .values({ id: uuidv7(), key_id: keyId, job_id: jobId, kind, amount, note, created_at: now() })
      .execute();
  }

  // ---------------------------------------------------------------- uploads

  async createUpload(input: Omit<UploadRecord, 'createdAt'>): Promise<UploadRecord> {
    const createdAt = now();
    await this.#db
      .insertInto('uploads')
      .values({
        id: input.id,
        key_id: input.keyId,
        blob_key: input.blobKey,
        filename: input.filename,
        size: input.size,
        probe: input.probe === null ? null : JSON.stringify(input.probe),
        created_at: createdAt,
      })
      .execute();
    return { ...input, createdAt };
  }

  async getUpload(keyId: string, uploadId: string): Promise<UploadRecord | null> {
    const r = await this.#db
      .selectFrom('uploads')
      .selectAll()
      .where('id', '=', uploadId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    if (!r) return null;
    return {
      id: r.id,
      keyId: r.key_id,
      blobKey: r.blob_key,
      filename: r.filename,
      size: Number(r.size),
      probe: r.probe === null ? null : (JSON.parse(r.probe) as Record<string, unknown>),
      createdAt: r.created_at,
    };
  }

  // ---------------------------------------------------------------- job reads

  async getJob(keyId: string, jobId: string): Promise<JobRecord | null> {
    const r = await this.#db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', jobId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    return r ? jobFromRow(r) : null;
  }

  async getJobById(jobId: string): Promise<JobRecord | null> {
    const r = await this.#db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    return r ? jobFromRow(r) : null;
  }

  async listJobs(keyId: string, query: ListJobsQuery): Promise<{ jobs: JobRecord[]; total: number }> {
    let base = this.#db.selectFrom('jobs').where('key_id', '=', keyId);
    if (query.status !== undefined) base = base.where('status', '=', query.status);
    const [rows, count] = await Promise.all([
      base
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(query.limit)
        .offset(query.offset)
        .execute(),
      base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { jobs: rows.map(jobFromRow), total: Number(count.n) };
  }

  countActiveJobs(keyId: string): Promise<number> {
    return this.#countActive(this.#db, keyId);
  }

  async #countActive(db: Db, keyId: string): Promise<number> {
    const r = await db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('key_id', '=', keyId)
      .where('status', 'in', [...activeStatuses])
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async listTransitions(jobId: string): Promise<JobTransition[]> {
    const rows = await this.#db
      .selectFrom('job_transitions')
      .selectAll()
      .where('job_id', '=', jobId)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      jobId: r.job_id,
      from: r.from_status as JobStatus | null,
      to: r.to_status as JobStatus,
      at: r.at,
      attempt: Number(r.attempt),
      reason: r.reason,
    }));
  }

  async listPendingJobIds(opts: { updatedBefore: Date; limit: number }): Promise<string[]> {
    return this.#idsUntouchedSince('pending', opts);
  }

  /** Oldest first: the jobs in `status` whose row has not changed since `updatedBefore`. */
  async #idsUntouchedSince(
    status: JobStatus,
    opts: { updatedBefore: Date; limit: number },
  ): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', status)
      .where('updated_at', '<', opts.updatedBefore.toISOString())
      .orderBy('updated_at')
      .limit(opts.limit)
      .execute();
    return rows.map((r) => r.id);
  }

  // ---------------------------------------------------------------- job transitions

  async listStaleProcessingJobIds(opts: { updatedBefore: Date; limit: number }): Promise<string[]> {
    return this.#idsUntouchedSince('processing', opts);
  }

  async insertJob(job: NewJob, start?: StartJob): Promise<JobRecord> {
    return this.#tx(async (trx) => {
      const at = now();
      await trx
        .insertInto('jobs')
        .values({
          id: job.id,
          key_id: job.keyId,
          status: 'created',
          video_url: job.videoUrl,
          input_blob: job.inputBlob,
          background_blob: job.backgroundBlob ?? null,
          request: JSON.stringify(job.request),
          model: job.model,
          output_format: job.outputFormat,
          webhook_url: job.webhookUrl,
          metadata: job.metadata === null ? null : JSON.stringify(job.metadata),
          progress: 0,
          frames_done: 0,
          frames_total: job.framesTotal ?? null,
          eta_seconds: null,
          width: job.width,
          height: job.height,
          fps: job.fps,
          duration_seconds: job.durationSeconds,
          output_blob: null,
          mask_blob: null,
          error: null,
          error_code: null,
          credits_reserved: 0,
          credits_used: 0,
          billing_status: 'none',
          attempt: 0,
          worker_id: null,
          run_id: null,
          created_at: at,
          started_at: null,
          completed_at: null,
          updated_at: at,
        })
        .execute();
      await this.#transition(trx, job.id, null, 'created', 0, null, at);
      await this.#usage(trx, job.keyId, 'job.created', job.id, at);
      if (start) return this.#start(trx, job.keyId, job.id, start);
      return jobFromRow(await this.#mustGet(trx, job.id));
    });
  }

  startJob(keyId: string, jobId: string, start: StartJob): Promise<JobRecord> {
    return this.#tx((trx) => this.#start(trx, keyId, jobId, start));
  }

  async #start(trx: Db, keyId: string, jobId: string, start: StartJob): Promise<JobRecord> {
    if (!Number.isSafeInteger(start.credits) || start.credits < 0)
      throw new AlphacutError(
        'internal_error',
        `credits to reserve must be a whole number ≥ 0, got ${start.credits}`,
      );
    // Locking the key row serialises concurrent starts of one tenant on PostgreSQL, so two of
    // them cannot both see the same remaining balance. SQLite's write lock does this already.
    if (this.#lockRows)
      await trx.selectFrom('api_keys').select('id').where('id', '=', keyId).forUpdate().execute();
    const row = await trx
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', jobId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    if (!row) throw notFound('Job', jobId);
    const status = row.status as JobStatus;
    assertStartable(jobId, status);
    if (start.maxActiveJobs !== undefined && (await this.#countActive(trx, keyId)) >= start.maxActiveJobs)
      throw new AlphacutError(
        'rate_limited',
        `At most ${start.maxActiveJobs} jobs may be queued or processing at once for this key.`,
        { max_active_jobs: start.maxActiveJobs },
      );
    if (!this.#unlimited) {
      const balance = await this.#balance(trx, keyId);
      if (balance.remaining < start.credits)
        throw new AlphacutError(
          'insufficient_credits',
          `This job needs ${start.credits} credits; ${balance.remaining} remain.`,
          { required_credits: start.credits, remaining_credits: balance.remaining },
        );
    }
    const at = now();
    const attempt = Number(row.attempt) + 1;
    await trx
      .updateTable('jobs')
      .set({
        status: 'pending',
        ...(start.request !== undefined ? { request: JSON.stringify(start.request) } : {}),
        ...(start.model !== undefined ? { model: start.model } : {}),
        ...(start.outputFormat !== undefined ? { output_format: start.outputFormat } : {}),
        ...(start.webhookUrl !== undefined ? { webhook_url: start.webhookUrl } : {}),
        ...(start.backgroundBlob !== undefined ? { background_blob: start.backgroundBlob } : {}),
        progress: 0,
        frames_done: 0,
        eta_seconds: null,
        output_blob: null,
        mask_blob: null,
        error: null,
        error_code: null,
        credits_reserved: start.credits,
        credits_used: 0,
        billing_status: 'reserved',
        attempt,
        worker_id: null,
        run_id: null,
        started_at: null,
        completed_at: null,
        updated_at: at,
      })
      .where('id', '=', jobId)
      .execute();
    await this.#ledger(trx, keyId, jobId, 'reserve', start.credits, `attempt ${attempt}`);
    await this.#transition(trx, jobId, status, 'pending', attempt, null, at);
    await this.#usage(trx, keyId, 'job.queued', jobId, at);
    return jobFromRow(await this.#mustGet(trx, jobId));
  }

  beginProcessing(jobId: string, workerId: string): Promise<JobRecord | null> {
    return this.#tx(async (trx) => {
      const row = await trx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
      if (!row || (row.status !== 'pending' && row.status !== 'processing')) return null;
      const from = row.status as JobStatus;
      const at = now();
      await trx
        .updateTable('jobs')
        .set({
          status: 'processing',
          worker_id: workerId,
          run_id: uuidv7(),
          started_at: from === 'pending' ? at : row.started_at,
          updated_at: at,
        })
        .where('id', '=', jobId)
        .execute();
      const attempt = Number(row.attempt);
      await this.#transition(
        trx,
        jobId,
        from,
        'processing',
        attempt,
        from === 'processing' ? 're-claimed' : null,
        at,
      );
      const job = jobFromRow(await this.#mustGet(trx, jobId));
      // A re-claim continues the same attempt: the caller was told "started" once already.
      if (from === 'pending') {
        await this.#webhook(trx, job, 'job.started', at);
        await this.#usage(trx, job.keyId, 'job.started', jobId, at);
      }
      return job;
    });
  }

  async updateProgress(jobId: string, runId: string, p: JobProgress): Promise<JobStatus | null> {
    const r = await this.#db
      .updateTable('jobs')
      .set({
        progress: Math.max(0, Math.min(100, Math.round(p.progress))),
        frames_done: p.framesDone,
        frames_total: p.framesTotal,
        eta_seconds: p.etaSeconds,
        updated_at: now(),
      })
      .where('id', '=', jobId)
      .where('run_id', '=', runId)
      .where('status', '=', 'processing')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0) return 'processing';
    const row = await this.#db
      .selectFrom('jobs')
      .select(['status', 'run_id'])
      .where('id', '=', jobId)
      .executeTakeFirst();
    if (!row || row.run_id !== runId) return null;
    return row.status as JobStatus;
  }

  completeJob(input: CompleteJob): Promise<JobRecord | null> {
    return this.#tx(async (trx) => {
      const row = await trx.selectFrom('jobs').selectAll().where('id', '=', input.jobId).executeTakeFirst();
      // The guard that makes completion (and its charge) happen once: only the current run of a
      // processing job may complete it.
      if (!row || row.status !== 'processing' || row.run_id !== input.runId) return null;
      const at = now();
      const reserved = row.billing_status === 'reserved' ? Number(row.credits_reserved) : 0;
      // Never more than quoted at start: the reservation is what the caller agreed to.
      const charge = Math.min(reserved, creditsFor(row.model as ModelName, input.renderedSeconds));
      await trx
        .updateTable('jobs')
        .set({
          status: 'completed',
          progress: 100,
          frames_done: input.framesTotal,
          frames_total: input.framesTotal,
          eta_seconds: 0,
          width: input.width,
          height: input.height,
          fps: input.fps,
          output_blob: input.outputBlob,
          mask_blob: input.maskBlob,
          credits_used: charge,
          billing_status: row.billing_status === 'reserved' ? 'charged' : row.billing_status,
          completed_at: at,
          updated_at: at,
        })
        .where('id', '=', input.jobId)
        .execute();
      if (row.billing_status === 'reserved') {
        await this.#ledger(
          trx,
          row.key_id,
          row.id,
          'charge',
          charge,
          `${input.renderedSeconds.toFixed(3)} s`,
        );
        if (reserved > charge)
          await this.#ledger(trx, row.key_id, row.id, 'release', reserved - charge, null);
      }
      await this.#transition(trx, row.id, 'processing', 'completed', Number(row.attempt), null, at);
      const job = jobFromRow(await this.#mustGet(trx, row.id));
      await this.#webhook(trx, job, 'job.completed', at);
      await this.#usage(trx, row.key_id, 'job.completed', row.id, at, {
        seconds: input.renderedSeconds,
        credits: charge,
      });
      return job;
    });
  }

  failJob(input: {
    jobId: string;
    runId?: string;
    code: string;
    message: string;
  }): Promise<JobRecord | null> {
    return this.#tx(async (trx) => {
      const row = await trx.selectFrom('jobs').selectAll().where('id', '=', input.jobId).executeTakeFirst();
      if (!row || (row.status !== 'pending' && row.status !== 'processing')) return null;
      if (input.runId !== undefined && row.run_id !== input.runId) return null;
      const at = now();
      await trx
        .updateTable('jobs')
        .set({
          status: 'failed',
          error: input.message,
          error_code: input.code,
          eta_seconds: null,
          completed_at: at,
          updated_at: at,
          ...(await this.#refund(trx, row, 'failed')),
        })
        .where('id', '=', row.id)
        .execute();
      await this.#transition(
        trx,
        row.id,
        row.status as JobStatus,
        'failed',
        Number(row.attempt),
        input.code,
        at,
      );
      const job = jobFromRow(await this.#mustGet(trx, row.id));
      await this.#webhook(trx, job, 'job.failed', at);
      await this.#usage(trx, row.key_id, 'job.failed', row.id, at);
      return job;
    });
  }

  requeueJob(jobId: string, runId: string): Promise<JobRecord | null> {
    return this.#tx(async (trx) => {
      const row = await trx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
      if (!row || row.status !== 'processing' || row.run_id !== runId) return null;
      const at = now();
      await trx
        .updateTable('jobs')
        .set({ status: 'pending', worker_id: null, run_id: null, eta_seconds: null, updated_at: at })
        .where('id', '=', jobId)
        .execute();
      await this.#transition(trx, jobId, 'processing', 'pending', Number(row.attempt), 'worker stopping', at);
      return jobFromRow(await this.#mustGet(trx, jobId));
    });
  }

  requeueStaleJob(jobId: string, updatedBefore: Date, reason: string): Promise<JobRecord | null> {
    return this.#tx(async (trx) => {
      const row = await trx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
      if (!row || row.status !== 'processing' || row.updated_at >= updatedBefore.toISOString()) return null;
      const at = now();
      await trx
        .updateTable('jobs')
        .set({ status: 'pending', worker_id: null, run_id: null, eta_seconds: null, updated_at: at })
        .where('id', '=', jobId)
        .execute();
      await this.#transition(trx, jobId, 'processing', 'pending', Number(row.attempt), reason, at);
      return jobFromRow(await this.#mustGet(trx, jobId));
    });
  }

  cancelJob(keyId: string, jobId: string): Promise<JobRecord> {
    return this.#tx(async (trx) => {
      const row = await trx
        .selectFrom('jobs')
        .selectAll()
        .where('id', '=', jobId)
        .where('key_id', '=', keyId)
        .executeTakeFirst();
      if (!row) throw notFound('Job', jobId);
      if (row.status === 'canceled') return jobFromRow(row);
      assertCancelable(jobId, row.status as JobStatus);
      const at = now();
      await trx
        .updateTable('jobs')
        .set({
          status: 'canceled',
          eta_seconds: null,
          completed_at: at,
          updated_at: at,
          ...(await this.#refund(trx, row, 'canceled')),
        })
        .where('id', '=', jobId)
        .execute();
      await this.#transition(trx, jobId, row.status as JobStatus, 'canceled', Number(row.attempt), null, at);
      const job = jobFromRow(await this.#mustGet(trx, jobId));
      await this.#webhook(trx, job, 'job.canceled', at);
      await this.#usage(trx, keyId, 'job.canceled', jobId, at);
      return job;
    });
  }

  deleteJob(keyId: string, jobId: string): Promise<{ job: JobRecord; blobKeys: string[] }> {
    return this.#tx(async (trx) => {
      const row = await trx
        .selectFrom('jobs')
        .selectAll()
        .where('id', '=', jobId)
        .where('key_id', '=', keyId)
        .executeTakeFirst();
      if (!row) throw notFound('Job', jobId);
      const at = now();
      // Only blobs under the job's own prefix: an upload's blob may feed other jobs too.
      const own = `${keyId}/jobs/${jobId}/`;
      const blobKeys = [row.input_blob, row.background_blob, row.output_blob, row.mask_blob].filter(
        (k): k is string => k !== null && k.startsWith(own),
      );
      if (row.status === 'deleted') return { job: jobFromRow(row), blobKeys };
      if (!canTransition(row.status as JobStatus, 'deleted'))
        throw new AlphacutError('internal_error', `Job ${jobId} cannot be deleted from ${row.status}.`);
      await trx
        .updateTable('jobs')
        .set({
          status: 'deleted',
          output_blob: null,
          mask_blob: null,
          input_blob: row.input_blob !== null && row.input_blob.startsWith(own) ? null : row.input_blob,
          background_blob:
            row.background_blob !== null && row.background_blob.startsWith(own) ? null : row.background_blob,
          eta_seconds: null,
          updated_at: at,
          ...(await this.#refund(trx, row, 'deleted')),
        })
        .where('id', '=', jobId)
        .execute();
      await this.#transition(trx, jobId, row.status as JobStatus, 'deleted', Number(row.attempt), null, at);
      await this.#usage(trx, keyId, 'job.deleted', jobId, at);
      return { job: jobFromRow(await this.#mustGet(trx, jobId)), blobKeys };
    });
  }

  /** Gives a live reservation back; the returned columns go into the same UPDATE as the state change. */
  async #refund(
    trx: Db,
    row: Selectable<JobsTable>,
    why: string,
  ): Promise<{ billing_status?: BillingStatus }> {
    if (row.billing_status !== 'reserved') return {};
    await this.#ledger(trx, row.key_id, row.id, 'refund', Number(row.credits_reserved), why);
    return { billing_status: 'refunded' };
  }

  async #mustGet(trx: Db, jobId: string): Promise<Selectable<JobsTable>> {
    return trx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
  }

  async #transition(
    trx: Db,
    jobId: string,
    from: JobStatus | null,
    to: JobStatus,
    attempt: number,
    reason: string | null,
    at: string,
  ): Promise<void> {
    if (from !== null && !canTransition(from, to))
      throw new AlphacutError('internal_error', `Illegal job transition ${from} → ${to} (${jobId}).`);
    await trx
      .insertInto('job_transitions')
      .values({ id: uuidv7(), job_id: jobId, from_status: from, to_status: to, attempt, reason, at })
      .execute();
  }

  async #webhook(trx: Db, job: JobRecord, event: WebhookEventName, at: string): Promise<void> {
    if (!job.webhookUrl) return;
    await trx
      .insertInto('webhook_events')
      .values({
        id: `evt_${uuidv7()}`,
        job_id: job.id,
        key_id: job.keyId,
        event,
        url: job.webhookUrl,
        payload: JSON.stringify(job),
        status: 'pending',
        attempts: 0,
        last_status_code: null,
        last_error: null,
        last_attempt_at: null,
        next_attempt_at: at,
        created_at: at,
      })
      .execute();
  }

  async #usage(
    db: Db,
    keyId: string,
    name: string,
    jobId: string,
    at: string,
    extra: { seconds?: number; credits?: number } = {},
  ): Promise<void> {
    await db
      .insertInto('usage_events')
      .values({
        id: uuidv7(),
        key_id: keyId,
        kind: 'job',
        name,
        job_id: jobId,
        status_code: null,
        seconds: extra.seconds ?? null,
        credits: extra.credits ?? null,
        created_at: at,
      })
      .execute();
  }

  // ---------------------------------------------------------------- webhooks

  // ---- split jobs

  createSegments(jobId: string, runId: string, plan: SegmentPlan[]): Promise<JobSegment[] | null> {
    return this.#tx(async (trx) => {
      const row = await trx
        .selectFrom('jobs')
        .select(['status', 'run_id'])
        .where('id', '=', jobId)
        .$if(this.#lockRows, (q) => q.forUpdate())
        .executeTakeFirst();
      if (!row || row.status !== 'processing' || row.run_id !== runId) return null;
      const existing = await this.#segments(trx, jobId);
      if (existing.length > 0) return existing;
      const at = now();
      await trx
        .insertInto('job_segments')
        .values(
          plan.map((p, idx) => ({
            job_id: jobId,
            idx,
            start_frame: p.startFrame,
            end_frame: p.endFrame,
            status: 'pending',
            run_id: null,
            worker_id: null,
            frames_done: 0,
            blob_prefix: null,
            claims: 0,
            created_at: at,
            updated_at: at,
          })),
        )
        .execute();
      const total = plan.reduce((n, p) => n + (p.endFrame - p.startFrame), 0);
      await trx
        .updateTable('jobs')
        .set({ frames_total: total, frames_done: 0, progress: 0, updated_at: at })
        .where('id', '=', jobId)
        .execute();
      return this.#segments(trx, jobId);
    });
  }

  listSegments(jobId: string): Promise<JobSegment[]> {
    return this.#segments(this.#db, jobId);
  }

  async #segments(db: Db, jobId: string): Promise<JobSegment[]> {
    const rows = await db
      .selectFrom('job_segments')
      .selectAll()
      .where('job_id', '=', jobId)
      .orderBy('idx')
      .execute();
    return rows.map(segmentFromRow);
  }

  beginSegment(
    jobId: string,
    index: number,
    workerId: string,
  ): Promise<{ job: JobRecord; segment: JobSegment } | null> {
    return this.#tx(async (trx) => {
      const row = await trx
        .selectFrom('jobs')
        .selectAll()
        .where('id', '=', jobId)
        .$if(this.#lockRows, (q) => q.forUpdate())
        .executeTakeFirst();
      if (!row || row.status !== 'processing') return null;
      const seg = await trx
        .selectFrom('job_segments')
        .selectAll()
        .where('job_id', '=', jobId)
        .where('idx', '=', index)
        .executeTakeFirst();
      if (!seg || seg.status === 'done') return null;
      await trx
        .updateTable('job_segments')
        .set({
          status: 'processing',
          run_id: uuidv7(),
          worker_id: workerId,
          frames_done: 0,
          claims: Number(seg.claims) + 1,
          updated_at: now(),
        })
        .where('job_id', '=', jobId)
        .where('idx', '=', index)
        .execute();
      const updated = await trx
        .selectFrom('job_segments')
        .selectAll()
        .where('job_id', '=', jobId)
        .where('idx', '=', index)
        .executeTakeFirstOrThrow();
      return { job: jobFromRow(row), segment: segmentFromRow(updated) };
    });
  }

  async updateSegmentProgress(
    jobId: string,
    index: number,
    runId: string,
    framesDone: number,
  ): Promise<JobStatus | null> {
    const at = now();
    const r = await this.#db
      .updateTable('job_segments')
      .set({ frames_done: framesDone, updated_at: at })
      .where('job_id', '=', jobId)
      .where('idx', '=', index)
      .where('run_id', '=', runId)
      .where('status', '=', 'processing')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return null;
    // One statement each and no transaction: N segments report every second, and the aggregate
    // is recomputed from the segment rows each time, so a lost race only delays it a second.
    const job = await this.#db
      .selectFrom('jobs')
      .select(['status', 'started_at'])
      .where('id', '=', jobId)
      .executeTakeFirst();
    if (!job) return null;
    if (job.status !== 'processing') return job.status as JobStatus;
    const sum = await this.#db
      .selectFrom('job_segments')
      .select((eb) => [
        eb.fn.sum<number | string | null>('frames_done').as('done'),
        eb.fn.sum<number | string | null>(eb('end_frame', '-', eb.ref('start_frame'))).as('total'),
      ])
      .where('job_id', '=', jobId)
      .executeTakeFirst();
    const done = Number(sum?.done ?? 0);
    // From the segments, not the job row: the parent's last heartbeat may land after the split.
    const total = Number(sum?.total ?? 0);
    const elapsed = job.started_at ? (Date.now() - Date.parse(job.started_at)) / 1000 : 0;
    const eta = done > 0 && total > done && elapsed > 0 ? ((total - done) * elapsed) / done : null;
    await this.#db
      .updateTable('jobs')
      .set({
        frames_done: done,
        frames_total: total,
        // 100 is for completed jobs only: the join still follows the last segment.
        progress: total > 0 ? Math.min(99, Math.floor((done / total) * 100)) : 0,
        eta_seconds: eta,
        updated_at: at,
      })
      .where('id', '=', jobId)
      .where('status', '=', 'processing')
      .execute();
    return 'processing';
  }

  finishSegment(input: {
    jobId: string;
    index: number;
    runId: string;
    blobPrefix: string;
  }): Promise<{ allDone: boolean } | null> {
    return this.#tx(async (trx) => {
      const job = await trx
        .selectFrom('jobs')
        .select(['status'])
        .where('id', '=', input.jobId)
        .$if(this.#lockRows, (q) => q.forUpdate())
        .executeTakeFirst();
      if (!job || job.status !== 'processing') return null;
      const seg = await trx
        .selectFrom('job_segments')
        .select(['status', 'run_id', 'start_frame', 'end_frame'])
        .where('job_id', '=', input.jobId)
        .where('idx', '=', input.index)
        .executeTakeFirst();
      // The guard that makes a re-claimed segment count once: only its current render finishes it.
      if (!seg || seg.status !== 'processing' || seg.run_id !== input.runId) return null;
      await trx
        .updateTable('job_segments')
        .set({
          status: 'done',
          blob_prefix: input.blobPrefix,
          frames_done: Number(seg.end_frame) - Number(seg.start_frame),
          updated_at: now(),
        })
        .where('job_id', '=', input.jobId)
        .where('idx', '=', input.index)
        .execute();
      const left = await trx
        .selectFrom('job_segments')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('job_id', '=', input.jobId)
        .where('status', '!=', 'done')
        .executeTakeFirstOrThrow();
      return { allDone: Number(left.n) === 0 };
    });
  }

  async listWebhookEvents(jobId: string): Promise<WebhookEventRecord[]> {
    const rows = await this.#db
      .selectFrom('webhook_events')
      .selectAll()
      .where('job_id', '=', jobId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(eventFromRow);
  }

  claimDueWebhookEvents(opts: { limit: number; lockMs: number; now?: Date }): Promise<WebhookEventRecord[]> {
    return this.#tx(async (trx) => {
      const at = opts.now ?? new Date();
      const rows = await trx
        .selectFrom('webhook_events')
        .selectAll()
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', at.toISOString())
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(opts.limit)
        .$if(this.#lockRows, (q) => q.forUpdate().skipLocked())
        .execute();
      if (rows.length === 0) return [];
      const lockedUntil = new Date(at.getTime() + opts.lockMs).toISOString();
      await trx
        .updateTable('webhook_events')
        .set({ next_attempt_at: lockedUntil })
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute();
      return rows.map((r) => eventFromRow({ ...r, next_attempt_at: lockedUntil }));
    });
  }

  async recordWebhookAttempt(input: {
    id: string;
    ok: boolean;
    statusCode: number | null;
    error?: string | null;
    nextAttemptAt: Date | null;
    at?: Date;
  }): Promise<void> {
    await this.#db
      .updateTable('webhook_events')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        last_status_code: input.statusCode,
        last_error: input.ok ? null : (input.error ?? null),
        last_attempt_at: (input.at ?? new Date()).toISOString(),
        status: input.ok ? 'sent' : input.nextAttemptAt ? 'pending' : 'failed',
        next_attempt_at: input.ok || !input.nextAttemptAt ? null : input.nextAttemptAt.toISOString(),
      }))
      .where('id', '=', input.id)
      .execute();
  }

  // ---------------------------------------------------------------- usage

  async recordUsageEvent(
    e: Omit<UsageEvent, 'id' | 'createdAt' | 'jobId' | 'statusCode' | 'seconds' | 'credits'> &
      Partial<Pick<UsageEvent, 'jobId' | 'statusCode' | 'seconds' | 'credits' | 'createdAt'>>,
  ): Promise<void> {
    await this.#db
      .insertInto('usage_events')
      .values({
        id: uuidv7(),
        key_id: e.keyId,
        kind: e.kind,
        name: e.name,
        job_id: e.jobId ?? null,
        status_code: e.statusCode ?? null,
        seconds: e.seconds ?? null,
        credits: e.credits ?? null,
        created_at: e.createdAt ?? now(),
      })
      .execute();
  }

  async listUsageEvents(keyId: string, limit: number): Promise<UsageEvent[]> {
    const rows = await this.#db
      .selectFrom('usage_events')
      .selectAll()
      .where('key_id', '=', keyId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      keyId: r.key_id,
      kind: r.kind as UsageEvent['kind'],
      name: r.name,
      jobId: r.job_id,
      statusCode: num(r.status_code),
      seconds: num(r.seconds),
      credits: num(r.credits),
      createdAt: r.created_at,
    }));
  }

  async usageSummary(keyId: string, days: number, at: Date = new Date()): Promise<UsageSummary> {
    const n = Math.max(1, Math.floor(days));
    const today = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
    const dates: string[] = [];
    for (let i = n - 1; i >= 0; i--) dates.push(new Date(today - i * 86_400_000).toISOString().slice(0, 10));
    const from = `${dates[0]}T00:00:00.000Z`;
    // substr on ISO text is the one day-bucketing expression SQLite and PostgreSQL share.
    const rows = await this.#db
      .selectFrom('usage_events')
      .select((eb) => [
        eb.fn<string>('substr', ['created_at', eb.lit(1), eb.lit(10)]).as('day'),
        'name',
        eb.fn.countAll<number | string>().as('n'),
        eb.fn.sum<number | string | null>('seconds').as('seconds'),
        eb.fn.sum<number | string | null>('credits').as('credits'),
      ])
      .where('key_id', '=', keyId)
      .where('kind', '=', 'job')
      .where('name', 'in', ['job.created', 'job.completed', 'job.failed'])
      .where('created_at', '>=', from)
      .groupBy(['day', 'name'])
      .execute();
    const byDay = new Map<string, UsageDay>(
      dates.map((d) => [
        d,
        { date: d, jobs: 0, completedJobs: 0, failedJobs: 0, secondsProcessed: 0, creditsUsed: 0 },
      ]),
    );
    for (const r of rows) {
      const d = byDay.get(r.day);
      if (!d) continue;
      if (r.name === 'job.created') d.jobs += Number(r.n);
      else if (r.name === 'job.failed') d.failedJobs += Number(r.n);
      else {
        d.completedJobs += Number(r.n);
        d.secondsProcessed += Number(r.seconds ?? 0);
        d.creditsUsed += Number(r.credits ?? 0);
      }
    }
    const list = [...byDay.values()];
    const totals = { jobs: 0, completedJobs: 0, failedJobs: 0, secondsProcessed: 0, creditsUsed: 0 };
    for (const d of list) {
      totals.jobs += d.jobs;
      totals.completedJobs += d.completedJobs;
      totals.failedJobs += d.failedJobs;
      totals.secondsProcessed += d.secondsProcessed;
      totals.creditsUsed += d.creditsUsed;
    }
    return { days: list, totals };
  }

  // ---------------------------------------------------------------- idempotency

  beginIdempotency(input: {
    keyId: string;
    key: string;
    bodyHash: string;
    staleAfterMs: number;
    now?: Date;
  }): Promise<IdempotencyBegin> {
    return this.#tx(async (trx) => {
      const at = input.now ?? new Date();
      const row = await trx
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('key_id', '=', input.keyId)
        .where('idem_key', '=', input.key)
        .$if(this.#lockRows, (q) => q.forUpdate())
        .executeTakeFirst();
      if (!row) {
        await trx
          .insertInto('idempotency_keys')
          .values({
            key_id: input.keyId,
            idem_key: input.key,
            body_hash: input.bodyHash,
            state: 'pending',
            response_status: null,
            response_body: null,
            created_at: at.toISOString(),
            updated_at: at.toISOString(),
          })
          .execute();
        return { state: 'new' };
      }
      if (row.body_hash !== input.bodyHash) return { state: 'conflict' };
      if (row.state === 'done' && row.response_status !== null && row.response_body !== null)
        return { state: 'done', status: Number(row.response_status), body: row.response_body };
      if (Date.parse(row.updated_at) + input.staleAfterMs > at.getTime()) return { state: 'in_progress' };
      // The process that held it died mid-request: this caller takes over.
      await trx
        .updateTable('idempotency_keys')
        .set({ updated_at: at.toISOString() })
        .where('key_id', '=', input.keyId)
        .where('idem_key', '=', input.key)
        .execute();
      return { state: 'new' };
    });
  }

  async completeIdempotency(input: {
    keyId: string;
    key: string;
    status: number;
    body: string;
  }): Promise<void> {
    await this.#db
      .updateTable('idempotency_keys')
      .set({ state: 'done', response_status: input.status, response_body: input.body, updated_at: now() })
      .where('key_id', '=', input.keyId)
      .where('idem_key', '=', input.key)
      .execute();
  }

  async abandonIdempotency(keyId: string, key: string): Promise<void> {
    await this.#db
      .deleteFrom('idempotency_keys')
      .where('key_id', '=', keyId)
      .where('idem_key', '=', key)
      .where('state', '=', 'pending')
      .execute();
  }

  async purgeIdempotency(olderThan: Date): Promise<number> {
    const r = await this.#db
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', olderThan.toISOString())
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async check(): Promise<void> {
    await this.#db.selectFrom('api_keys').select('id').limit(1).execute();
  }

  close(): Promise<void> {
    return this.#close();
  }
}

function keyFromRow(r: Selectable<Database['api_keys']>): ApiKeyRecord {
  return {
    id: r.id,
    name: r.name,
    keyHash: r.key_hash,
    fingerprint: r.fingerprint,
    disabled: Number(r.disabled) !== 0,
    createdAt: r.created_at,
  };
}

function eventFromRow(r: Selectable<Database['webhook_events']>): WebhookEventRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    keyId: r.key_id,
    event: r.event as WebhookEventName,
    url: r.url,
    job: JSON.parse(r.payload) as JobRecord,
    status: r.status as WebhookEventRecord['status'],
    attempts: Number(r.attempts),
    lastStatusCode: num(r.last_status_code),
    lastError: r.last_error,
    lastAttemptAt: r.last_attempt_at,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
  };
}
