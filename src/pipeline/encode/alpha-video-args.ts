import type { AudioPlan, ColorMatrix, FrameGeometry } from './encode-types.ts';
import { colorTagArgs, toYuvFilter } from './ffmpeg-common-args.ts';
import { videoCommandArgs, videoOutputLabel } from './video-command.ts';
import { videoContainers } from './video-containers.ts';

/** Video formats that carry a real alpha channel: WebM (VP9) and QuickTime (ProRes 4444). */

/**
 * VP9 with an alpha plane and Opus audio. The realtime deadline at cpu-used 8 is ~3× faster than
 * good/4 (FACTS.md) at a modest size cost; crf keeps quality constant instead of starving
 * fast-moving frames; alt-ref frames are off because libvpx does not support them with alpha.
 */
export function webmArgs(g: FrameGeometry, output: string, audio?: AudioPlan): string[] {
  return videoCommandArgs({
    geometry: g,
    input: 'rgba',
    videoChain: `[0:v]${toYuvFilter(g.matrix, 'yuva420p')}[${videoOutputLabel}]`,
    ...(audio ? { audio: { plan: audio, codec: videoContainers.webm.audio! } } : {}),
    encode: [
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
      ...colorTagArgs(g.matrix),
    ],
    container: videoContainers.webm,
    output,
  });
}

/**
 * ffmpeg 5.1's ProRes encoders leave the frame header's colour fields "unspecified", and decoders
 * (ffprobe, NLEs) read those rather than the MOV colr atom; prores_metadata writes them. ProRes
 * allows only the BT.709 transfer code for SDR, which is also the curve BT.601 uses.
 */
function proresColorBsf(matrix: ColorMatrix): string {
  const m = matrix === 'bt709' ? 'bt709' : 'smpte170m';
  return `prores_metadata=color_primaries=${m}:color_trc=bt709:colorspace=${m}`;
}

/**
 * ProRes 4444 with alpha through prores_aw (3× faster than prores_ks here, FACTS.md), and
 * uncompressed PCM audio (video-containers.ts): its size is noise next to ProRes video.
 */
export function movArgs(g: FrameGeometry, output: string, audio?: AudioPlan): string[] {
  return videoCommandArgs({
    geometry: g,
    input: 'rgba',
    videoChain: `[0:v]${toYuvFilter(g.matrix, 'yuva444p10le')}[${videoOutputLabel}]`,
    ...(audio ? { audio: { plan: audio, codec: videoContainers.mov.audio! } } : {}),
    encode: [
      '-c:v',
      'prores_aw',
      // 4 = the 4444 profile; prores_aw has no named profiles.
      '-profile:v',
      '4',
      '-pix_fmt',
      'yuva444p10le',
      // Apple's vendor id: some Apple tools only trust ProRes that claims to come from Apple.
      '-vendor',
      'apl0',
      '-bsf:v',
      proresColorBsf(g.matrix),
      ...colorTagArgs(g.matrix),
    ],
    container: videoContainers.mov,
    output,
  });
}
