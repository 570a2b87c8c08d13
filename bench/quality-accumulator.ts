import { boundaryF, boundaryTolerancePx } from './metrics/boundary-f.ts';
import { dtssdFrame } from './metrics/dtssd.ts';
import {
  addFlickerSums,
  defaultFlickerOptions,
  emptyFlickerSums,
  finishFlicker,
  flickerPair,
  type FlickerOptions,
} from './metrics/flicker.ts';
import { addKeyFrame, emptyKeySums, finishKey, keyRoi, type KeyScores } from './metrics/chroma-key.ts';
import { meanAbsDiff } from './metrics/mean-abs-diff.ts';
import {
  addLagSums,
  defaultLagOptions,
  emptyLagSums,
  finishLag,
  lagPair,
  type LagOptions,
  type LagScores,
} from './metrics/motion-lag.ts';
import { regionIoU } from './metrics/region-iou.ts';

/** One clip's quality scores (see bench/README.md); null where the input to a metric is missing. */
export interface ClipQuality {
  frames: number;
  /** Mean over frames of IoU(alpha ≥ 128, gt ≥ 128). */
  j: number | null;
  /** Mean over frames of the DAVIS boundary F-measure. */
  boundaryF: number | null;
  /** Mean over frames of mean |alpha − gt| on [0, 1]. */
  mad: number | null;
  /** Mean over frame pairs of the dtSSD against ground truth, [0, 1] scale. */
  dtssd: number | null;
  flicker: number | null;
  stillFlicker: number | null;
  stillFraction: number;
  /** Mean over frames of IoU against the reference tier's matte (agreement). */
  agreementIoU: number | null;
  /** Chroma-key clips only: scores against the pseudo ground truth (absent elsewhere). */
  chromaKey?: KeyScores;
  /** Only when the raw per-frame matte of the same tier was given (bench/metrics/motion-lag.ts). */
  lagMiss?: LagScores['lagMiss'];
  lagGhost?: LagScores['lagGhost'];
  lagMovingPixels?: number;
  lagMovingFgPixels?: number;
}

interface Frame {
  alpha: Uint8Array;
  luma: Uint8Array;
  gt?: Uint8Array | undefined;
  ref?: Uint8Array | undefined;
  /** Chroma-key pseudo ground truth and its hair band (bench/metrics/chroma-key.ts). */
  key?: Uint8Array | undefined;
  keyBand?: Uint8Array | undefined;
  /** The same tier's raw per-frame matte (`<tier>-raw`), for the motion lag. */
  raw?: Uint8Array | undefined;
}

/**
 * Streams a clip's frames through every metric, in order, keeping only the previous frame's
 * alpha, luma and ground truth. Callers may reuse their buffers between calls.
 */
export class QualityAccumulator {
  private frames = 0;
  private gtFrames = 0;
  private refFrames = 0;
  private dtFrames = 0;
  private sumJ = 0;
  private sumF = 0;
  private sumMad = 0;
  private sumDt = 0;
  private sumAgree = 0;
  private readonly flicker = emptyFlickerSums();
  private readonly key = emptyKeySums();
  private readonly lag = emptyLagSums();
  private hasRaw = false;
  private keyRoiMask: Uint8Array | undefined;
  private readonly prevAlpha: Uint8Array;
  private readonly prevLuma: Uint8Array;
  private readonly prevGt: Uint8Array;
  private hasPrevGt = false;
  private readonly tolerance: number;

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly opts: FlickerOptions = defaultFlickerOptions,
    private readonly lagOpts: LagOptions = defaultLagOptions,
  ) {
    const n = width * height;
    this.prevAlpha = new Uint8Array(n);
    this.prevLuma = new Uint8Array(n);
    this.prevGt = new Uint8Array(n);
    this.tolerance = boundaryTolerancePx(width, height);
  }

  add(f: Frame): void {
    const { width, height } = this;
    if (this.frames > 0)
      addFlickerSums(
        this.flicker,
        flickerPair(this.prevAlpha, f.alpha, this.prevLuma, f.luma, width, height, this.opts),
      );
    if (f.raw) {
      // Frame 0 has no previous luma, so no motion; it still marks the clip as scored for lag.
      if (this.frames > 0)
        addLagSums(this.lag, lagPair(this.prevLuma, f.luma, f.alpha, f.raw, width, height, this.lagOpts));
      this.hasRaw = true;
    }
    if (f.gt) {
      this.sumJ += regionIoU(f.alpha, f.gt);
      this.sumF += boundaryF(f.alpha, f.gt, width, height, this.tolerance).f;
      this.sumMad += meanAbsDiff(f.alpha, f.gt);
      if (this.hasPrevGt) {
        this.sumDt += dtssdFrame(this.prevAlpha, f.alpha, this.prevGt, f.gt);
        this.dtFrames++;
      }
      this.gtFrames++;
      this.prevGt.set(f.gt);
      this.hasPrevGt = true;
    } else this.hasPrevGt = false;
    if (f.key && f.keyBand) {
      this.keyRoiMask ??= keyRoi(width, height);
      addKeyFrame(this.key, f.alpha, f.key, f.keyBand, this.keyRoiMask);
    }
    if (f.ref) {
      this.sumAgree += regionIoU(f.alpha, f.ref);
      this.refFrames++;
    }
    this.prevAlpha.set(f.alpha);
    this.prevLuma.set(f.luma);
    this.frames++;
  }

  result(): ClipQuality {
    const gt = this.gtFrames > 0;
    const key = finishKey(this.key);
    return {
      frames: this.frames,
      j: gt ? this.sumJ / this.gtFrames : null,
      boundaryF: gt ? this.sumF / this.gtFrames : null,
      mad: gt ? this.sumMad / this.gtFrames : null,
      dtssd: this.dtFrames > 0 ? this.sumDt / this.dtFrames : null,
      ...finishFlicker(this.flicker),
      agreementIoU: this.refFrames > 0 ? this.sumAgree / this.refFrames : null,
      ...(key ? { chromaKey: key } : {}),
      ...(this.hasRaw ? finishLag(this.lag) : {}),
    };
  }
}
