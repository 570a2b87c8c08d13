import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundaryF, boundaryMap, boundaryTolerancePx, dilateDisc } from '../../bench/metrics/boundary-f.ts';
import { dtssdFrame } from '../../bench/metrics/dtssd.ts';
import {
  addFlickerSums,
  emptyFlickerSums,
  finishFlicker,
  flickerPair,
  stillMask,
} from '../../bench/metrics/flicker.ts';
import { meanAbsDiff } from '../../bench/metrics/mean-abs-diff.ts';
import { regionIoU } from '../../bench/metrics/region-iou.ts';

const W = 120;
const H = 80;

/** Binary (0/255) axis-aligned rectangle [x0, x1) × [y0, y1). */
function rect(x0: number, y0: number, x1: number, y1: number, w = W, h = H): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 255;
  return m;
}

function filled(v: number, n = W * H): Uint8Array {
  return new Uint8Array(n).fill(v);
}

test('J: identical masks score 1, disjoint 0, both empty 1', () => {
  const a = rect(10, 10, 50, 40);
  assert.equal(regionIoU(a, a.slice()), 1);
  assert.equal(regionIoU(a, rect(60, 10, 100, 40)), 0);
  assert.equal(regionIoU(filled(0), filled(0)), 1);
});

test('J: known overlap, and alpha is binarised at 0.5 (≥ 128)', () => {
  // 40×30 vs the same shifted 20 px right: intersection 20×30, union 60×30.
  assert.ok(Math.abs(regionIoU(rect(10, 10, 50, 40), rect(30, 10, 70, 40)) - 1 / 3) < 1e-12);
  assert.equal(regionIoU(filled(128), filled(255)), 1);
  assert.equal(regionIoU(filled(127), filled(255)), 0);
});

test('MAD: 0 for identical, 1 for complementary, proportional for soft alpha', () => {
  const a = rect(10, 10, 50, 40);
  assert.equal(meanAbsDiff(a, a.slice()), 0);
  assert.equal(meanAbsDiff(filled(0), filled(255)), 1);
  assert.ok(Math.abs(meanAbsDiff(filled(51), filled(0)) - 0.2) < 1e-12);
});

test('boundary map: the 1-px inner contour of a rectangle; the frame border is no contour', () => {
  const b = boundaryMap(rect(10, 10, 30, 20), W, H);
  const count = b.reduce((s, v) => s + v, 0);
  assert.equal(count, 2 * 20 + 2 * 10 - 4);
  assert.equal(b[15 * W + 20], 0, 'interior');
  assert.equal(b[10 * W + 10], 1, 'corner');
  assert.equal(
    boundaryMap(filled(255), W, H).reduce((s, v) => s + v, 0),
    0,
  );
});

test('disc dilation covers exactly the points within radius r', () => {
  const b = new Uint8Array(W * H);
  b[40 * W + 60] = 1;
  const d = dilateDisc(b, W, H, 3);
  let n = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const inside = (x - 60) ** 2 + (y - 40) ** 2 <= 9;
      assert.equal(d[y * W + x], inside ? 1 : 0, `(${x},${y})`);
      if (inside) n++;
    }
  assert.equal(n, 29);
});

test('boundary F: 1 for identical; a shift within the tolerance still 1; beyond it near 0', () => {
  const gt = rect(30, 20, 80, 60);
  assert.deepEqual(boundaryF(gt, gt.slice(), W, H, 4), { precision: 1, recall: 1, f: 1 });
  assert.equal(boundaryF(rect(33, 20, 83, 60), gt, W, H, 4).f, 1);
  const far = boundaryF(rect(45, 20, 95, 60), gt, W, H, 4);
  // Only the top/bottom edges' overlapping stretch (x 45..79 within 4 px) can match.
  assert.ok(far.f > 0.3 && far.f < 0.8, `F ${far.f}`);
  assert.ok(boundaryF(rect(0, 0, 10, 10), rect(100, 60, 115, 75), W, H, 4).f === 0);
});

