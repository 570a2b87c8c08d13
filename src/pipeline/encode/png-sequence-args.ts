import type { FrameGeometry } from './encode-types.ts';
import { quietArgs, rawStdinInput } from './ffmpeg-common-args.ts';

/**
 * RGBA PNGs, one after another on stdout. A pipe instead of an image2 folder: the ZIP is fed as
 * each PNG completes, so no frame ever waits on disk and there is no folder to clean up. zlib
 * level 3 instead of the default 6: 1.6× faster at 1080p here for files ~20 % larger.
 */
export function pngStreamArgs(g: FrameGeometry): string[] {
  return [
    ...quietArgs,
    ...rawStdinInput(g, 'rgba'),
    '-c:v',
    'png',
    '-pix_fmt',
    'rgba',
    '-compression_level',
    '3',
    '-f',
    'image2pipe',
    'pipe:1',
  ];
}

export function pngFrameName(index: number): string {
  return `frame_${String(index + 1).padStart(6, '0')}.png`;
}
