import type { MediaInfo } from './probe.ts';
import { untrustedInputArgs } from './ffmpeg-input-policy.ts';

/**
 * Pure builders of ffmpeg argument lists. Kept free of I/O so that tests can check exactly what
 * we ask ffmpeg to do, and so every encoder shares the same colour and timing decisions.
 */

export type ColorMatrix = 'bt709' | 'bt601';

/**
 * The YUV matrix the source was made with. Tagged sources say so; untagged ones follow the
 * convention players use (HD and above is BT.709, SD is BT.601). Using the same matrix for decode
 * and encode makes the round trip colour-neutral.
 */
export function sourceMatrix(info: Pick<MediaInfo, 'colorSpace' | 'height'>): ColorMatrix {
  const cs = info.colorSpace ?? '';
  if (cs === 'bt709') return 'bt709';
  if (cs === 'bt470bg' || cs === 'smpte170m' || cs === 'bt601') return 'bt601';
  return info.height >= 720 ? 'bt709' : 'bt601';
}

export const quiet = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];

export function rate(info: Pick<MediaInfo, 'fps'>): string {
  return `${info.fps.num}/${info.fps.den}`;
}

/** A part of the source in seconds from its first video frame (`trim`, `preview_duration`). */
export interface SourceRange {
  start: number;
  duration?: number;
}

/**
 * Decode the first video stream to packed rgb24 frames on stdout, one per decoded frame. A range
 * seeks on the input side: ffmpeg then decodes from the keyframe before and drops frames until
 * the exact start, so the cut is frame-accurate without decoding the whole head of the file.
 */
export function decodeArgs(input: string, info: MediaInfo, range?: SourceRange): string[] {
  const m = sourceMatrix(info);
  const inRange = info.colorRange === 'pc' ? 'pc' : 'tv';
  // Input -ss counts from the container start; ours counts from the first video frame.
  const seek = range && range.start > 0 ? range.start + (info.startSeconds - info.formatStartSeconds) : 0;
  return [
    ...quiet,
    ...untrustedInputArgs(),
    ...(seek > 0 ? ['-ss', seek.toFixed(6)] : []),
    ...(range?.duration !== undefined ? ['-t', range.duration.toFixed(6)] : []),
    '-i',
    input,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    // Same size, so the kernel only interpolates chroma: bilinear there costs a third less of the
    // decoder's CPU than bicubic at 1080p (1.44 vs 2.16 s per 120 frames) with no colour shift
    // (mean 0.006 levels, 0.8 on average at colour edges). accurate_rnd stays: without it
    // swscale's fast path renders every pixel about one level too dark.
    `scale=in_color_matrix=${m}:in_range=${inRange}:out_range=pc:flags=bilinear+accurate_rnd+full_chroma_int,format=rgb24`,
    '-fps_mode',
    'passthrough',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}
