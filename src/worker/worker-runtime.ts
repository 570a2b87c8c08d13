import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { segmentsBlobFolder } from '../core/blob-key.ts';
import { AlphacutError, isAlphacutError } from '../core/errors.ts';
import { normalizeRenderSpec, type RenderSpec } from '../core/job-spec.ts';
import type { JobRecord } from '../core/job.ts';
import type { BlobStore, LocalBlob } from '../core/ports/blob-store.ts';
import type { JobQueue } from '../core/ports/job-queue.ts';
import type { JobStore } from '../core/ports/job-store.ts';
import { JobStopped } from './lease-heartbeat.ts';

/** When a job is split into segments rendered by several workers at once (see docs/deploy.md). */
export interface SplitSettings {
  /** Jobs whose rendered range is longer than this many seconds are split. */
  minSeconds: number;
  /** Target segment length; cuts move to the nearest keyframe. */
  segmentSeconds: number;
  /** Frames decoded and matted before a segment's first frame so its temporal state is warm. */
  warmupFrames: number;
}

export const defaultSplit: SplitSettings = { minSeconds: 120, segmentSeconds: 60, warmupFrames: 8 };

/** What the claim loop shares with the handlers of each kind of queue entry. */
export interface WorkerRuntime {
  store: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  dataDir: string;
  scratch: string;
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  split: SplitSettings | undefined;
  /** Controllers of the runs in progress: a stopping worker aborts them after its grace time. */
  running: Set<AbortController>;
  log: (message: string) => void;
}

export async function scratchDir(rt: WorkerRuntime, name: string): Promise<string> {
  await mkdir(rt.scratch, { recursive: true });
  return mkdtemp(join(rt.scratch, `${name}-`));
}

/** The job's RenderSpec with fetched background media replaced by local file paths. */
export async function localSpec(rt: WorkerRuntime, job: JobRecord, locals: LocalBlob[]): Promise<RenderSpec> {
  const spec = normalizeRenderSpec(job.request);
  const bg = spec.background;
  if (bg.type !== 'image' && bg.type !== 'video') return spec;
  if (!job.backgroundBlob)
    throw new AlphacutError('internal_error', 'The job has no stored background media.');
  const local = await rt.blobs.localPath(job.backgroundBlob);
  locals.push(local);
  return { ...spec, background: { ...bg, source: local.path } };
}

export async function localInput(rt: WorkerRuntime, job: JobRecord, locals: LocalBlob[]): Promise<string> {
  if (!job.inputBlob) throw new AlphacutError('internal_error', 'The job has no stored input.');
  const input = await rt.blobs.localPath(job.inputBlob);
  locals.push(input);
  return input.path;
}

export function errorText(err: unknown, stack = true): string {
  return err instanceof Error ? ((stack ? err.stack : undefined) ?? err.message) : String(err);
}

/**
 * How a segment or join run ends when it throws. A stop for shutdown or an unreachable store hands
 * the queue entry back (the next claim renders it again); a cancel drops the segment files; any
 * other error fails the whole job through `fail` (which refunds it). Returns whether the entry was
 * released, so the caller does not also ack it.
 */
export async function endRunOnError(
  rt: WorkerRuntime,
  run: {
    err: unknown;
    signal: AbortSignal;
    entryId: string;
    job: Pick<JobRecord, 'keyId' | 'id'>;
    log: (message: string) => void;
    fail: (e: AlphacutError) => Promise<unknown>;
  },
): Promise<boolean> {
  const { err, signal, log } = run;
  const stop = signal.aborted ? (signal.reason as unknown) : undefined;
  if (stop instanceof JobStopped) {
    if (stop.reason === 'shutdown' || stop.reason === 'unreachable') {
      await rt.queue.release(run.entryId, rt.workerId).catch(() => {});
      log(
        `handed back (${stop.reason === 'shutdown' ? 'worker stopping' : 'database or queue unreachable'})`,
      );
      return true;
    }
    log(`stopped (${stop.reason})`);
    if (stop.reason === 'canceled') await rt.blobs.deletePrefix(segmentsBlobFolder(run.job)).catch(() => {});
    return false;
  }
  const e = isAlphacutError(err)
    ? err
    : new AlphacutError('internal_error', err instanceof Error ? err.message : String(err));
  await run.fail(e);
  log(`failed [${e.code}] ${e.message}${e.code === 'internal_error' ? `\n${errorText(err)}` : ''}`);
  return false;
}
