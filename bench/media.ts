import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { runToCompletion } from '../src/pipeline/ffmpeg-process.ts';
import { probe, type MediaInfo } from '../src/pipeline/probe.ts';
import { chromaKeyAlpha, estimateBackdrop, hairBand } from './metrics/chroma-key.ts';

/** A clip of the shared media set the bench can run on. */
export interface BenchClip {
  id: string;
  kind: 'davis' | 'clip' | 'upscaled';
  /** Absolute path of the source video. */
  source: string;
  /** DAVIS `Annotations/` folder (00000.png … one mask per frame), when there is ground truth. */
  gtDir?: string;
  /** Upscaled variant: this size, at most this many seconds from the start. */
  upscale?: { width: number; height: number; seconds: number };
  /** Shot on a flat coloured backdrop: scored against a chroma-key pseudo ground truth. */
  chromaKey?: boolean;
}

/** The shared clip that is upscaled to 1080p so speed compares with the 1080p goals. */
export const UPSCALE_SOURCE = 'sam2-05_juggle';
export const UPSCALE = { width: 1920, height: 1080, seconds: 2 };
/**
 * Clips in front of a flat coloured backdrop, scored against a chroma-key pseudo ground truth
 * (`bench/metrics/chroma-key.ts`): the only soft-edge reference the media set has.
 */
export const CHROMA_KEY_CLIPS = ['grid-lwbsza'];
const VIDEO_EXT = new Set(['.mp4', '.mov', '.mkv', '.webm', '.avi']);

/**
 * Every clip in the media folder: `davis2016/<seq>/<seq>.mp4` with `Annotations/` (ground truth),
 * every video in `clips/` (none), and `<UPSCALE_SOURCE>@1080p`. Adding a clip = adding a file.
 */
export function discoverClips(mediaDir: string): BenchClip[] {
  const out: BenchClip[] = [];
  const davis = join(mediaDir, 'davis2016');
  if (existsSync(davis)) {
    for (const seq of readdirSync(davis).sort()) {
      const video = join(davis, seq, `${seq}.mp4`);
      const gtDir = join(davis, seq, 'Annotations');
      if (existsSync(video) && existsSync(gtDir)) out.push({ id: seq, kind: 'davis', source: video, gtDir });
    }
  }
  const clips = join(mediaDir, 'clips');
  if (existsSync(clips)) {
    for (const f of readdirSync(clips).sort()) {
      const p = join(clips, f);
      if (!VIDEO_EXT.has(extname(f).toLowerCase()) || !statSync(p).isFile()) continue;
      const id = basename(f, extname(f));
      out.push({
        id,
        kind: 'clip',
        source: p,
        ...(CHROMA_KEY_CLIPS.includes(id) ? { chromaKey: true } : {}),
      });
    }
  }
  const up = out.find((c) => c.id === UPSCALE_SOURCE);
  if (up)
    out.push({
      id: `${UPSCALE_SOURCE}@${UPSCALE.height}p`,
      kind: 'upscaled',
      source: up.source,
      upscale: UPSCALE,
    });
  return out;
}

/** A clip made ready for the bench: a short input file plus raw luma (and ground truth) frames. */
export interface PreparedClip {
  clip: BenchClip;
  sourceRel: string;
  sourceFrames: number;
  /** The bench input: the first `frames` frames, video only. */
  input: string;
  info: MediaInfo;
  frames: number;
  /** `frames` × W×H bytes of 8-bit luma, frame after frame. */
  lumaPath: string;
  /** Same layout, ground-truth masks (0/255), when the clip has them. */
  gtPath?: string;
  /** Chroma-key clips: the pseudo ground truth (α 0…255) and the hair band (0/1), same layout. */
  keyPath?: string;
  keyBandPath?: string;
  preparation: string;
}

