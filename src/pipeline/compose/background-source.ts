import { resolve } from 'node:path';
import sharp from 'sharp';
import { AlphacutError, isAlphacutError } from '../../core/errors.ts';
import type { BackgroundSpec } from '../../core/job-spec.ts';
import { quiet, rate, sourceMatrix } from '../ffmpeg-args.ts';
import { untrustedInputArgs } from '../ffmpeg-input-policy.ts';
import { spawnFfmpeg, type FfmpegChild } from '../ffmpeg-process.ts';
import { probe, type MediaInfo } from '../probe.ts';
import { readRawFrames } from '../raw-frame-reader.ts';
import { BackgroundBlur } from './background-blur.ts';
import type { CanvasLayout } from './canvas-layout.ts';

/**
 * One canvas-size rgb24 background frame per source frame, whatever the background kind, so the
 * compositor has a single shape to blend over.
 *
 * Buffer ownership: a returned frame is only valid until the next `next()` call and must not be
 * modified. Today colour and image backgrounds return the same buffer every time, the blur reuses
 * one buffer (or returns `srcRgb` itself at strength 0 on a source-size canvas), and video returns
 * a fresh buffer per frame; callers should rely only on the first sentence.
 */
export interface BackgroundSource {
  /** The background for the next source frame; undefined means transparent. */
  next(srcRgb: Uint8Array, srcAlpha: Uint8Array): Promise<Uint8Array | undefined>;
  /** Ends any child process; safe to call more than once. */
  close(): Promise<void>;
  /** A video background's file, when it has an audio stream (what `background.audio` mixes in). */
  readonly audioSource?: string;
}

export interface BackgroundContext {
  signal: AbortSignal;
  /** The source video; its frame rate paces a video background, its size the blur. */
  srcInfo: MediaInfo;
}

export async function openBackgroundSource(
  spec: BackgroundSpec,
  layout: CanvasLayout,
  ctx: BackgroundContext,
): Promise<BackgroundSource> {
  switch (spec.type) {
    case 'transparent':
      return constant(undefined);
    case 'color': {
      const frame = new Uint8Array(layout.canvasWidth * layout.canvasHeight * 3);
      const [r, g, b] = spec.rgb;
      for (let i = 0; i < frame.length; i += 3) {
        frame[i] = r;
        frame[i + 1] = g;
        frame[i + 2] = b;
      }
      return constant(frame);
    }
    case 'image':
      return constant(await decodeImage(spec.source, layout, ctx.signal));
    case 'video':
      return openVideo(spec.source, layout, ctx);
    case 'blur': {
      const blur = new BackgroundBlur(ctx.srcInfo.width, ctx.srcInfo.height, layout, spec.strength);
      return {
        next: (rgb, alpha) => blur.render(rgb, alpha),
        close: () => Promise.resolve(),
      };
    }
  }
}

function constant(frame: Uint8Array | undefined): BackgroundSource {
  return { next: () => Promise.resolve(frame), close: () => Promise.resolve() };
}

function unreadable(kind: 'image' | 'video', detail: string, cause?: unknown): AlphacutError {
  return new AlphacutError(
    'unsupported_media',
    `The background ${kind} could not be read${detail ? `: ${detail}` : ''}.`,
    { reason: 'background_unreadable' },
    cause === undefined ? undefined : { cause },
  );
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AlphacutError('canceled', 'Canceled.');
}

/**
 * Decoded once: EXIF orientation applied (phone photos), alpha flattened onto black (what shows
 * through a transparent hole in a picture frame is "nothing"), colour converted to sRGB, scaled to
 * cover the canvas and centre-cropped.
 */
async function decodeImage(path: string, layout: CanvasLayout, signal: AbortSignal): Promise<Uint8Array> {
  throwIfAborted(signal);
  const { canvasWidth: w, canvasHeight: h } = layout;
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    out = await sharp(resolve(path), { autoOrient: true, failOn: 'error' })
      .flatten({ background: '#000000' })
      .resize(w, h, { fit: 'cover', position: 'centre' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw unreadable('image', err instanceof Error ? err.message : String(err), err);
  }
  throwIfAborted(signal);
  if (out.info.width !== w || out.info.height !== h || out.info.channels !== 3)
    throw unreadable('image', `decoded to ${out.info.width}×${out.info.height}×${out.info.channels}`);
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
}

/**
 * A looping, rate-converted, cover-cropped rgb24 stream from one ffmpeg child. Frames are pulled
 * one at a time, so the pipe's backpressure holds ffmpeg back while the job is busy: memory stays
 * at a few frames however long the background is. The first frame is read before this returns,
 * so an undecodable file fails the job up front rather than mid-render.
 */
async function openVideo(
  source: string,
  layout: CanvasLayout,
  ctx: BackgroundContext,
): Promise<BackgroundSource> {
  const { signal, srcInfo } = ctx;
  // Absolute, so ffmpeg never reads a name like "a:b.mp4" as protocol "a".
  const path = resolve(source);
  let info: MediaInfo;
  try {
    info = await probe(path, undefined, signal);
  } catch (err) {
    throwIfAborted(signal);
    throw unreadable('video', isAlphacutError(err) ? err.message : String(err), err);
  }
  const { canvasWidth: w, canvasHeight: h } = layout;
  const m = sourceMatrix(info);
  const inRange = info.colorRange === 'pc' ? 'pc' : 'tv';
  const filter = [
    // Rate first, so frames that will be dropped are never scaled.
    `fps=${rate(srcInfo)}`,
    `scale=w=${w}:h=${h}:force_original_aspect_ratio=increase:in_color_matrix=${m}:in_range=${inRange}:out_range=pc:flags=bicubic+accurate_rnd+full_chroma_int`,
    'format=rgb24',
    `crop=${w}:${h}`,
  ].join(',');
  const args = [
    ...quiet,
    '-stream_loop',
    '-1',
    ...untrustedInputArgs(),
    '-i',
    path,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    filter,
    '-fps_mode',
    'passthrough',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
  throwIfAborted(signal);
  const proc: FfmpegChild = spawnFfmpeg('ffmpeg', args, signal);
  proc.child.stdin.end();
  const frames = readRawFrames(proc.child.stdout, w * h * 3);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    proc.kill();
    await proc.exited;
    await frames.return(undefined);
  };

  const pull = async (): Promise<Uint8Array> => {
    let r: IteratorResult<Buffer>;
    try {
      r = await frames.next();
    } catch (err) {
      throwIfAborted(signal);
      throw unreadable('video', String(err), err);
    }
    if (!r.done) return r.value;
    // The stream loops forever, so an end is always a failure (or a cancel).
    throwIfAborted(signal);
    const { code } = await proc.exited;
    throw unreadable('video', proc.stderrTail() || `ffmpeg exited with code ${code}`);
  };

  let first: Uint8Array | undefined;
  try {
    first = await pull();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    ...(info.hasAudio ? { audioSource: path } : {}),
    next: async () => {
      if (closed) throw new Error('background source is closed');
      if (first) {
        const f = first;
        first = undefined;
        return f;
      }
      return pull();
    },
    close,
  };
}
