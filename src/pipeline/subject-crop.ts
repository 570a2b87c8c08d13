import sharp from 'sharp';
import type { Segmenter } from '../models/segmenter.ts';
import { aspectInputSize } from '../models/segmenter.ts';
import { motionField } from './motion-cue.ts';

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
  /**
   * Track the subject over the clip (see the class comment): regions that appear later away from
   * it and do not move against the camera are distractors, and a moving region proposes a
   * subject the salient model missed. Off reproduces the per-frame choice (the bench's ablation).
   */
  track: boolean;
  /** Margin around the subject box, as a fraction of the box size on each side. */
  margin: number;
  /** Regions smaller than this fraction of the largest region are not subjects. */
  keepRatio: number;
  /** No crop when the box covers more than this fraction of the frame. */
  maxCoverage: number;
  /**
   * Smallest model input long side for a crop. ISNet's output on a small subject at 320 px
   * flickers between frames (a rider found in one frame, a tenth of him in the next); from 512
   * it holds, and a 512-px crop costs less than half the full 1024×576 pass.
   */
  minCropSide: number;
}

export const defaultSubjectCrop: SubjectCropOptions = {
  discoveryInterval: 6,
  track: true,
  margin: 0.25,
  keepRatio: 0.2,
  maxCoverage: 0.55,
  minCropSide: 512,
};

/** A box in normalised frame coordinates [0,1]. */
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const CC_STEP = 4; // connected components on a 1/4 grid: enough to tell subjects apart, ~30× cheaper

interface Region extends Box {
  area: number;
  id: number;
}

/** Coarse-grid labelling of (matte > 0.5): the regions and, per coarse cell, its region id or -1. */
interface Labels {
  cw: number;
  ch: number;
  label: Int32Array;
  regions: Region[];
}

/** Boxes of the connected regions of (matte > 0.5), with their areas, on a coarse grid. */
function regions(matte: Float32Array, w: number, h: number): Region[] {
  return labelRegions(matte, w, h).regions;
}

function labelRegions(matte: Float32Array, w: number, h: number): Labels {
  const cw = Math.ceil(w / CC_STEP);
  const ch = Math.ceil(h / CC_STEP);
  const on = new Uint8Array(cw * ch);
  for (let y = 0; y < ch; y++)
    for (let x = 0; x < cw; x++)
      on[y * cw + x] =
        (matte[Math.min(h - 1, y * CC_STEP) * w + Math.min(w - 1, x * CC_STEP)] as number) > 0.5 ? 1 : 0;
  const label = new Int32Array(cw * ch).fill(-1);
  const out: Region[] = [];
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
    out.push({ x0: x0 / cw, y0: y0 / ch, x1: (x1 + 1) / cw, y1: (y1 + 1) / ch, area, id });
  }
  return { cw, ch, label, regions: out };
}

/**
 * Zeroes the matte outside the kept regions. A cell keeps its alpha when a kept region lies
 * within 2 coarse cells, so the soft fringe around a kept region (below 0.5, unlabelled) stays.
 */
function keepOnly(matte: Float32Array, w: number, h: number, labels: Labels, keep: Set<number>): void {
  const { cw, ch, label } = labels;
  const near = new Uint8Array(cw * ch);
  const R = 2;
  for (let y = 0; y < ch; y++)
    for (let x = 0; x < cw; x++) {
      if (!keep.has(label[y * cw + x] as number)) continue;
      for (let j = Math.max(0, y - R); j <= Math.min(ch - 1, y + R); j++)
        for (let i = Math.max(0, x - R); i <= Math.min(cw - 1, x + R); i++) near[j * cw + i] = 1;
    }
  for (let y = 0; y < h; y++) {
    const cy = Math.min(ch - 1, Math.round(y / CC_STEP));
    for (let x = 0; x < w; x++) {
      const c = cy * cw + Math.min(cw - 1, Math.round(x / CC_STEP));
      // A cell of a dropped region is cleared even when it is near a kept one.
      const l = label[c] as number;
      if (!near[c] || (l >= 0 && !keep.has(l))) matte[y * w + x] = 0;
    }
  }
}

