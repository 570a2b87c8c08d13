import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jobBlobKey } from '../core/blob-key.ts';
import { AlphacutError, isAlphacutError } from '../core/errors.ts';
import type { RenderSpec } from '../core/job-spec.ts';
import type { JobRecord } from '../core/job.ts';
import { outputFormats } from '../core/output-formats.ts';
import type { BlobStore, LocalBlob } from '../core/ports/blob-store.ts';
import type { JobQueue } from '../core/ports/job-queue.ts';
import type { JobProgress, JobStore } from '../core/ports/job-store.ts';
import type { Progress } from '../pipeline/job-context.ts';
import { removeBackground, type RemoveOptions } from '../pipeline/remove-background.ts';
import { JobStopped, startHeartbeat } from './lease-heartbeat.ts';
import { recoverStrandedJobs } from './recover-jobs.ts';
import { parseEntry, segmentEntry } from '../core/queue-entries.ts';
import { runJoin } from './run-join.ts';
import { enqueueJoinIfReady, runSegment } from './run-segment.ts';
import { planJobSplit } from './split-job.ts';
import {
  errorText,
  localInput,
  localSpec,
  scratchDir,
  type SplitSettings,
  type WorkerRuntime,
} from './worker-runtime.ts';

export interface WorkerOptions {
  store: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  /** Models cache (`<dataDir>/models`). */
  dataDir: string;
  /** Per-job temporary files; default `<dataDir>/tmp`. Same disk as local blobs keeps puts cheap. */
  scratchDir?: string;
  /** Unique per process; defaults to host, pid and a random suffix. */
  workerId?: string;
  /** Jobs run at once by this process. */
  concurrency?: number;
  /** How long a claim stays valid without a heartbeat; a crashed worker's job waits this long. */
  leaseMs?: number;
  /** Idle wait between empty claims. */
  pollMs?: number;
  /** After `signal` aborts, how long a running job may still finish before it is handed back. */
  graceMs?: number;
  /** Split long jobs into segments for several workers (see SplitSettings); absent: never split. */
  split?: SplitSettings;
  /** Abort to stop: no new claims, running jobs finish within `graceMs` or are requeued. */
  signal: AbortSignal;
  log?: (message: string) => void;
}

export interface RunningWorker {
  workerId: string;
  /** Settles when every slot has stopped (after `signal` aborted). */
  stopped: Promise<void>;
}

export function defaultWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * The claim loop: take a job id from the queue, run the pipeline on local copies of its blobs,
 * store the outputs and settle the job. Progress is written at most once a second and doubles as
 * the heartbeat, which also notices a cancel (status changed) or a lost lease (another worker
 * re-claimed after we stalled) and stops the pipeline. A job is completed and charged only
 * through the store's run-guarded completeJob, so a re-claimed job settles exactly once.
 */
