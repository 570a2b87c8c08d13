import type { ColorMatrix, FrameGeometry } from './encode-types.ts';

/**
 * Argument pieces shared by every encoder: how raw frames arrive, how RGB becomes limited-range
 * YUV, and how the result is tagged. Pure, so tests can check exactly what ffmpeg is asked to do.
 */

export const quietArgs = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];

export function rateArg(g: Pick<FrameGeometry, 'fps'>): string {
  return `${g.fps.num}/${g.fps.den}`;
}

/** Raw frames on stdin at the canvas size and output rate; always input 0. */
export function rawStdinInput(g: FrameGeometry, pixFmt: 'rgba' | 'gray'): string[] {
  return [
    '-f',
    'rawvideo',
    '-pix_fmt',
    pixFmt,
    '-s',
    `${g.width}x${g.height}`,
    '-framerate',
    rateArg(g),
    '-i',
    'pipe:0',
  ];
}

/**
 * Full-range RGB(A) to limited-range YUV with the source's matrix. Our frames come from a
 * full-range decode, so converting back with the same matrix keeps colours where they were.
 */
export function toYuvFilter(matrix: ColorMatrix, pixFmt: string): string {
  return (
    `scale=out_color_matrix=${matrix}:out_range=tv:in_range=pc` +
    `:flags=bicubic+accurate_rnd+full_chroma_int,format=${pixFmt}`
  );
}

/** Gray (a matte) to limited-range luma; chroma stays neutral so any matrix decodes it as gray. */
export function grayToYuvFilter(pixFmt: string): string {
  return `scale=out_range=tv:in_range=pc,format=${pixFmt}`;
}

export function colorTagArgs(matrix: ColorMatrix): string[] {
  const name = matrix === 'bt709' ? 'bt709' : 'smpte170m';
  return ['-colorspace', name, '-color_primaries', name, '-color_trc', name, '-color_range', 'tv'];
}

/** H.264 settings every MP4 shares: veryfast is ~2.5× x264's medium here at a small size cost. */
export function h264Args(crf: number): string[] {
  return ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(crf), '-pix_fmt', 'yuv420p'];
}

/** Moves the index to the front so browsers can start playing before the download ends. */
export const faststartArgs = ['-movflags', '+faststart'];
