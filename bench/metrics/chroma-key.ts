import { dilateDisc } from './boundary-f.ts';

/**
 * Chroma-key pseudo ground truth for clips shot in front of a flat coloured backdrop
 * (`grid-lwbsza`: blue/cyan), and the soft-edge scores against it. Independent of every model:
 * only the clip's own pixels go in. Method (bench/README.md, "Soft edges"):
 *
 * 1. Chroma c = (Cb, Cr) of each pixel (BT.601, centred on grey). Chroma is linear in RGB, so a
 *    pixel that mixes foreground F and backdrop B with coverage α has c = α·c_F + (1 − α)·c_B.
 * 2. Backdrop model: the robust mean chroma b of the frame's border bands (top rows, left and
 *    right columns of the upper part), outliers (a grey frame edge, a dark corner) trimmed.
 * 3. Distance: d = (b − c) / |b| split into the part along b and the part across it,
 *      s = 1 − (c·b̂) / |b|      (0 on the backdrop, 1 on grey, > 1 for colours opposite to it)
 *      q = |c − (c·b̂) b̂| / |b|   (off the backdrop-to-grey line: a colour the backdrop cannot mix to)
 *    For a grey foreground (the grey hair) s equals the true α exactly; q catches coloured ones.
 * 4. α = ramp(max(s, q); lo, hi): 0 below lo, 1 above hi, linear between. lo is above the
 *    backdrop's own noise (at least 3σ of s on the backdrop samples); hi < 1 makes it
 *    spill-robust: a grey strand that keeps up to 1 − hi of the backdrop's chroma as blue spill
 *    still reads as opaque. The ramp is symmetric about 0.5 (lo + hi = 1 when the noise floor does
 *    not raise lo), so the 50 % contour is where the true α is 0.5; the ramp is steeper than the
 *    truth, which makes the pseudo ground truth's soft band a lower bound of the real one.
 * 5. Clean-up by morphology only: the largest connected region of α ≥ 0.5 is the subject; α is
 *    cleared farther than `keepRadius` from it (frame edges, corners that are not backdrop); the
 *    subject's holes are filled and the result eroded by `coreRadius`: inside that core α = 1
 *    (bluish eyes, shadows), so only the outer band keeps the key's soft values.
 */

export interface BackdropModel {
  /**
   * Backdrop chroma as a plane over the image (Cb, Cr centred on grey): cb(x, y) = cb[0] +
   * cb[1]·x + cb[2]·y, same for cr. A plane because a lit backdrop is brighter on one side, and
   * where a channel clips its chroma shifts too (grid-lwbsza: left ≈ (29, −86), right ≈ (37, −61)).
   */
  cb: [number, number, number];
  cr: [number, number, number];
  /** RMS residual of the fit over the kept samples, in units of the local |b|. */
  sigma: number;
  /** Samples kept / samples taken in the border bands. */
  inlierShare: number;
}

export interface ChromaKeyOptions {
  /** Lower ramp threshold on max(s, q); raised to 3σ of the backdrop fit's residual when larger. */
  lo: number;
  /** Upper ramp threshold: at or above it the pixel is opaque (spill allowance 1 − hi). */
  hi: number;
  /** Regions of α > 0 farther than this (px) from the subject's α ≥ 0.5 region are cleared. */
  keepRadius: number;
  /** The filled subject eroded by this radius (px) is set opaque. */
  coreRadius: number;
  /**
   * Region of interest: the frame minus an outer `margin` px and the rows from `bottom` × height
   * down. grid-lwbsza's capture has grey columns at the left edge and a bright top row, and a
   * desk and studio corners in its bottom ~22 rows: neither backdrop nor subject. Outside the
   * region the pseudo ground truth is 0 and nothing is scored.
   */
  margin: number;
  bottom: number;
}

export const defaultChromaKeyOptions: ChromaKeyOptions = {
  lo: 0.1,
  hi: 0.9,
  keepRadius: 8,
  coreRadius: 10,
  margin: 6,
  bottom: 0.9,
};

/** Soft alpha: strictly between 0.05 and 0.95 on the [0, 1] scale (8-bit 13…242). */
export const SOFT_LO = 13;
export const SOFT_HI = 242;
/** The hair band is the pseudo ground truth's soft pixels in the subject's upper half, grown by this. */
export const HAIR_BAND_DILATE = 3;

function chroma(r: number, g: number, b: number): [number, number] {
  return [-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b];
}

