import sharp from 'sharp';
import type { CanvasLayout } from './canvas-layout.ts';
import { linearToSrgb, srgbToLinear } from './linear-light.ts';
import { WeightedGrid } from './weighted-grid.ts';

/**
 * The "blur" background: the source frame's own background, blurred, behind the subject.
 *
 * Strength 0..100 maps linearly to a Gaussian σ of up to 6 % of the source's shorter side
 * (σ = strength/100 · 0.06 · min(W,H); 1080p: 50 → σ ≈ 32 px, 100 → σ ≈ 65 px), so a setting
 * looks the same at any resolution. Strength 0 is the unblurred frame.
 *
 * The subject is cut out of the blur by normalised convolution, blur(rgb·w)/blur(w) with
 * w = (1−α)²: a plain blur would smear the subject's colour into a halo around it, right where
 * the eye looks. Where the subject covers everything within reach, push-pull fills in the
 * nearest background. The work happens on a grid of σ/3-pixel cells (at least 1/135 of the
 * shorter side; linear light, 3-pass box blur ≈ Gaussian), sampled from every other pixel when
 * cells are 4 px or more; one incremental bilinear pass then scales the grid to cover the canvas
 * (sharp took ~36 ms for that upscale). Measured on the 2-core dev machine (Node 20, 1080p source
 * and canvas, machine otherwise busy): ~18–23 ms/frame at strength 50, of which ~10 ms is the
 * canvas-size pass; see the timing test in test/pipeline/compose/background-source.test.ts.
 */
export const BLUR_SIGMA_PER_STRENGTH = 0.06 / 100;

export function blurSigma(strength: number, srcW: number, srcH: number): number {
  return Math.max(0, Math.min(100, strength)) * BLUR_SIGMA_PER_STRENGTH * Math.min(srcW, srcH);
}

/** Background weight by alpha byte: (1−α)², so half-covered edge pixels barely count. */
const bgWeight: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let a = 0; a < 256; a++) t[a] = (1 - a / 255) ** 2;
  return t;
})();

export class BackgroundBlur {
  readonly srcWidth: number;
  readonly srcHeight: number;
  readonly sigma: number;
  private readonly canvasWidth: number;
  private readonly canvasHeight: number;
  private readonly cell: number;
  /** 0 = unblurred. */
  private readonly radius: number;
  private readonly passes: number;
  /** Canvas columns in runs over one grid interval: start column, grid index, u at start, du. */
  private readonly runs: { start: Int32Array; k: Int32Array; f0: Float64Array; df: Float64Array };
  private readonly rowK: Int32Array;
  private readonly rowF: Float32Array;
  private readonly vrow: Float32Array;
  private readonly srgbMeans: Float32Array;
  private readonly frame: Uint8Array;
  private readonly stride: number;
  private readonly grid: WeightedGrid;
  private readonly means: Float32Array;
  private readonly rowAcc: Float64Array;
  private readonly colCell: Int32Array;

