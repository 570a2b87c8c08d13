/**
 * Normalised convolution on a small grid: each cell holds weighted sums of `channels` values and
 * the sum of the weights (last slot), so a blur of sums divided by the blur of weights averages only
 * the pixels that count (background only, foreground only). Cells with no weight nearby are filled
 * by push-pull from coarser levels, so every cell ends with a sensible value. Shared by edge
 * decontamination and the blurred background, which both work at reduced resolution for speed.
 */
export class WeightedGrid {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** Interleaved cells of `channels` weighted sums followed by the weight. */
  readonly cells: Float32Array;
  /** Prefix sums of one line; float64 so long sums do not lose the small differences. */
  private readonly prefix: Float64Array;
  private readonly levels: WeightedGrid[] = [];

  constructor(width: number, height: number, channels: number) {
    this.width = width;
    this.height = height;
    if (channels !== 3) throw new RangeError('WeightedGrid holds rgb + weight cells only');
    this.channels = channels;
    this.cells = new Float32Array(width * height * (channels + 1));
    this.prefix = new Float64Array((Math.max(width, height) + 1) * (channels + 1));
  }

  clear(): void {
    this.cells.fill(0);
  }

  /** Sum of all weights; 0 means nothing counted and there is nothing to estimate from. */
  totalWeight(): number {
    const s = this.channels + 1;
    let t = 0;
    for (let i = this.channels; i < this.cells.length; i += s) t += this.cells[i] as number;
    return t;
  }

  /**
   * Box blur of radius r (cells), `passes` times; 2–3 passes approach a Gaussian of
   * σ ≈ r·√(passes/3). Outside the grid counts as zero weight, which normalisation makes right.
   */
  blur(r: number, passes: number): void {
    if (r < 1) return;
    for (let p = 0; p < passes; p++) {
      for (let y = 0; y < this.height; y++) this.blurLine(y * this.width, 1, this.width, r);
      this.blurColumns(r);
    }
  }

  /**
   * Vertical box filter as a running sum of whole rows, so memory is walked row by row (a
   * column-at-a-time pass strides across the grid and was ~3× slower).
   */
  private blurColumns(r: number): void {
    const n = this.width * 4;
    const h = this.height;
    const c = this.cells;
    const tmp = this.tmp ?? (this.tmp = new Float32Array(c.length));
    const acc = this.colAcc ?? (this.colAcc = new Float64Array(n));
    acc.fill(0);
    for (let y = 0; y <= r && y < h; y++)
      for (let j = 0, o = y * n; j < n; j++) acc[j] = (acc[j] as number) + (c[o + j] as number);
    for (let y = 0; y < h; y++) {
      const o = y * n;
      for (let j = 0; j < n; j++) tmp[o + j] = acc[j] as number;
      const add = y + r + 1;
      const sub = y - r;
      if (add < h)
        for (let j = 0, a = add * n; j < n; j++) acc[j] = (acc[j] as number) + (c[a + j] as number);
      if (sub >= 0)
        for (let j = 0, b = sub * n; j < n; j++) acc[j] = (acc[j] as number) - (c[b + j] as number);
    }
    c.set(tmp);
  }

  private tmp: Float32Array | undefined;
  private colAcc: Float64Array | undefined;

  /**
   * Box filter along one row or column (cell stride `step`, `n` cells) through prefix sums. Written
   * out for the 4-slot cell (rgb + weight) every caller uses: a generic channel loop is ~2× slower.
   */
  private blurLine(start: number, step: number, n: number, r: number): void {
    const c = this.cells;
    const P = this.prefix;
    P[0] = P[1] = P[2] = P[3] = 0;
    for (let i = 0, q = 4; i < n; i++, q += 4) {
      const o = (start + i * step) * 4;
      P[q] = (P[q - 4] as number) + (c[o] as number);
      P[q + 1] = (P[q - 3] as number) + (c[o + 1] as number);
      P[q + 2] = (P[q - 2] as number) + (c[o + 2] as number);
      P[q + 3] = (P[q - 1] as number) + (c[o + 3] as number);
    }
    for (let i = 0; i < n; i++) {
      const hi = (i + r + 1 < n ? i + r + 1 : n) * 4;
      const lo = (i - r > 0 ? i - r : 0) * 4;
      const o = (start + i * step) * 4;
      c[o] = (P[hi] as number) - (P[lo] as number);
      c[o + 1] = (P[hi + 1] as number) - (P[lo + 1] as number);
      c[o + 2] = (P[hi + 2] as number) - (P[lo + 2] as number);
      c[o + 3] = (P[hi + 3] as number) - (P[lo + 3] as number);
    }
  }

