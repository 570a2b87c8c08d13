/**
 * Motion lag of a temporally smoothed matte against the same model's raw per-frame matte, where
 * the picture moves. Y is 8-bit luma, α the variant's matte and ρ the raw matte (8-bit), for a
 * frame pair (t−1, t):
 *
 *   D_t(p) = |Y_t(p) − Y_{t−1}(p)|
 *   M_t    = {p : mean of D_t over the 3×3 window around p ≥ θ}      moving pixels, θ = 12
 *            (outside the frame D = 0)
 *   F = {ρ_t ≥ 128},  A = {α_t ≥ 128},  X⁺ = X dilated by a (2r+1)² square, r = 3 px
 *
 *   lagMiss  = Σ_t |M_t ∩ F ∖ A⁺|  /  Σ_t |M_t ∩ F|     moving subject the matte left out
 *   lagGhost = Σ_t |M_t ∩ A ∖ F⁺|  /  Σ_t |M_t ∖ F|     trail the matte kept where the raw one let go
 *
 * The tolerance r: the tier's edge refinement snaps a contour to the image's own edges, which
 * moves a moving limb's outline by a pixel or two against the raw model's bilinear one. Counted
 * as lag, that made the figure mostly edge placement (on juggle, ~8 % for `human` with r = 0,
 * 0.4 % with r = 3); with r = 3 only a part of the subject left behind (a ball, a foot) counts,
 * which is what lag looks like.
 *
 * Pooled over the clip (pixel sums, not a mean of per-frame ratios, so frames with little motion
 * weigh little); null when the denominator is 0. Lower is better; 0 means the variant agrees
 * with the raw matte wherever the image moved. Only the raw matte's disagreement with the
 * variant is counted, so the raw model's own errors cancel out. The bench's raw baseline also
 * lacks edge refinement and the subject crop, so the figures include where those move a moving
 * edge by a few pixels, not only temporal lag: compare a tier with itself across runs.
 *
 * Why the 3×3 mean: codec noise and grain change single pixels by more than 12 levels here and
 * there on a still background; averaged over 3×3 such a spike counts 1/9, while a real moving
 * edge changes whole runs of pixels. It also widens a strong moving edge by up to a pixel, which
 * is harmless: pixels are only counted where the two mattes disagree. θ = 12 is the flicker
 * metric's τ (bench/metrics/flicker.ts), so lag is measured where flicker stops looking. The
 * bench computes its own mean instead of reusing the stabiliser's box filter so that the metric
 * stays independent of the code it judges.
 */
export interface LagOptions {
  /** Threshold θ on the 3×3 mean of |ΔY|, in luma levels (0..255). */
  threshold: number;
  /** Pixels a disagreement must lie beyond the other matte to count (r). */
  tolerance: number;
}

export const defaultLagOptions: LagOptions = { threshold: 12, tolerance: 3 };

/** 8-bit binarisation, as for J (alpha > 0.5). */
const FG = 128;

export interface LagSums {
  /** Σ |M_t|: every moving pixel of every frame pair. */
  moving: number;
  /** Σ |M_t ∩ F| and how many of them the variant left out. */
  movingFg: number;
  missed: number;
  /** Σ |M_t ∖ F| and how many of them the variant kept. */
  movingBg: number;
  ghost: number;
}

export function emptyLagSums(): LagSums {
  return { moving: 0, movingFg: 0, missed: 0, movingBg: 0, ghost: 0 };
}

/**
 * 1 where the mean of |ΔY| over the 3×3 window is ≥ threshold. Outside the frame counts as
 * unchanged (the sum is always divided by 9), so a noise spike in a corner weighs 1/9 like
 * anywhere else instead of 1/4.
 */
