import { BINARY_THRESHOLD } from './region-iou.ts';

/**
 * Boundary accuracy (DAVIS "F"): how well the contour of the binarised matte matches the contour
 * of the reference, allowing a small spatial tolerance.
 *
 *   B(M) = {p ∈ M : some 4-neighbour of p inside the image is not in M}   (1-px inner contour)
 *   r    = ceil(0.008 · sqrt(W² + H²))                                    (8 px at 854×480)
 *   D_r(B) = B dilated by the disc {(dx, dy) : dx² + dy² ≤ r²}
 *   precision P = |B(pred) ∩ D_r(B(gt))| / |B(pred)|
 *   recall    R = |B(gt) ∩ D_r(B(pred))| / |B(gt)|
 *   F = 2PR / (P + R)   (0 when P + R = 0)
 *
 * Empty contours: both empty → P = R = F = 1; only pred empty → P = 1, R = 0; only gt empty →
 * P = 0, R = 1 (F = 0 in both cases). The frame's own border is not a contour, as in DAVIS.
 */
export interface BoundaryScore {
  precision: number;
  recall: number;
  f: number;
}

export const BOUNDARY_TOLERANCE_FRACTION = 0.008;

export function boundaryTolerancePx(width: number, height: number): number {
  return Math.max(1, Math.ceil(BOUNDARY_TOLERANCE_FRACTION * Math.hypot(width, height)));
}

/** 1 where the pixel is on the inner contour of {v ≥ 128}, else 0. */
export function boundaryMap(mask: Uint8Array, width: number, height: number, out?: Uint8Array): Uint8Array {
  const b = out ?? new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const i = row + x;
      if ((mask[i] as number) < BINARY_THRESHOLD) {
        b[i] = 0;
        continue;
      }
      const bg =
        (x > 0 && (mask[i - 1] as number) < BINARY_THRESHOLD) ||
        (x < width - 1 && (mask[i + 1] as number) < BINARY_THRESHOLD) ||
        (y > 0 && (mask[i - width] as number) < BINARY_THRESHOLD) ||
        (y < height - 1 && (mask[i + width] as number) < BINARY_THRESHOLD);
      b[i] = bg ? 1 : 0;
    }
  }
  return b;
}

/** Marks every pixel within Euclidean distance r of a set pixel of `b` (disc dilation). */
export function dilateDisc(
  b: Uint8Array,
  width: number,
  height: number,
  r: number,
  out?: Uint8Array,
): Uint8Array {
  const d = out ?? new Uint8Array(width * height);
  d.fill(0);
  const half: number[] = [];
  for (let dy = -r; dy <= r; dy++) half.push(Math.floor(Math.sqrt(r * r - dy * dy)));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (b[y * width + x] === 0) continue;
      for (let dy = -r; dy <= r; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        const hw = half[dy + r] as number;
        const x0 = Math.max(0, x - hw);
        const x1 = Math.min(width - 1, x + hw);
        d.fill(1, yy * width + x0, yy * width + x1 + 1);
      }
    }
  }
  return d;
}

function matched(b: Uint8Array, dilatedOther: Uint8Array): { hits: number; total: number } {
  let hits = 0;
  let total = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) continue;
    total++;
    if (dilatedOther[i] !== 0) hits++;
  }
  return { hits, total };
}

export function boundaryF(
  pred: Uint8Array,
  gt: Uint8Array,
  width: number,
  height: number,
  tolerancePx: number = boundaryTolerancePx(width, height),
): BoundaryScore {
  if (pred.length !== width * height || gt.length !== width * height)
    throw new Error('boundaryF: mask sizes do not match width × height');
  const bp = boundaryMap(pred, width, height);
  const bg = boundaryMap(gt, width, height);
  const p = matched(bp, dilateDisc(bg, width, height, tolerancePx));
  const r = matched(bg, dilateDisc(bp, width, height, tolerancePx));
  if (p.total === 0 && r.total === 0) return { precision: 1, recall: 1, f: 1 };
  const precision = p.total === 0 ? 1 : p.hits / p.total;
  const recall = r.total === 0 ? 1 : r.hits / r.total;
  const f = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f };
}
