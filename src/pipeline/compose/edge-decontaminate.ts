import { LINEAR_SCALE, linearToSrgbTable, srgbToLinear } from './linear-light.ts';
import { WeightedGrid, sampleGrid } from './weighted-grid.ts';

/**
 * Soft matte edges (hair, motion blur, antialiased outlines) are a mix of subject and the OLD
 * background: I = α·F + (1−α)·B. Composited as is onto a new background, that old B shows as a
 * halo. We estimate B locally (mean of nearby pixels with α≈0), solve F = (I − (1−α)·B)/α in linear
 * light, and lean on the local subject colour (mean of nearby α≈1 pixels) where α is too small for
 * the solve to be trusted (the division amplifies noise by 1/α).
 *
 * Both local means are normalised convolutions on a grid of ~160 cells across, so the cost is one
 * sampled pass over the frame plus work per soft pixel only. Measured on the 2-core dev machine
 * (Node 20, 1920×1080, a disc subject with a 6-px soft edge, ~14 k soft pixels): ~7 ms/frame,
 * ~9.5 ms with the transparent fill (about double while the machine is busy); timing test in
 * test/pipeline/compose/edge-decontaminate.test.ts.
 */

/**
 * Linear-light distance between the local subject and background colours below which colour says
 * nothing about α, and above which it is fully trusted (see `run`'s alpha correction).
 */
const SEPARATION_MIN = 0.04;
const SEPARATION_FULL = 0.16;

/** α at or below this counts as background; at or above HIGH as subject (of 255). */
const LOW = 8;
const HIGH = 247;
/** Grid cells per long side; also sets how local the estimates are. */
const GRID_CELLS = 160;
/** Box radius (cells) and passes of the local means: ~±4 cells of support. */
const RADIUS = 2;
const PASSES = 2;

/**
 * Indices of pixels with 0 < α < 255 into `out`; returns how many. Reads four alpha bytes at a
 * time where the buffer is aligned: nearly all words are all-0 or all-255 and are skipped whole.
 */
function findSoft(alpha: Uint8Array, out: Int32Array): number {
  let n = 0;
  let p = 0;
  const len = alpha.length;
  if (alpha.byteOffset % 4 === 0) {
    const words = new Uint32Array(alpha.buffer, alpha.byteOffset, len >> 2);
    for (let w = 0; w < words.length; w++) {
      const v = words[w] as number;
      if (v === 0 || v === 0xffffffff) continue;
      for (let k = w * 4; k < w * 4 + 4; k++) {
        const a = alpha[k] as number;
        if (a !== 0 && a !== 255) out[n++] = k;
      }
    }
    p = words.length * 4;
  }
  for (; p < len; p++) {
    const a = alpha[p] as number;
    if (a !== 0 && a !== 255) out[n++] = p;
  }
  return n;
}

