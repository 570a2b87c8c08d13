import sharp from 'sharp';
import type { Segmenter } from '../models/segmenter.ts';
import { aspectInputSize } from '../models/segmenter.ts';

/**
 * Subject-crop segmentation. A salient-object model sees the whole frame and, when the subject
 * is small or stands in front of a busy background (a dancer before a crowd), it either misses
 * parts of the subject or lights up the background. Run on a crop around the subject, the same
 * model sees the subject large and the distractors cut away, and finds the whole body.
 *
 * Per key frame: a full-frame "discovery" pass (on the first frame, every `discoveryInterval`
 * key frames, and whenever the subject touched the crop's edge) finds the main subject(s): the
 * connected regions of the matte that are at least `keepRatio` of the largest one, plus whatever
 * continues last frame's subject. Then the model runs on a crop around them (with a margin, at a
 * resolution that keeps at least the full pass's detail) and the crop's matte is placed back on
 * the frame's model grid. Outside the crop the matte is zero: that is what removes distractors.
 * When the subject fills most of the frame, the crop would gain nothing and the full pass is used.
 */
export interface SubjectCropOptions {
  discoveryInterval: number;
  /** Margin around the subject box, as a fraction of the box size on each side. */
  margin: number;
  /** Regions smaller than this fraction of the largest region are not subjects. */
  keepRatio: number;
  /** No crop when the box covers more than this fraction of the frame. */
  maxCoverage: number;
}

export const defaultSubjectCrop: SubjectCropOptions = {
  discoveryInterval: 6,
  margin: 0.25,
  keepRatio: 0.2,
  maxCoverage: 0.55,
};

/** A box in normalised frame coordinates [0,1]. */
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const CC_STEP = 4; // connected components on a 1/4 grid: enough to tell subjects apart, ~30× cheaper

/** Boxes of the connected regions of (matte > 0.5), with their areas, on a coarse grid. */
function regions(matte: Float32Array, w: number, h: number): Array<Box & { area: number }> {
  const cw = Math.ceil(w / CC_STEP);
  const ch = Math.ceil(h / CC_STEP);
  const on = new Uint8Array(cw * ch);
  for (let y = 0; y < ch; y++)
    for (let x = 0; x < cw; x++)
      on[y * cw + x] =
        (matte[Math.min(h - 1, y * CC_STEP) * w + Math.min(w - 1, x * CC_STEP)] as number) > 0.5 ? 1 : 0;
  const label = new Int32Array(cw * ch).fill(-1);
  const out: Array<Box & { area: number }> = [];
  const stack: number[] = [];
  for (let start = 0; start < on.length; start++) {
    if (!on[start] || (label[start] as number) >= 0) continue;
    const id = out.length;
    let x0 = cw;
    let y0 = ch;
    let x1 = 0;
    let y1 = 0;
    let area = 0;
    label[start] = id;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop() as number;
      const x = p % cw;
      const y = (p - x) / cw;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      const n = [x > 0 ? p - 1 : -1, x < cw - 1 ? p + 1 : -1, y > 0 ? p - cw : -1, y < ch - 1 ? p + cw : -1];
      for (const q of n) {
        if (q >= 0 && on[q] && (label[q] as number) < 0) {
          label[q] = id;
          stack.push(q);
        }
      }
    }
    out.push({ x0: x0 / cw, y0: y0 / ch, x1: (x1 + 1) / cw, y1: (y1 + 1) / ch, area });
  }
  return out;
}

function union(a: Box | undefined, b: Box): Box {
  if (!a) return { ...b };
  return {
    x0: Math.min(a.x0, b.x0),
    y0: Math.min(a.y0, b.y0),
    x1: Math.max(a.x1, b.x1),
    y1: Math.max(a.y1, b.y1),
  };
}

function overlaps(a: Box, b: Box): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

function expand(b: Box, margin: number): Box {
  const mx = Math.max(0.03, (b.x1 - b.x0) * margin);
  const my = Math.max(0.03, (b.y1 - b.y0) * margin);
  return {
    x0: Math.max(0, b.x0 - mx),
    y0: Math.max(0, b.y0 - my),
    x1: Math.min(1, b.x1 + mx),
    y1: Math.min(1, b.y1 + my),
  };
}

export class SubjectCropSegmenter {
  private subject: Box | undefined;
  private keys = 0;
  private touchedEdge = false;
  /** Number of discovery and crop passes, for the benchmark's cost accounting. */
  readonly passes = { full: 0, crop: 0 };

  constructor(
    private readonly segmenter: Segmenter,
    private readonly width: number,
    private readonly height: number,
    private readonly grid: { width: number; height: number },
    private readonly longSide: number,
    private readonly opts: SubjectCropOptions = defaultSubjectCrop,
  ) {}

  reset(): void {
    this.subject = undefined;
    this.touchedEdge = false;
  }

