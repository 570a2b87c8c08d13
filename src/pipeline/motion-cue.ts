/**
 * Motion cue with camera-motion compensation. A salient-object model looks at one frame; it can
 * miss a small subject entirely (DAVIS `scooter-black` starts with a rider ~1/8 of the frame high
 * that ISNet scores below 0.05 everywhere) or prefer a bigger static object. What sets the
 * subject apart in video is that it moves differently from the scene around it. The camera moves
 * too (pans, follows the subject), so raw frame differences light up every textured edge; this
 * module estimates the camera's motion as a global affine field from block motion vectors,
 * fitted robustly (most blocks are background), and reports where the image does not follow it.
 *
 * Everything runs on a 1/4-scale copy of the model-grid luma (256×144 for a 1024×576 grid) in
 * 8×8 blocks: a few milliseconds per frame in plain JS, negligible beside the model.
 */

const SCALE = 4;
const BLOCK = 8;
/** Search range in downsampled pixels (±6 → ±24 model-grid pixels per frame). */
const RANGE = 6;
/** Mean absolute gradient (luma levels) below which a block is too flat to have a motion vector. */
const MIN_TEXTURE = 4;

export interface MotionField {
  /** Blocks across and down. */
  bw: number;
  bh: number;
  /** Block size in model-grid pixels. */
  cell: number;
  /**
   * Per block: how much better the block's own best match is than the camera model's prediction,
   * in mean luma levels per pixel (0 where the block follows the camera or is too flat to tell).
   */
  excess: Float32Array;
  /** Per block: its motion vector's distance from the camera model's, in downsampled pixels. */
  residual: Float32Array;
  /** The camera model at the frame centre: where a pixel of `cur` was in `prev`, in model-grid pixels. */
  camera: { dx: number; dy: number };
}

function downsample(src: Uint8Array, w: number, h: number): { img: Float32Array; sw: number; sh: number } {
  const sw = Math.floor(w / SCALE);
  const sh = Math.floor(h / SCALE);
  const img = new Float32Array(sw * sh);
  const inv = 1 / (SCALE * SCALE);
  for (let y = 0; y < sh; y++)
    for (let x = 0; x < sw; x++) {
      let s = 0;
      for (let j = 0; j < SCALE; j++) {
        const row = (y * SCALE + j) * w + x * SCALE;
        for (let i = 0; i < SCALE; i++) s += src[row + i] as number;
      }
      img[y * sw + x] = s * inv;
    }
  return { img, sw, sh };
}

/** Sum of absolute differences of the block at (bx,by) in `cur` against `prev` shifted by (dx,dy). */
function sad(
  cur: Float32Array,
  prev: Float32Array,
  sw: number,
  sh: number,
  x0: number,
  y0: number,
  dx: number,
  dy: number,
): number {
  let s = 0;
  for (let j = 0; j < BLOCK; j++) {
    const yc = y0 + j;
    const yp = Math.min(sh - 1, Math.max(0, yc + dy));
    for (let i = 0; i < BLOCK; i++) {
      const xc = x0 + i;
      const xp = Math.min(sw - 1, Math.max(0, xc + dx));
      s += Math.abs((cur[yc * sw + xc] as number) - (prev[yp * sw + xp] as number));
    }
  }
  return s;
}

/** Bilinear sample for sub-pixel SAD at the camera model's (non-integer) displacement. */
function sadAt(
  cur: Float32Array,
  prev: Float32Array,
  sw: number,
  sh: number,
  x0: number,
  y0: number,
  dx: number,
  dy: number,
): number {
  let s = 0;
  for (let j = 0; j < BLOCK; j++) {
    const yc = y0 + j;
    const v = Math.min(sh - 1.001, Math.max(0, yc + dy));
    const j0 = Math.floor(v);
    const fy = v - j0;
    for (let i = 0; i < BLOCK; i++) {
      const xc = x0 + i;
      const u = Math.min(sw - 1.001, Math.max(0, xc + dx));
      const i0 = Math.floor(u);
      const fx = u - i0;
      const p = j0 * sw + i0;
      const a = (prev[p] as number) * (1 - fx) + (prev[p + 1] as number) * fx;
      const b = (prev[p + sw] as number) * (1 - fx) + (prev[p + sw + 1] as number) * fx;
      s += Math.abs((cur[yc * sw + xc] as number) - (a * (1 - fy) + b * fy));
    }
  }
  return s;
}

