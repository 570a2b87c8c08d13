import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addKeyFrame,
  chromaKeyAlpha,
  defaultChromaKeyOptions,
  emptyKeySums,
  estimateBackdrop,
  finishKey,
  hairBand,
  keyRoi,
} from '../../bench/metrics/chroma-key.ts';

const W = 96;
const H = 60;
const GREY = [170, 170, 170] as const;

/** Backdrop colour at column x: cyan, brighter to the right (a lit backdrop is never flat). */
function backdrop(x: number): [number, number, number] {
  return [40, 150 + (50 * x) / W, 230];
}

/**
 * Known matte: a grey subject from row 20 down, opaque between columns 36 and 60, with linear soft
 * edges 16 px wide on both sides (α 0 → 1 over columns 20…36, 1 → 0 over 60…76); hard top edge.
 */
function trueAlpha(x: number, y: number): number {
  if (y < 20) return 0;
  if (x < 20 || x >= 76) return 0;
  if (x < 36) return (x - 20) / 16;
  if (x < 60) return 1;
  return (76 - x) / 16;
}

/** rgb24 frame: α·F + (1 − α)·B(x), with F grey (plus `spill` of the backdrop's colour) and rounding. */
function frame(spill = 0): Uint8Array {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const a = trueAlpha(x, y);
      const b = backdrop(x);
      for (let c = 0; c < 3; c++) {
        const f = (1 - spill) * (GREY[c] as number) + spill * (b[c] as number);
        rgb[3 * (y * W + x) + c] = Math.round(a * f + (1 - a) * (b[c] as number));
      }
    }
  // The frame's own edge is not backdrop (a grey capture column, as in grid-lwbsza): the region of
  // interest leaves it out and the backdrop fit must not be pulled by it.
  for (let y = 0; y < H; y++) rgb.fill(200, 3 * y * W, 3 * y * W + 9);
  return rgb;
}

/** The documented ramp: 0 up to lo, 1 from hi, linear between (lo 0.1, hi 0.9 on a noiseless backdrop). */
function ramp(a: number): number {
  const { lo, hi } = defaultChromaKeyOptions;
  return a <= lo ? 0 : a >= hi ? 1 : (a - lo) / (hi - lo);
}

test('chroma key: a known soft edge over a cyan backdrop gives the documented alpha', () => {
  const rgb = frame();
  const bd = estimateBackdrop(rgb, W, H);
  assert.ok(bd.sigma < 0.02, `backdrop fit residual ${bd.sigma}`);
  assert.ok(bd.inlierShare > 0.95, `inliers ${bd.inlierShare}`);
  const gt = chromaKeyAlpha(rgb, W, H, bd);
  const roi = keyRoi(W, H);
  let worst = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const want = roi[p] ? 255 * ramp(trueAlpha(x, y)) : 0;
      worst = Math.max(worst, Math.abs((gt[p] as number) - want));
    }
  // 8-bit rounding of the mixed colour moves s by < 1 %, i.e. a few alpha levels after the ramp.
  assert.ok(worst <= 6, `largest alpha error ${worst}`);
  // The 50 % contour is where the true alpha is 0.5 (column 28 on the left edge).
  assert.ok(Math.abs((gt[30 * W + 28] as number) - 128) <= 4);
});

test('chroma key: blue spill on the opaque subject still reads as opaque', () => {
  const rgb = frame(0.08);
  const gt = chromaKeyAlpha(rgb, W, H, estimateBackdrop(rgb, W, H));
  for (let x = 38; x < 58; x++) assert.equal(gt[40 * W + x], 255, `column ${x}`);
});

test('hair band and soft fraction: a hard cut-out has no soft hair pixels, the key has', () => {
  const rgb = frame();
  const gt = chromaKeyAlpha(rgb, W, H, estimateBackdrop(rgb, W, H));
  const band = hairBand(gt, W, H);
  // Upper half of the subject (rows 20…37 of 20…53 in the region of interest) only.
  assert.ok(band[25 * W + 28] === 1);
  assert.ok(band[50 * W + 28] === 0);
  const roi = keyRoi(W, H);
  const hard = gt.map((a) => (a >= 128 ? 255 : 0));
  const sHard = emptyKeySums();
  addKeyFrame(sHard, hard, gt, band, roi);
  const kHard = finishKey(sHard)!;
  const sSame = emptyKeySums();
  addKeyFrame(sSame, gt, gt, band, roi);
  const kSame = finishKey(sSame)!;
  assert.equal(kHard.hairSoftFraction, 0);
  assert.ok((kHard.gtHairSoftFraction ?? 0) > 0.5);
  assert.ok((kHard.hairMad ?? 0) > 0.1);
  assert.equal(kSame.mad, 0);
  assert.equal(kSame.hairSoftFraction, kSame.gtHairSoftFraction);
});
