import { resolve } from 'node:path';
import { AlphacutError, isAlphacutError } from '../core/errors.ts';
import { openSegmenter } from '../models/open-segmenter.ts';
import type { Segmenter } from '../models/segmenter.ts';
import { tiers, type TierConfig, type TierName } from '../models/tiers.ts';
import { renderRange, type RenderSpec } from '../core/job-spec.ts';
import { outputFormats } from '../core/output-formats.ts';
import { openBackgroundSource, type BackgroundSource } from './compose/background-source.ts';
import { canvasLayout } from './compose/canvas-layout.ts';
import { Compositor } from './compose/compositor.ts';
import type { FrameGeometry } from './encode/encode-types.ts';
import { openOutputWriter, type OutputWriter } from './encode/output-writer.ts';
import { decodeArgs, sourceMatrix, type SourceRange } from './ffmpeg-args.ts';
import { spawnFfmpeg, type FfmpegChild } from './ffmpeg-process.ts';
import type { JobContext } from './job-context.ts';
import type { RefineOverrides } from './matte-refiner.ts';
import { matteStream } from './matte-stream.ts';
import { prefetch } from './prefetch.ts';
import { defaultProbeLimits, probe, type MediaInfo, type ProbeLimits } from './probe.ts';
import { FramePool } from './frame-pool.ts';
import { readRawFrames } from './raw-frame-reader.ts';
import { RefineThread } from './refine-thread.ts';
import { emptyTimings, timed, type StageTimings } from './stage-timings.ts';

/** What a render spec decides when the caller gives none: a transparent WebM of the whole clip. */
type PipelineSpec = Omit<RenderSpec, 'model' | 'textPrompt'>;

export interface RemoveOptions {
  input: string;
  /** The deliverable, in `spec.outputFormat` (transparent WebM by default). */
  output: string;
  /** Optional grayscale matte MP4, placed on the same canvas as the output. */
  maskOutput?: string;
  tier: TierName | TierConfig;
  /** Where model files are built and cached (`<dataDir>/models`). */
  dataDir: string;
  limits?: ProbeLimits;
  /**
   * Background, composition, format, trim and audio of the job (API.md), with image/video
   * background `source`s as local file paths. Without it: transparent WebM, whole clip.
   */
  spec?: PipelineSpec;
  /** Shorthand for `spec.preserveAudio` (the spec wins when both are given). */
  preserveAudio?: boolean;
  /** Turn refinement stages off or change their strength (the benchmark's raw baseline uses this). */
  refine?: RefineOverrides;
  /** Observe every refined matte (benchmark quality metrics); called in frame order. */
  onMatte?: (index: number, alpha: Uint8Array, width: number, height: number) => void;
  /**
   * Split jobs: the first N decoded frames only warm the temporal state (refiner, stabiliser)
   * of a segment that starts mid-clip; they are matted but neither composed nor written.
   */
  warmupFrames?: number;
  /** Split jobs: composed frames go to this writer instead of `output`/`maskOutput` (a lossless intermediate). */
  frameSink?: (geometry: FrameGeometry & { signal: AbortSignal }) => Promise<OutputWriter>;
}

export interface RemoveResult {
  info: MediaInfo;
  /** Seconds of source rendered (after trim/preview): what a job is billed for. */
  renderedSeconds: number;
  output: { width: number; height: number; bytes: number };
  framesIn: number;
  framesOut: number;
  keyFrames: number;
  modelId: string;
  modelInput: { width: number; height: number };
  timings: StageTimings;
  peakRssBytes: number;
}

/** Frames of the source inside a range, as far as the container's count tells. */
function expectedFrames(info: MediaInfo, range: SourceRange): number {
  const rate = info.fps.num / info.fps.den;
  const startFrame = Math.round(range.start * rate);
  const left = Math.max(0, info.frameCount - startFrame);
  // A range end that falls within a frame's span keeps that frame (ffmpeg cuts on timestamps).
  return range.duration === undefined ? left : Math.min(left, Math.ceil(range.duration * rate - 1e-6));
}

