import { resolve } from 'node:path';
import { AlphacutError, isAlphacutError } from '../../core/errors.ts';
import { renderRange, type RenderSpec } from '../../core/job-spec.ts';
import { outputFormats } from '../../core/output-formats.ts';
import { canvasLayout } from '../compose/canvas-layout.ts';
import { openOutputWriter, type OutputWriter } from '../encode/output-writer.ts';
import { sourceMatrix } from '../ffmpeg-args.ts';
import type { JobContext } from '../job-context.ts';
import { defaultProbeLimits, probe, type ProbeLimits } from '../probe.ts';
import { readSegmentFrames } from './segment-intermediate.ts';
import { framesFromStart } from './segment-plan.ts';

export interface JoinOptions {
  /** The job's input: the probe gives frame rate and colour, and the audio comes from it. */
  input: string;
  output: string;
  maskOutput?: string;
  spec: Omit<RenderSpec, 'model' | 'textPrompt'>;
  /** Each segment's intermediates, in order. */
  parts: { canvas: string; mask: string }[];
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
 * The join of a split job: the segments' lossless frames, in order, go through the same output
 * writers a single-worker run uses, with the audio plan of the whole range. One encode of the
 * final format means no seam in the bitstream (GOPs, rate control, audio priming are those of one
 * file), and the frame count, timestamps and audio are those of a single-worker run.
 */
export async function joinSegments(given: JoinOptions, ctx: JobContext): Promise<JoinResult> {
  const opts = { ...given, input: resolve(given.input), output: resolve(given.output) };
  const { signal } = ctx;
  const info = await probe(opts.input, opts.limits ?? defaultProbeLimits, signal);
  const format = outputFormats[opts.spec.outputFormat];
  const layout = canvasLayout(info.width, info.height, opts.spec.composition, format.evenDimensions);
  const range = renderRange(opts.spec);
  // The count a single-worker run expects, which is what it gives the audio plan.
  const framesTotal = framesFromStart(info, range);
  const durationSeconds = (framesTotal * info.fps.den) / info.fps.num;
  const withAudio = opts.spec.preserveAudio && info.hasAudio && format.audio;
  const common = {
    width: layout.canvasWidth,
    height: layout.canvasHeight,
    fps: info.fps,
    matrix: sourceMatrix(info),
    signal,
  };
  const writers: OutputWriter[] = [];
  try {
    const writer = await openOutputWriter({
      ...common,
      format: opts.spec.outputFormat,
      output: opts.output,
      ...(withAudio
        ? { audio: { source: opts.input, info, startSeconds: range.start, durationSeconds } }
        : {}),
    });
    writers.push(writer);
    const maskWriter = opts.maskOutput
      ? await openOutputWriter({ ...common, format: 'mask', output: resolve(opts.maskOutput) })
      : undefined;
    if (maskWriter) writers.push(maskWriter);

    const started = performance.now();
    let framesOut = 0;
    for (const part of opts.parts) {
      for await (const f of readSegmentFrames(part, layout.canvasWidth, layout.canvasHeight, signal)) {
        await writer.write(f.rgba, f.mask);
        if (maskWriter) await maskWriter.write(f.rgba, f.mask);
        framesOut++;
        if (framesOut % 25 === 0) {
          const fps = framesOut / Math.max(1e-3, (performance.now() - started) / 1000);
          ctx.progress({
            framesDone: framesOut,
            framesTotal,
            fps,
            etaSeconds: Math.max(0, framesTotal - framesOut) / fps,
            stage: 'finalize',
          });
        }
      }
    }
    const [written] = await Promise.all(writers.map((w) => w.finish()));
    return {
      framesOut,
      renderedSeconds: (framesOut * info.fps.den) / info.fps.num,
      width: layout.canvasWidth,
      height: layout.canvasHeight,
      fps: info.fps,
      bytes: written?.bytes ?? 0,
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
  } finally {
    await Promise.all(writers.map((w) => w.abort()));
  }
}
