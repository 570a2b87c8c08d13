import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AlphacutError } from '../../core/errors.ts';
import { audioFilterChain, audioInputArgs, audioMapArgs, usableAudio } from '../encode/audio-args.ts';
import type { AudioPlan } from '../encode/encode-types.ts';
import { quietArgs } from '../encode/ffmpeg-common-args.ts';
import { videoContainers, type VideoContainerFormat } from '../encode/video-containers.ts';
import { INPUT_DEMUXERS } from '../ffmpeg-input-policy.ts';
import { runToCompletion } from '../ffmpeg-process.ts';

/**
 * Joins segment files that are already in the final codec by copying their packets, one after
 * another, into one container (ffmpeg's concat demuxer), and adds the whole range's audio.
 * Each segment starts on a keyframe and was encoded with the same settings, so the result decodes
 * like a single encode; the concat demuxer shifts each part's timestamps by the durations before
 * it, which for our constant-rate segments gives the whole run's frame timestamps exactly.
 */

/** A concat-demuxer list; paths are ours (scratch or blob cache), quoted the way the demuxer reads them. */
function concatList(files: readonly string[]): string {
  return files
    .map((f) => {
      if (/[\n\r]/.test(f))
        throw new AlphacutError('internal_error', `Unusable segment path ${JSON.stringify(f)}.`);
      return `file '${f.replaceAll("'", "'\\''")}'\n`;
    })
    .join('');
}

export interface PacketCopyJoin {
  format: VideoContainerFormat;
  /** Segment files in order, each a complete file of `format` without audio. */
  parts: readonly string[];
  output: string;
  /** Folder for the concat list. */
  scratch: string;
  audio?: AudioPlan;
  signal: AbortSignal;
}

export function packetCopyJoinArgs(j: PacketCopyJoin, listPath: string): string[] {
  const container = videoContainers[j.format];
  const audio = container.audio ? usableAudio(j.audio) : undefined;
  return [
    ...quietArgs,
    '-f',
    'concat',
    '-safe',
    '0',
    // The list names only our own files; the whitelists are inherited by every part it opens.
    '-protocol_whitelist',
    'file',
    '-format_whitelist',
    `concat,${INPUT_DEMUXERS}`,
    '-i',
    listPath,
    ...(audio ? [...audioInputArgs(audio), '-filter_complex', audioFilterChain(audio, 1)] : []),
    '-map',
    '0:v:0',
    '-c:v',
    'copy',
    ...(audio && container.audio ? audioMapArgs(container.audio) : []),
    ...container.muxerArgs,
    '-f',
    container.muxer,
    j.output,
  ];
}

/** Runs the join; returns the number of video frames (packets) in the joined file. */
export async function joinByPacketCopy(j: PacketCopyJoin): Promise<number> {
  const list = join(j.scratch, `concat-${j.format}.txt`);
  await writeFile(list, concatList(j.parts));
  const r = await runToCompletion('ffmpeg', packetCopyJoinArgs(j, list), j.signal);
  if (r.code !== 0) throw new AlphacutError('encode_failed', `Joining the segments failed: ${r.stderr}`);
  return countVideoPackets(j.output, j.signal);
}

async function countVideoPackets(file: string, signal: AbortSignal): Promise<number> {
  const r = await runToCompletion(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      file,
    ],
    signal,
  );
  const n = Number(r.stdout.toString('utf8').trim());
  if (r.code !== 0 || !Number.isInteger(n))
    throw new AlphacutError('encode_failed', `Reading back the joined file failed: ${r.stderr}`);
  return n;
}