/**
 * The dominant translation between the frames, found on a further 4× smaller copy with a wide
 * range: a fast pan moves the background by more than the block search's range, and the block
 * search then centres on it.
 */
function globalShift(
  prev: Float32Array,
  cur: Float32Array,
  sw: number,
  sh: number,
): { dx: number; dy: number } {
  const f = 4;
  const tw = Math.floor(sw / f);
  const th = Math.floor(sh / f);
  const small = (img: Float32Array): Float32Array => {
    const out = new Float32Array(tw * th);
    for (let y = 0; y < th; y++)
      for (let x = 0; x < tw; x++) {
        let s = 0;
        for (let j = 0; j < f; j++)
          for (let i = 0; i < f; i++) s += img[(y * f + j) * sw + x * f + i] as number;
        out[y * tw + x] = s / (f * f);
      }
    return out;
  };
  const a = small(prev);
  const b = small(cur);
  const range = 8;
  let best = Infinity;
  let bx = 0;
  let by = 0;
  for (let dy = -range; dy <= range; dy++)
    for (let dx = -range; dx <= range; dx++) {
      let s = 0;
      let cnt = 0;
      for (let y = range; y < th - range; y++)
        for (let x = range; x < tw - range; x++) {
          s += Math.abs((b[y * tw + x] as number) - (a[(y + dy) * tw + x + dx] as number));
          cnt++;
        }
      const cost = (s / Math.max(1, cnt)) * (1 + 0.01 * (Math.abs(dx) + Math.abs(dy)));
      if (cost < best) {
        best = cost;
        bx = dx;
        by = dy;
      }
    }
  return { dx: bx * f, dy: by * f };
}

/** Solves the 3×3 system A x = b (Cramer's rule; the normal equations here are small and well posed). */
function solve3(a: number[], b: number[]): [number, number, number] | undefined {
  const [a0, a1, a2, a3, a4, a5, a6, a7, a8] = a as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const det = a0 * (a4 * a8 - a5 * a7) - a1 * (a3 * a8 - a5 * a6) + a2 * (a3 * a7 - a4 * a6);
  if (Math.abs(det) < 1e-9) return undefined;
  const [b0, b1, b2] = b as [number, number, number];
  const x = (b0 * (a4 * a8 - a5 * a7) - a1 * (b1 * a8 - a5 * b2) + a2 * (b1 * a7 - a4 * b2)) / det;
  const y = (a0 * (b1 * a8 - a5 * b2) - b0 * (a3 * a8 - a5 * a6) + a2 * (a3 * b2 - b1 * a6)) / det;
  const z = (a0 * (a4 * b2 - b1 * a7) - a1 * (a3 * b2 - b1 * a6) + b0 * (a3 * a7 - a4 * a6)) / det;
  return [x, y, z];
}

/**
 * Block motion of `cur` relative to `prev` (both luma on the model grid, w×h), the camera's
 * affine motion fitted to it, and per block how strongly the block moves against the camera.
 */
