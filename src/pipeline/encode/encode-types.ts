import type { ColorMatrix } from '../ffmpeg-args.ts';
import type { MediaInfo } from '../probe.ts';
import type { OutputFormat } from '../../core/output-formats.ts';

export type { ColorMatrix };

export interface Fps {
  num: number;
  den: number;
}

/** Where the output's audio comes from and which part of it belongs to the output. */
export interface AudioPlan {
  /** Local media file (the user's upload): always opened through the untrusted-input policy. */
  source: string;
  /** Its probe; the audio offset to the first video frame is derived from it. */
  info: MediaInfo;
  /** Source time, relative to the first video frame, where the output starts (the trim start). */
  startSeconds: number;
  /** Output video duration (frames·den/num); the audio never runs past it. */
  durationSeconds: number;
  /**
   * Whether to take the source's own audio (`preserve_audio`); a video background's audio may be
   * wanted without it. Defaults to `info.hasAudio`.
   */
  useSource?: boolean;
  /**
   * A video background's audio (`background: {type: "video", audio: true}`): starts with the
   * output, as the background's pictures do, loops like them, and is mixed under the source's.
   */
  bed?: string;
}

export interface OutputWriterOptions {
  format: OutputFormat;
  /** Final path; written under a temporary name in the same folder and renamed on finish. */
  output: string;
  /** Canvas size; already even where the format needs it (outputFormats[format].evenDimensions). */
  width: number;
  height: number;
  fps: Fps;
  /** Colour matrix to convert with and tag; the source's, so a round trip is colour-neutral. */
  matrix: ColorMatrix;
  audio?: AudioPlan;
  signal: AbortSignal;
  /** Folder for intermediates (GIF pass 1, bundle parts, audio); the OS temp folder by default. */
  tempDir?: string;
}

/** What every per-format writer needs: geometry, timing and colour of the frames it receives. */
export interface FrameGeometry {
  width: number;
  height: number;
  fps: Fps;
  matrix: ColorMatrix;
}