  constructor(srcWidth: number, srcHeight: number, layout: CanvasLayout, strength: number) {
    this.srcWidth = srcWidth;
    this.srcHeight = srcHeight;
    this.canvasWidth = layout.canvasWidth;
    this.canvasHeight = layout.canvasHeight;
    this.sigma = blurSigma(strength, srcWidth, srcHeight);
    // σ ≥ 0.5 px is visible; below that, strength maps to "unblurred".
    const blurred = this.sigma >= 0.5;
    // A floor on the cell size bounds the grid (≤ ~270 cells on the shorter side): small σ on a
    // big frame would otherwise blur a near full-resolution grid. The cell's own box adds a
    // little blur (variance cell²/12), well under the requested σ.
    const minCell = Math.max(1, Math.round(Math.min(srcWidth, srcHeight) / 135));
    this.cell = blurred ? Math.max(minCell, Math.floor(this.sigma / 3)) : 1;
    const sc = this.sigma / this.cell;
    // A box pass of radius r has variance r(r+1)/3: three passes approach a Gaussian; a σ under
    // ~1.4 cells takes fewer passes of radius 1 instead.
    if (!blurred) {
      this.radius = 0;
      this.passes = 0;
    } else if (sc >= Math.SQRT2) {
      this.radius = Math.max(1, Math.round((Math.sqrt(1 + 4 * sc * sc) - 1) / 2));
      this.passes = 3;
    } else {
      this.radius = 1;
      this.passes = Math.min(3, Math.max(1, Math.round(1.5 * sc * sc)));
    }
    this.stride = this.cell >= 4 ? 2 : 1;
    const gw = blurred ? Math.ceil(srcWidth / this.cell) : 1;
    const gh = blurred ? Math.ceil(srcHeight / this.cell) : 1;
    this.grid = new WeightedGrid(gw, gh, 3);
    this.means = new Float32Array(blurred ? gw * gh * 3 : 0);
    this.rowAcc = new Float64Array(blurred ? gw * 4 : 0);
    this.colCell = new Int32Array(srcWidth);
    for (let x = 0; x < srcWidth; x++) this.colCell[x] = (x / this.cell) | 0;
    this.srgbMeans = new Float32Array(this.means.length);
    this.frame = new Uint8Array(blurred ? this.canvasWidth * this.canvasHeight * 3 : 0);
    this.vrow = new Float32Array(gw * 3);

    // Cover: the source scaled by s fills the canvas, centred. Grid values sit at cell centres.
    const s = Math.max(this.canvasWidth / srcWidth, this.canvasHeight / srcHeight);
    const gridCoord = (c: number, n: number, src: number, cells: number): number => {
      const u = ((c + 0.5 - n / 2) / s + src / 2) / this.cell - 0.5;
      return u < 0 ? 0 : u > cells - 1 ? cells - 1 : u;
    };
    this.rowK = new Int32Array(this.canvasHeight);
    this.rowF = new Float32Array(this.canvasHeight);
    for (let y = 0; y < this.canvasHeight; y++) {
      const v = gridCoord(y, this.canvasHeight, srcHeight, gh);
      const k = Math.min(Math.floor(v), Math.max(0, gh - 2));
      this.rowK[y] = k;
      this.rowF[y] = gh > 1 ? v - k : 0;
    }
    const start: number[] = [];
    const ks: number[] = [];
    const f0: number[] = [];
    const df: number[] = [];
    let prevKey = '';
    for (let x = 0; x < this.canvasWidth; x++) {
      const u = gridCoord(x, this.canvasWidth, srcWidth, gw);
      const k = Math.min(Math.floor(u), Math.max(0, gw - 2));
      const clamped = u === 0 || u === gw - 1;
      const key = `${k}:${clamped}`;
      if (key !== prevKey) {
        prevKey = key;
        start.push(x);
        ks.push(k);
        f0.push(gw > 1 ? u - k : 0);
        df.push(clamped || gw < 2 ? 0 : 1 / (s * this.cell));
      }
    }
    this.runs = {
      start: Int32Array.from([...start, this.canvasWidth]),
      k: Int32Array.from(ks),
      f0: Float64Array.from(f0),
      df: Float64Array.from(df),
    };
  }

  /**
   * Canvas-size rgb24 of the blurred background. Valid until the next call, which reuses the
   * buffer (at strength 0 on a source-size canvas it is `rgb` itself); do not modify it.
   */
  async render(rgb: Uint8Array, alpha: Uint8Array): Promise<Uint8Array> {
    const W = this.srcWidth;
    const H = this.srcHeight;
    if (rgb.length !== W * H * 3 || alpha.length !== W * H)
      throw new RangeError(`blur source frame must be ${W}×${H} rgb24 + alpha`);
    if (this.radius === 0) {
      if (this.canvasWidth === W && this.canvasHeight === H) return rgb;
      return this.cover(rgb, W, H, W, H);
    }
    this.accumulate(rgb, alpha);
    const g = this.grid;
    g.blur(this.radius, this.passes);
    // Holes: cells with under ~5 % of a cell's worth of background after blurring.
    g.normalize(this.means, 0.05 * (this.cell / this.stride) ** 2);
    const m = this.means;
    const sm = this.srgbMeans;
    for (let i = 0; i < m.length; i++) sm[i] = linearToSrgb(m[i] as number);
    return this.coverGrid(g.width, g.height);
  }