async function ffmpeg(args: string[]): Promise<void> {
  const { code, stderr } = await runToCompletion('ffmpeg', [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    ...args,
  ]);
  if (code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${stderr}`);
}

async function expectSize(path: string, bytes: number, what: string): Promise<void> {
  const size = (await stat(path)).size;
  if (size !== bytes) throw new Error(`${what}: expected ${bytes} bytes, got ${size}`);
}

/**
 * Cuts the first `maxFrames` frames of the clip into `dir` (re-encoded so that every bench input
 * starts cleanly at t = 0 with exactly that many frames, timestamps renumbered), and decodes its
 * luma and ground truth to raw files. Source-size clips are re-encoded losslessly (x264 qp 0:
 * the pipeline sees the source's own pixels); the 1080p upscale is a normal crf 18 encode, like
 * an upload.
 */
export async function prepareClip(
  clip: BenchClip,
  maxFrames: number,
  dir: string,
  mediaDir: string,
): Promise<PreparedClip> {
  await mkdir(dir, { recursive: true });
  const src = await probe(clip.source);
  const rate = `${src.fps.num}/${src.fps.den}`;
  let frames = Math.min(maxFrames, src.frameCount);
  if (clip.upscale) frames = Math.min(frames, Math.round((clip.upscale.seconds * src.fps.num) / src.fps.den));
  const input = join(dir, 'input.mp4');
  const filters = [`setpts=N*${src.fps.den}/${src.fps.num}/TB`];
  let preparation: string;
  let codec: string[];
  if (clip.upscale) {
    filters.push(`scale=${clip.upscale.width}:${clip.upscale.height}:flags=lanczos`);
    codec = ['-c:v', 'libx264', '-preset', 'medium', '-crf', '18'];
    preparation = `first ${frames} frames upscaled to ${clip.upscale.width}x${clip.upscale.height} (lanczos), x264 crf 18, no audio`;
  } else {
    codec = ['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0'];
    preparation = `first ${frames} frames, lossless x264 (qp 0), no audio`;
  }
  await ffmpeg([
    '-i',
    clip.source,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-frames:v',
    String(frames),
    '-vf',
    filters.join(','),
    '-fps_mode',
    'cfr',
    '-r',
    rate,
    ...codec,
    '-pix_fmt',
    'yuv420p',
    input,
  ]);
  const info = await probe(input);
  if (info.frameCount !== frames)
    throw new Error(`${clip.id}: prepared input has ${info.frameCount} frames, wanted ${frames}`);
  const pixels = info.width * info.height;

  const lumaPath = join(dir, 'luma.raw');
  await ffmpeg([
    '-i',
    input,
    '-map',
    '0:v:0',
    '-fps_mode',
    'passthrough',
    '-pix_fmt',
    'gray',
    '-f',
    'rawvideo',
    lumaPath,
  ]);
  await expectSize(lumaPath, frames * pixels, `${clip.id} luma`);

  let gtPath: string | undefined;
  if (clip.gtDir) {
    gtPath = join(dir, 'gt.raw');
    await ffmpeg([
      '-f',
      'image2',
      '-start_number',
      '0',
      '-i',
      join(clip.gtDir, '%05d.png'),
      '-frames:v',
      String(frames),
      '-vf',
      `scale=${info.width}:${info.height}:flags=neighbor`,
      '-pix_fmt',
      'gray',
      '-f',
      'rawvideo',
      gtPath,
    ]);
    await expectSize(gtPath, frames * pixels, `${clip.id} ground truth`);
  }
  let key: { keyPath: string; keyBandPath: string } | undefined;
  if (clip.chromaKey) {
    const rgbPath = join(dir, 'rgb.raw');
    await ffmpeg([
      '-i',
      input,
      '-map',
      '0:v:0',
      '-fps_mode',
      'passthrough',
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      rgbPath,
    ]);
    await expectSize(rgbPath, frames * pixels * 3, `${clip.id} rgb`);
    key = { keyPath: join(dir, 'key.raw'), keyBandPath: join(dir, 'keyband.raw') };
    writeKeyFiles(rgbPath, key.keyPath, key.keyBandPath, info.width, info.height, frames);
    await rm(rgbPath, { force: true });
  }
  return {
    clip,
    sourceRel: relative(mediaDir, clip.source),
    sourceFrames: src.frameCount,
    input,
    info,
    frames,
    lumaPath,
    ...(gtPath ? { gtPath } : {}),
    ...(key ?? {}),
    preparation,
  };
}

/** Pseudo ground truth and hair band of every frame, one frame in memory at a time. */
function writeKeyFiles(
  rgbPath: string,
  keyPath: string,
  bandPath: string,
  width: number,
  height: number,
  frames: number,
): void {
  const n = width * height;
  const rgb = new Uint8Array(3 * n);
  const fds = [openSync(rgbPath, 'r'), openSync(keyPath, 'w'), openSync(bandPath, 'w')] as const;
  try {
    for (let i = 0; i < frames; i++) {
      if (readSync(fds[0], rgb, 0, rgb.length, i * rgb.length) !== rgb.length)
        throw new Error(`short read of rgb frame ${i}`);
      // Estimated per frame: the backdrop's light may drift; the estimate costs little.
      const gt = chromaKeyAlpha(rgb, width, height, estimateBackdrop(rgb, width, height));
      writeSync(fds[1], gt, 0, n, i * n);
      writeSync(fds[2], hairBand(gt, width, height), 0, n, i * n);
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
