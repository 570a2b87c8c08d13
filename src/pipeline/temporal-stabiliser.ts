/**
 * Temporal stabilisation of the per-frame matte, at matte resolution (before upsampling).
 *
 * Segmentation models run frame by frame, so in regions where the picture does not change the
 * matte still shimmers (ambiguous pixels, hair, low contrast). The stabiliser smooths the matte
 * over time only where the image is still, and passes it through unchanged where the image moved,
 * so moving people get no lag and leave no ghost trail.
 *
 * Per pixel i of frame t (luma L in [0,1], raw matte α_t, stabilised matte S_t):
 *
 *   motion:        D  = box_r(|L_t − L_{t−1}|)                 (r = motionRadius, rejects noise)
 *                  Δ  = |α_t − S_{t−1}|
 *                  D' = D · (1 + 2Δ)       image change that coincides with a matte change is
 *                                          more likely real motion (low-contrast movement)
 *                  m  = smoothstep(τ_lo, τ_hi, D')             0 = still … 1 = moving
 *                  τ_lo = clamp(2 · median_i(D), motionLow, 0.04),  τ_hi = τ_lo + (motionHigh − motionLow)
 *                                          the median of D over the frame is the sensor/codec
 *                                          noise level when most of the picture is still, so
 *                                          noisy sources do not read as motion everywhere; the
 *                                          cap keeps a whole-frame pan from hiding real motion
 *   blend (EMA):   β  = β_max · (1 − m),   β_max = 0.9 · strength
 *                  S_t = S_{t−1} + (1 − β) · (α_t − S_{t−1})
 *   hysteresis:    if Δ ≤ δ · (1 − m) then S_t = S_{t−1}
 *                  δ = δ_0 · (1 + 2 · (1 − |2·S_{t−1} − 1|)),  δ_0 = 0.015 · strength
 *                  A still pixel keeps its exact value until the model's new value differs by
 *                  more than δ; δ triples near α = 0.5, where the model is least sure and
 *                  pixels would otherwise toggle between in and out. (Exactly repeated alpha
 *                  also costs almost nothing to encode.)
 *   scene cut:     mean_i |L_t − L_{t−1}| > cutThreshold and the luma histogram moved by more
 *                  than CUT_HISTOGRAM_DISTANCE (scene-cut.ts: a fast pan passes the first test
 *                  alone) → S_t = α_t everywhere, state reset.
 *
 * In a moving region m = 1, so β = 0 and S_t = α_t: the new matte is taken in the same frame,
 * and the region the subject left (the image changed there too) is cleared at once. In a still
 * region a matte that flickers by independent noise of deviation σ keeps a frame-to-frame change
 * of (1 − β)·√(2/(1 + β))·σ instead of √2·σ (about 80 % less at strength 0.8), and genuine slow
 * changes still converge geometrically (half-life ln 2 / −ln β frames, 2 frames at strength 0.8).
 * strength = 0 passes the matte through exactly.
 *
 * Defaults: motionLow = 0.02, motionHigh = 0.06 (≈ 5 and 15 grey levels: above clean-source
 * noise averaged over the box, below any visible edge moving by a pixel), r = 1,
 * cutThreshold = 0.1 (a mean change of 10 % of full scale over the whole frame: a different
 * shot, not a person moving; a missed cut is harmless anyway since changed pixels read as
 * moving, and a false one only skips smoothing for one frame).
 * All buffers are allocated in the constructor; `apply` allocates nothing.
 */
import { boxMean, inverseCounts } from './guided-upsample.ts';
import { CUT_HISTOGRAM_DISTANCE, LumaHistogramChange } from './scene-cut.ts';

export interface TemporalStabiliserOptions {
  /** Matte resolution (the matte and the guide luma have width·height values). */
  width: number;
  height: number;
  /** 0 (off, pass-through) … 1 (strongest smoothing of still regions). */
  strength: number;
  /** Mean absolute luma difference (luma in [0,1]) above which a frame is a scene cut. Default 0.1. */
  cutThreshold?: number;
  /** Radius of the box filter over the luma difference. Default 1 (3×3). */
  motionRadius?: number;
  /** Smoothed luma difference below which a pixel is still. Default 0.02. */
  motionLow?: number;
  /** Smoothed luma difference above which a pixel is moving. Default 0.06. */
  motionHigh?: number;
}