/** The region of interest (0/1), see ChromaKeyOptions.margin. */
export function keyRoi(
  width: number,
  height: number,
  opts: ChromaKeyOptions = defaultChromaKeyOptions,
): Uint8Array {
  const roi = new Uint8Array(width * height);
  const y1 = Math.min(height - opts.margin, Math.round(height * opts.bottom));
  for (let y = opts.margin; y < y1; y++)
    roi.fill(1, y * width + opts.margin, y * width + width - opts.margin);
  return roi;
}

/** Least-squares plane v ≈ a + b·x + c·y through the samples (3×3 normal equations, Cramer). */
function fitPlane(xs: number[], ys: number[], vs: number[]): [number, number, number] {
  let n = 0,
    sx = 0,
    sy = 0,
    sxx = 0,
    sxy = 0,
    syy = 0,
    sv = 0,
    sxv = 0,
    syv = 0;
  for (let i = 0; i < vs.length; i++) {
    const x = xs[i] as number,
      y = ys[i] as number,
      v = vs[i] as number;
    n++;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
    sv += v;
    sxv += x * v;
    syv += y * v;
  }
  const det = (m: number[]): number =>
    (m[0] as number) * ((m[4] as number) * (m[8] as number) - (m[5] as number) * (m[7] as number)) -
    (m[1] as number) * ((m[3] as number) * (m[8] as number) - (m[5] as number) * (m[6] as number)) +
    (m[2] as number) * ((m[3] as number) * (m[7] as number) - (m[4] as number) * (m[6] as number));
  const A = [n, sx, sy, sx, sxx, sxy, sy, sxy, syy];
  const d = det(A);
  if (n === 0) return [0, 0, 0];
  if (Math.abs(d) < 1e-9) return [sv / n, 0, 0];
  return [
    det([sv, sx, sy, sxv, sxx, sxy, syv, sxy, syy]) / d,
    det([n, sv, sy, sx, sxv, sxy, sy, syv, syy]) / d,
    det([n, sx, sv, sx, sxx, sxv, sy, sxy, syv]) / d,
  ];
}

const plane = (p: [number, number, number], x: number, y: number): number => p[0] + p[1] * x + p[2] * y;

/**
 * Backdrop chroma from the border bands of an RGB frame (rgb24, w×h), inside the region of
 * interest: the top 10 % of rows and the outer 10 % of columns down to 60 % of the height (where a
 * talking head's backdrop shows). A plane is fitted to Cb and to Cr, then refitted twice on the
 * samples within `trim` chroma units of it, so that hair reaching into a band does not pull it.
 */
export function estimateBackdrop(
  rgb: Uint8Array,
  width: number,
  height: number,
  opts: ChromaKeyOptions = defaultChromaKeyOptions,
  trim = 10,
): BackdropModel {
  const m = opts.margin;
  const top = m + Math.max(1, Math.round(height * 0.1));
  const side = Math.max(1, Math.round(width * 0.1));
  const low = Math.round(height * 0.6);
  const xs: number[] = [];
  const ys: number[] = [];
  const cbs: number[] = [];
  const crs: number[] = [];
  for (let y = m; y < low; y++)
    for (let x = m; x < width - m; x++) {
      if (!(y < top || x < m + side || x >= width - m - side)) continue;
      const p = y * width + x;
      const [cb, cr] = chroma(rgb[3 * p] as number, rgb[3 * p + 1] as number, rgb[3 * p + 2] as number);
      xs.push(x);
      ys.push(y);
      cbs.push(cb);
      crs.push(cr);
    }
  let keep = cbs.map(() => true);
  let pCb: [number, number, number] = [0, 0, 0];
  let pCr: [number, number, number] = [0, 0, 0];
  for (let iter = 0; iter < 3; iter++) {
    const sel = (a: number[]): number[] => a.filter((_, i) => keep[i]);
    pCb = fitPlane(sel(xs), sel(ys), sel(cbs));
    pCr = fitPlane(sel(xs), sel(ys), sel(crs));
    // First pass: every sample counts, so trim loosely; then tighten to `trim`.
    const limit = iter === 0 ? trim * 3 : trim;
    keep = cbs.map(
      (cb, i) =>
        Math.hypot(
          cb - plane(pCb, xs[i] as number, ys[i] as number),
          (crs[i] as number) - plane(pCr, xs[i] as number, ys[i] as number),
        ) <= limit,
    );
  }
  let ss = 0;
  let n = 0;
  for (let i = 0; i < cbs.length; i++) {
    if (!keep[i]) continue;
    const bcb = plane(pCb, xs[i] as number, ys[i] as number);
    const bcr = plane(pCr, xs[i] as number, ys[i] as number);
    const len = Math.hypot(bcb, bcr);
    const r = Math.hypot((cbs[i] as number) - bcb, (crs[i] as number) - bcr) / Math.max(len, 1e-6);
    ss += r * r;
    n++;
  }
  const cx = width / 2;
  const cy = height / 2;
  if (Math.hypot(plane(pCb, cx, cy), plane(pCr, cx, cy)) < 5)
    throw new Error('estimateBackdrop: the border is grey, not a coloured backdrop');
  return {
    cb: pCb,
    cr: pCr,
    sigma: n > 0 ? Math.sqrt(ss / n) : 0,
    inlierShare: cbs.length > 0 ? n / cbs.length : 0,
  };
}

