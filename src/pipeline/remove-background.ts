import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AlphacutError, isAlphacutError } from '../core/errors.ts';
import { openSegmenter } from '../models/open-segmenter.ts';
import type { Segmenter } from '../models/segmenter.ts';
import { tiers, type TierConfig, type TierName } from '../models/tiers.ts';
import { composeTransparent } from './compose-transparent.ts';
import { decodeArgs, encodeMaskMp4Args, encodeWebmArgs } from './ffmpeg-args.ts';
import { spawnFfmpeg, type FfmpegChild } from './ffmpeg-process.ts';
import type { JobContext } from './job-context.ts';
import { MatteRefiner, type RefineOverrides } from './matte-refiner.ts';
import { matteStream } from './matte-stream.ts';
import { prefetch } from './prefetch.ts';
import { defaultProbeLimits, probe, type MediaInfo, type ProbeLimits } from './probe.ts';
import { readRawFrames, writeWithBackpressure } from './raw-frame-reader.ts';
import { emptyTimings, timed, type StageTimings } from './stage-timings.ts';

export interface RemoveOptions {
  input: string;
  /** Transparent WebM (VP9 yuva420p + Opus). */
  output: string;
  /** Optional grayscale matte MP4. */
  maskOutput?: string;
  tier: TierName | TierConfig;
  /** Where model files are built and cached (`<dataDir>/models`). */
  dataDir: string;
  limits?: ProbeLimits;
  preserveAudio?: boolean;
  /** Turn refinement stages off or change their strength (the benchmark's raw baseline uses this). */
  refine?: RefineOverrides;
  /** Observe every refined matte (benchmark quality metrics); called in frame order. */
  onMatte?: (index: number, alpha: Uint8Array, width: number, height: number) => void;
}

export interface RemoveResult {
  info: MediaInfo;
  framesIn: number;
  framesOut: number;
  keyFrames: number;
  modelId: string;
  modelInput: { width: number; height: number };
  timings: StageTimings;
  peakRssBytes: number;
}

function partialPath(finalPath: string): string {
  return join(
    dirname(finalPath),
    `.${basename(finalPath)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`,
  );
}