/** Noise histogram: bins of 1/2048 up to 1/32, one overflow bin; τ_lo never exceeds NOISE_CAP. */
const HIST_BINS = 64;
const HIST_SCALE = 2048;
const NOISE_CAP = 0.04;

export interface StabiliseResult {
  /** True when this frame was detected as a scene cut (the matte was passed through). */
  sceneCut: boolean;
}

export class TemporalStabiliser {
  readonly width: number;
  readonly height: number;
  readonly strength: number;
  readonly cutThreshold: number;
  readonly motionRadius: number;
  readonly motionLow: number;
  readonly motionHigh: number;

  private readonly prevLuma: Float32Array;
  private readonly state: Float32Array;
  private readonly diff: Float32Array;
  private readonly motion: Float32Array;
  private readonly col: Float64Array;
  private readonly invX: Float64Array;
  private readonly invY: Float64Array;
  private readonly hist: Int32Array;
  private readonly histogram = new LumaHistogramChange();
  private hasPrev = false;
  /** Noise level (median smoothed luma difference) measured on the last frame. */
  noiseLevel = 0;

  constructor(opts: TemporalStabiliserOptions) {
    const { width, height } = opts;
    if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
      throw new RangeError(`invalid size ${width}×${height}`);
    }
    if (!(opts.strength >= 0 && opts.strength <= 1)) throw new RangeError('strength must be in [0,1]');
    this.width = width;
    this.height = height;
    this.strength = opts.strength;
    this.cutThreshold = opts.cutThreshold ?? 0.1;
    this.motionRadius = opts.motionRadius ?? 1;
    this.motionLow = opts.motionLow ?? 0.02;
    this.motionHigh = opts.motionHigh ?? 0.06;
    if (!Number.isInteger(this.motionRadius) || this.motionRadius < 0) {
      throw new RangeError('motionRadius must be an integer ≥ 0');
    }
    if (!(this.motionHigh > this.motionLow)) throw new RangeError('motionHigh must exceed motionLow');
    const n = width * height;
    this.prevLuma = new Float32Array(n);
    this.state = new Float32Array(n);
    this.diff = new Float32Array(n);
    this.motion = new Float32Array(n);
    this.col = new Float64Array(width);
    this.hist = new Int32Array(HIST_BINS + 1);
    this.invX = inverseCounts(width, this.motionRadius);
    this.invY = inverseCounts(height, this.motionRadius);
  }

  /** Forgets the history: the next frame passes through unchanged. */
  reset(): void {
    this.hasPrev = false;
    this.histogram.reset();
  }

  /**
   * Stabilises `matte` (alpha in [0,1]) using `guideLuma`, the frame's luma at matte resolution
   * (Uint8Array 0..255, or Float32Array in [0,1]). Writes the result to `out` (may be `matte`).
   * The first frame after construction or `reset()` passes through with sceneCut false.
   */
  apply(matte: Float32Array, guideLuma: Float32Array | Uint8Array, out: Float32Array): StabiliseResult {
    const n = this.width * this.height;
    if (matte.length !== n || guideLuma.length !== n || out.length !== n) {
      throw new RangeError(
        `expected ${n} values (matte ${matte.length}, luma ${guideLuma.length}, out ${out.length})`,
      );
    }
    const prev = this.prevLuma;
    const state = this.state;
    const histogramChange = this.histogram.next(guideLuma);

    if (!this.hasPrev) {
      const scale = guideLuma instanceof Uint8Array ? 1 / 255 : 1;
      for (let i = 0; i < n; i++) prev[i] = guideLuma[i]! * scale;
      state.set(matte);
      if (out !== matte) out.set(matte);
      this.hasPrev = true;
      return { sceneCut: false };
    }

    // Luma difference (and the new luma becomes the previous one); one loop per array type so
    // each stays monomorphic.
    const diff = this.diff;
    let total = 0;
    if (guideLuma instanceof Uint8Array) {
      for (let i = 0; i < n; i++) {
        const l = guideLuma[i]! * (1 / 255);
        const d = l - prev[i]!;
        const ad = d < 0 ? -d : d;
        diff[i] = ad;
        total += ad;
        prev[i] = l;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const l = guideLuma[i]!;
        const d = l - prev[i]!;
        const ad = d < 0 ? -d : d;
        diff[i] = ad;
        total += ad;
        prev[i] = l;
      }
    }
    if (total / n > this.cutThreshold && histogramChange > CUT_HISTOGRAM_DISTANCE) {
      state.set(matte);
      if (out !== matte) out.set(matte);
      return { sceneCut: true };
    }
    if (this.strength === 0) {
      state.set(matte);
      if (out !== matte) out.set(matte);
      return { sceneCut: false };
    }

    let D: Float32Array = diff;
    if (this.motionRadius > 0) {
      boxMean(diff, this.motion, this.width, this.height, this.motionRadius, this.col, this.invX, this.invY);
      D = this.motion;
    }

    // Noise level: median of D over every 4th pixel (histogram, no sort, no allocation).
    const hist = this.hist;
    hist.fill(0);
    let samples = 0;
    for (let i = 0; i < n; i += 4) {
      const b = (D[i]! * HIST_SCALE) | 0;
      hist[b < HIST_BINS ? b : HIST_BINS]!++;
      samples++;
    }
    let bin = 0;
    for (let acc = 0; bin < HIST_BINS; bin++) {
      acc += hist[bin]!;
      if (2 * acc >= samples) break;
    }
    this.noiseLevel = (bin + 0.5) / HIST_SCALE;
    const lo = Math.min(NOISE_CAP, Math.max(this.motionLow, 2 * this.noiseLevel));
    const invRange = 1 / (this.motionHigh - this.motionLow);
    const betaMax = 0.9 * this.strength;
    const delta0 = 0.015 * this.strength;
    // Branch-free per pixel (model noise makes the still/moving and deadband tests
    // unpredictable), except the common case of an unchanged value.
    for (let i = 0; i < n; i++) {
      const a = matte[i]!;
      const s = state[i]!;
      const change = a - s;
      if (change === 0) {
        out[i] = s;
        continue;
      }
      const absChange = Math.abs(change);
      const t = Math.min(1, Math.max(0, (D[i]! * (1 + 2 * absChange) - lo) * invRange));
      const still = 1 - t * t * (3 - 2 * t);
      const delta = delta0 * (3 - 2 * Math.abs(2 * s - 1));
      // 1 outside the deadband, 0 inside it.
      const gate = Math.max(0, Math.sign(absChange - delta * still));
      const v = s + gate * (1 - betaMax * still) * change;
      state[i] = v;
      out[i] = v;
    }
    return { sceneCut: false };
  }
}