export function startWorker(opts: WorkerOptions): RunningWorker {
  const workerId = opts.workerId ?? defaultWorkerId();
  const leaseMs = opts.leaseMs ?? 30_000;
  const pollMs = opts.pollMs ?? 500;
  const graceMs = opts.graceMs ?? 30_000;
  const heartbeatMs = Math.max(50, Math.min(1000, Math.floor(leaseMs / 3)));
  const log = opts.log ?? (() => {});
  const scratch = opts.scratchDir ?? join(opts.dataDir, 'tmp');
  const running = new Set<AbortController>();

  // On stop: running jobs get `graceMs` to finish, then are stopped and handed back.
  let graceTimer: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    graceTimer = setTimeout(() => {
      for (const c of running) c.abort(new JobStopped('shutdown'));
    }, graceMs);
  };
  if (opts.signal.aborted) onStop();
  else opts.signal.addEventListener('abort', onStop, { once: true });

  // Consecutive failures of the claim loop (database or queue unreachable): each waits longer,
  // up to maxBackoffMs, and the loop resumes on its own when the service answers again.
  const maxBackoffMs = Math.max(pollMs, 5000);
  const backoff = (failures: number): number => Math.min(maxBackoffMs, pollMs * 2 ** Math.min(failures, 10));

  const slot = async (): Promise<void> => {
    let failures = 0;
    while (!opts.signal.aborted) {
      let jobId: string | null = null;
      try {
        jobId = await opts.queue.claim(workerId, leaseMs);
        if (failures > 0) log(`claiming again after ${failures} failed attempt(s)`);
        failures = 0;
      } catch (err) {
        if (failures++ === 0 || failures % 10 === 0)
          log(`claim failed (attempt ${failures}): ${errorText(err, false)}`);
        await sleep(backoff(failures), undefined, { signal: opts.signal }).catch(() => {});
        continue;
      }
      if (jobId === null) {
        await sleep(pollMs, undefined, { signal: opts.signal }).catch(() => {});
        continue;
      }
      const entry = jobId;
      const ok = await runEntry(entry).then(
        () => true,
        (err: unknown) => {
          log(`job ${entry}: worker error: ${errorText(err)}`);
          return false;
        },
      );
      // A run that broke on the database (or the queue) must not turn into a tight loop of
      // claims that all fail the same way.
      if (!ok) await sleep(backoff(++failures), undefined, { signal: opts.signal }).catch(() => {});
    }
  };

  // Every worker puts back what the queue lost, on its own timer: a worker whose slots are all
  // busy with long jobs still recovers stranded ones.
  const recoverEveryMs = Math.max(200, Math.min(leaseMs, 30_000));
  const recovery = (async (): Promise<void> => {
    while (!opts.signal.aborted) {
      try {
        await recoverStrandedJobs({ store: opts.store, queue: opts.queue, leaseMs, log });
      } catch (err) {
        log(`recovery sweep failed: ${errorText(err, false)}`);
      }
      await sleep(recoverEveryMs, undefined, { signal: opts.signal }).catch(() => {});
    }
  })();

  const rt: WorkerRuntime = {
    store: opts.store,
    queue: opts.queue,
    blobs: opts.blobs,
    dataDir: opts.dataDir,
    scratch,
    workerId,
    leaseMs,
    heartbeatMs,
    split: opts.split,
    running,
    log,
  };

  async function runEntry(entryId: string): Promise<void> {
    const entry = parseEntry(entryId);
    if (entry.kind === 'segment') return runSegment(rt, entryId, entry.jobId, entry.index);
    if (entry.kind === 'join') return runJoin(rt, entryId, entry.jobId);
    return runJob(entry.jobId);
  }

  async function runJob(jobId: string): Promise<void> {
    let job: JobRecord | null;
    try {
      job = await opts.store.beginProcessing(jobId, workerId);
    } catch (err) {
      // The database did not answer: give the entry back rather than sit on its lease.
      await opts.queue.release(jobId, workerId).catch(() => {});
      throw err;
    }
    if (!job || job.runId === null) {
      // Canceled, deleted or already settled while it waited in the queue.
      await opts.queue.ack(jobId, workerId);
      return;
    }
    const runId = job.runId;
    log(`job ${jobId}: processing (attempt ${job.attempt}, run ${runId})`);
    const controller = new AbortController();
    running.add(controller);
    let latest: JobProgress | undefined;
    const heartbeat = startHeartbeat({
      queue: opts.queue,
      entryId: jobId,
      workerId,
      leaseMs,
      intervalMs: heartbeatMs,
      controller,
      report: () =>
        opts.store.updateProgress(
          jobId,
          runId,
          latest ?? { progress: 0, framesDone: 0, framesTotal: job.framesTotal, etaSeconds: null },
        ),
      log: (m) => log(`job ${jobId}: ${m}`),
    });

    const tmp = await scratchDir(rt, jobId);
    const locals: LocalBlob[] = [];
    let requeued = false;
    try {
      const spec = await localSpec(rt, job, locals);
      const input = await localInput(rt, job, locals);
      if (opts.split && (await splitIntoSegments(job, runId, input, spec, controller.signal))) return;
      const ext = outputFormats[spec.outputFormat].extension;
      const output = join(tmp, `output.${ext}`);
      const maskOutput = join(tmp, 'mask.mp4');
      const options: RemoveOptions = {
        input,
        output,
        maskOutput,
        tier: spec.model,
        dataDir: opts.dataDir,
        spec,
      };
      const result = await removeBackground(options, {
        signal: controller.signal,
        log: (m) => log(`job ${jobId}: ${m}`),
        progress: (p: Progress) => {
          latest = {
            // 100 is for completed jobs only: encoding and upload still follow the last frame.
            progress: p.framesTotal > 0 ? Math.min(99, Math.floor((p.framesDone / p.framesTotal) * 100)) : 0,
            framesDone: p.framesDone,
            framesTotal: p.framesTotal > 0 ? p.framesTotal : null,
            etaSeconds: p.etaSeconds ?? null,
          };
        },
      });
      if (controller.signal.aborted) throw controller.signal.reason;
      // Run-specific keys: a worker that lost the job mid-upload cannot overwrite, nor later
      // delete, the outputs of the run that did complete it.
      const outputBlob = jobBlobKey(job.keyId, jobId, `${runId}/output.${ext}`);
      const maskBlob = jobBlobKey(job.keyId, jobId, `${runId}/mask.mp4`);
      await opts.blobs.put(outputBlob, { path: output });
      await opts.blobs.put(maskBlob, { path: maskOutput });
      const fps = result.info.fps.num / result.info.fps.den;
      const done = await settleRetrying(controller.signal, () =>
        opts.store.completeJob({
          jobId,
          runId,
          outputBlob,
          maskBlob,
          renderedSeconds: result.renderedSeconds,
          framesTotal: result.framesOut,
          // The output's size (the composition canvas), which is what the job object describes.
          width: result.output.width,
          height: result.output.height,
          fps,
        }),
      );
      if (done) log(`job ${jobId}: completed, ${result.framesOut} frames, ${done.creditsUsed} credits`);
      else {
        log(`job ${jobId}: finished but no longer ours (canceled, deleted or re-claimed); outputs dropped`);
        await Promise.all([opts.blobs.delete(outputBlob), opts.blobs.delete(maskBlob)]);
      }
    } catch (err) {
      const stop = controller.signal.aborted ? (controller.signal.reason as unknown) : undefined;
      if (stop instanceof JobStopped) {
        if (stop.reason === 'shutdown') {
          // With the database down the job stays processing; the released entry re-claims it.
          await opts.store.requeueJob(jobId, runId).catch(() => null);
          await opts.queue.release(jobId, workerId);
          requeued = true;
          log(`job ${jobId}: handed back (worker stopping)`);
        } else if (stop.reason === 'unreachable') {
          // The store cannot be told; the entry goes back to the queue (or its lease runs out),
          // and the next claim starts a new run of the still-processing job.
          await opts.queue.release(jobId, workerId).catch(() => {});
          requeued = true;
          log(`job ${jobId}: handed back (database or queue unreachable for a lease period)`);
        } else log(`job ${jobId}: stopped (${stop.reason})`);
      } else if (err instanceof StoreUnreachable) {
        await opts.queue.release(jobId, workerId).catch(() => {});
        requeued = true;
        log(`job ${jobId}: rendered but not settled (database unreachable); handed back: ${err.message}`);
      } else {
        const e = isAlphacutError(err)
          ? err
          : new AlphacutError('internal_error', err instanceof Error ? err.message : String(err));
        await opts.store.failJob({ jobId, runId, code: e.code, message: e.message });
        log(`job ${jobId}: failed [${e.code}] ${e.message}`);
      }
    } finally {
      await heartbeat.stop();
      running.delete(controller);
      await Promise.all(locals.map((l) => l.release().catch(() => {})));
      await rm(tmp, { recursive: true, force: true });
      if (!requeued) await opts.queue.ack(jobId, workerId);
    }
  }

  /**
   * A long job becomes segment entries for any worker (this one included) and ends here; the
   * job stays processing under this run until the join completes it. A re-claimed job whose
   * split already happened keeps those segments: only the unfinished ones are enqueued again.
   */
  async function splitIntoSegments(
    job: JobRecord,
    runId: string,
    input: string,
    spec: RenderSpec,
    signal: AbortSignal,
  ): Promise<boolean> {
    const existing = await opts.store.listSegments(job.id);
    const plan = existing.length > 0 ? existing : await planJobSplit(input, spec, opts.split!, signal);
    if (!plan) return false;
    const segments = await opts.store.createSegments(job.id, runId, plan);
    if (!segments) throw new JobStopped('lost');
    const open = segments.filter((s) => s.status !== 'done');
    for (const s of open) await opts.queue.enqueue(segmentEntry(job.id, s.index));
    if (open.length === 0) await enqueueJoinIfReady(rt, job.id);
    log(
      `job ${job.id}: split into ${segments.length} segments (${segments.map((s) => `${s.startFrame}–${s.endFrame}`).join(', ')})`,
    );
    return true;
  }

  const slots = Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, () => slot());
  const stopped = Promise.all([...slots, recovery]).then(() => {
    clearTimeout(graceTimer);
    opts.signal.removeEventListener('abort', onStop);
  });
  return { workerId, stopped };

  /**
   * Settling a rendered job is worth waiting for: a database that is down for a moment must not
   * throw away the render (nor fail the job). Retries for one lease period, then gives up with
   * StoreUnreachable; the run is then handed back and the job re-rendered by a new run.
   */
  async function settleRetrying<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const until = Date.now() + leaseMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (isAlphacutError(err) || signal.aborted) throw err;
        if (Date.now() >= until) throw new StoreUnreachable(errorText(err, false));
        log(`settling failed (attempt ${attempt}), retrying: ${errorText(err, false)}`);
        await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    }
  }
}

class StoreUnreachable extends Error {}
