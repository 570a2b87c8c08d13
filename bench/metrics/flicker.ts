/**
 * Matte flicker without ground truth: change of alpha between consecutive frames that the image
 * does not explain. Y is 8-bit luma, α the matte on the [0, 1] scale, for a frame pair (t−1, t):
 *
 *   D_t(p) = |Y_t(p) − Y_{t−1}(p)|                    luma change, 0..255
 *   w_t(p) = max(0, 1 − D_t(p) / τ)                     still-weight: 1 where the image is unchanged
 *   flicker      = Σ_t Σ_p w_t(p) · |α_t(p) − α_{t−1}(p)|  /  Σ_t Σ_p w_t(p)
 *
 *   S_t = {p : max over the 3×3 window around p of D_t < θ}   still region
 *   stillFlicker = Σ_t Σ_{p∈S_t} |α_t(p) − α_{t−1}(p)|  /  Σ_t |S_t|
 *   stillFraction = Σ_t |S_t| / ((T − 1) · N)
 *
 * Sums are pooled over the clip (frames with little still area weigh little). Defaults τ = 12,
 * θ = 6 luma levels: above H.264 noise on static backgrounds, below real motion. Lower is better;
 * 0 means the matte never changes where the picture does not. `flickerPair` returns the sums of
 * one frame pair; `FlickerSums` adds them up and `finishFlicker` turns them into the scores.
 */
export interface FlickerOptions {
  tau: number;
  stillThreshold: number;
}

export const defaultFlickerOptions: FlickerOptions = { tau: 12, stillThreshold: 6 };

export interface FlickerSums {
  weightedChange: number;
  weight: number;
  stillChange: number;
  stillPixels: number;
  pixels: number;
}

export function emptyFlickerSums(): FlickerSums {
  return { weightedChange: 0, weight: 0, stillChange: 0, stillPixels: 0, pixels: 0 };
}

/** 1 where the 3×3 neighbourhood's largest luma change is below `threshold`. */
export function stillMask(
  lumaPrev: Uint8Array,
  luma: Uint8Array,
  width: number,
  height: number,
  threshold: number,
  out?: Uint8Array,
): Uint8Array {
  const n = width * height;
  const diff = new Uint8Array(n);
  for (let i = 0; i < n; i++) diff[i] = Math.abs((luma[i] as number) - (lumaPrev[i] as number));
  // Separable 3×3 max: rows, then columns.
  const rowMax = new Uint8Array(n);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let m = diff[row + x] as number;
      if (x > 0) m = Math.max(m, diff[row + x - 1] as number);
      if (x < width - 1) m = Math.max(m, diff[row + x + 1] as number);
      rowMax[row + x] = m;
    }
  }
  const s = out ?? new Uint8Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let m = rowMax[i] as number;
      if (y > 0) m = Math.max(m, rowMax[i - width] as number);
      if (y < height - 1) m = Math.max(m, rowMax[i + width] as number);
      s[i] = m < threshold ? 1 : 0;
    }
  }
  return s;
}

export function flickerPair(
  alphaPrev: Uint8Array,
  alpha: Uint8Array,
  lumaPrev: Uint8Array,
  luma: Uint8Array,
  width: number,
  height: number,
  opts: FlickerOptions = defaultFlickerOptions,
): FlickerSums {
  const n = width * height;
  if (alphaPrev.length !== n || alpha.length !== n || lumaPrev.length !== n || luma.length !== n)
    throw new Error('flickerPair: buffer sizes do not match width × height');
  const still = stillMask(lumaPrev, luma, width, height, opts.stillThreshold);
  let weightedChange = 0;
  let weight = 0;
  let stillChange = 0;
  let stillPixels = 0;
  for (let i = 0; i < n; i++) {
    const da = Math.abs((alpha[i] as number) - (alphaPrev[i] as number)) / 255;
    const w = 1 - Math.abs((luma[i] as number) - (lumaPrev[i] as number)) / opts.tau;
    if (w > 0) {
      weightedChange += w * da;
      weight += w;
    }
    if (still[i] === 1) {
      stillChange += da;
      stillPixels++;
    }
  }
  return { weightedChange, weight, stillChange, stillPixels, pixels: n };
}

export function addFlickerSums(acc: FlickerSums, s: FlickerSums): FlickerSums {
  acc.weightedChange += s.weightedChange;
  acc.weight += s.weight;
  acc.stillChange += s.stillChange;
  acc.stillPixels += s.stillPixels;
  acc.pixels += s.pixels;
  return acc;
}

export interface FlickerScores {
  /** null when no pair had any still weight (every pixel changed by ≥ τ). */
  flicker: number | null;
  /** null when no pixel was ever in a still region. */
  stillFlicker: number | null;
  stillFraction: number;
}

export function finishFlicker(s: FlickerSums): FlickerScores {
  return {
    flicker: s.weight > 0 ? s.weightedChange / s.weight : null,
    stillFlicker: s.stillPixels > 0 ? s.stillChange / s.stillPixels : null,
    stillFraction: s.pixels > 0 ? s.stillPixels / s.pixels : 0,
  };
}