/**
 * Output-resolution hold: the last step of the refiner, on the final 8-bit alpha.
 *
 * The model-resolution stabiliser cannot see what the guided upsampling does afterwards: each
 * output pixel is fitted from the matte and the image within the filter's window, so a limb moving
 * a few pixels away re-fits the coefficients of the still background and the still body around it
 * and their alpha shifts although their colour did not (on a static shot this was a third of the
 * bench's flicker). This pass compares each output pixel's own luma with the previous frame's:
 *
 *   d = |Y_t − Y_{t−1}| (0..255),   Δ = |α_t − O_{t−1}| (0..1)
 *   m = smoothstep(lo, hi, d · (1 + g·Δ))      0 = still … 1 = moving
 *   O_t = O_{t−1} + (1 − β·(1 − m)) · (α_t − O_{t−1})
 *
 * A pixel whose colour changed (m = 1) takes the new alpha in the same frame: the moving subject
 * and the background it uncovers get no lag, no trail. A pixel whose colour did not change keeps
 * most of its alpha (β = 0.8·strength). g = 1 lets a large alpha change count as motion on a
 * small luma change (a low-contrast edge moving): a full 0→1 flip doubles d. Measured with the
 * bench's flicker and lag (24 frames of juggle and dog, `original`): g = 4 → 1 took juggle's
 * flicker from 0.60 to 0.53 (raw 0.78) and dog's from 3.67 to 3.00, with the moving subject left
 * behind unchanged (lag miss 0.01 % / 2.6 %), trails 1.03 → 1.15 % on juggle and dog's J −0.002;
 * g = 0 went further (0.50, 2.50) but cost dog 0.02 of F and juggle more trail. lo = 3, hi = 10 levels: above clean-source
 * noise, below a visible edge moving by a pixel. A scene cut (mean d > cutLevels and a histogram
 * change, scene-cut.ts) passes through.
 */