/**
 * Settles with `p`, or rejects as canceled as soon as the signal fires. A fresh listener per call
 * (rather than racing one long-lived promise) matters: every Promise.race against a never-settling
 * promise leaves a reaction on it that keeps the raced value (a whole frame) alive.
 */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AlphacutError('canceled', 'The job was canceled.'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Decoder stderr that means the file ends early rather than the codec being unsupported. */
function looksTruncated(stderr: string): boolean {
  return /partial file|truncat|end of file|invalid nal|error while decoding|moov atom/i.test(stderr);
}

/**
 * The media engine: probe → decode → segment → refine → compose → encode, streaming with
 * bounded memory. Either the outputs appear complete at their paths, or nothing does: outputs
 * are written under temporary names and renamed at the end, and every child process is gone
 * when this returns or throws.
 */
export async function removeBackground(given: RemoveOptions, ctx: JobContext): Promise<RemoveResult> {
  // Absolute paths: ffmpeg reads "a:b.mp4" as protocol "a", and an absolute path never looks like one.
  const opts: RemoveOptions = {
    ...given,
    input: resolve(given.input),
    output: resolve(given.output),
    ...(given.maskOutput ? { maskOutput: resolve(given.maskOutput) } : {}),
  };
  const timings = emptyTimings();
  const started = performance.now();
  const tier = typeof opts.tier === 'string' ? tiers[opts.tier] : opts.tier;
  const { signal } = ctx;
  const throwIfCanceled = (): void => {
    if (signal.aborted) throw new AlphacutError('canceled', 'The job was canceled.');
  };
  let peakRss = process.memoryUsage.rss();
  const sampleRss = (): void => {
    const rss = process.memoryUsage.rss();
    if (rss > peakRss) peakRss = rss;
  };

  ctx.progress({ framesDone: 0, framesTotal: 0, fps: 0, etaSeconds: undefined, stage: 'probe' });
  let t = performance.now();
  const info = await probe(opts.input, opts.limits ?? defaultProbeLimits, signal);
  timings.probeMs = performance.now() - t;
  throwIfCanceled();
  ctx.log(
    `input ${info.width}x${info.height} ${(info.fps.num / info.fps.den).toFixed(3)} fps, ${info.frameCount} frames, ${info.durationSeconds.toFixed(2)} s${info.hasAudio ? `, audio ${info.audioCodec}` : ''}`,
  );

  ctx.progress({
    framesDone: 0,
    framesTotal: info.frameCount,
    fps: 0,
    etaSeconds: undefined,
    stage: 'prepare',
  });
  t = performance.now();
  let segmenter: Segmenter;
  try {
    segmenter = await openSegmenter(tier, opts.dataDir, info.width, info.height);
  } catch (err) {
    if (isAlphacutError(err)) throw err;
    throw new AlphacutError(
      'model_unavailable',
      `The ${tier.name} model could not be started: ${err instanceof Error ? err.message : String(err)}`,
      undefined,
      { cause: err },
    );
  }
  const modelInput = segmenter.inputSizeFor(info.width, info.height);
  timings.prepareMs = performance.now() - t;
  ctx.log(`tier ${tier.name}: model ${segmenter.modelId} at ${modelInput.width}x${modelInput.height}`);

  const children: FfmpegChild[] = [];
  const partials: string[] = [];
  let closeFrames: () => Promise<unknown> = async () => undefined;
  let framesIn = 0;
  let framesOut = 0;
  let keyFrames = 0;
  try {
    throwIfCanceled();
    const decoder = spawnFfmpeg('ffmpeg', decodeArgs(opts.input, info), signal);
    children.push(decoder);
    decoder.child.stdin.end();

    // The encoder is told the probed frame count only to cut audio; the real count is what we write.
    const outTmp = partialPath(opts.output);
    partials.push(outTmp);
    const audioFrom = opts.preserveAudio === false ? undefined : opts.input;
    const encoder = spawnFfmpeg(
      'ffmpeg',
      encodeWebmArgs(outTmp, info, { audioFrom, frames: info.frameCount }),
      signal,
    );
    children.push(encoder);
    let maskEncoder: FfmpegChild | undefined;
    let maskTmp: string | undefined;
    if (opts.maskOutput) {
      maskTmp = partialPath(opts.maskOutput);
      partials.push(maskTmp);
      maskEncoder = spawnFfmpeg('ffmpeg', encodeMaskMp4Args(maskTmp, info), signal);
      children.push(maskEncoder);
    }

    const { width, height } = info;
    const pixels = width * height;
    const refiner = new MatteRefiner(tier, width, height, modelInput.width, modelInput.height, opts.refine);
    const alpha = new Uint8Array(pixels);
    const rgba = Buffer.allocUnsafe(pixels * 4);

    const decoded = timed(readRawFrames(decoder.child.stdout, pixels * 3), timings, 'decodeMs');
    const counted = (async function* () {
      for await (const f of decoded) {
        framesIn++;
        yield f;
      }
    })();
    const mattes = timed(
      matteStream(prefetch(counted, 2), segmenter, tier, width, height, signal),
      timings,
      'modelMs',
    );

    let lastReport = 0;
    const refined = prefetch(mattes, 1);
    // Cancel must not wait for an inference already running (over a second with `pro`): the
    // loop races each frame against the signal, and the generators drain in the background.
    closeFrames = () => refined.return(undefined);
    for (;;) {
      const next = await untilAborted(refined.next(), signal);
      if (next.done) break;
      const mf = next.value;
      if (mf.key) keyFrames++;
      t = performance.now();
      refiner.refine(mf, alpha);
      timings.refineMs += performance.now() - t;
      opts.onMatte?.(mf.index, alpha, width, height);

      t = performance.now();
      composeTransparent(mf.rgb, alpha, rgba);
      timings.composeMs += performance.now() - t;

      t = performance.now();
      await writeWithBackpressure(encoder.child.stdin, rgba);
      if (maskEncoder) await writeWithBackpressure(maskEncoder.child.stdin, alpha);
      timings.encodeMs += performance.now() - t;
      framesOut++;

      const now = performance.now();
      if (now - lastReport > 200 || framesOut === info.frameCount) {
        lastReport = now;
        sampleRss();
        const elapsed = (now - started) / 1000;
        const fps = framesOut / Math.max(1e-3, elapsed);
        const left = Math.max(0, info.frameCount - framesOut);
        ctx.progress({
          framesDone: framesOut,
          framesTotal: info.frameCount,
          fps,
          etaSeconds: fps > 0 ? left / fps : undefined,
          stage: 'process',
        });
      }
    }
    throwIfCanceled();

    const overallFps = framesOut / Math.max(1e-3, (performance.now() - started) / 1000);
    ctx.progress({
      framesDone: framesOut,
      framesTotal: info.frameCount,
      fps: overallFps,
      etaSeconds: 0,
      stage: 'finalize',
    });
    t = performance.now();
    const dec = await decoder.exited;
    throwIfCanceled();
    if (framesOut === 0)
      throw new AlphacutError(
        'decode_failed',
        `No frame could be decoded from the video: ${decoder.stderrTail() || 'decoder produced no output'}`,
      );
    if (dec.code !== 0)
      throw new AlphacutError(
        'decode_failed',
        `Decoding failed after ${framesOut} frames: ${decoder.stderrTail()}`,
      );
    // Containers carry a frame count; far fewer decodable frames means the file ends early.
    if (framesOut < info.frameCount * 0.9 && info.frameCount - framesOut > 2)
      throw new AlphacutError(
        'decode_failed',
        `The video is truncated or damaged: only ${framesOut} of ${info.frameCount} frames could be decoded${looksTruncated(decoder.stderrTail()) ? ` (${decoder.stderrTail().split('\n').pop()})` : ''}.`,
        { frames_decoded: framesOut, frames_expected: info.frameCount },
      );

    encoder.child.stdin.end();
    maskEncoder?.child.stdin.end();
    const [enc, mask] = await Promise.all([encoder.exited, maskEncoder?.exited]);
    timings.encodeMs += performance.now() - t;
    throwIfCanceled();
    if (enc.code !== 0)
      throw new AlphacutError('encode_failed', `Encoding the WebM failed: ${encoder.stderrTail()}`);
    if (maskEncoder && mask && mask.code !== 0)
      throw new AlphacutError('encode_failed', `Encoding the mask failed: ${maskEncoder.stderrTail()}`);

    await rename(outTmp, opts.output);
    partials.splice(partials.indexOf(outTmp), 1);
    if (maskTmp && opts.maskOutput) {
      await rename(maskTmp, opts.maskOutput);
      partials.splice(partials.indexOf(maskTmp), 1);
    }
    sampleRss();
    timings.totalMs = performance.now() - started;
    return {
      info,
      framesIn,
      framesOut,
      keyFrames,
      modelId: segmenter.modelId,
      modelInput,
      timings,
      peakRssBytes: peakRss,
    };
  } catch (err) {
    if (signal.aborted && !(isAlphacutError(err) && err.code === 'canceled'))
      throw new AlphacutError('canceled', 'The job was canceled.', undefined, { cause: err });
    if (isAlphacutError(err)) throw err;
    // An encoder that died mid-stream shows up as EPIPE on our side; its own exit says why.
    const encoders = children.slice(1);
    const settled = await Promise.race([
      Promise.all(encoders.map((c) => c.exited)),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000).unref()),
    ]);
    const deadEncoder = settled && encoders.find((_c, i) => settled[i]?.code !== 0);
    if (deadEncoder)
      throw new AlphacutError('encode_failed', `Encoding failed: ${deadEncoder.stderrTail()}`, undefined, {
        cause: err,
      });
    throw new AlphacutError(
      'internal_error',
      `Processing failed: ${err instanceof Error ? err.message : String(err)}`,
      undefined,
      { cause: err },
    );
  } finally {
    for (const c of children) c.kill();
    // Ending the inference process also ends an inference in flight; the frame generators then
    // finish in the background with that error, which nobody is waiting for any more.
    await segmenter.dispose();
    void closeFrames().catch(() => {});
    await Promise.all(children.map((c) => c.exited));
    await Promise.all(partials.map((p) => rm(p, { force: true })));
  }
}