export function motionField(prev: Uint8Array, cur: Uint8Array, w: number, h: number): MotionField {
  const p = downsample(prev, w, h);
  const c = downsample(cur, w, h);
  const { sw, sh } = c;
  const bw = Math.floor(sw / BLOCK);
  const bh = Math.floor(sh / BLOCK);
  const n = bw * bh;
  const centre = globalShift(p.img, c.img, sw, sh);
  const vx = new Float32Array(n);
  const vy = new Float32Array(n);
  const best = new Float32Array(n);
  const textured = new Uint8Array(n);
  for (let by = 0; by < bh; by++)
    for (let bx = 0; bx < bw; bx++) {
      const b = by * bw + bx;
      const x0 = bx * BLOCK;
      const y0 = by * BLOCK;
      let grad = 0;
      for (let j = 0; j < BLOCK; j++)
        for (let i = 0; i < BLOCK - 1; i++) {
          const q = (y0 + j) * sw + x0 + i;
          grad += Math.abs((c.img[q + 1] as number) - (c.img[q] as number));
          if (j < BLOCK - 1) grad += Math.abs((c.img[q + sw] as number) - (c.img[q] as number));
        }
      grad /= 2 * BLOCK * (BLOCK - 1);
      let bestCost = Infinity;
      let bdx = centre.dx;
      let bdy = centre.dy;
      for (let dy = centre.dy - RANGE; dy <= centre.dy + RANGE; dy++)
        for (let dx = centre.dx - RANGE; dx <= centre.dx + RANGE; dx++) {
          // A slight bias toward zero motion breaks ties on repetitive texture the same way everywhere.
          const cost =
            sad(c.img, p.img, sw, sh, x0, y0, dx, dy) *
            (1 + 0.002 * (Math.abs(dx - centre.dx) + Math.abs(dy - centre.dy)));
          if (cost < bestCost) {
            bestCost = cost;
            bdx = dx;
            bdy = dy;
          }
        }
      vx[b] = bdx;
      vy[b] = bdy;
      best[b] = sad(c.img, p.img, sw, sh, x0, y0, bdx, bdy);
      textured[b] = grad >= MIN_TEXTURE ? 1 : 0;
    }

  // Robust affine fit: least squares on the textured blocks, then refit on the blocks that agree
  // best (the background is the majority in almost every shot; the subject is the outlier).
  const cx = bw / 2;
  const cy = bh / 2;
  let use = Uint8Array.from(textured);
  let ax: [number, number, number] = [0, 0, 0];
  let ay: [number, number, number] = [0, 0, 0];
  const res = new Float32Array(n);
  for (let iter = 0; iter < 4; iter++) {
    const ata = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    const bx = [0, 0, 0];
    const by = [0, 0, 0];
    let count = 0;
    for (let b = 0; b < n; b++) {
      if (!use[b]) continue;
      const f = [1, (b % bw) - cx, Math.floor(b / bw) - cy];
      for (let r = 0; r < 3; r++) {
        const fr = f[r] as number;
        for (let k = 0; k < 3; k++) ata[r * 3 + k] = (ata[r * 3 + k] as number) + fr * (f[k] as number);
        bx[r] = (bx[r] as number) + fr * (vx[b] as number);
        by[r] = (by[r] as number) + fr * (vy[b] as number);
      }
      count++;
    }
    if (count < 6) break;
    ax = solve3(ata, bx) ?? ax;
    ay = solve3(ata, by) ?? ay;
    const rs: number[] = [];
    for (let b = 0; b < n; b++) {
      const fx = (b % bw) - cx;
      const fy = Math.floor(b / bw) - cy;
      const ex = (vx[b] as number) - (ax[0] + ax[1] * fx + ax[2] * fy);
      const ey = (vy[b] as number) - (ay[0] + ay[1] * fx + ay[2] * fy);
      res[b] = Math.hypot(ex, ey);
      if (textured[b]) rs.push(res[b] as number);
    }
    rs.sort((a, b) => a - b);
    const keep = rs[Math.floor(rs.length * 0.6)] ?? 0;
    use = new Uint8Array(n);
    for (let b = 0; b < n; b++) use[b] = textured[b] && (res[b] as number) <= Math.max(0.75, keep) ? 1 : 0;
  }

  const excess = new Float32Array(n);
  for (let b = 0; b < n; b++) {
    if (!textured[b]) continue;
    const fx = (b % bw) - cx;
    const fy = Math.floor(b / bw) - cy;
    const gx = ax[0] + ax[1] * fx + ax[2] * fy;
    const gy = ay[0] + ay[1] * fx + ay[2] * fy;
    const x0 = (b % bw) * BLOCK;
    const y0 = Math.floor(b / bw) * BLOCK;
    const predicted = sadAt(c.img, p.img, sw, sh, x0, y0, gx, gy);
    excess[b] = Math.max(0, predicted - (best[b] as number)) / (BLOCK * BLOCK);
  }
  return {
    bw,
    bh,
    cell: BLOCK * SCALE,
    excess,
    residual: res,
    camera: { dx: ax[0] * SCALE, dy: ay[0] * SCALE },
  };
}
