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

export function colorTags(matrix: ColorMatrix): string[] {
  return matrix === 'bt709'
    ? ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv']
    : [
        '-colorspace',
        'smpte170m',
        '-color_primaries',
        'smpte170m',
        '-color_trc',
        'smpte170m',
        '-color_range',
        'tv',
      ];
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
    `scale=in_color_matrix=${m}:in_range=${inRange}:out_range=pc:flags=bicubic+accurate_rnd+full_chroma_int,format=rgb24`,
    '-fps_mode',
    'passthrough',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}

/** Raw frames arriving on stdin at the source's size and rate. */
function rawInput(info: MediaInfo, pixFmt: 'rgba' | 'gray' | 'rgb24'): string[] {
  return [
    '-f',
    'rawvideo',
    '-pix_fmt',
    pixFmt,
    '-s',
    `${info.width}x${info.height}`,
    '-framerate',
    rate(info),
    '-i',
    'pipe:0',
  ];
}

/**
 * The source's audio as a second input, shifted so that it keeps its offset to the first video
 * frame (our raw video always starts at t=0). ffmpeg already subtracts the container's start time
 * from every timestamp, so only the video's own start beyond it is left to remove.
 */
function sourceAudioInput(source: string, info: MediaInfo): string[] {
  const offset = info.formatStartSeconds - info.startSeconds;
  const shift = Math.abs(offset) > 1e-6 ? ['-itsoffset', offset.toFixed(6)] : [];
  return [...shift, ...untrustedInputArgs(), '-vn', '-i', source];
}

export interface EncodeOptions {
  /** Source file to take the audio from; undefined drops audio. */
  audioFrom?: string;
  /** Number of frames that will be written, so audio is cut to the video's exact duration. */
  frames: number;
}

function outputDuration(info: MediaInfo, frames: number): string {
  return ((frames * info.fps.den) / info.fps.num).toFixed(6);
}

/**
 * Transparent WebM: VP9 with an alpha plane (yuva420p) and Opus audio. The realtime deadline at
 * cpu-used 8 is ~3× faster than good/4 here (FACTS.md) at a modest size cost; crf keeps quality
 * constant instead of starving fast-moving frames.
 */
export function encodeWebmArgs(output: string, info: MediaInfo, opts: EncodeOptions): string[] {
  const m = sourceMatrix(info);
  const withAudio = opts.audioFrom !== undefined && info.hasAudio;
  return [
    ...quiet,
    ...rawInput(info, 'rgba'),
    ...(withAudio ? sourceAudioInput(opts.audioFrom as string, info) : []),
    '-map',
    '0:v:0',
    // atrim, not -t: a duration limit on the output would also cut video frames if the probed
    // count is short, and the frame count is a promise.
    ...(withAudio
      ? [
          '-map',
          '1:a:0?',
          '-af',
          `atrim=end=${outputDuration(info, opts.frames)}`,
          '-c:a',
          'libopus',
          '-b:a',
          '128k',
        ]
      : []),
    '-vf',
    `scale=out_color_matrix=${m}:out_range=tv:in_range=pc:flags=bicubic+accurate_rnd+full_chroma_int,format=yuva420p`,
    '-c:v',
    'libvpx-vp9',
    '-pix_fmt',
    'yuva420p',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-row-mt',
    '1',
    '-crf',
    '28',
    '-b:v',
    '0',
    '-auto-alt-ref',
    '0',
    ...colorTags(m),
    '-f',
    'webm',
    output,
  ];
}

/**
 * The matte as a grayscale H.264 MP4 (white = subject). yuv420p needs even dimensions, so an odd
 * edge is padded by one black (background) pixel rather than scaling the matte.
 */
export function encodeMaskMp4Args(output: string, info: MediaInfo): string[] {
  return [
    ...quiet,
    ...rawInput(info, 'gray'),
    '-vf',
    'pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0:black,scale=out_range=tv:in_range=pc,format=yuv420p',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '16',
    '-pix_fmt',
    'yuv420p',
    ...colorTags('bt709'),
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    output,
  ];
}
