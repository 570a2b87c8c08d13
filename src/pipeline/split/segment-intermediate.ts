import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { AlphacutError } from '../../core/errors.ts';
import { outputFormats, type OutputFormat } from '../../core/output-formats.ts';
import { EncoderProcess } from '../encode/encoder-process.ts';
import type { FrameGeometry } from '../encode/encode-types.ts';
import { openOutputWriter, type OutputWriter } from '../encode/output-writer.ts';
import { isVideoContainerFormat } from '../encode/video-containers.ts';
import { quiet, rate } from '../ffmpeg-args.ts';
import { spawnFfmpeg, type FfmpegChild } from '../ffmpeg-process.ts';
import { readRawFrames } from '../raw-frame-reader.ts';

/**
 * What a segment of a split job leaves for the join, in one of two forms.
 *
 * Single-file video formats (WebM, MOV, MP4, stacked): the segment encodes its frames in the
 * job's final codec and settings, and the join only copies packets (stream-copy-join.ts). Every
 * segment starts on a keyframe, so the joined file decodes like one encode; encoding is the
 * costliest step after inference, and this way it is spread over the workers instead of being
 * done a second time by the join.
 *
 * Every other format (GIF's palette spans the whole clip, WebP and PNG/ZIP outputs have no
 * packet-level join): the rendered frames kept losslessly, the canvas as FFV1 BGRA (a pure byte
 * swizzle of our RGBA, no colour conversion) and the matte as FFV1 gray, each in NUT, and the join
 * encodes the output once from exactly the pixels a single-worker run would have encoded.
 */
export interface SegmentFiles {
  /** The composed frames: the final encoding, or the lossless canvas. */
  canvas: string;
  /** The matte: the mask MP4, or the lossless matte. */
  mask: string;
}

export function segmentFiles(format: OutputFormat): SegmentFiles {
  return isVideoContainerFormat(format)
    ? { canvas: `video.${outputFormats[format].extension}`, mask: 'mask.mp4' }
    : { canvas: 'canvas.nut', mask: 'mask.nut' };
}

function ffv1Args(g: FrameGeometry, inFmt: 'rgba' | 'gray', outFmt: 'bgra' | 'gray', out: string): string[] {
  return [
    ...quiet,
    '-f',
    'rawvideo',
    '-pix_fmt',
    inFmt,
    '-s',
    `${g.width}x${g.height}`,
    '-r',
    rate(g),
    '-i',
    'pipe:0',
    '-c:v',
    'ffv1',
    '-level',
    '3',
    // Slices let FFV1 use both cores; -g 1 keeps every frame independent.
    '-slices',
    '4',
    '-g',
    '1',
    '-pix_fmt',
    outFmt,
    '-f',
    'nut',
    out,
  ];
}

type SegmentWriterOptions = FrameGeometry & { dir: string; signal: AbortSignal; format: OutputFormat };

/** An OutputWriter (removeBackground's `frameSink`) that writes a segment's two files into `dir`. */
export function openSegmentWriter(g: SegmentWriterOptions): Promise<OutputWriter> {
  return isVideoContainerFormat(g.format)
    ? openEncodedSegmentWriter(g)
    : Promise.resolve(openLosslessSegmentWriter(g));
}

/** The job's own output writers, without audio (the join adds the whole range's audio once). */
async function openEncodedSegmentWriter(g: SegmentWriterOptions): Promise<OutputWriter> {
  const files = segmentFiles(g.format);
  const common = {
    width: g.width,
    height: g.height,
    fps: g.fps,
    matrix: g.matrix,
    signal: g.signal,
    tempDir: g.dir,
  };
  const video = await openOutputWriter({ ...common, format: g.format, output: join(g.dir, files.canvas) });
  let mask: OutputWriter;
  try {
    mask = await openOutputWriter({ ...common, format: 'mask', output: join(g.dir, files.mask) });
  } catch (e) {
    await video.abort();
    throw e;
  }
  const both = [video, mask];
  return {
    async write(rgba, m) {
      await Promise.all(both.map((w) => w.write(rgba, m)));
    },
    async finish() {
      const [v, k] = await Promise.all(both.map((w) => w.finish()));
      return { bytes: (v?.bytes ?? 0) + (k?.bytes ?? 0), frames: v?.frames ?? 0 };
    },
    async abort() {
      await Promise.all(both.map((w) => w.abort()));
    },
  };
}

function openLosslessSegmentWriter(g: SegmentWriterOptions): OutputWriter {
  const files = segmentFiles(g.format);
  const canvas = new EncoderProcess(
    'the segment canvas',
    ffv1Args(g, 'rgba', 'bgra', join(g.dir, files.canvas)),
    g.signal,
  );
  const mask = new EncoderProcess(
    'the segment matte',
    ffv1Args(g, 'gray', 'gray', join(g.dir, files.mask)),
    g.signal,
  );
  let frames = 0;
  return {
    async write(rgba, m) {
      await Promise.all([canvas.write(rgba), mask.write(m)]);
      frames++;
    },
    async finish() {
      await Promise.all([canvas.close(), mask.close()]);
      const sizes = await Promise.all(
        Object.values(files).map(async (f) => (await stat(join(g.dir, f))).size),
      );
      return { bytes: sizes.reduce((a, b) => a + b, 0), frames };
    },
    async abort() {
      canvas.kill();
      mask.kill();
      await Promise.all([canvas.exited, mask.exited]);
    },
  };
}

function decodeArgs(file: string, pixFmt: 'rgba' | 'gray'): string[] {
  return [...quiet, '-i', file, '-map', '0:v:0', '-pix_fmt', pixFmt, '-f', 'rawvideo', 'pipe:1'];
}

/**
 * The frames of one segment's lossless intermediates, canvas and matte in step. Our own files (written by
 * openSegmentWriter, never user input), so no input policy is needed beyond a plain path.
 */
export async function* readSegmentFrames(
  dir: { canvas: string; mask: string },
  width: number,
  height: number,
  signal: AbortSignal,
): AsyncGenerator<{ rgba: Buffer; mask: Buffer }> {
  const procs: FfmpegChild[] = [
    spawnFfmpeg('ffmpeg', decodeArgs(dir.canvas, 'rgba'), signal),
    spawnFfmpeg('ffmpeg', decodeArgs(dir.mask, 'gray'), signal),
  ];
  const [c, m] = procs as [FfmpegChild, FfmpegChild];
  for (const p of procs) p.child.stdin.end();
  const rgbaFrames = readRawFrames(c.child.stdout, width * height * 4);
  const maskFrames = readRawFrames(m.child.stdout, width * height);
  try {
    for (;;) {
      const [a, b] = await Promise.all([rgbaFrames.next(), maskFrames.next()]);
      if (a.done || b.done) {
        if (a.done !== b.done)
          throw new AlphacutError('internal_error', 'A segment’s canvas and matte differ in length.');
        break;
      }
      yield { rgba: a.value, mask: b.value };
    }
    const codes = await Promise.all(procs.map((p) => p.exited));
    if (codes.some((x) => x.code !== 0))
      throw new AlphacutError(
        'internal_error',
        `Reading a segment failed: ${procs.map((p) => p.stderrTail()).join(' ')}`,
      );
  } finally {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
  }
}
