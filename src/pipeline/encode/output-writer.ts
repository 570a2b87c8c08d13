import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { AlphacutError, isAlphacutError } from '../../core/errors.ts';
import { outputFormats, type OutputFormat } from '../../core/output-formats.ts';
import { movArgs, webmArgs } from './alpha-video-args.ts';
import { webpArgs } from './animated-image-args.ts';
import { usableAudio } from './audio-args.ts';
import { EncodeContext, type FormatSink } from './encode-context.ts';
import type { OutputWriterOptions } from './encode-types.ts';
import { gifSink } from './gif-sink.ts';
import { maskArgs, mp4Args, stackedArgs } from './h264-args.ts';
import { pngSequenceSink } from './png-sequence-sink.ts';
import { proBundleSink } from './pro-bundle-sink.ts';
import { singleProcessSink } from './single-process-sink.ts';

export type { AudioPlan, ColorMatrix, OutputWriterOptions } from './encode-types.ts';

/**
 * Writes one deliverable of any output format from straight-RGBA canvas frames and their matte.
 * The file appears under its final name only once complete; until then it is a hidden partial
 * next to it, plus intermediates in a private scratch folder. Every failure, cancel or abort
 * kills all children and removes both, so a job never leaves a half-written output behind.
 */
export interface OutputWriter {
  /** Resolves once the frame is handed over; the caller may reuse both buffers afterwards. */
  write(rgba: Uint8Array, mask: Uint8Array): Promise<void>;
  finish(): Promise<{ bytes: number; frames: number }>;
  /** Kills children and removes temporary files; idempotent, and safe after finish(). */
  abort(): Promise<void>;
}

function partialPath(finalPath: string): string {
  return join(
    dirname(finalPath),
    `.${basename(finalPath)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`,
  );
}

function createSink(format: OutputFormat, ctx: EncodeContext): FormatSink {
  const g = ctx.geometry;
  const out = ctx.partial;
  const audio = ctx.audio;
  switch (format) {
    case 'webm':
      return singleProcessSink(ctx, 'the WebM', webmArgs(g, out, audio), 'rgba');
    case 'mov':
      return singleProcessSink(ctx, 'the MOV', movArgs(g, out, audio), 'rgba');
    case 'mp4':
      return singleProcessSink(ctx, 'the MP4', mp4Args(g, out, audio), 'rgba');
    case 'stacked':
      return singleProcessSink(ctx, 'the stacked MP4', stackedArgs(g, out, audio), 'rgba');
    case 'mask':
      return singleProcessSink(ctx, 'the mask MP4', maskArgs(g, out), 'mask');
    case 'webp':
      return singleProcessSink(ctx, 'the WebP', webpArgs(g, out), 'rgba');
    case 'gif':
      return gifSink(ctx);
    case 'png_sequence':
      return pngSequenceSink(ctx);
    case 'pro_bundle':
      return proBundleSink(ctx);
  }
}

function checkGeometry(o: OutputWriterOptions): void {
  const sides = [o.width, o.height];
  if (sides.some((s) => !Number.isInteger(s) || s < 1))
    throw new AlphacutError('internal_error', `Output size ${o.width}x${o.height} is not a size.`);
  // The mask pads an odd edge itself, because it accompanies every format.
  if (o.format !== 'mask' && outputFormats[o.format].evenDimensions && sides.some((s) => s % 2 !== 0))
    throw new AlphacutError('internal_error', `${o.format} needs even sides, got ${o.width}x${o.height}.`);
  if (!(o.fps.num > 0 && o.fps.den > 0))
    throw new AlphacutError('internal_error', `Bad frame rate ${o.fps.num}/${o.fps.den}.`);
}

function asEncodeError(e: unknown, signal: AbortSignal): AlphacutError {
  if (signal.aborted) return new AlphacutError('canceled', 'The job was canceled.');
  if (isAlphacutError(e)) return e;
  return new AlphacutError('encode_failed', `Encoding failed: ${e instanceof Error ? e.message : String(e)}`);
}

export async function openOutputWriter(opts: OutputWriterOptions): Promise<OutputWriter> {
  checkGeometry(opts);
  const { signal } = opts;
  if (signal.aborted) throw new AlphacutError('canceled', 'The job was canceled.');
  const output = resolve(opts.output);
  const partial = partialPath(output);
  const scratch = await mkdtemp(join(opts.tempDir ?? tmpdir(), 'alphacut-encode-'));
  const ctx = new EncodeContext(
    { width: opts.width, height: opts.height, fps: opts.fps, matrix: opts.matrix },
    partial,
    scratch,
    outputFormats[opts.format].audio ? usableAudio(opts.audio) : undefined,
    signal,
  );
  const frameBytes = opts.width * opts.height;

  let aborting: Promise<void> | undefined;
  let finished = false;
  const abort = (): Promise<void> => {
    aborting ??= (async () => {
      signal.removeEventListener('abort', onSignal);
      await ctx.stopAll();
      await Promise.all([
        finished ? undefined : rm(partial, { force: true }),
        rm(scratch, { recursive: true, force: true }),
      ]);
    })();
    return aborting;
  };
  // A cancel must clean up even if the caller is blocked elsewhere and never calls abort().
  const onSignal = (): void => void abort();
  signal.addEventListener('abort', onSignal, { once: true });

  let sink: FormatSink;
  try {
    sink = createSink(opts.format, ctx);
  } catch (e) {
    await abort();
    throw asEncodeError(e, signal);
  }

  const failed = async (e: unknown): Promise<never> => {
    const err = asEncodeError(e, signal);
    await abort();
    throw err;
  };

  return {
    async write(rgba, mask) {
      if (aborting || finished) throw asEncodeError(new Error('write after finish or abort'), signal);
      if (rgba.length !== frameBytes * 4 || mask.length !== frameBytes)
        return failed(
          new AlphacutError(
            'internal_error',
            `Frame of ${rgba.length}/${mask.length} bytes for a ${opts.width}x${opts.height} canvas.`,
          ),
        );
      try {
        await sink.write(rgba, mask);
        ctx.frames++;
      } catch (e) {
        return failed(e);
      }
    },
    async finish() {
      if (aborting || finished) throw asEncodeError(new Error('finish after finish or abort'), signal);
      try {
        if (ctx.frames === 0) throw new AlphacutError('encode_failed', 'No frames were written.');
        await sink.finish();
        if (signal.aborted) throw new AlphacutError('canceled', 'The job was canceled.');
        await rename(partial, output);
        finished = true;
        const { size } = await stat(output);
        await abort();
        return { bytes: size, frames: ctx.frames };
      } catch (e) {
        return failed(e);
      }
    },
    abort,
  };
}
