import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { AlphacutError } from '../../core/errors.ts';
import { EncoderProcess } from '../encode/encoder-process.ts';
import type { FrameGeometry } from '../encode/encode-types.ts';
import type { OutputWriter } from '../encode/output-writer.ts';
import { quiet, rate } from '../ffmpeg-args.ts';
import { spawnFfmpeg, type FfmpegChild } from '../ffmpeg-process.ts';
import { readRawFrames } from '../raw-frame-reader.ts';

/**
 * A segment's rendered frames, kept losslessly until the join encodes the job's real output:
 * the composed canvas as FFV1 BGRA (a pure byte swizzle of our RGBA, no colour conversion) and the
 * matte as FFV1 gray, each in NUT. Lossless and intra-only, so the joined output is encoded once,
 * from exactly the pixels a single-worker run would have encoded.
 */
export const intermediateFiles = { canvas: 'canvas.nut', mask: 'mask.nut' } as const;

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

/** An OutputWriter (removeBackground's `frameSink`) that writes the two intermediates into `dir`. */
export function openSegmentWriter(g: FrameGeometry & { dir: string; signal: AbortSignal }): OutputWriter {
  const canvas = new EncoderProcess(
    'the segment canvas',
    ffv1Args(g, 'rgba', 'bgra', join(g.dir, intermediateFiles.canvas)),
    g.signal,
  );
  const mask = new EncoderProcess(
    'the segment matte',
    ffv1Args(g, 'gray', 'gray', join(g.dir, intermediateFiles.mask)),
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
        Object.values(intermediateFiles).map(async (f) => (await stat(join(g.dir, f))).size),
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
 * The frames of one segment's intermediates, canvas and matte in step. Our own files (written by
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