/** Step 1–4: the raw key, α on 0…255 (0 outside the region of interest), before the clean-up. */
export function chromaKeyRaw(
  rgb: Uint8Array,
  width: number,
  height: number,
  bd: BackdropModel,
  opts: ChromaKeyOptions = defaultChromaKeyOptions,
): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n);
  const roi = keyRoi(width, height, opts);
  const lo = Math.max(opts.lo, 3 * bd.sigma);
  // Keep the ramp symmetric about 0.5 when the noise floor raises lo, so that the 50 % contour
  // stays where the true α is 0.5.
  const hi = Math.max(lo + 0.05, Math.min(opts.hi, 1 - lo));
  for (let p = 0; p < n; p++) {
    if (roi[p] === 0) continue;
    const x = p % width;
    const y = (p - x) / width;
    const bcb = plane(bd.cb, x, y);
    const bcr = plane(bd.cr, x, y);
    const len2 = bcb * bcb + bcr * bcr;
    const [cb, cr] = chroma(rgb[3 * p] as number, rgb[3 * p + 1] as number, rgb[3 * p + 2] as number);
    const along = (cb * bcb + cr * bcr) / len2; // share of the backdrop's chroma present
    const s = 1 - along;
    const q = Math.hypot(cb - along * bcb, cr - along * bcr) / Math.sqrt(len2);
    const d = Math.max(s, q);
    const a = d <= lo ? 0 : d >= hi ? 1 : (d - lo) / (hi - lo);
    out[p] = Math.round(a * 255);
  }
  return out;
}

/** Labels of 8-connected regions of mask ≠ 0; returns the largest region as a 0/1 mask. */
function largestRegion(mask: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  const label = new Int32Array(n);
  const stack = new Int32Array(n);
  let best = 0;
  let bestSize = 0;
  let next = 0;
  for (let p0 = 0; p0 < n; p0++) {
    if (mask[p0] === 0 || label[p0] !== 0) continue;
    next++;
    let size = 0;
    let sp = 0;
    stack[sp++] = p0;
    label[p0] = next;
    while (sp > 0) {
      const p = stack[--sp] as number;
      size++;
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
          const q = yy * width + xx;
          if (mask[q] !== 0 && label[q] === 0) {
            label[q] = next;
            stack[sp++] = q;
          }
        }
    }
    if (size > bestSize) {
      bestSize = size;
      best = next;
    }
  }
  const out = new Uint8Array(n);
  if (best > 0) for (let p = 0; p < n; p++) out[p] = label[p] === best ? 1 : 0;
  return out;
}