function area(b: Box): number {
  return (b.x1 - b.x0) * (b.y1 - b.y0);
}

function shift(b: Box, dx: number, dy: number): Box {
  return { x0: b.x0 + dx, y0: b.y0 + dy, x1: b.x1 + dx, y1: b.y1 + dy };
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

/** Key frames whose subject boxes make up the predicted extent. */
const HISTORY_KEYS = 3;

/**
 * How far a box moved along one axis, from its two edges. A box whose edges move apart or
 * together changed size (often only because the model missed or found a part), and its centre
 * moving then says nothing about where the subject goes: only a move of both edges the same way
 * counts, and only as far as the edge that moved less.
 */
function edgeMotion(a0: number, a1: number, b0: number, b1: number): number {
  const d0 = b0 - a0;
  const d1 = b1 - a1;
  if (d0 * d1 <= 0) return 0;
  return Math.abs(d0) < Math.abs(d1) ? d0 : d1;
}

export class SubjectCropSegmenter {
  private subject: Box | undefined;
  /** The subject's boxes of the last key frames, newest last (at most HISTORY_KEYS). */
  private history: Box[] = [];
  /** Coarse cells the subject covered at the last key frames where it was found whole. */
  private subjectCells: number[] = [];
  /** The subject's motion per key frame (normalised units), for the prediction. */
  private velocity = { x: 0, y: 0 };
  private keys = 0;
  private misses = 0;
  private touchedEdge = false;
  private prevLuma: Uint8Array | undefined;
  /** Motion against the camera per block, accumulated over key frames (0..1). */
  private motion: { bw: number; bh: number; cell: number; score: Float32Array } | undefined;
  /** Number of discovery and crop passes and tracker decisions, for the benchmark's cost accounting. */
  readonly passes = { full: 0, crop: 0, motionProposals: 0, droppedRegions: 0, cropFallbacks: 0 };

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
    this.history = [];
    this.subjectCells = [];
    this.touchedEdge = false;
    this.velocity = { x: 0, y: 0 };
    this.misses = 0;
    this.prevLuma = undefined;
    this.motion = undefined;
  }

  /**
   * The matte of one key frame on the model grid. `low` is the frame resized to the grid (rgb and
   * its luma, which the motion cue compares with the previous key frame's).
   */
  async segment(
    rgb: Uint8Array,
    low: { rgb: Uint8Array; luma: Uint8Array },
    nextLuma?: Uint8Array,
  ): Promise<Float32Array> {
    const { width: gw, height: gh } = this.grid;
    if (this.opts.track) this.updateMotion(low.luma, nextLuma);
    const discover = !this.subject || this.touchedEdge || this.keys % this.opts.discoveryInterval === 0;
    this.keys++;
    const predicted = this.predicted();
    let full: Float32Array | undefined;
    let box = predicted;
    if (discover) {
      full = await this.segmenter.run(low.rgb, gw, gh);
      this.passes.full++;
      box = this.choose(regions(full, gw, gh), predicted);
      if (!box) {
        this.subject = undefined;
        return full;
      }
    }
    const crop = expand(box as Box, this.opts.margin);
    if ((crop.x1 - crop.x0) * (crop.y1 - crop.y0) > this.opts.maxCoverage) {
      if (!full) {
        full = await this.segmenter.run(low.rgb, gw, gh);
        this.passes.full++;
      }
      this.track(full, gw, gh, { x0: 0, y0: 0, x1: 1, y1: 1 }, predicted);
      return full;
    }
    let matte = await this.cropPass(rgb, crop);
    let used = crop;
    const fromCrop = this.opts.track && predicted ? this.judge(matte, gw, gh, predicted) : undefined;
    if (predicted && fromCrop?.implausible) {
      // The crop pass can lose a subject the full frame still shows (above). Then the full pass
      // decides if it looks right, or at least shows more of a whole subject; its distractors are
      // dropped by track() as usual.
      if (!full) {
        full = await this.segmenter.run(low.rgb, gw, gh);
        this.passes.full++;
      }
      const fromFull = this.judge(full, gw, gh, predicted);
      if (!fromFull.implausible || fromFull.largest > fromCrop.largest) {
        matte = full;
        used = { x0: 0, y0: 0, x1: 1, y1: 1 };
        this.passes.cropFallbacks++;
      }
    }
    this.track(matte, gw, gh, used, predicted);
    return matte;
  }

  /**
   * Where the tracked subject should be in this key frame: its boxes of the last key frames, each
   * moved on by its velocity to now, together. One box alone was not enough: when the model misses
   * part of the subject for a frame (a dancer's legs), the box shrinks, the next crop is cut
   * around the fragment and everything outside it is lost, often for many frames (dance-twirl fell
   * to J 0.5 on 24 frames that way). A body rarely shrinks by half between two frames; a model
   * often misses half of one, so the recent extent is kept.
   */
  private predicted(): Box | undefined {
    if (!this.subject) return undefined;
    if (!this.opts.track) return this.subject;
    let b: Box | undefined;
    const n = this.history.length;
    this.history.forEach((h, i) => {
      const ahead = n - i;
      b = union(b, shift(h, this.velocity.x * ahead, this.velocity.y * ahead));
    });
    b ??= shift(this.subject, this.velocity.x, this.velocity.y);
    return { x0: Math.max(0, b.x0), y0: Math.max(0, b.y0), x1: Math.min(1, b.x1), y1: Math.min(1, b.y1) };
  }

  /**
   * Whether the next key frame would have no motion cue (the first after a start or a cut); the
   * caller can then hand it the following frame's luma to compare with instead.
   */
  needsLookahead(): boolean {
    return this.opts.track && this.prevLuma === undefined;
  }

  /**
   * Accumulates the camera-compensated motion cue (half-life of one key frame). Without a previous
   * key frame, a following frame serves: what moves against the camera between frames 0 and 1 is
   * where it was in frame 0 too, and the mismatch score does not depend on the direction.
   */
  private updateMotion(luma: Uint8Array, nextLuma?: Uint8Array): void {
    const { width: gw, height: gh } = this.grid;
    const prev = this.prevLuma ?? nextLuma;
    this.prevLuma = luma;
    if (!prev) return;
    const f = motionField(prev, luma, gw, gh);
    if (!this.motion || this.motion.score.length !== f.excess.length)
      this.motion = { bw: f.bw, bh: f.bh, cell: f.cell, score: new Float32Array(f.excess.length) };
    const m = this.motion.score;
    // Excess in mean luma levels per pixel: ~2 is noise and compression, 8 is a clear mismatch.
    for (let b = 0; b < m.length; b++)
      m[b] = 0.5 * (m[b] as number) + 0.5 * Math.min(1, Math.max(0, ((f.excess[b] as number) - 2) / 6));
  }

  /** Mean motion score over the blocks under a box (0 without a motion cue). */
  private movement(b: Box): number {
    const mo = this.motion;
    if (!mo) return 0;
    const { width: gw, height: gh } = this.grid;
    const bx0 = Math.floor((b.x0 * gw) / mo.cell);
    const by0 = Math.floor((b.y0 * gh) / mo.cell);
    const bx1 = Math.min(mo.bw - 1, Math.floor((b.x1 * gw - 1) / mo.cell));
    const by1 = Math.min(mo.bh - 1, Math.floor((b.y1 * gh - 1) / mo.cell));
    let s = 0;
    let n = 0;
    for (let y = by0; y <= by1; y++)
      for (let x = bx0; x <= bx1; x++) {
        s += mo.score[y * mo.bw + x] as number;
        n++;
      }
    return n ? s / n : 0;
  }

  /**
   * The box of the strongest compact moving region: 4-connected blocks scoring ≥ 0.5, the
   * component with the largest total score. None when it covers over 40 % of the frame (then the
   * camera model did not fit, e.g. a fast pan with motion blur, and the cue says nothing).
   */
  private motionBox(): Box | undefined {
    const mo = this.motion;
    if (!mo) return undefined;
    const { bw, bh, score } = mo;
    const seen = new Uint8Array(bw * bh);
    let best: { box: Box; sum: number; n: number } | undefined;
    const stack: number[] = [];
    for (let s = 0; s < score.length; s++) {
      if (seen[s] || (score[s] as number) < 0.5) continue;
      seen[s] = 1;
      stack.push(s);
      let x0 = bw;
      let y0 = bh;
      let x1 = 0;
      let y1 = 0;
      let sum = 0;
      let n = 0;
      while (stack.length) {
        const p = stack.pop() as number;
        const x = p % bw;
        const y = (p - x) / bw;
        sum += score[p] as number;
        n++;
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
        for (const q of [
          x > 0 ? p - 1 : -1,
          x < bw - 1 ? p + 1 : -1,
          y > 0 ? p - bw : -1,
          y < bh - 1 ? p + bw : -1,
        ])
          if (q >= 0 && !seen[q] && (score[q] as number) >= 0.5) {
            seen[q] = 1;
            stack.push(q);
          }
      }
      if (!best || sum > best.sum)
        best = { box: { x0: x0 / bw, y0: y0 / bh, x1: (x1 + 1) / bw, y1: (y1 + 1) / bh }, sum, n };
    }
    if (!best || best.n < 2 || best.n > 0.4 * bw * bh) return undefined;
    return best.box;
  }

  /**
   * Which regions of a full-frame matte are the subject. Without tracking: the largest and those
   * at least `keepRatio` of it, plus whatever overlaps the last subject. With tracking and a
   * tracked subject: the regions at its predicted place and regions that move against the camera;
   * a large new static region elsewhere (a parked car entering the shot) is a distractor. The
   * predicted box itself stays in, so a subject the full pass misses is still cropped and found.
   * With tracking and no subject yet: the salient regions plus the strongest moving region, which
   * is how a subject the model misses at full-frame scale is found at all.
   */
  private choose(found: Region[], predicted: Box | undefined): Box | undefined {
    const largest = Math.max(0, ...found.map((r) => r.area));
    let box: Box | undefined;
    if (!this.opts.track) {
      for (const r of found)
        if (r.area >= largest * this.opts.keepRatio || (predicted && overlaps(r, predicted)))
          box = union(box, r);
      return box && predicted ? union(box, predicted) : box;
    }
    if (predicted) {
      const near = expand(predicted, 0.25);
      for (const r of found)
        if (overlaps(r, near) || (r.area >= largest * this.opts.keepRatio && this.movement(r) >= 0.35))
          box = union(box, r);
      return union(box, predicted);
    }
    for (const r of found) if (r.area >= largest * this.opts.keepRatio) box = union(box, r);
    const moving = this.motionBox();
    if (moving) {
      this.passes.motionProposals++;
      box = union(box, moving);
    }
    return box;
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
      Math.max(this.opts.minCropSide, ((Math.max(cw, chh) / frameLong) * this.longSide * 1.5) | 0),
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

  /**
   * Remembers where the subject is, and whether it reached the crop's edge (then rediscover).
   * With tracking, regions of this matte away from the predicted subject that do not move
   * against the camera are cleared: the crop or full pass may light up a distractor beside the
   * subject, and a region that is neither where the subject should be nor moving is not it.
   */
  /**
   * The regions of a matte that are the subject: with tracking and a prediction, those where the
   * subject should be or moving against the camera (`keep`, the rest is a distractor); otherwise,
   * or when none of those is salient (lost: occluded, left the shot), the salient ones.
   */
  private select(labels: Labels, predicted: Box | undefined): { kept: Region[]; keep?: Set<number> } {
    const found = labels.regions;
    const largest = Math.max(0, ...found.map((r) => r.area));
    const salient = found.filter((r) => r.area >= largest * this.opts.keepRatio);
    if (!this.opts.track || !predicted) return { kept: salient };
    const near = expand(predicted, 0.25);
    const tracked = found.filter((r) => overlaps(r, near) || this.movement(r) >= 0.35);
    if (!tracked.some((r) => r.area >= largest * this.opts.keepRatio)) return { kept: salient };
    const big = Math.max(0, ...tracked.map((r) => r.area));
    return {
      kept: tracked.filter((r) => r.area >= big * this.opts.keepRatio),
      keep: new Set(tracked.map((r) => r.id)),
    };
  }

  /** The subject's usual size: the median of its areas (cells) at the last key frames. */
  private usualCells(): number {
    const c = [...this.subjectCells].sort((a, b) => a - b);
    return c.length ? (c[c.length >> 1] as number) : 0;
  }

  /**
   * Whether these regions show much less of the subject than the last key frames did: their box
   * under 40 % of the predicted one, or their area under 40 % of the usual. The area test catches
   * a pass that lit up scattered fragments (floor, shadows) instead of the body: their box can be
   * as large as the subject's while they cover a fraction of it.
   */
  private shrank(kept: Region[], predicted: Box): boolean {
    let box: Box | undefined;
    let cells = 0;
    for (const r of kept) {
      box = union(box, r);
      cells += r.area;
    }
    return !box || area(box) < 0.4 * area(predicted) || cells < 0.4 * this.usualCells();
  }

  /**
   * How believable a matte's subject is against the last key frames. Implausible: it shrank
   * (above), grew to over twice its usual area in one key frame, or broke up so that its largest
   * piece is under half the usual area. All three were seen on a tight crop of a spinning dancer:
   * the model lit up the floor, the wall around her, or scattered patches instead of the body. A
   * subject that really grows (walks up to the camera) is accepted once it has done so for two key
   * frames, as the usual area is a median. `largest` ranks two implausible mattes: a whole body
   * beats fragments.
   */
  private judge(
    matte: Float32Array,
    gw: number,
    gh: number,
    predicted: Box,
  ): { implausible: boolean; largest: number } {
    const { kept } = this.select(labelRegions(matte, gw, gh), predicted);
    const cells = kept.reduce((n, r) => n + r.area, 0);
    const largest = Math.max(0, ...kept.map((r) => r.area));
    const usual = this.usualCells();
    const implausible =
      this.shrank(kept, predicted) || (usual > 0 && (cells > 2 * usual || largest < 0.5 * usual));
    return { implausible, largest };
  }

  private track(matte: Float32Array, gw: number, gh: number, crop: Box, predicted: Box | undefined): void {
    const labels = labelRegions(matte, gw, gh);
    const { kept, keep } = this.select(labels, predicted);
    if (keep && keep.size < labels.regions.length) {
      this.passes.droppedRegions += labels.regions.length - keep.size;
      keepOnly(matte, gw, gh, labels, keep);
    }
    let box: Box | undefined;
    for (const r of kept) box = union(box, r);
    let collapsed = false;
    if (this.opts.track && predicted && this.shrank(kept, predicted) && this.misses < 2) {
      // The subject shrank to under 40 % in one key frame: far more likely the model missed part
      // of it (small subjects flicker) than that it really shrank. Keep the predicted box, so the
      // next crop is not cut around the remaining fragment, and look at the whole frame again.
      // Two misses in a row and the subject is taken as gone (left the shot, fully occluded).
      box = predicted;
      collapsed = true;
      this.misses++;
    } else this.misses = 0;
    if (box && this.subject && this.opts.track && !collapsed) {
      // Smoothed so that one noisy box does not throw the next prediction off.
      this.velocity = {
        x: 0.5 * this.velocity.x + 0.5 * edgeMotion(this.subject.x0, this.subject.x1, box.x0, box.x1),
        y: 0.5 * this.velocity.y + 0.5 * edgeMotion(this.subject.y0, this.subject.y1, box.y0, box.y1),
      };
    } else this.velocity = { x: 0, y: 0 };
    this.subject = box;
    if (!box) {
      this.history = [];
      this.subjectCells = [];
      return;
    }
    if (!collapsed) {
      this.history = [...this.history, box].slice(-HISTORY_KEYS);
      this.subjectCells = [...this.subjectCells, kept.reduce((n, r) => n + r.area, 0)].slice(-HISTORY_KEYS);
    }
    const eps = 2 / Math.min(gw, gh);
    this.touchedEdge =
      collapsed ||
      (crop.x0 > 0 && box.x0 <= crop.x0 + eps) ||
      (crop.y0 > 0 && box.y0 <= crop.y0 + eps) ||
      (crop.x1 < 1 && box.x1 >= crop.x1 - eps) ||
      (crop.y1 < 1 && box.y1 >= crop.y1 - eps);
  }
}
