import type { FrameGeometry } from './encode-types.ts';
import { quietArgs, rawStdinInput } from './ffmpeg-common-args.ts';
import { videoCommandArgs, videoOutputLabel } from './video-command.ts';

/**
 * Animated images: WebP (real alpha) and GIF (1-bit alpha, 256 colours). Neither carries audio,
 * and both are sRGB pictures, so there is no YUV matrix to tag.
 */

/** Quality 80 lossy with lossless-ish alpha; `-loop 0` loops forever like a GIF. */
export function webpArgs(g: FrameGeometry, output: string): string[] {
  return videoCommandArgs({
    geometry: g,
    input: 'rgba',
    // libwebp converts RGB to its own YUV; handing it bgra avoids a second conversion by ffmpeg.
    videoChain: `[0:v]format=bgra[${videoOutputLabel}]`,
    encode: ['-c:v', 'libwebp_anim', '-lossless', '0', '-quality', '80', '-loop', '0'],
    container: { muxer: 'webp', muxerArgs: [] },
    output,
  });
}

/** Alpha at or above this is opaque in the GIF; the frames are cut there before palettegen too. */
export const gifAlphaThreshold = 128;

/**
 * GIF pass 1, while frames arrive: a lossless copy of them to a temp file, and the palette built
 * from all of them. A one-pass palettegen→paletteuse graph would hold every frame in memory until
 * the palette exists at EOF; this keeps memory flat at the cost of temp disk. Ut Video because it
 * encodes 1080p RGBA ~2× faster than FFV1 here; the file lives only until pass 2 ends.
 */
export function gifPass1Args(g: FrameGeometry, intermediate: string, palette: string): string[] {
  return [
    ...quietArgs,
    ...rawStdinInput(g, 'rgba'),
    '-filter_complex',
    '[0:v]split[keep][stats];[stats]palettegen=stats_mode=full:reserve_transparent=1[pal]',
    '-map',
    '[keep]',
    '-c:v',
    'utvideo',
    '-pix_fmt',
    'gbrap',
    '-f',
    'nut',
    intermediate,
    '-map',
    '[pal]',
    '-c:v',
    'png',
    '-update',
    '1',
    '-f',
    'image2',
    palette,
  ];
}

/**
 * GIF pass 2: map the frames onto the palette. Ordered (bayer) dithering rather than error
 * diffusion: its pattern stays put from frame to frame, so still areas do not shimmer and the
 * encoder's frame differencing keeps working; diff_mode=rectangle re-dithers only what changed.
 *
 * Trails: ffmpeg 5.1 clears ("restore to background") every frame that has transparent pixels and
 * crops it to its visible box, which is right; a fully opaque frame is instead left in place and
 * reduced to its difference from the previous frame. Clips made only of one kind are correct as
 * they are (and all-opaque ones stay small). Clips that mix both get `frameIndependent`: each frame
 * is encoded whole with its own palette, and gif-disposal.ts then marks every frame to be cleared
 * after display. The own palette matters: with the shared one, 5.1 tags the wrong transparent index
 * on a see-through frame that follows an opaque one, and its clear pixels show as palettegen's lime.
 */
export function gifPass2Args(
  intermediate: string,
  palette: string,
  output: string,
  opts: { frameIndependent: boolean },
): string[] {
  return [
    ...quietArgs,
    '-i',
    intermediate,
    '-i',
    palette,
    '-filter_complex',
    `[0:v][1:v]paletteuse=dither=bayer:bayer_scale=3:diff_mode=rectangle:alpha_threshold=${gifAlphaThreshold}`,
    ...(opts.frameIndependent ? ['-gifflags', '-offsetting-transdiff', '-global_palette', '0'] : []),
    '-loop',
    '0',
    '-f',
    'gif',
    output,
  ];
}

/**
 * Cuts alpha to 0/255 and blanks the colour under transparent pixels, into `out`. ffmpeg 5.1's
 * palettegen counts the colour of fully transparent pixels too, so whatever lies under alpha 0
 * would otherwise take palette entries from the subject. Works on 32-bit words (alpha is the top
 * byte on the little-endian machines Node runs on) because this runs over every pixel of every
 * frame. Returns how many pixels came out transparent.
 */
export function binarizeAlpha(rgba: Uint8Array, out: Uint8Array): number {
  const pixels = rgba.length >> 2;
  let transparent = 0;
  if (rgba.byteOffset % 4 === 0 && out.byteOffset % 4 === 0) {
    const src = new Uint32Array(rgba.buffer, rgba.byteOffset, pixels);
    const dst = new Uint32Array(out.buffer, out.byteOffset, pixels);
    for (let i = 0; i < pixels; i++) {
      const p = src[i] as number;
      if (p >>> 24 >= gifAlphaThreshold) dst[i] = (p | 0xff000000) >>> 0;
      else {
        dst[i] = 0;
        transparent++;
      }
    }
    return transparent;
  }
  for (let i = 0; i < rgba.length; i += 4) {
    const opaque = (rgba[i + 3] as number) >= gifAlphaThreshold;
    if (!opaque) transparent++;
    out[i] = opaque ? (rgba[i] as number) : 0;
    out[i + 1] = opaque ? (rgba[i + 1] as number) : 0;
    out[i + 2] = opaque ? (rgba[i + 2] as number) : 0;
    out[i + 3] = opaque ? 255 : 0;
  }
  return transparent;
}