/** Fills the holes of a 0/1 mask: background not 4-connected to the frame border becomes 1. */
function fillHoles(mask: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  const outside = new Uint8Array(n);
  const stack = new Int32Array(n);
  let sp = 0;
  const seed = (p: number): void => {
    if (mask[p] === 0 && outside[p] === 0) {
      outside[p] = 1;
      stack[sp++] = p;
    }
  };
  for (let x = 0; x < width; x++) {
    seed(x);
    seed((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    seed(y * width);
    seed(y * width + width - 1);
  }
  while (sp > 0) {
    const p = stack[--sp] as number;
    const x = p % width;
    if (x > 0) seed(p - 1);
    if (x < width - 1) seed(p + 1);
    if (p >= width) seed(p - width);
    if (p < n - width) seed(p + width);
  }
  const out = new Uint8Array(n);
  for (let p = 0; p < n; p++) out[p] = outside[p] === 0 ? 1 : 0;
  return out;
}

/** Step 5: the cleaned pseudo ground truth (α on 0…255) from a raw key. */
export function cleanKey(
  raw: Uint8Array,
  width: number,
  height: number,
  opts: ChromaKeyOptions = defaultChromaKeyOptions,
): Uint8Array {
  const n = width * height;
  const fg = new Uint8Array(n);
  for (let p = 0; p < n; p++) fg[p] = (raw[p] as number) >= 128 ? 1 : 0;
  const subject = largestRegion(fg, width, height);
  const keep = dilateDisc(subject, width, height, opts.keepRadius);
  const solid = fillHoles(subject, width, height);
  const notSolid = new Uint8Array(n);
  for (let p = 0; p < n; p++) notSolid[p] = solid[p] === 0 ? 1 : 0;
  const outsideGrown = dilateDisc(notSolid, width, height, opts.coreRadius);
  const out = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    if (outsideGrown[p] === 0) out[p] = 255;
    else if (keep[p] !== 0) out[p] = raw[p] as number;
  }
  return out;
}

/** The whole pseudo ground truth of one RGB frame. */
export function chromaKeyAlpha(
  rgb: Uint8Array,
  width: number,
  height: number,
  bd: BackdropModel,
  opts: ChromaKeyOptions = defaultChromaKeyOptions,
): Uint8Array {
  return cleanKey(chromaKeyRaw(rgb, width, height, bd, opts), width, height, opts);
}

/**
 * Hair band (0/1): the pseudo ground truth's soft pixels (SOFT_LO…SOFT_HI) in the upper half of
 * the subject's bounding box (of α ≥ 0.5), dilated by HAIR_BAND_DILATE px. For a talking head the
 * upper half's soft edge is the hair; the dilation lets a matte whose edge sits a pixel or two off,
 * or is hard, be scored on the same pixels.
 */
export function hairBand(
  gt: Uint8Array,
  width: number,
  height: number,
  dilate = HAIR_BAND_DILATE,
): Uint8Array {
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if ((gt[y * width + x] as number) >= 128) {
        if (y < top) top = y;
        bottom = y;
      }
  const soft = new Uint8Array(width * height);
  if (bottom < 0) return soft;
  const mid = top + Math.ceil((bottom - top + 1) / 2);
  for (let y = 0; y < mid; y++)
    for (let x = 0; x < width; x++) {
      const a = gt[y * width + x] as number;
      if (a >= SOFT_LO && a <= SOFT_HI) soft[y * width + x] = 1;
    }
  return dilateDisc(soft, width, height, dilate);
}

/** Per-frame sums for the soft-edge scores; pooled over a clip by adding them. */
export interface KeySums {
  frames: number;
  /** Σ over frames of the frame's MAD against the pseudo ground truth over the region of interest. */
  madSum: number;
  bandPixels: number;
  /** Σ over hair-band pixels of |α − g| / 255. */
  bandAbsDiff: number;
  /** Hair-band pixels whose α is soft, for the matte and for the pseudo ground truth. */
  bandSoft: number;
  bandSoftGt: number;
  pixels: number;
}

export function emptyKeySums(): KeySums {
  return { frames: 0, madSum: 0, bandPixels: 0, bandAbsDiff: 0, bandSoft: 0, bandSoftGt: 0, pixels: 0 };
}

export function addKeyFrame(
  s: KeySums,
  alpha: Uint8Array,
  gt: Uint8Array,
  band: Uint8Array,
  roi: Uint8Array,
): void {
  let all = 0;
  let count = 0;
  for (let p = 0; p < alpha.length; p++) {
    if (roi[p] === 0) continue;
    const a = alpha[p] as number;
    const g = gt[p] as number;
    const d = Math.abs(a - g);
    all += d;
    count++;
    if (band[p] === 0) continue;
    s.bandPixels++;
    s.bandAbsDiff += d / 255;
    if (a >= SOFT_LO && a <= SOFT_HI) s.bandSoft++;
    if (g >= SOFT_LO && g <= SOFT_HI) s.bandSoftGt++;
  }
  s.madSum += count > 0 ? all / count / 255 : 0;
  s.pixels += count;
  s.frames++;
}

export interface KeyScores {
  /** Mean over frames of MAD against the pseudo ground truth, whole region of interest. */
  mad: number;
  /** Pooled MAD over the hair band's pixels; null when no frame had a band. */
  hairMad: number | null;
  /** Share of hair-band pixels whose α is soft: the matte's, and the pseudo ground truth's. */
  hairSoftFraction: number | null;
  gtHairSoftFraction: number | null;
  /** Hair-band pixels / region-of-interest pixels. */
  hairBandFraction: number;
}

export function finishKey(s: KeySums): KeyScores | null {
  if (s.frames === 0) return null;
  const b = s.bandPixels;
  return {
    mad: s.madSum / s.frames,
    hairMad: b > 0 ? s.bandAbsDiff / b : null,
    hairSoftFraction: b > 0 ? s.bandSoft / b : null,
    gtHairSoftFraction: b > 0 ? s.bandSoftGt / b : null,
    hairBandFraction: s.pixels > 0 ? b / s.pixels : 0,
  };
}
