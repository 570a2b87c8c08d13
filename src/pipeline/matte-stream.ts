import type { Segmenter } from '../models/segmenter.ts';
import type { TierConfig } from '../models/tiers.ts';
import { lumaOf, resizeRgb } from './frame-resizer.ts';
import { CUT_HISTOGRAM_DISTANCE, LumaHistogramChange } from './scene-cut.ts';
import { defaultSubjectCrop, SubjectCropSegmenter } from './subject-crop.ts';

/** A decoded frame with its model-resolution copy and its (raw, unrefined) matte. */
export interface MatteFrame {
  index: number;
  rgb: Buffer;
  low: { width: number; height: number; rgb: Uint8Array; luma: Uint8Array };
  matte: Float32Array;
  /** True when the model ran on this frame; false when its matte was blended from key frames. */
  key: boolean;
}

interface Pending {
  index: number;
  rgb: Buffer;
  low: MatteFrame['low'];
}

/** Mean absolute luma difference (0..255) between consecutive frames that counts as a scene cut. */
export const SCENE_CUT_LUMA = 30;

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length;
}

/**
 * Runs the segmenter on every frame, or for key-frame tiers on every Nth frame and on every
 * large change of the image (a cut, a fast pan), and gives the frames in between a matte blended
 * linearly from the key frames on both sides. Frames come out in order; at most N are held back.
 */
export async function* matteStream(
  frames: AsyncIterable<Buffer>,
  segmenter: Segmenter,
  tier: Pick<TierConfig, 'keyframeInterval' | 'rekeyThreshold' | 'subjectCrop' | 'subjectTrack' | 'longSide'>,
  width: number,
  height: number,
  signal: AbortSignal,
): AsyncGenerator<MatteFrame> {
  const size = segmenter.inputSizeFor(width, height);
  const cropper = tier.subjectCrop
    ? new SubjectCropSegmenter(segmenter, width, height, size, tier.longSide, {
        ...defaultSubjectCrop,
        track: tier.subjectTrack,
      })
    : undefined;
  const segmentKey = (rgb: Buffer, low: MatteFrame['low'], cut: boolean): Promise<Float32Array> => {
    if (!cropper) return segmenter.run(low.rgb, low.width, low.height);
    if (cut) cropper.reset();
    return cropper.segment(rgb, low);
  };
  const lowPixels = size.width * size.height;
  const interval = Math.max(1, tier.keyframeInterval);
  let index = 0;
  let lastKey: { index: number; matte: Float32Array; luma: Uint8Array } | undefined;
  const histogram = new LumaHistogramChange();
  let pending: Pending[] = [];
  let prevLuma: Uint8Array | undefined;

  const toLow = async (rgb: Buffer): Promise<MatteFrame['low']> => {
    const lowRgb = await resizeRgb(rgb, width, height, size.width, size.height);
    return { width: size.width, height: size.height, rgb: lowRgb, luma: lumaOf(lowRgb, lowPixels) };
  };

  function* flush(key: MatteFrame, cut: boolean): Generator<MatteFrame> {
    const prev = lastKey;
    for (const p of pending) {
      let matte: Float32Array;
      if (!prev) matte = key.matte;
      else if (cut)
        matte = prev.matte; // every held frame is still in the old scene
      else {
        // Position between the two key frames.
        const t = (p.index - prev.index) / (key.index - prev.index);
        matte = new Float32Array(lowPixels);
        for (let i = 0; i < lowPixels; i++)
          matte[i] = (1 - t) * (prev.matte[i] as number) + t * (key.matte[i] as number);
      }
      yield { index: p.index, rgb: p.rgb, low: p.low, matte, key: false };
    }
    pending = [];
  }

  // The first key frame of a tracked shot waits one frame, so the motion cue can compare with it.
  let held: { index: number; rgb: Buffer; low: MatteFrame['low']; cut: boolean } | undefined;
  async function* releaseHeld(nextLuma: Uint8Array | undefined): AsyncGenerator<MatteFrame> {
    if (!held || !cropper) return;
    const h = held;
    held = undefined;
    if (h.cut) cropper.reset();
    const matte = await cropper.segment(h.rgb, h.low, nextLuma);
    const key: MatteFrame = { index: h.index, rgb: h.rgb, low: h.low, matte, key: true };
    yield* flush(key, h.cut);
    yield key;
    lastKey = { index: h.index, matte, luma: h.low.luma };
  }

  for await (const rgb of frames) {
    if (signal.aborted) return;
    const low = await toLow(rgb);
    if (signal.aborted) return;
    yield* releaseHeld(low.luma);
    const change = lastKey ? meanAbsDiff(low.luma, lastKey.luma) : Infinity;
    // A cut is a jump between consecutive frames; a pan drifts away from the key frame gradually,
    // and keeps the histogram where it was (scene-cut.ts).
    const histogramChange = histogram.next(low.luma);
    const cut =
      prevLuma !== undefined &&
      meanAbsDiff(low.luma, prevLuma) > SCENE_CUT_LUMA &&
      histogramChange > CUT_HISTOGRAM_DISTANCE;
    prevLuma = low.luma;
    const due = !lastKey || index - lastKey.index >= interval || change > tier.rekeyThreshold || cut;
    if (!due) {
      pending.push({ index, rgb, low });
      index++;
      continue;
    }
    if (cropper && (cut || cropper.needsLookahead()) && tier.subjectTrack) {
      held = { index, rgb, low, cut };
      index++;
      continue;
    }
    const matte = await segmentKey(rgb, low, cut);
    const key: MatteFrame = { index, rgb, low, matte, key: true };
    yield* flush(key, cut);
    yield key;
    lastKey = { index, matte, luma: low.luma };
    index++;
  }
  if (!signal.aborted) yield* releaseHeld(undefined);
  // Frames after the last key frame: make the final one a key frame so they interpolate too.
  const last = pending.pop();
  if (last && !signal.aborted) {
    const matte = await segmentKey(last.rgb, last.low, false);
    const key: MatteFrame = { index: last.index, rgb: last.rgb, low: last.low, matte, key: true };
    yield* flush(key, false);
    yield key;
  }
}
