import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { segmentBlobPrefix } from '../core/blob-key.ts';
import { AlphacutError } from '../core/errors.ts';
import type { LocalBlob } from '../core/ports/blob-store.ts';
import { defaultProbeLimits, probe } from '../pipeline/probe.ts';
import { removeBackground } from '../pipeline/remove-background.ts';
import { openSegmentWriter, segmentFiles } from '../pipeline/split/segment-intermediate.ts';
import { frameRange } from '../pipeline/split/segment-plan.ts';
import { startHeartbeat } from './lease-heartbeat.ts';
import { joinEntry } from '../core/queue-entries.ts';
import { renderRange } from '../core/job-spec.ts';
import { endRunOnError, localInput, localSpec, scratchDir, type WorkerRuntime } from './worker-runtime.ts';

/**
 * Renders one segment of a split job into its files in the blob store (the final encoding, or
 * lossless frames; segment-intermediate.ts). The segment
 * starts `warmupFrames` early so the matte's temporal state enters it as a whole run's would;
 * those frames are not kept. Its heartbeat is also the job's aggregate progress and notices a
 * cancel of the job. Only the segment's current render may finish it (a re-claim after a lost
 * lease supersedes the old render), and the last segment to finish enqueues the join.
 */
export async function runSegment(
  rt: WorkerRuntime,
  entryId: string,
  jobId: string,
  index: number,
): Promise<void> {
  const log = (m: string): void => rt.log(`job ${jobId} segment ${index}: ${m}`);
  const begun = await rt.store.beginSegment(jobId, index, rt.workerId);
  if (!begun) {
    // Done already (a worker died between finishing it and enqueueing the join: do that now),
    // or the job was canceled, failed or deleted meanwhile.
    await enqueueJoinIfReady(rt, jobId);
    await rt.queue.ack(entryId, rt.workerId);
    return;
  }
  const { job, segment } = begun;
  const runId = segment.runId ?? '';
  const frames = segment.endFrame - segment.startFrame;
  log(`rendering frames ${segment.startFrame}–${segment.endFrame} (render ${segment.claims})`);
  const controller = new AbortController();
  rt.running.add(controller);
  let done = 0;
  const heartbeat = startHeartbeat({
    queue: rt.queue,
    entryId,
    workerId: rt.workerId,
    leaseMs: rt.leaseMs,
    intervalMs: rt.heartbeatMs,
    controller,
    report: () => rt.store.updateSegmentProgress(jobId, index, runId, done),
    log,
  });
  const tmp = await scratchDir(rt, `${jobId}-seg${index}`);
  const locals: LocalBlob[] = [];
  let released = false;
  try {
    const spec = await localSpec(rt, job, locals);
    const input = await localInput(rt, job, locals);
    const info = await probe(input, defaultProbeLimits, controller.signal);
    const segments = await rt.store.listSegments(jobId);
    const last = index === segments.length - 1;
    const warmup = Math.min(rt.split?.warmupFrames ?? 8, segment.startFrame);
    const range = frameRange(info, segment.startFrame - warmup, segment.endFrame);
    // The last segment of an untrimmed job decodes to the end, as a whole run does, rather than
    // trusting the container's frame count.
    const open = last && renderRange(spec).duration === undefined;
    const { previewDuration: _preview, ...rest } = spec;
    void _preview;
    const result = await removeBackground(
      {
        input,
        output: join(tmp, 'unused'),
        tier: spec.model,
        dataDir: rt.dataDir,
        spec: {
          ...rest,
          preserveAudio: false,
          trim: open ? { start: range.start } : { start: range.start, end: range.start + range.duration },
        },
        warmupFrames: warmup,
        frameSink: (g) => openSegmentWriter({ ...g, dir: tmp, format: spec.outputFormat }),
      },
      {
        signal: controller.signal,
        log,
        progress: (p) => {
          done = Math.min(frames, p.framesDone);
        },
      },
    );
    if (controller.signal.aborted) throw controller.signal.reason;
    if (result.framesOut !== frames && !(open && result.framesOut > 0))
      throw new AlphacutError(
        'internal_error',
        `Segment ${index} rendered ${result.framesOut} frames where ${frames} were planned.`,
      );
    const prefix = segmentBlobPrefix(job, index, runId);
    for (const f of Object.values(segmentFiles(spec.outputFormat)))
      await rt.blobs.put(`${prefix}/${f}`, { path: join(tmp, f) });
    const finished = await rt.store.finishSegment({ jobId, index, runId, blobPrefix: prefix });
    if (!finished) {
      log('finished but superseded (re-claimed, canceled or failed); intermediates dropped');
      await rt.blobs.deletePrefix(`${prefix}/`);
      return;
    }
    log(`done, ${result.framesOut} frames${finished.allDone ? '; every segment is done, join queued' : ''}`);
    if (finished.allDone) await rt.queue.enqueue(joinEntry(jobId));
  } catch (err) {
    // A stopped segment keeps its stale run in its row; the next claim starts a new render of it.
    // One broken segment fails the whole job (and refunds it); the other segments see the status
    // change on their next heartbeat and stop.
    released = await endRunOnError(rt, {
      err,
      signal: controller.signal,
      entryId,
      job,
      log,
      fail: (e) => rt.store.failJob({ jobId, code: e.code, message: e.message }),
    });
  } finally {
    await heartbeat.stop();
    rt.running.delete(controller);
    await Promise.all(locals.map((l) => l.release().catch(() => {})));
    await rm(tmp, { recursive: true, force: true });
    if (!released) await rt.queue.ack(entryId, rt.workerId);
  }
}

/** Enqueues the join when every segment of a processing job is done (idempotent). */
export async function enqueueJoinIfReady(rt: WorkerRuntime, jobId: string): Promise<void> {
  const job = await rt.store.getJobById(jobId);
  if (job?.status !== 'processing') return;
  const segments = await rt.store.listSegments(jobId);
  if (segments.length > 0 && segments.every((s) => s.status === 'done'))
    await rt.queue.enqueue(joinEntry(jobId));
}
