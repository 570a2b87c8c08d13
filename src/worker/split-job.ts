import { renderRange, type RenderSpec } from '../core/job-spec.ts';
import type { SegmentPlan } from '../core/ports/job-store.ts';
import { defaultProbeLimits, probe } from '../pipeline/probe.ts';
import { framesFromStart, planSegments, probeKeyframes } from '../pipeline/split/segment-plan.ts';
import type { SplitSettings } from './worker-runtime.ts';

/**
 * Whether a job can be split. Background videos play along the output from its first frame and
 * a trim start is a time cut ffmpeg rounds on its own, so both would need the segments to agree
 * with the whole run on timestamps we do not control; they run on one worker.
 */
export function canSplit(spec: RenderSpec): boolean {
  return spec.background.type !== 'video' && (spec.trim?.start ?? 0) === 0;
}

/** The segments of a job, or null when it is short enough for one worker. */
export async function planJobSplit(
  input: string,
  spec: RenderSpec,
  split: SplitSettings,
  signal: AbortSignal,
): Promise<SegmentPlan[] | null> {
  if (!canSplit(spec)) return null;
  const info = await probe(input, defaultProbeLimits, signal);
  const rate = info.fps.num / info.fps.den;
  const total = framesFromStart(info, renderRange(spec));
  if (total / rate <= split.minSeconds) return null;
  const keyframes = await probeKeyframes(input, info, signal);
  const plan = planSegments(keyframes, total, Math.max(1, Math.round(split.segmentSeconds * rate)));
  return plan.length > 1 ? plan : null;
}
