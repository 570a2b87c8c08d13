import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sharedMediaDir } from '../../src/app/paths.ts';

const run = promisify(execFile);

/** Path into ../shared/media, and the skip reason tests use when the folder is absent. */
export function sharedMedia(rel: string): string {
  return join(sharedMediaDir, rel);
}
export const noSharedMedia: string | false = existsSync(sharedMediaDir)
  ? false
  : `shared media set not found at ${sharedMediaDir} (tests on real footage skipped)`;

export async function tempDir(
  prefix = 'alphacut-test-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function ffmpeg(args: string[]): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], {
    encoding: 'buffer',
    maxBuffer: 1 << 30,
  });
  return stdout;
}

export async function ffprobeJson(
  file: string,
  extra: string[] = [],
): Promise<{
  streams: Array<Record<string, string | number | undefined>>;
  format: Record<string, string | number | undefined>;
}> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    ...extra,
    '-show_streams',
    '-show_format',
    '-of',
    'json',
    file,
  ]);
  return JSON.parse(stdout) as never;
}

/** Frames really decodable from the first video stream (decoded, not the container's claim). */
export async function countFrames(file: string, vp9Alpha = false): Promise<number> {
  const pre = vp9Alpha ? ['-c:v', 'libvpx-vp9'] : [];
  const { stderr } = await run(
    'ffmpeg',
    ['-nostdin', '-hide_banner', ...pre, '-i', file, '-map', '0:v:0', '-f', 'null', '-'],
    {
      maxBuffer: 1 << 26,
    },
  );
  const m = [...stderr.matchAll(/frame=\s*(\d+)/g)].pop();
  return m ? Number(m[1]) : 0;
}

function splitFrames(raw: Buffer, size: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let o = 0; o + size <= raw.length; o += size)
    frames.push(new Uint8Array(raw.buffer, raw.byteOffset + o, size));
  return frames;
}

/**
 * The alpha plane of every frame of a VP9-alpha WebM, as 8-bit gray. The decoder must be
 * libvpx-vp9: ffmpeg's native VP9 decoder silently drops alpha.
 */
export async function readWebmAlpha(file: string, width: number, height: number): Promise<Uint8Array[]> {
  const raw = await ffmpeg([
    '-c:v',
    'libvpx-vp9',
    '-i',
    file,
    '-vf',
    'alphaextract,format=gray',
    '-f',
    'rawvideo',
    'pipe:1',
  ]);
  return splitFrames(raw, width * height);
}

/** Gray frames of any video (e.g. a mask MP4 or ground-truth PNGs). */
export async function readGray(input: string[], width: number, height: number): Promise<Uint8Array[]> {
  const raw = await ffmpeg([
    ...input,
    '-vf',
    `scale=${width}:${height}:flags=neighbor,format=gray`,
    '-f',
    'rawvideo',
    'pipe:1',
  ]);
  return splitFrames(raw, width * height);
}

/** A synthetic test clip: ffmpeg's test pattern with a moving box and, optionally, a tone. */
export async function makeClip(
  path: string,
  opts: { seconds: number; width?: number; height?: number; fps?: number; audio?: boolean; extra?: string[] },
): Promise<void> {
  const w = opts.width ?? 320;
  const h = opts.height ?? 240;
  const fps = opts.fps ?? 25;
  const audio = opts.audio
    ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${opts.seconds}`]
    : [];
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${w}x${h}:rate=${fps}:duration=${opts.seconds}`,
    ...audio,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    ...(opts.audio ? ['-c:a', 'aac', '-shortest'] : []),
    ...(opts.extra ?? []),
    path,
  ]);
}

/** IoU of (a > t) against (b > t), both gray 0..255. */
export function iou(a: Uint8Array, b: Uint8Array, t = 127): number {
  let inter = 0;
  let uni = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) > t;
    const y = (b[i] as number) > t;
    if (x && y) inter++;
    if (x || y) uni++;
  }
  return uni === 0 ? 1 : inter / uni;
}
