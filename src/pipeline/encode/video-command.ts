import type { AudioPlan, FrameGeometry } from './encode-types.ts';
import { audioFilterChain, audioInputArgs, audioMapArgs, type AudioCodec } from './audio-args.ts';
import { quietArgs, rawStdinInput } from './ffmpeg-common-args.ts';
import type { VideoContainer } from './video-containers.ts';

export const videoOutputLabel = 'vout';

export interface VideoCommand {
  geometry: FrameGeometry;
  /** What is written to stdin: the RGBA canvas frame or the 8-bit matte. */
  input: 'rgba' | 'gray';
  /** Filter chain from `[0:v]` to `[vout]`. */
  videoChain: string;
  audio?: { plan: AudioPlan; codec: AudioCodec };
  /** Codec and tags, placed after the maps. */
  encode: string[];
  container: Pick<VideoContainer, 'muxer' | 'muxerArgs'>;
  output: string;
}

/**
 * One ffmpeg command: raw frames on stdin (input 0), optionally the source audio (input 1), one
 * filter graph for both, one output file. The muxer is always named: outputs are written under
 * temporary names whose extension says nothing.
 */
export function videoCommandArgs(c: VideoCommand): string[] {
  const graph = [c.videoChain];
  if (c.audio) graph.push(audioFilterChain(c.audio.plan, 1));
  return [
    ...quietArgs,
    ...rawStdinInput(c.geometry, c.input),
    ...(c.audio ? audioInputArgs(c.audio.plan) : []),
    '-filter_complex',
    graph.join(';'),
    '-map',
    `[${videoOutputLabel}]`,
    ...(c.audio ? audioMapArgs(c.audio.codec) : []),
    ...c.encode,
    ...c.container.muxerArgs,
    '-f',
    c.container.muxer,
    c.output,
  ];
}
