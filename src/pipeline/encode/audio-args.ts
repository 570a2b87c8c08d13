import { resolve } from 'node:path';
import { untrustedInputArgs } from '../ffmpeg-input-policy.ts';
import type { AudioPlan } from './encode-types.ts';
import { faststartArgs, quietArgs } from './ffmpeg-common-args.ts';

/**
 * How the source's audio gets into an output: which part of it, shifted where, encoded how.
 * One filter chain serves every format so that all of them keep the same sync.
 */

export type AudioCodec = 'opus' | 'aac' | 'pcm';

export const audioOutputLabel = 'aout';

function takesSource(plan: AudioPlan): boolean {
  return (plan.useSource ?? true) && plan.info.hasAudio;
}

/** The plan, if there is any audio to take: the source's, a background's, or both. */
export function usableAudio(plan: AudioPlan | undefined): AudioPlan | undefined {
  return plan && (takesSource(plan) || plan.bed !== undefined) ? plan : undefined;
}

function seconds(v: number): string {
  return v.toFixed(6);
}

/**
 * The source as an extra input whose timestamps count from its first video frame. ffmpeg already
 * subtracts the container's start time, so only the video's own start beyond it is left to remove;
 * an audio track that starts after the video thereby keeps its gap.
 */
export function audioInputArgs(plan: AudioPlan): string[] {
  const offset = plan.info.formatStartSeconds - plan.info.startSeconds;
  const shift = Math.abs(offset) > 1e-6 ? ['-itsoffset', seconds(offset)] : [];
  return [
    ...(takesSource(plan)
      ? [...shift, ...untrustedInputArgs(), '-vn', '-sn', '-dn', '-i', resolve(plan.source)]
      : []),
    ...(plan.bed !== undefined
      ? ['-stream_loop', '-1', ...untrustedInputArgs(), '-vn', '-sn', '-dn', '-i', resolve(plan.bed)]
      : []),
  ];
}

/**
 * Cuts [start, start+duration) of the source timeline and moves it to t=0. The gap before a
 * late-starting track is then filled with real silence (aresample first_pts=0) instead of being left
 * to a container start offset: edit lists and negative/positive start times are honoured unevenly
 * by players and NLEs, and a standalone audio.m4a has no video to be offset against at all. Cutting
 * with atrim rather than -t keeps the video's frame count out of reach of the audio's length.
 */
export function audioFilterChain(plan: AudioPlan, inputIndex: number): string {
  const start = seconds(plan.startSeconds);
  const end = seconds(plan.startSeconds + plan.durationSeconds);
  const source = takesSource(plan);
  const sourceChain =
    `[${inputIndex}:a:0]atrim=start=${start}:end=${end},asetpts=PTS-${start}/TB,` +
    `aresample=async=1:first_pts=0`;
  if (plan.bed === undefined) return `${sourceChain}[${audioOutputLabel}]`;
  // Both chains are cut or padded to exactly the output's length (a looped AAC bed comes out a
  // little short: each loop drops its encoder priming), so the mix has the source chain's sync and
  // duration; normalize=0 keeps the source's level unchanged.
  const bedChain =
    `[${inputIndex + (source ? 1 : 0)}:a:0]atrim=end=${seconds(plan.durationSeconds)},` +
    `asetpts=PTS-STARTPTS,aresample=async=1:first_pts=0,apad=whole_dur=${seconds(plan.durationSeconds)}`;
  if (!source) return `${bedChain}[${audioOutputLabel}]`;
  return (
    `${sourceChain},apad=whole_dur=${seconds(plan.durationSeconds)}[asrc];${bedChain}[abed];` +
    `[asrc][abed]amix=inputs=2:duration=first:normalize=0[${audioOutputLabel}]`
  );
}

export function audioEncodeArgs(codec: AudioCodec): string[] {
  switch (codec) {
    case 'opus':
      return ['-c:a', 'libopus', '-b:a', '128k'];
    case 'aac':
      return ['-c:a', 'aac', '-b:a', '192k'];
    case 'pcm':
      return ['-c:a', 'pcm_s16le'];
  }
}

/** Output-side arguments that add the planned audio to a muxed video output. */
export function audioMapArgs(codec: AudioCodec): string[] {
  return ['-map', `[${audioOutputLabel}]`, ...audioEncodeArgs(codec)];
}

/** The planned audio alone, as AAC in an .m4a (for ZIP formats). */
export function standaloneAudioArgs(plan: AudioPlan, output: string): string[] {
  return [
    ...quietArgs,
    ...audioInputArgs(plan),
    '-filter_complex',
    audioFilterChain(plan, 0),
    ...audioMapArgs('aac'),
    ...faststartArgs,
    '-f',
    'ipod',
    output,
  ];
}