  /**
   * Bilinear cover-scale of the sRGB grid into a new canvas frame. Each canvas row interpolates
   * the two grid rows once; along the row, values change by a constant step within each grid
   * interval, so a pixel costs three adds (a per-pixel JS lerp took ~18 ms at 1080p).
   */
  private coverGrid(gw: number, gh: number): Uint8Array {
    const { canvasWidth: CW, canvasHeight: CH, vrow, rowK, rowF, runs } = this;
    const src = this.srgbMeans;
    const out = this.frame;
    const n = gw * 3;
    const nRuns = runs.k.length;
    for (let cy = 0; cy < CH; cy++) {
      const r0 = (rowK[cy] as number) * n;
      const r1 = Math.min((rowK[cy] as number) + 1, gh - 1) * n;
      const fy = rowF[cy] as number;
      for (let j = 0; j < n; j++) {
        const a = src[r0 + j] as number;
        vrow[j] = a + ((src[r1 + j] as number) - a) * fy;
      }
      const rowBase = cy * CW * 3;
      for (let q = 0; q < nRuns; q++) {
        const x0 = runs.start[q] as number;
        const x1 = runs.start[q + 1] as number;
        const k = (runs.k[q] as number) * 3;
        const k1 = k + 3 < n ? k + 3 : k;
        const f = runs.f0[q] as number;
        const d = runs.df[q] as number;
        const ar = vrow[k] as number;
        const ag = vrow[k + 1] as number;
        const ab = vrow[k + 2] as number;
        const dr = (vrow[k1] as number) - ar;
        const dg = (vrow[k1 + 1] as number) - ag;
        const db = (vrow[k1 + 2] as number) - ab;
        // +0.5 folded in so each store only truncates.
        let r = ar + dr * f + 0.5;
        let g = ag + dg * f + 0.5;
        let b = ab + db * f + 0.5;
        const sr = dr * d;
        const sg = dg * d;
        const sb = db * d;
        for (let x = x0, o = rowBase + x0 * 3; x < x1; x++, o += 3) {
          out[o] = r | 0;
          out[o + 1] = g | 0;
          out[o + 2] = b | 0;
          r += sr;
          g += sg;
          b += sb;
        }
      }
    }
    return out;
  }

  /**
   * Scales a w×h rgb24 image that stands for `spanW`×`spanH` source pixels so the source covers
   * the canvas, and crops the canvas from its centre.
   */
  private async cover(
    img: Uint8Array,
    w: number,
    h: number,
    spanW: number,
    spanH: number,
  ): Promise<Uint8Array> {
    const CW = this.canvasWidth;
    const CH = this.canvasHeight;
    const s = Math.max(CW / this.srcWidth, CH / this.srcHeight);
    const outW = Math.max(CW, Math.round(spanW * s));
    const outH = Math.max(CH, Math.round(spanH * s));
    const left = Math.min(outW - CW, Math.max(0, Math.floor((this.srcWidth * s - CW) / 2)));
    const top = Math.min(outH - CH, Math.max(0, Math.floor((this.srcHeight * s - CH) / 2)));
    const buf = await sharp(img, { raw: { width: w, height: h, channels: 3 } })
      .resize(outW, outH, { fit: 'fill', kernel: w * 2 < outW ? 'linear' : 'lanczos3' })
      .extract({ left, top, width: CW, height: CH })
      .raw()
      .toBuffer();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * Sums of linear rgb·w and w per cell, one row of cells at a time. With stride 2, every other
   * pixel of every other row, shifted by one on alternate rows so a fine pattern (a 1-px
   * checkerboard) is not sampled on one colour only.
   */
  private accumulate(rgb: Uint8Array, alpha: Uint8Array): void {
    const W = this.srcWidth;
    const H = this.srcHeight;
    const { cell, colCell, rowAcc, stride } = this;
    const g = this.grid;
    const cells = g.cells;
    const lin = srgbToLinear;
    g.clear();
    for (let y0 = 0; y0 < H; y0 += cell) {
      rowAcc.fill(0);
      const y1 = Math.min(H, y0 + cell);
      for (let y = y0; y < y1; y += stride) {
        const row = y * W;
        for (let x = stride === 2 ? (y >> 1) & 1 : 0; x < W; x += stride) {
          const w = bgWeight[alpha[row + x] as number] as number;
          if (w === 0) continue;
          const i = (row + x) * 3;
          const c = (colCell[x] as number) * 4;
          rowAcc[c] = (rowAcc[c] as number) + w * (lin[rgb[i] as number] as number);
          rowAcc[c + 1] = (rowAcc[c + 1] as number) + w * (lin[rgb[i + 1] as number] as number);
          rowAcc[c + 2] = (rowAcc[c + 2] as number) + w * (lin[rgb[i + 2] as number] as number);
          rowAcc[c + 3] = (rowAcc[c + 3] as number) + w;
        }
      }
      const base = ((y0 / cell) | 0) * g.width * 4;
      for (let k = 0; k < g.width * 4; k++) cells[base + k] = rowAcc[k] as number;
    }
  }
}