export class EdgeDecontaminator {
  readonly width: number;
  readonly height: number;
  private readonly cell: number;
  private readonly gw: number;
  private readonly gh: number;
  private readonly bg: WeightedGrid;
  private readonly fg: WeightedGrid;
  private readonly bgMean: Float32Array;
  private readonly fgMean: Float32Array;
  private readonly soft: Int32Array;
  private readonly touched: Uint8Array;
  private readonly minWeight: number;
  private readonly tmpB = new Float32Array(3);
  private readonly tmpF = new Float32Array(3);

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.cell = Math.max(2, Math.round(Math.max(width, height) / GRID_CELLS));
    this.gw = Math.ceil(width / this.cell);
    this.gh = Math.ceil(height / this.cell);
    this.bg = new WeightedGrid(this.gw, this.gh, 3);
    this.fg = new WeightedGrid(this.gw, this.gh, 3);
    this.bgMean = new Float32Array(this.gw * this.gh * 3);
    this.fgMean = new Float32Array(this.gw * this.gh * 3);
    this.soft = new Int32Array(width * height);
    this.touched = new Uint8Array(this.gw * this.gh);
    // Accumulation samples every other pixel each way: a full cell holds (cell/2)² samples.
    this.minWeight = 0.5 * Math.ceil(this.cell / 2) ** 2;
  }

  /**
   * Writes the decontaminated foreground colour of `rgb` (rgb24) under `alpha` to `out` (rgb24, may
   * not alias `rgb`). Opaque pixels are copied unchanged. With `fillTransparent`, α=0 pixels near
   * the subject get the local subject colour instead of the old background: encoders and players
   * that filter RGBA without premultiplying then blend towards the subject, not into a dark or
   * green fringe.
   */
  run(
    rgb: Uint8Array,
    alpha: Uint8Array,
    out: Uint8Array,
    fillTransparent: boolean,
    alphaOut?: Uint8Array,
  ): void {
    const { width: W, height: H, gw, cell } = this;
    out.set(rgb);
    alphaOut?.set(alpha);
    const bgc = this.bg.cells;
    const fgc = this.fg.cells;
    this.bg.clear();
    this.fg.clear();
    const lin = srgbToLinear;
    const soft = this.soft;
    const nSoft = findSoft(alpha, soft);
    for (let y = 0; y < H; y += 2) {
      const row = y * W;
      const grow = ((y / cell) | 0) * gw;
      // Every other pixel of every other row, shifted by one on alternate rows so that fine
      // patterns (a 1-px checkerboard) are not sampled on one colour only.
      const shift = (y >> 1) & 1;
      for (let cx = 0; cx < gw; cx++) {
        const xEnd = Math.min(W, (cx + 1) * cell);
        let x = cx * cell;
        if (((x ^ shift) & 1) === 1) x++;
        let br = 0;
        let bgr = 0;
        let bb = 0;
        let bn = 0;
        let fr = 0;
        let fgr = 0;
        let fb = 0;
        let fn = 0;
        for (; x < xEnd; x += 2) {
          const a = alpha[row + x] as number;
          const i = (row + x) * 3;
          if (a <= LOW) {
            br += lin[rgb[i] as number] as number;
            bgr += lin[rgb[i + 1] as number] as number;
            bb += lin[rgb[i + 2] as number] as number;
            bn++;
          } else if (a >= HIGH) {
            fr += lin[rgb[i] as number] as number;
            fgr += lin[rgb[i + 1] as number] as number;
            fb += lin[rgb[i + 2] as number] as number;
            fn++;
          }
        }
        const g = (grow + cx) * 4;
        if (bn > 0) {
          bgc[g] = (bgc[g] as number) + br;
          bgc[g + 1] = (bgc[g + 1] as number) + bgr;
          bgc[g + 2] = (bgc[g + 2] as number) + bb;
          bgc[g + 3] = (bgc[g + 3] as number) + bn;
        }
        if (fn > 0) {
          fgc[g] = (fgc[g] as number) + fr;
          fgc[g + 1] = (fgc[g + 1] as number) + fgr;
          fgc[g + 2] = (fgc[g + 2] as number) + fb;
          fgc[g + 3] = (fgc[g + 3] as number) + fn;
        }
      }
    }
    const haveBg = this.bg.totalWeight() > 0;
    const haveFg = this.fg.totalWeight() > 0;
    // Nothing to do on a frame with no soft pixels and no transparent fill wanted (common for
    // hard mattes), or without any background to estimate from.
    if (!haveBg || (nSoft === 0 && !fillTransparent)) return;

    const touched = this.touched;
    if (fillTransparent) {
      // Cells holding subject pixels, found from the fg sums before blurring spreads them.
      touched.fill(0);
      for (let g = 0, i = 3; g < touched.length; g++, i += 4) if ((fgc[i] as number) > 0) touched[g] = 1;
    }
    this.bg.blur(RADIUS, PASSES);
    this.bg.normalize(this.bgMean, this.minWeight);
    if (haveFg) {
      this.fg.blur(RADIUS, PASSES);
      this.fg.normalize(this.fgMean, this.minWeight);
    }

    const B = this.tmpB;
    const F = this.tmpF;
    const toSrgb = linearToSrgbTable;
    for (let s = 0; s < nSoft; s++) {
      const p = soft[s] as number;
      const y = (p / W) | 0;
      const x = p - y * W;
      let a = (alpha[p] as number) / 255;
      const i = p * 3;
      sampleGrid(this.bgMean, gw, this.gh, 3, cell, x, y, B);
      if (haveFg) sampleGrid(this.fgMean, gw, this.gh, 3, cell, x, y, F);
      if (alphaOut && haveFg) {
        // A soft edge the model drew too wide keeps pixels that are plainly the old background;
        // no colour solve can hide those (F comes out as B again). Where subject and background
        // colours are well apart, the pixel's position between them measures α, and we lower α
        // to it. Only lower: raising α from colour alone would grow the subject into
        // look-alike background.
        const d0 = (F[0] as number) - (B[0] as number);
        const d1 = (F[1] as number) - (B[1] as number);
        const d2 = (F[2] as number) - (B[2] as number);
        const dd = d0 * d0 + d1 * d1 + d2 * d2;
        const conf = Math.min(
          1,
          Math.max(0, (Math.sqrt(dd) - SEPARATION_MIN) / (SEPARATION_FULL - SEPARATION_MIN)),
        );
        if (conf > 0) {
          const ac =
            (((lin[rgb[i] as number] as number) - (B[0] as number)) * d0 +
              ((lin[rgb[i + 1] as number] as number) - (B[1] as number)) * d1 +
              ((lin[rgb[i + 2] as number] as number) - (B[2] as number)) * d2) /
            dd;
          if (ac < a) {
            a += conf * (Math.max(0, ac) - a);
            alphaOut[p] = Math.round(a * 255);
            if (alphaOut[p] === 0) continue;
            a = (alphaOut[p] as number) / 255;
          }
        }
      }
      // Below α 0.5 the solve is blended towards the local subject colour, reaching it at α 0.
      const w = haveFg ? Math.min(1, 2 * a) : 1;
      const ia = 1 / a;
      const kb = 1 - a;
      for (let k = 0; k < 3; k++) {
        let f = ((lin[rgb[i + k] as number] as number) - kb * (B[k] as number)) * ia;
        f = f < 0 ? 0 : f > 1 ? 1 : f;
        const v = w * f + (1 - w) * (F[k] as number);
        out[i + k] = toSrgb[(v * LINEAR_SCALE + 0.5) | 0] as number;
      }
      if (fillTransparent) touched[((y / cell) | 0) * gw + ((x / cell) | 0)] = 1;
    }

    if (fillTransparent && haveFg) this.fillTransparentNearSubject(alpha, out);
  }

  /** α=0 pixels in and one cell around cells with subject pixels get the local subject colour. */
  private fillTransparentNearSubject(alpha: Uint8Array, out: Uint8Array): void {
    const { width: W, height: H, gw, gh, cell, touched } = this;
    const F = this.tmpF;
    const toSrgb = linearToSrgbTable;
    for (let cy = 0; cy < gh; cy++) {
      for (let cx = 0; cx < gw; cx++) {
        let near = false;
        for (let dy = -1; dy <= 1 && !near; dy++) {
          const ny = cy + dy;
          if (ny < 0 || ny >= gh) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const nx = cx + dx;
            if (nx >= 0 && nx < gw && touched[ny * gw + nx] === 1) {
              near = true;
              break;
            }
          }
        }
        if (!near) continue;
        const x1 = Math.min(W, (cx + 1) * cell);
        const y1 = Math.min(H, (cy + 1) * cell);
        for (let y = cy * cell; y < y1; y++) {
          for (let x = cx * cell; x < x1; x++) {
            const p = y * W + x;
            if (alpha[p] !== 0) continue;
            sampleGrid(this.fgMean, gw, gh, 3, cell, x, y, F);
            const i = p * 3;
            out[i] = toSrgb[((F[0] as number) * LINEAR_SCALE + 0.5) | 0] as number;
            out[i + 1] = toSrgb[((F[1] as number) * LINEAR_SCALE + 0.5) | 0] as number;
            out[i + 2] = toSrgb[((F[2] as number) * LINEAR_SCALE + 0.5) | 0] as number;
          }
        }
      }
    }
  }
}
