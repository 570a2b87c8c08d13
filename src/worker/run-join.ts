import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { jobBlobKey, segmentsBlobFolder } from '../core/blob-key.ts';
import { outputFormats } from '../core/output-formats.ts';
import type { LocalBlob } from '../core/ports/blob-store.ts';
import { joinSegments } from '../pipeline/split/join-segments.ts';
import { segmentFiles } from '../pipeline/split/segment-intermediate.ts';
import { startHeartbeat } from './lease-heartbeat.ts';
import { endRunOnError, localInput, localSpec, scratchDir, type WorkerRuntime } from './worker-runtime.ts';

/**
 * The last step of a split job: joins the segments into the job's outputs and
 * completes the job under its run id, which charges it once. A crashed join is re-claimed
 * and runs again; each join writes under its own key, so a stalled one that lost the race
 * cannot delete the outputs of the one that completed.
 */
export async function runJoin(rt: WorkerRuntime, entryId: string, jobId: string): Promise<void> {
  const log = (m: string): void => rt.log(`job ${jobId} join: ${m}`);
  const job = await rt.store.getJobById(jobId);
  const segments = await rt.store.listSegments(jobId);
  if (
    !job ||
    job.status !== 'processing' ||
    job.runId === null ||
    segments.length === 0 ||
    segments.some((s) => s.status !== 'done' || s.blobPrefix === null)
  ) {
    await rt.queue.ack(entryId, rt.workerId);
    return;
  }
  const runId = job.runId;
  const total = segments.reduce((n, s) => n + s.endFrame - s.startFrame, 0);
  const controller = new AbortController();
  rt.running.add(controller);
  let done = 0;
  const joinStart = performance.now();
  const heartbeat = startHeartbeat({
    queue: rt.queue,
    entryId,
    workerId: rt.workerId,
    leaseMs: rt.leaseMs,
    intervalMs: rt.heartbeatMs,
    controller,
    report: () =>
      rt.store.updateProgress(jobId, runId, {
        progress: 99,
        framesDone: total,
        framesTotal: total,
        etaSeconds: done > 0 ? ((total - done) * (performance.now() - joinStart)) / 1000 / done : null,
      }),
    log,
  });
  const tmp = await scratchDir(rt, `${jobId}-join`);
  const locals: LocalBlob[] = [];
  let released = false;
  try {
    const spec = await localSpec(rt, job, locals);
    const input = await localInput(rt, job, locals);
    const files = segmentFiles(spec.outputFormat);
    const parts = [];
    for (const s of segments) {
      const canvas = await rt.blobs.localPath(`${s.blobPrefix}/${files.canvas}`);
      locals.push(canvas);
      const mask = await rt.blobs.localPath(`${s.blobPrefix}/${files.mask}`);
      locals.push(mask);
      parts.push({ canvas: canvas.path, mask: mask.path });
    }
    const ext = outputFormats[spec.outputFormat].extension;
    const output = join(tmp, `output.${ext}`);
    const maskOutput = join(tmp, 'mask.mp4');
    const result = await joinSegments(
      { input, output, maskOutput, spec, parts, scratch: tmp },
      { signal: controller.signal, log, progress: (p) => (done = p.framesDone) },
    );
    if (controller.signal.aborted) throw controller.signal.reason;
    const joinRun = `${runId}/join-${randomBytes(4).toString('hex')}`;
    const outputBlob = jobBlobKey(job.keyId, jobId, `${joinRun}/output.${ext}`);
    const maskBlob = jobBlobKey(job.keyId, jobId, `${joinRun}/mask.mp4`);
    await rt.blobs.put(outputBlob, { path: output });
    await rt.blobs.put(maskBlob, { path: maskOutput });
    const completed = await rt.store.completeJob({
      jobId,
      runId,
      outputBlob,
      maskBlob,
      renderedSeconds: result.renderedSeconds,
      framesTotal: result.framesOut,
      width: result.width,
      height: result.height,
      fps: result.fps.num / result.fps.den,
    });
    if (completed) {
      log(
        `completed: ${segments.length} segments, ${result.framesOut} frames joined in ${((performance.now() - joinStart) / 1000).toFixed(1)} s, ${completed.creditsUsed} credits`,
      );
      await rt.blobs.deletePrefix(segmentsBlobFolder(job)).catch(() => {});
    } else {
      log('finished but no longer ours (canceled, deleted or completed by another join); outputs dropped');
      await Promise.all([rt.blobs.delete(outputBlob), rt.blobs.delete(maskBlob)]);
    }
  } catch (err) {
    released = await endRunOnError(rt, {
      err,
      signal: controller.signal,
      entryId,
      job,
      log,
      fail: (e) => rt.store.failJob({ jobId, runId, code: e.code, message: e.message }),
    });
  } finally {
    await heartbeat.stop();
    rt.running.delete(controller);
    await Promise.all(locals.map((l) => l.release().catch(() => {})));
    await rm(tmp, { recursive: true, force: true });
    if (!released) await rt.queue.ack(entryId, rt.workerId);
  }
}
