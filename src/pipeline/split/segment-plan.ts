import { AlphacutError } from '../../core/errors.ts';
import { untrustedInputArgs } from '../ffmpeg-input-policy.ts';
import { runToCompletion } from '../ffmpeg-process.ts';
import type { SourceRange } from '../ffmpeg-args.ts';
import type { MediaInfo } from '../probe.ts';

export interface FrameSpan {
  /** [startFrame, endFrame), frames counted from the first video frame. */
  startFrame: number;
  endFrame: number;
}

/**
 * Cuts frames [0, total) into spans of about `target` frames, each starting on a keyframe, so a
 * segment's decoder starts on (or just before, for the warm-up) a keyframe instead of decoding a
 * whole GOP it throws away. A cut is the keyframe nearest to its target; a last span shorter than
 * half a target is merged into the one before, since each segment costs a model start and a join.
 */
export function planSegments(keyframes: readonly number[], total: number, target: number): FrameSpan[] {
  if (total <= 0) return [];
  const keys = [...new Set(keyframes)].filter((k) => k > 0 && k < total).sort((a, b) => a - b);
  const cuts: number[] = [];
  let prev = 0;
  for (let want = target; want < total - target / 2; want += target) {
    let best: number | undefined;
    for (const k of keys)
      if (k > prev && (best === undefined || Math.abs(k - want) < Math.abs(best - want))) best = k;
    if (best === undefined || best >= total - target / 2 || best - prev < target / 2) continue;
    cuts.push(best);
    prev = best;
  }
  const bounds = [0, ...cuts, total];
  return bounds.slice(1).map((end, i) => ({ startFrame: bounds[i] ?? 0, endFrame: end }));
}

/**
 * Frame indices of the video's keyframes, from packet flags (no decoding: seconds for an hour of
 * video). Timestamps are turned into indices with the stream's frame rate, which is exact for the
 * constant-rate sources we split.
 */
export async function probeKeyframes(input: string, info: MediaInfo, signal: AbortSignal): Promise<number[]> {
  const r = await runToCompletion(
    'ffprobe',
    [
      '-v',
      'error',
      ...untrustedInputArgs(),
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=pts_time,flags',
      '-of',
      'csv=p=0',
      input,
    ],
    signal,
  );
  if (r.code !== 0) throw new AlphacutError('decode_failed', `Listing keyframes failed: ${r.stderr}`);
  const rate = info.fps.num / info.fps.den;
  const frames: number[] = [];
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const [pts, flags] = line.trim().split(',');
    if (!pts || !flags?.includes('K')) continue;
    const t = Number(pts);
    if (Number.isFinite(t)) frames.push(Math.round((t - info.startSeconds) * rate));
  }
  return frames;
}

/**
 * The decode range of frames [first, end) for removeBackground's trim. Half a frame of margin on
 * both sides: ffmpeg keeps frames whose timestamp lies in [start, start + duration), and cutting
 * between frames rather than on one makes the count immune to timestamp rounding.
 */
export function frameRange(info: Pick<MediaInfo, 'fps'>, first: number, end: number): Required<SourceRange> {
  const rate = info.fps.num / info.fps.den;
  const start = first > 0 ? (first - 0.5) / rate : 0;
  return { start, duration: (end - 0.5) / rate - start };
}

/**
 * Frames a whole run renders of a range that starts at the first frame: removeBackground's own
 * expectation (the container's count, cut by the range's duration), so split and whole runs give
 * the audio the same length.
 */
export function framesFromStart(info: Pick<MediaInfo, 'fps' | 'frameCount'>, range: SourceRange): number {
  const rate = info.fps.num / info.fps.den;
  return range.duration === undefined
    ? info.frameCount
    : Math.min(info.frameCount, Math.ceil(range.duration * rate - 1e-6));
}
