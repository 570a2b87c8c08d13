import type { ColorMatrix, Fps } from './encode-types.ts';
import { pngFrameName } from './png-sequence-args.ts';

/**
 * The manifest.json of the ZIP formats: enough for a script to use the files without probing
 * them. fps is given both exactly ("30000/1001") and as a number for convenience.
 */

interface ManifestBase {
  width: number;
  height: number;
  fps: Fps;
  frameCount: number;
  hasAudio: boolean;
}

function fpsFields(fps: Fps): { fps: string; fps_value: number } {
  return { fps: `${fps.num}/${fps.den}`, fps_value: Number((fps.num / fps.den).toFixed(6)) };
}

export const audioEntryName = 'audio.m4a';

export function pngSequenceManifest(m: ManifestBase): Record<string, unknown> {
  return {
    format: 'png_sequence',
    width: m.width,
    height: m.height,
    ...fpsFields(m.fps),
    frame_count: m.frameCount,
    frames: Array.from({ length: m.frameCount }, (_v, i) => pngFrameName(i)),
    audio: m.hasAudio ? audioEntryName : null,
    // The audio's t=0 is the first frame; any silence before the source's audio is in the file.
    audio_starts_at_frame: m.hasAudio ? 1 : null,
    pixel_format: 'rgba (straight alpha, sRGB)',
    created_by: 'alphacut',
  };
}

export const bundleColorName = 'color.mp4';
export const bundleAlphaName = 'alpha.mp4';

export function proBundleManifest(m: ManifestBase & { matrix: ColorMatrix }): Record<string, unknown> {
  const audioIn = m.hasAudio ? ` -i ${audioEntryName}` : '';
  const audioOut = m.hasAudio ? ' -map 2:a -c:a pcm_s16le' : '';
  return {
    format: 'pro_bundle',
    width: m.width,
    height: m.height,
    ...fpsFields(m.fps),
    frame_count: m.frameCount,
    files: {
      color: bundleColorName,
      alpha: bundleAlphaName,
      audio: m.hasAudio ? audioEntryName : null,
    },
    color: {
      codec: 'h264',
      pixel_format: 'yuv420p',
      color_matrix: m.matrix === 'bt709' ? 'bt709' : 'smpte170m',
      range: 'limited',
      alpha_mode: 'straight (not premultiplied); colour where alpha is 0 is undefined',
    },
    alpha: {
      codec: 'h264',
      pixel_format: 'yuv420p',
      meaning: 'luma is opacity: black (16) transparent, white (235) opaque; chroma is neutral',
    },
    recombine: {
      how: 'Same frame count and rate in both files: use frame N of alpha.mp4 as the alpha of frame N of color.mp4.',
      ffmpeg:
        `ffmpeg -i ${bundleColorName} -i ${bundleAlphaName}${audioIn} ` +
        `-filter_complex "[1:v]format=gray[a];[0:v]format=yuva444p10le[c];[c][a]alphamerge[v]" ` +
        `-map "[v]"${audioOut} -c:v prores_ks -profile:v 4444 -pix_fmt yuva444p10le out.mov`,
      after_effects: 'Import both; set color.mp4 Track Matte to "Luma Matte" of alpha.mp4.',
    },
    created_by: 'alphacut',
  };
}