/**
 * Settles with `p`, or rejects as canceled as soon as the signal fires. A fresh listener per call
 * (rather than racing one long-lived promise) matters: every Promise.race against a never-settling
 * promise leaves a reaction on it that keeps the raced value (a whole frame) alive.
 */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AlphacutError('canceled', 'The job was canceled.'));
    if (signal.aborted) {
      // Nobody will wait for `p` any more; when it fails (the segmenter is disposed right after a
      // cancel) that must not surface as an unhandled rejection, which ends a Node process.
      p.catch(() => {});
      return onAbort();
    }
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

  const spec: PipelineSpec = opts.spec ?? {
    outputFormat: 'webm',
    background: { type: 'transparent' },
    preserveAudio: opts.preserveAudio ?? true,
  };
  const format = outputFormats[spec.outputFormat];
  const range = renderRange(spec);
  if (range.start > 0 && range.start >= info.durationSeconds)
    throw new AlphacutError(
      'invalid_request',
      `trim.start (${range.start} s) is at or past the end of the video (${info.durationSeconds.toFixed(2)} s).`,
    );
  const framesTotal = expectedFrames(info, range);
  // Validated before any model or process starts: a bad canvas is the caller's error, not a failed job.
  const layout = canvasLayout(info.width, info.height, spec.composition, format.evenDimensions);
  const refine = { ...spec.refine, ...opts.refine };

  ctx.progress({ framesDone: 0, framesTotal, fps: 0, etaSeconds: undefined, stage: 'prepare' });
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
  ctx.log(`tier ${tier.name}: model ${segmenter.modelId} at ${modelInput.width}x${modelInput.height}`);
  ctx.log(
    `output ${spec.outputFormat} ${layout.canvasWidth}x${layout.canvasHeight}, background ${spec.background.type}` +
      (range.start > 0 || range.duration !== undefined
        ? `, source ${range.start.toFixed(3)} s + ${range.duration?.toFixed(3) ?? 'rest'}`
        : ''),
  );

  const children: FfmpegChild[] = [];
  const writers: OutputWriter[] = [];
  let background: BackgroundSource | undefined;
  let refiner: RefineThread | undefined;
  let closeFrames: () => Promise<unknown> = async () => undefined;
  let framesIn = 0;
  let framesOut = 0;
  let keyFrames = 0;
  try {
    throwIfCanceled();
    background = await openBackgroundSource(spec.background, layout, { signal, srcInfo: info });
    const compositor = new Compositor(layout, info.width, info.height, {
      opaqueBackground: spec.background.type !== 'transparent',
      // Only a replaced background shows the old one's colour at soft edges; a transparent
      // output keeps the source colour, which editors decontaminate with their own keyers.
      decontaminate: spec.background.type !== 'transparent',
    });
    timings.prepareMs = performance.now() - t;

    const decoder = spawnFfmpeg('ffmpeg', decodeArgs(opts.input, info, range), signal);
    children.push(decoder);
    decoder.child.stdin.end();

    // The writers learn the expected duration only to cut audio; the real count is what we write.
    const durationSeconds = (framesTotal * info.fps.den) / info.fps.num;
    const bg = spec.background;
    // A video background's own audio only when asked for, and only if it has any.
    const bed = bg.type === 'video' && bg.audio ? background.audioSource : undefined;
    const withAudio = format.audio && ((spec.preserveAudio && info.hasAudio) || bed !== undefined);
    const common = {
      width: layout.canvasWidth,
      height: layout.canvasHeight,
      fps: info.fps,
      matrix: sourceMatrix(info),
      signal,
    };
    const writer = opts.frameSink
      ? await opts.frameSink(common)
      : await openOutputWriter({
          ...common,
          format: spec.outputFormat,
          output: opts.output,
          ...(withAudio
            ? {
                audio: {
                  source: opts.input,
                  info,
                  startSeconds: range.start,
                  durationSeconds,
                  useSource: spec.preserveAudio,
                  ...(bed ? { bed } : {}),
                },
              }
            : {}),
        });
    writers.push(writer);
    const maskWriter =
      opts.maskOutput && !opts.frameSink
        ? await openOutputWriter({ ...common, format: 'mask', output: opts.maskOutput })
        : undefined;
    if (maskWriter) writers.push(maskWriter);

    const { width, height } = info;
    const pixels = width * height;
    refiner = new RefineThread({
      tier,
      width,
      height,
      matteWidth: modelInput.width,
      matteHeight: modelInput.height,
      overrides: refine,
    });
    const canvasPixels = layout.canvasWidth * layout.canvasHeight;
    const out = { rgba: new Uint8Array(canvasPixels * 4), mask: new Uint8Array(canvasPixels) };

    const framePool = new FramePool(pixels * 3);
    const alphaPool = new FramePool(pixels);
    const decoded = timed(readRawFrames(decoder.child.stdout, pixels * 3, framePool), timings, 'decodeMs');
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

    // Decode, model, refine and compose each work on a different frame at once: the model in its
    // own process, the refiner on its own thread, composing and encoding here.
    const thread = refiner;
    const refinedFrames = (async function* () {
      for await (const mf of prefetch(mattes, 1)) {
        // The frame's pixels travel to the thread and back (moved, not copied): `mf.rgb` is
        // unusable meanwhile, so the frame continues with the returned buffer.
        const r = await thread.refine({ matte: mf.matte, luma: mf.low.luma, rgb: mf.rgb }, alphaPool.take());
        timings.refineMs += r.ms;
        yield { mf: { ...mf, rgb: r.rgb }, alpha: r.alpha };
      }
    })();

    let lastReport = 0;
    let warmupLeft = opts.warmupFrames ?? 0;
    const refined = prefetch(refinedFrames, 1);
    // Cancel must not wait for an inference already running (over a second with `pro`): the
    // loop races each frame against the signal, and the generators drain in the background.
    closeFrames = () => refined.return(undefined);
    for (;;) {
      const next = await untilAborted(refined.next(), signal);
      if (next.done) break;
      const { mf, alpha } = next.value;
      if (mf.key) keyFrames++;
      opts.onMatte?.(mf.index, alpha, width, height);
      // Composing and writing read the frame and its alpha synchronously; after that (or right
      // away for a warm-up frame) both buffers can be reused.
      const recycle = (): void => {
        framePool.give(mf.rgb);
        alphaPool.give(alpha);
      };
      if (warmupLeft > 0) {
        warmupLeft--;
        recycle();
        continue;
      }

      t = performance.now();
      const bg = await background.next(mf.rgb, alpha);
      compositor.compose(mf.rgb, alpha, bg, out);
      timings.composeMs += performance.now() - t;

      t = performance.now();
      await writer.write(out.rgba, out.mask);
      if (maskWriter) await maskWriter.write(out.rgba, out.mask);
      timings.encodeMs += performance.now() - t;
      recycle();
      framesOut++;

      const now = performance.now();
      if (now - lastReport > 200 || framesOut === framesTotal) {
        lastReport = now;
        sampleRss();
        const elapsed = (now - started) / 1000;
        const fps = framesOut / Math.max(1e-3, elapsed);
        const left = Math.max(0, framesTotal - framesOut);
        ctx.progress({
          framesDone: framesOut,
          framesTotal: Math.max(framesTotal, framesOut),
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
      framesTotal: framesOut,
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
    const decodedOut = framesOut + (opts.warmupFrames ?? 0) - warmupLeft;
    if (decodedOut < framesTotal * 0.9 && framesTotal - decodedOut > 2)
      throw new AlphacutError(
        'decode_failed',
        `The video is truncated or damaged: only ${framesOut} of ${framesTotal} frames could be decoded${looksTruncated(decoder.stderrTail()) ? ` (${decoder.stderrTail().split('\n').pop()})` : ''}.`,
        { frames_decoded: framesOut, frames_expected: framesTotal },
      );

    const [written] = await Promise.all(writers.map((w) => w.finish()));
    timings.encodeMs += performance.now() - t;
    throwIfCanceled();
    sampleRss();
    timings.totalMs = performance.now() - started;
    return {
      info,
      renderedSeconds: (framesOut * info.fps.den) / info.fps.num,
      output: { width: layout.canvasWidth, height: layout.canvasHeight, bytes: written?.bytes ?? 0 },
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
    await refiner?.close();
    void closeFrames().catch(() => {});
    await Promise.all(children.map((c) => c.exited));
    // Harmless after finish(); on any failure it removes partial outputs and kills encoders.
    await Promise.all(writers.map((w) => w.abort()));
    await background?.close();
  }
}
