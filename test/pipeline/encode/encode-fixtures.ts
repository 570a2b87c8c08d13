import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import yauzl from 'yauzl';
import { probe } from '../../../src/pipeline/probe.ts';
import {
  openOutputWriter,
  type AudioPlan,
  type OutputWriterOptions,
} from '../../../src/pipeline/encode/output-writer.ts';
import { ffmpeg, ffprobeJson } from '../../helpers/media.ts';

/**
 * Synthetic material for the encoder tests: a known opaque square moving across a transparent
 * canvas (with junk colour under the transparency, which no format may show), and a source clip
 * whose audio starts 0.4 s after its video, so offsets and trims are visible in the output.
 */

export const W = 96;
export const H = 64;
export const FRAMES = 16;
export const FPS = { num: 25, den: 1 };
export const SQUARE = 20;
export const COLOR = [220, 40, 30] as const;
/** Colour under alpha 0: a format that leaks it shows blue where the canvas should be clear. */
const JUNK = [0, 0, 255] as const;

export function squareX(i: number): number {
  return 4 + 4 * i;
}
export const SQUARE_Y = 20;

export function makeFrame(i: number): { rgba: Uint8Array; mask: Uint8Array } {
  const rgba = new Uint8Array(W * H * 4);
  const mask = new Uint8Array(W * H);
  const x0 = squareX(i);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const inside = x >= x0 && x < x0 + SQUARE && y >= SQUARE_Y && y < SQUARE_Y + SQUARE;
      const c = inside ? COLOR : JUNK;
      rgba.set([c[0], c[1], c[2], inside ? 255 : 0], p * 4);
      mask[p] = inside ? 255 : 0;
    }
  return { rgba, mask };
}

/** Centre of the square in frame i, and a point the square covered in frame 0 but no longer does. */
export function centreOf(i: number): [number, number] {
  return [squareX(i) + SQUARE / 2, SQUARE_Y + SQUARE / 2];
}
export const FIRST_POSITION: [number, number] = [squareX(0) + 2, SQUARE_Y + SQUARE / 2];

export const AUDIO_DELAY = 0.4;
export const TRIM_START = 0.2;
export const OUTPUT_SECONDS = (FRAMES * FPS.den) / FPS.num;

/** A clip whose tone starts AUDIO_DELAY after its first video frame. */
export async function makeAudioSource(dir: string): Promise<AudioPlan> {
  const source = join(dir, 'source.mp4');
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${W}x${H}:rate=25:duration=2`,
    '-itsoffset',
    String(AUDIO_DELAY),
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000:duration=2',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    source,
  ]);
  return {
    source,
    info: await probe(source),
    startSeconds: TRIM_START,
    durationSeconds: OUTPUT_SECONDS,
  };
}

/** Writes all frames of the moving square through a writer of `format`. */
export async function writeClip(
  opts: Omit<OutputWriterOptions, 'width' | 'height' | 'fps' | 'matrix' | 'signal'> &
    Partial<Pick<OutputWriterOptions, 'matrix' | 'signal'>>,
): Promise<{ bytes: number; frames: number }> {
  const writer = await openOutputWriter({
    width: W,
    height: H,
    fps: FPS,
    matrix: 'bt709',
    signal: new AbortController().signal,
    ...opts,
  });
  for (let i = 0; i < FRAMES; i++) {
    const f = makeFrame(i);
    await writer.write(f.rgba, f.mask);
  }
  return writer.finish();
}

export interface RgbaFrames {
  width: number;
  height: number;
  frames: Uint8Array[];
}

function split(raw: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + size <= raw.length; o += size) out.push(raw.subarray(o, o + size));
  return out;
}

/** Every decoded frame as full-range RGBA, converting from YUV with the tagged matrix. */
export async function decodeRgba(
  file: string,
  width: number,
  height: number,
  vp9Alpha = false,
): Promise<RgbaFrames> {
  const raw = await ffmpeg([
    ...(vp9Alpha ? ['-c:v', 'libvpx-vp9'] : []),
    '-i',
    file,
    '-map',
    '0:v:0',
    '-vf',
    'scale=in_color_matrix=bt709:in_range=tv:out_range=pc,format=rgba',
    '-f',
    'rawvideo',
    'pipe:1',
  ]);
  return { width, height, frames: split(raw, width * height * 4) };
}

/** Frames of an animated GIF/WebP as libvips composites them (disposal and blending applied). */
export async function decodeAnimatedImage(input: string | Buffer): Promise<RgbaFrames> {
  const img = sharp(input, { pages: -1 });
  const md = await img.metadata();
  const raw = await img.ensureAlpha().raw().toBuffer();
  const height = md.pageHeight ?? md.height;
  return { width: md.width, height, frames: split(raw, md.width * height * 4) };
}

export function pixel(f: RgbaFrames, i: number, [x, y]: [number, number]): number[] {
  const frame = f.frames[i];
  if (!frame) throw new Error(`no frame ${i}`);
  const o = (y * f.width + x) * 4;
  return Array.from(frame.subarray(o, o + 4));
}

export function near(actual: number[], expected: readonly number[], tolerance: number): boolean {
  return expected.every((v, k) => Math.abs((actual[k] ?? -999) - v) <= tolerance);
}

/** ffprobe's stream list, video streams first as ffmpeg writes them. */
export async function streams(file: string): Promise<Array<Record<string, string | number | undefined>>> {
  return (await ffprobeJson(file)).streams;
}

/** The first audio stream decoded to mono 48 kHz samples. */
export async function decodeAudio(file: string): Promise<Int16Array> {
  const raw = await ffmpeg([
    '-i',
    file,
    '-map',
    '0:a:0',
    '-ac',
    '1',
    '-ar',
    '48000',
    '-f',
    's16le',
    'pipe:1',
  ]);
  return new Int16Array(raw.buffer, raw.byteOffset, raw.length >> 1);
}

/** Seconds until the tone starts, and how long the decoded audio lasts. */
export function audioTiming(samples: Int16Array): { onset: number; duration: number } {
  const first = samples.findIndex((s) => Math.abs(s) > 2000);
  return { onset: first / 48000, duration: samples.length / 48000 };
}

export interface ZipEntry {
  data: Buffer;
  /** 0 = stored, 8 = deflated. */
  compressionMethod: number;
}

export function readZip(file: string): Promise<Map<string, ZipEntry>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const entries = new Map<string, ZipEntry>();
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            entries.set(entry.fileName, {
              data: Buffer.concat(chunks),
              compressionMethod: entry.compressionMethod,
            });
            zip.readEntry();
          });
          stream.on('error', reject);
        });
      });
      zip.readEntry();
    });
  });
}

/** ffmpeg children of this test process still alive (by /proc, so nothing is mocked). */
export async function liveFfmpegChildren(): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, ...
      const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(afterComm[1]) === process.pid && comm === 'ffmpeg' && afterComm[0] !== 'Z')
        pids.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