  /**
   * Writes weighted means (`channels` values per cell, interleaved) to `out`. Where a cell's weight
   * is small against `minWeight`, the coarser push-pull level takes over smoothly (bilinear), so
   * holes far from any counted pixel get the nearest region's value rather than noise or NaN.
   */
  normalize(out: Float32Array, minWeight: number): void {
    const c = this.channels;
    const s = c + 1;
    const cells = this.cells;
    if (this.width * this.height === 1) {
      const w = cells[c] as number;
      for (let k = 0; k < c; k++) out[k] = w > 0 ? (cells[k] as number) / w : 0;
      return;
    }
    let needCoarse = false;
    for (let i = c; i < cells.length; i += s) {
      if ((cells[i] as number) < minWeight) {
        needCoarse = true;
        break;
      }
    }
    if (!needCoarse) {
      for (let i = 0, o = 0; i < cells.length; i += s, o += c) {
        const inv = 1 / (cells[i + c] as number);
        for (let k = 0; k < c; k++) out[o + k] = (cells[i + k] as number) * inv;
      }
      return;
    }
    const coarse = this.coarser();
    const cw = coarse.width;
    const ch = coarse.height;
    coarse.clear();
    const cc = coarse.cells;
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        const i = (y * this.width + x) * s;
        const o = ((y >> 1) * cw + (x >> 1)) * s;
        for (let k = 0; k < s; k++) cc[o + k] = (cc[o + k] as number) + (cells[i + k] as number);
      }
    }
    const coarseOut = coarse.scratch ?? (coarse.scratch = new Float32Array(cw * ch * c));
    // Four fine cells sum into one coarse cell, so its "enough weight" is four times larger.
    coarse.normalize(coarseOut, minWeight * 4);
    const tx = this.pullTable ?? (this.pullTable = halfTable(this.width, cw));
    const ty = this.pullTableY ?? (this.pullTableY = halfTable(this.height, ch));
    for (let y = 0; y < this.height; y++) {
      const y0 = ty.i0[y] as number;
      const y1 = ty.i1[y] as number;
      const fy = ty.f[y] as number;
      for (let x = 0; x < this.width; x++) {
        const x0 = tx.i0[x] as number;
        const x1 = tx.i1[x] as number;
        const fx = tx.f[x] as number;
        const i = (y * this.width + x) * s;
        const w = cells[i + c] as number;
        // Confidence in the cell's own mean rises with its weight; below minWeight the coarse
        // level dominates.
        const t = w / (w + minWeight);
        const inv = w > 0 ? 1 / w : 0;
        const a = (y0 * cw + x0) * c;
        const b = (y0 * cw + x1) * c;
        const d = (y1 * cw + x0) * c;
        const e = (y1 * cw + x1) * c;
        for (let k = 0; k < c; k++) {
          const top = (coarseOut[a + k] as number) * (1 - fx) + (coarseOut[b + k] as number) * fx;
          const bot = (coarseOut[d + k] as number) * (1 - fx) + (coarseOut[e + k] as number) * fx;
          const up = top + (bot - top) * fy;
          out[(y * this.width + x) * c + k] = t * (cells[i + k] as number) * inv + (1 - t) * up;
        }
      }
    }
  }

  private scratch: Float32Array | undefined;
  private pullTable: HalfTable | undefined;
  private pullTableY: HalfTable | undefined;

  private coarser(): WeightedGrid {
    let g = this.levels[0];
    if (!g) {
      g = new WeightedGrid(Math.ceil(this.width / 2), Math.ceil(this.height / 2), this.channels);
      this.levels[0] = g;
    }
    return g;
  }
}

interface HalfTable {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}

/** Bilinear taps from a fine axis of n cells to the half-resolution axis of m cells (clamped). */
function halfTable(n: number, m: number): HalfTable {
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const f = new Float32Array(n);
  for (let x = 0; x < n; x++) {
    const u = Math.min(Math.max(x / 2 - 0.25, 0), m - 1);
    const a = Math.floor(u);
    i0[x] = a;
    i1[x] = Math.min(a + 1, m - 1);
    f[x] = u - a;
  }
  return { i0, i1, f };
}

/**
 * Bilinear lookup of an interleaved `channels`-valued grid of `cell`-pixel cells at a full
 * resolution pixel centre; grid values sit at cell centres, borders clamp.
 */
export function sampleGrid(
  values: Float32Array,
  gw: number,
  gh: number,
  channels: number,
  cell: number,
  x: number,
  y: number,
  out: Float32Array,
): void {
  let u = (x + 0.5) / cell - 0.5;
  let v = (y + 0.5) / cell - 0.5;
  u = u < 0 ? 0 : u > gw - 1 ? gw - 1 : u;
  v = v < 0 ? 0 : v > gh - 1 ? gh - 1 : v;
  const x0 = u | 0;
  const y0 = v | 0;
  const x1 = x0 + 1 < gw ? x0 + 1 : x0;
  const y1 = y0 + 1 < gh ? y0 + 1 : y0;
  const fx = u - x0;
  const fy = v - y0;
  const a = (y0 * gw + x0) * channels;
  const b = (y0 * gw + x1) * channels;
  const d = (y1 * gw + x0) * channels;
  const e = (y1 * gw + x1) * channels;
  for (let k = 0; k < channels; k++) {
    const top = (values[a + k] as number) + ((values[b + k] as number) - (values[a + k] as number)) * fx;
    const bot = (values[d + k] as number) + ((values[e + k] as number) - (values[d + k] as number)) * fx;
    out[k] = top + (bot - top) * fy;
  }
}