export function movingMask(
  lumaPrev: Uint8Array,
  luma: Uint8Array,
  width: number,
  height: number,
  threshold: number,
): Uint8Array {
  const n = width * height;
  // Separable box sum: 3 values ≤ 255 per row sum, 9 per window, so 16 bits suffice.
  const rowSum = new Uint16Array(n);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        if (xx >= 0 && xx < width) s += Math.abs((luma[row + xx] as number) - (lumaPrev[row + xx] as number));
      }
      rowSum[row + x] = s;
    }
  }
  const out = new Uint8Array(n);
  const min = threshold * 9;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let s = rowSum[i] as number;
      if (y > 0) s += rowSum[i - width] as number;
      if (y < height - 1) s += rowSum[i + width] as number;
      out[i] = s >= min ? 1 : 0;
    }
  }
  return out;
}

/** 1 where some pixel of the (2r+1)² square around p is foreground (≥ FG): a separable max. */
export function dilatedForeground(matte: Uint8Array, width: number, height: number, r: number): Uint8Array {
  const n = width * height;
  const rows = new Uint8Array(n);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    // Distance to the last foreground pixel seen from the left and from the right.
    let last = -Infinity;
    for (let x = 0; x < width; x++) {
      if ((matte[row + x] as number) >= FG) last = x;
      if (x - last <= r) rows[row + x] = 1;
    }
    last = Infinity;
    for (let x = width - 1; x >= 0; x--) {
      if ((matte[row + x] as number) >= FG) last = x;
      if (last - x <= r) rows[row + x] = 1;
    }
  }
  const out = new Uint8Array(n);
  for (let x = 0; x < width; x++) {
    let last = -Infinity;
    for (let y = 0; y < height; y++) {
      if (rows[y * width + x]) last = y;
      if (y - last <= r) out[y * width + x] = 1;
    }
    last = Infinity;
    for (let y = height - 1; y >= 0; y--) {
      if (rows[y * width + x]) last = y;
      if (last - y <= r) out[y * width + x] = 1;
    }
  }
  return out;
}

/** The sums of one frame pair: luma of t−1 and t, the variant's and the raw matte at t. */
export function lagPair(
  lumaPrev: Uint8Array,
  luma: Uint8Array,
  alpha: Uint8Array,
  raw: Uint8Array,
  width: number,
  height: number,
  opts: LagOptions = defaultLagOptions,
): LagSums {
  const n = width * height;
  if (lumaPrev.length !== n || luma.length !== n || alpha.length !== n || raw.length !== n)
    throw new Error('lagPair: buffer sizes do not match width × height');
  const moving = movingMask(lumaPrev, luma, width, height, opts.threshold);
  const alphaNear = dilatedForeground(alpha, width, height, opts.tolerance);
  const rawNear = dilatedForeground(raw, width, height, opts.tolerance);
  const s = emptyLagSums();
  for (let i = 0; i < n; i++) {
    if (moving[i] === 0) continue;
    s.moving++;
    if ((raw[i] as number) >= FG) {
      s.movingFg++;
      if (!alphaNear[i]) s.missed++;
    } else {
      s.movingBg++;
      if ((alpha[i] as number) >= FG && !rawNear[i]) s.ghost++;
    }
  }
  return s;
}

export function addLagSums(acc: LagSums, s: LagSums): LagSums {
  acc.moving += s.moving;
  acc.movingFg += s.movingFg;
  acc.missed += s.missed;
  acc.movingBg += s.movingBg;
  acc.ghost += s.ghost;
  return acc;
}

export interface LagScores {
  /** Share of moving raw-foreground pixels the variant has as background; null without any. */
  lagMiss: number | null;
  /** Share of moving raw-background pixels the variant has as foreground; null without any. */
  lagGhost: number | null;
  /** Moving pixels summed over the clip's frame pairs (what both shares are based on). */
  lagMovingPixels: number;
  /** Of them, where the raw matte is foreground (lagMiss's denominator). */
  lagMovingFgPixels: number;
}

export function finishLag(s: LagSums): LagScores {
  return {
    lagMiss: s.movingFg > 0 ? s.missed / s.movingFg : null,
    lagGhost: s.movingBg > 0 ? s.ghost / s.movingBg : null,
    lagMovingPixels: s.moving,
    lagMovingFgPixels: s.movingFg,
  };
}
