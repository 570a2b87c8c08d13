import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AlphacutError, isAlphacutError } from '../../core/errors.ts';
import { renderRange, type RenderSpec } from '../../core/job-spec.ts';
import { outputFormats } from '../../core/output-formats.ts';
import { canvasLayout } from '../compose/canvas-layout.ts';
import { openOutputWriter, type OutputWriter } from '../encode/output-writer.ts';
import { sourceMatrix } from '../ffmpeg-args.ts';
import type { JobContext } from '../job-context.ts';
import { defaultProbeLimits, probe, type ProbeLimits } from '../probe.ts';
import type { AudioPlan } from '../encode/encode-types.ts';
import { isVideoContainerFormat, type VideoContainerFormat } from '../encode/video-containers.ts';
import type { MediaInfo } from '../probe.ts';
import { readSegmentFrames, type SegmentFiles } from './segment-intermediate.ts';
import { framesFromStart } from './segment-plan.ts';
import { joinByPacketCopy } from './stream-copy-join.ts';

export interface JoinOptions {
  /** The job's input: the probe gives frame rate and colour, and the audio comes from it. */
  input: string;
  output: string;
  maskOutput?: string;
  spec: Omit<RenderSpec, 'model' | 'textPrompt'>;
  /** Each segment's files (segment-intermediate.ts), in order. */
  parts: SegmentFiles[];
  /** A private folder for the join's own small files. */
  scratch: string;
  limits?: ProbeLimits;
}

export interface JoinResult {
  framesOut: number;
  renderedSeconds: number;
  width: number;
  height: number;
  fps: { num: number; den: number };
  bytes: number;
}

/**
 * The join of a split job, with the audio plan of the whole range, so that the frame count,
 * timestamps and audio are those of a single-worker run. Segments of single-file video formats
 * are already encoded and are joined by copying packets; the others' lossless frames go through
 * the same output writers a single-worker run uses, one encode of the final format for the whole
 * clip (segment-intermediate.ts says why).
 */
export async function joinSegments(given: JoinOptions, ctx: JobContext): Promise<JoinResult> {
  const opts = { ...given, input: resolve(given.input), output: resolve(given.output) };
  const { signal } = ctx;
  try {
    const info = await probe(opts.input, opts.limits ?? defaultProbeLimits, signal);
    const format = outputFormats[opts.spec.outputFormat];
    const layout = canvasLayout(info.width, info.height, opts.spec.composition, format.evenDimensions);
    const range = renderRange(opts.spec);
    // The count a single-worker run expects, which is what it gives the audio plan.
    const framesTotal = framesFromStart(info, range);
    const durationSeconds = (framesTotal * info.fps.den) / info.fps.num;
    const audio: AudioPlan | undefined =
      opts.spec.preserveAudio && info.hasAudio && format.audio
        ? { source: opts.input, info, startSeconds: range.start, durationSeconds }
        : undefined;
    const job: JoinJob = {
      opts,
      info,
      width: layout.canvasWidth,
      height: layout.canvasHeight,
      framesTotal,
      audio,
    };
    const framesOut = isVideoContainerFormat(opts.spec.outputFormat)
      ? await packetCopy(job, opts.spec.outputFormat, ctx)
      : await reencode(job, ctx);
    const { size } = await stat(opts.output);
    return {
      framesOut,
      renderedSeconds: (framesOut * info.fps.den) / info.fps.num,
      width: layout.canvasWidth,
      height: layout.canvasHeight,
      fps: info.fps,
      bytes: size,
    };
  } catch (err) {
    if (signal.aborted)
      throw new AlphacutError('canceled', 'The job was canceled.', undefined, { cause: err });
    if (isAlphacutError(err)) throw err;
    throw new AlphacutError(
      'internal_error',
      `Joining segments failed: ${err instanceof Error ? err.message : String(err)}`,
      undefined,
      { cause: err },
    );
  }
}

interface JoinJob {
  opts: JoinOptions;
  info: MediaInfo;
  width: number;
  height: number;
  framesTotal: number;
  audio: AudioPlan | undefined;
}

async function packetCopy(j: JoinJob, format: VideoContainerFormat, ctx: JobContext): Promise<number> {
  const { opts } = j;
  const { signal } = ctx;
  ctx.progress({
    framesDone: 0,
    framesTotal: j.framesTotal,
    fps: 0,
    etaSeconds: undefined,
    stage: 'finalize',
  });
  const [framesOut, maskFrames] = await Promise.all([
    joinByPacketCopy({
      format,
      parts: opts.parts.map((p) => p.canvas),
      output: opts.output,
      scratch: opts.scratch,
      ...(j.audio ? { audio: j.audio } : {}),
      signal,
    }),
    opts.maskOutput
      ? joinByPacketCopy({
          format: 'mask',
          parts: opts.parts.map((p) => p.mask),
          output: resolve(opts.maskOutput),
          scratch: opts.scratch,
          signal,
        })
      : undefined,
  ]);
  if (maskFrames !== undefined && maskFrames !== framesOut)
    throw new AlphacutError(
      'internal_error',
      `The joined output has ${framesOut} frames but its matte ${maskFrames}.`,
    );
  return framesOut;
}

async function reencode(j: JoinJob, ctx: JobContext): Promise<number> {
  const { opts } = j;
  const { signal } = ctx;
  const common = { width: j.width, height: j.height, fps: j.info.fps, matrix: sourceMatrix(j.info), signal };
  const writers: OutputWriter[] = [];
  try {
    const writer = await openOutputWriter({
      ...common,
      format: opts.spec.outputFormat,
      output: opts.output,
      ...(j.audio ? { audio: j.audio } : {}),
    });
    writers.push(writer);
    const maskWriter = opts.maskOutput
      ? await openOutputWriter({ ...common, format: 'mask', output: resolve(opts.maskOutput) })
      : undefined;
    if (maskWriter) writers.push(maskWriter);

    const started = performance.now();
    let framesOut = 0;
    for (const part of opts.parts) {
      for await (const f of readSegmentFrames(part, j.width, j.height, signal)) {
        await writer.write(f.rgba, f.mask);
        if (maskWriter) await maskWriter.write(f.rgba, f.mask);
        framesOut++;
        if (framesOut % 25 === 0) {
          const fps = framesOut / Math.max(1e-3, (performance.now() - started) / 1000);
          ctx.progress({
            framesDone: framesOut,
            framesTotal: j.framesTotal,
            fps,
            etaSeconds: Math.max(0, j.framesTotal - framesOut) / fps,
            stage: 'finalize',
          });
        }
      }
    }
    await Promise.all(writers.map((w) => w.finish()));
    return framesOut;
  } finally {
    await Promise.all(writers.map((w) => w.abort()));
  }
}
