import type { OutputFormat } from '../../core/output-formats.ts';
import type { AudioCodec } from './audio-args.ts';
import { faststartArgs } from './ffmpeg-common-args.ts';

/**
 * The container side of each single-file video format: muxer, muxer flags and the audio codec it
 * carries. Kept apart from the video encoders because two commands build these files: the encoder
 * of a whole run, and the packet-copy join of a split job (src/pipeline/split/), which must write
 * exactly the same container around the same audio.
 */
export interface VideoContainer {
  muxer: string;
  /** Muxer options, placed last before `-f`. */
  muxerArgs: readonly string[];
  /** Audio codec when the output carries audio; the matte never does. */
  audio?: AudioCodec;
}

export type VideoContainerFormat = Extract<OutputFormat, 'webm' | 'mov' | 'mp4' | 'stacked' | 'mask'>;

export const videoContainers: Record<VideoContainerFormat, VideoContainer> = {
  webm: { muxer: 'webm', muxerArgs: [], audio: 'opus' },
  // PCM: ProRes files go to editors, and PCM has no encoder delay, so NLEs place it sample-exactly.
  mov: { muxer: 'mov', muxerArgs: [], audio: 'pcm' },
  mp4: { muxer: 'mp4', muxerArgs: faststartArgs, audio: 'aac' },
  stacked: { muxer: 'mp4', muxerArgs: faststartArgs, audio: 'aac' },
  mask: { muxer: 'mp4', muxerArgs: faststartArgs },
};

export function isVideoContainerFormat(f: OutputFormat): f is VideoContainerFormat {
  return Object.hasOwn(videoContainers, f);
}