test('boundary F: empty cases and the DAVIS tolerance at 854×480', () => {
  assert.equal(boundaryF(filled(0), filled(0), W, H).f, 1);
  const onlyGt = boundaryF(filled(0), rect(10, 10, 20, 20), W, H);
  assert.deepEqual([onlyGt.precision, onlyGt.recall, onlyGt.f], [1, 0, 0]);
  const onlyPred = boundaryF(rect(10, 10, 20, 20), filled(0), W, H);
  assert.deepEqual([onlyPred.precision, onlyPred.recall, onlyPred.f], [0, 1, 0]);
  assert.equal(boundaryTolerancePx(854, 480), 8);
  assert.equal(boundaryTolerancePx(1920, 1080), 18);
});

test('dtSSD: 0 when the matte moves exactly like the ground truth, >0 for flicker', () => {
  const g0 = rect(10, 10, 40, 40);
  const g1 = rect(12, 10, 42, 40);
  assert.equal(dtssdFrame(g0, g1, g0, g1), 0);
  // Static GT, matte toggling 0 ↔ 255 on 1/4 of the pixels: sqrt(1/4) = 0.5.
  const a1 = rect(0, 0, W / 2, H / 2);
  assert.ok(Math.abs(dtssdFrame(filled(0), a1, filled(0), filled(0)) - 0.5) < 1e-12);
});

test('still mask: a changed pixel makes its 3×3 neighbourhood non-still', () => {
  const l0 = filled(100);
  const l1 = filled(100);
  l1[40 * W + 60] = 150;
  const s = stillMask(l0, l1, W, H, 6);
  let notStill = 0;
  for (let i = 0; i < s.length; i++) if (s[i] === 0) notStill++;
  assert.equal(notStill, 9);
  assert.equal(s[41 * W + 61], 0);
  assert.equal(s[42 * W + 62], 1);
});

test('flicker: 0 for a static matte, the mean |Δα| for a flickering one on a still image', () => {
  const luma = filled(90);
  const a = rect(20, 20, 60, 60);
  const s = finishFlicker(flickerPair(a, a.slice(), luma, luma.slice(), W, H));
  assert.deepEqual(s, { flicker: 0, stillFlicker: 0, stillFraction: 1 });
  // Half the alpha levels change by 51 (0.2) everywhere: flicker 0.2 over the whole frame.
  const f = finishFlicker(flickerPair(filled(100), filled(151), luma, luma.slice(), W, H));
  assert.ok(Math.abs((f.flicker ?? 0) - 0.2) < 1e-9);
  assert.ok(Math.abs((f.stillFlicker ?? 0) - 0.2) < 1e-9);
});

test('flicker: matte changes explained by image changes do not count', () => {
  // The subject moves 10 px: alpha and luma change on the same pixels.
  const a0 = rect(20, 20, 60, 60);
  const a1 = rect(30, 20, 70, 60);
  const l0 = new Uint8Array(W * H).map((_, i) => ((a0[i] as number) > 0 ? 200 : 50));
  const l1 = new Uint8Array(W * H).map((_, i) => ((a1[i] as number) > 0 ? 200 : 50));
  const moved = finishFlicker(flickerPair(a0, a1, l0, l1, W, H));
  assert.equal(moved.flicker, 0);
  assert.equal(moved.stillFlicker, 0);
  assert.ok(moved.stillFraction < 1 && moved.stillFraction > 0.8);
  // The same alpha change on an unchanged image is flicker.
  const ghost = finishFlicker(flickerPair(a0, a1, l0, l0.slice(), W, H));
  assert.ok((ghost.flicker ?? 0) > 0.08);
});

test('flicker sums pool over frames; no still pixel gives null scores', () => {
  const acc = emptyFlickerSums();
  const luma = filled(90);
  addFlickerSums(acc, flickerPair(filled(0), filled(0), luma, luma, W, H));
  addFlickerSums(acc, flickerPair(filled(0), filled(255), luma, luma, W, H));
  assert.ok(Math.abs((finishFlicker(acc).flicker ?? 0) - 0.5) < 1e-12);
  const all = finishFlicker(flickerPair(filled(0), filled(255), filled(0), filled(255), W, H));
  assert.deepEqual(all, { flicker: null, stillFlicker: null, stillFraction: 0 });
});
