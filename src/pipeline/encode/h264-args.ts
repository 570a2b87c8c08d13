import type { AudioPlan, FrameGeometry } from './encode-types.ts';
import { colorTagArgs, grayToYuvFilter, h264Args, toYuvFilter } from './ffmpeg-common-args.ts';
import { videoCommandArgs, videoOutputLabel } from './video-command.ts';
import { videoContainers } from './video-containers.ts';

/**
 * The H.264 MP4 family: opaque colour (mp4, the bundle's color.mp4), the matte (mask, the
 * bundle's alpha.mp4) and both stacked in one picture. Colour gets crf 18 (visually lossless for
 * most footage); the matte gets crf 16 because edge errors show up as halos once it is applied.
 */

const colorCrf = 18;
const matteCrf = 16;

function mp4Encode(g: FrameGeometry, crf: number): string[] {
  return [...h264Args(crf), ...colorTagArgs(g.matrix)];
}

/** Opaque colour; any alpha in the frames is ignored (the format promises none). */
export function mp4Args(g: FrameGeometry, output: string, audio?: AudioPlan): string[] {
  return videoCommandArgs({
    geometry: g,
    input: 'rgba',
    videoChain: `[0:v]${toYuvFilter(g.matrix, 'yuv420p')}[${videoOutputLabel}]`,
    ...(audio ? { audio: { plan: audio, codec: videoContainers.mp4.audio! } } : {}),
    encode: mp4Encode(g, colorCrf),
    container: videoContainers.mp4,
    output,
  });
}

/**
 * The matte from the `mask` frames (white = subject). An odd edge is padded by one background
 * pixel rather than scaling the matte, so the mask can accompany odd-sized GIF/WebP/PNG outputs.
 */
export function maskArgs(g: FrameGeometry, output: string): string[] {
  return videoCommandArgs({
    geometry: g,
    input: 'gray',
    videoChain: `[0:v]pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0:black,${grayToYuvFilter('yuv420p')}[${videoOutputLabel}]`,
    encode: mp4Encode(g, matteCrf),
    container: videoContainers.mask,
    output,
  });
}

/** The alpha channel of the RGBA frames as a matte, so it recombines exactly with color.mp4. */
export function alphaMatteArgs(g: FrameGeometry, output: string): string[] {
  return videoCommandArgs({
    geometry: g,
    input: 'rgba',
    videoChain: `[0:v]alphaextract,${grayToYuvFilter('yuv420p')}[${videoOutputLabel}]`,
    encode: mp4Encode(g, matteCrf),
    container: videoContainers.mask,
    output,
  });
}

/**
 * Colour on top, alpha as gray below, in one yuv420p picture of width × 2·height: plays in every
 * browser, and a shader (docs/stacked-video.md) puts the halves back together. Done in the filter
 * graph because ffmpeg's C beats building a double-height frame in JS, and the pipe carries the
 * frame once. The crf is the matte's: the alpha half must survive compression too.
 */
export function stackedArgs(g: FrameGeometry, output: string, audio?: AudioPlan): string[] {
  const chain =
    `[0:v]split[c][a];[c]${toYuvFilter(g.matrix, 'yuv420p')}[cy];` +
    `[a]alphaextract,${grayToYuvFilter('yuv420p')}[ay];[cy][ay]vstack[${videoOutputLabel}]`;
  return videoCommandArgs({
    geometry: g,
    input: 'rgba',
    videoChain: chain,
    ...(audio ? { audio: { plan: audio, codec: videoContainers.stacked.audio! } } : {}),
    encode: mp4Encode(g, matteCrf),
    container: videoContainers.stacked,
    output,
  });
}