export class OutputStabiliser {
  /** The previous frame (rgb24): luma is only needed where the alpha changed, mostly at edges. */
  private readonly prevRgb: Uint8Array;
  private readonly state: Uint8Array;
  private hasPrev = false;
  private readonly beta: number;
  /** Every CUT_SAMPLE_STRIDE-th pixel's luma, for the scene-cut test. */
  private readonly sampled: Uint8Array;
  private readonly histogram = new LumaHistogramChange();

  constructor(
    readonly width: number,
    readonly height: number,
    strength: number,
    private readonly lo = 3,
    private readonly hi = 10,
    private readonly gain = 1,
    private readonly cutLevels = 25,
  ) {
    if (!(strength >= 0 && strength <= 1)) throw new RangeError('strength must be in [0,1]');
    const n = width * height;
    this.prevRgb = new Uint8Array(3 * n);
    this.state = new Uint8Array(n);
    this.sampled = new Uint8Array(Math.ceil(n / CUT_SAMPLE_STRIDE));
    this.beta = 0.8 * strength;
  }

  reset(): void {
    this.hasPrev = false;
    this.histogram.reset();
  }

  /** Stabilises `alpha` in place; `rgb` is the full-resolution frame (rgb24). Allocates nothing. */
  apply(alpha: Uint8Array, rgb: Uint8Array | Buffer): void {
    const n = this.width * this.height;
    if (alpha.length !== n || rgb.length !== 3 * n)
      throw new RangeError(`expected ${n} alpha and ${3 * n} rgb values`);
    const prev = this.prevRgb;
    const state = this.state;
    // Scene cut on a sample of the pixels: a mean and a 32-bin histogram over a quarter of a
    // megapixel frame are as telling as over all of it, and this pass used to be a third of the
    // hold's cost at 1080p.
    const sampled = this.sampled;
    let total = 0;
    for (let i = 0, k = 0; i < n; i += CUT_SAMPLE_STRIDE, k++) {
      const y = luma601(rgb, 3 * i);
      sampled[k] = y;
      total += Math.abs(y - luma601(prev, 3 * i));
    }
    const histogramChange = this.histogram.next(sampled);
    if (
      !this.hasPrev ||
      (total / sampled.length > this.cutLevels && histogramChange > CUT_HISTOGRAM_DISTANCE)
    ) {
      prev.set(rgb);
      state.set(alpha);
      this.hasPrev = true;
      return;
    }
    // Most pixels of a matte are exactly 0 or 255 in both frames; compare four at a time and
    // only compute luma where the alpha changed.
    let i = 0;
    if (alpha.byteOffset % 4 === 0) {
      const a32 = new Uint32Array(alpha.buffer, alpha.byteOffset, n >>> 2);
      const s32 = new Uint32Array(state.buffer, state.byteOffset, n >>> 2);
      for (let w = 0; w < a32.length; w++) {
        if (a32[w] === s32[w]) continue;
        const end = 4 * w + 4;
        for (let j = 4 * w; j < end; j++) this.holdPixel(alpha, rgb, j);
      }
      i = a32.length * 4;
    }
    for (; i < n; i++) this.holdPixel(alpha, rgb, i);
    prev.set(rgb);
  }

  private holdPixel(alpha: Uint8Array, rgb: Uint8Array, i: number): void {
    const state = this.state;
    const a = alpha[i]!;
    const s = state[i]!;
    if (a === s) return;
    const d = Math.abs(luma601(rgb, 3 * i) - luma601(this.prevRgb, 3 * i));
    const change = a - s;
    const t = Math.min(
      1,
      Math.max(0, (d * (1 + (this.gain / 255) * Math.abs(change)) - this.lo) / (this.hi - this.lo)),
    );
    const still = 1 - t * t * (3 - 2 * t);
    const v = Math.round(s + (1 - this.beta * still) * change);
    state[i] = v;
    alpha[i] = v;
  }
}

/** Pixels between two samples of the hold's scene-cut test. */
const CUT_SAMPLE_STRIDE = 4;

/** Luma in integer BT.601 weights (the same as ffmpeg's gray conversion within a level). */
function luma601(rgb: Uint8Array, j: number): number {
  return (77 * rgb[j]! + 150 * rgb[j + 1]! + 29 * rgb[j + 2]! + 128) >> 8;
}