  /** The matte of one key frame on the model grid. `lowRgb` is the frame resized to the grid. */
  async segment(rgb: Uint8Array, lowRgb: Uint8Array): Promise<Float32Array> {
    const { width: gw, height: gh } = this.grid;
    const discover = !this.subject || this.touchedEdge || this.keys % this.opts.discoveryInterval === 0;
    this.keys++;
    let full: Float32Array | undefined;
    let box = this.subject;
    if (discover) {
      full = await this.segmenter.run(lowRgb, gw, gh);
      this.passes.full++;
      const found = regions(full, gw, gh);
      const largest = Math.max(0, ...found.map((r) => r.area));
      let subjects: Box | undefined;
      for (const r of found) {
        if (r.area >= largest * this.opts.keepRatio || (this.subject && overlaps(r, this.subject)))
          subjects = union(subjects, r);
      }
      box = subjects && this.subject ? union(subjects, this.subject) : subjects;
      if (!box) {
        this.subject = undefined;
        return full;
      }
    }
    const crop = expand(box as Box, this.opts.margin);
    if ((crop.x1 - crop.x0) * (crop.y1 - crop.y0) > this.opts.maxCoverage) {
      if (!full) {
        full = await this.segmenter.run(lowRgb, gw, gh);
        this.passes.full++;
      }
      this.track(full, gw, gh, { x0: 0, y0: 0, x1: 1, y1: 1 });
      return full;
    }
    const matte = await this.cropPass(rgb, crop);
    this.track(matte, gw, gh, crop);
    return matte;
  }

  private async cropPass(rgb: Uint8Array, crop: Box): Promise<Float32Array> {
    const { width: gw, height: gh } = this.grid;
    let left = Math.floor(crop.x0 * this.width);
    let top = Math.floor(crop.y0 * this.height);
    const cw = Math.min(this.width, Math.max(8, Math.ceil(crop.x1 * this.width) - left));
    const chh = Math.min(this.height, Math.max(8, Math.ceil(crop.y1 * this.height) - top));
    // A crop grown to the minimum size near the right or bottom edge moves inward, never past it.
    left = Math.max(0, Math.min(left, this.width - cw));
    top = Math.max(0, Math.min(top, this.height - chh));
    // Keep at least 1.5× the detail the full pass had on the subject, never more than the tier's size.
    const frameLong = Math.max(this.width, this.height);
    const want = Math.min(
      this.longSide,
      Math.max(320, ((Math.max(cw, chh) / frameLong) * this.longSide * 1.5) | 0),
    );
    const size = aspectInputSize(cw, chh, want);
    const input = await sharp(rgb, { raw: { width: this.width, height: this.height, channels: 3 } })
      .extract({ left, top, width: cw, height: chh })
      .resize(size.width, size.height, { fit: 'fill' })
      .raw()
      .toBuffer();
    const cm = await this.segmenter.run(input, size.width, size.height);
    this.passes.crop++;
    // Back onto the frame's model grid: bilinear inside the crop, zero outside.
    const out = new Float32Array(gw * gh);
    const gx0 = (left / this.width) * gw;
    const gy0 = (top / this.height) * gh;
    const sx = (size.width / cw) * (this.width / gw);
    const sy = (size.height / chh) * (this.height / gh);
    const yStart = Math.max(0, Math.floor(gy0));
    const yEnd = Math.min(gh, Math.ceil(gy0 + (chh / this.height) * gh));
    const xStart = Math.max(0, Math.floor(gx0));
    const xEnd = Math.min(gw, Math.ceil(gx0 + (cw / this.width) * gw));
    for (let y = yStart; y < yEnd; y++) {
      const v = Math.min(size.height - 1, Math.max(0, (y + 0.5 - gy0) * sy - 0.5));
      const j0 = Math.floor(v);
      const j1 = Math.min(size.height - 1, j0 + 1);
      const fy = v - j0;
      for (let x = xStart; x < xEnd; x++) {
        const u = Math.min(size.width - 1, Math.max(0, (x + 0.5 - gx0) * sx - 0.5));
        const i0 = Math.floor(u);
        const i1 = Math.min(size.width - 1, i0 + 1);
        const fx = u - i0;
        const a = (cm[j0 * size.width + i0] as number) * (1 - fx) + (cm[j0 * size.width + i1] as number) * fx;
        const b = (cm[j1 * size.width + i0] as number) * (1 - fx) + (cm[j1 * size.width + i1] as number) * fx;
        out[y * gw + x] = a * (1 - fy) + b * fy;
      }
    }
    return out;
  }

  /** Remembers where the subject is, and whether it reached the crop's edge (then rediscover). */
  private track(matte: Float32Array, gw: number, gh: number, crop: Box): void {
    const found = regions(matte, gw, gh);
    const largest = Math.max(0, ...found.map((r) => r.area));
    let box: Box | undefined;
    for (const r of found) if (r.area >= largest * this.opts.keepRatio) box = union(box, r);
    this.subject = box;
    if (!box) return;
    const eps = 2 / Math.min(gw, gh);
    this.touchedEdge =
      (crop.x0 > 0 && box.x0 <= crop.x0 + eps) ||
      (crop.y0 > 0 && box.y0 <= crop.y0 + eps) ||
      (crop.x1 < 1 && box.x1 >= crop.x1 - eps) ||
      (crop.y1 < 1 && box.y1 >= crop.y1 - eps);
  }
}
