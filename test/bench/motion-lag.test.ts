import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addLagSums,
  defaultLagOptions,
  emptyLagSums,
  finishLag,
  lagPair,
  movingMask,
} from '../../bench/metrics/motion-lag.ts';
import { QualityAccumulator } from '../../bench/quality-accumulator.ts';

const W = 128;
const H = 64;
const SIDE = 16;
// Fast motion: the metric ignores disagreements within 3 px (edge placement), so a lag must be wider.
const STEP = 10;
const TOP = 24;

/** Binary (0/255) rectangle [x0, x0 + w) × [y0, y0 + h). */
function rect(x0: number, y0: number, w: number, h: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) m[y * W + x] = 255;
  return m;
}

function union(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((v, i) => Math.max(v, b[i] as number));
}

/** A bright square moving right by STEP px per frame on a flat dark background. */
function square(t: number, side = SIDE): Uint8Array {
  return rect(10 + STEP * t, TOP, side, side);
}

function lumaOf(mask: Uint8Array): Uint8Array {
  return mask.map((v) => (v > 0 ? 200 : 40));
}

/** Scores every pair t−1, t of a moving square with the matte `matte(t)`, raw = the square. */
function score(frames: number, matte: (t: number) => Uint8Array, side = SIDE): ReturnType<typeof finishLag> {
  const sums = emptyLagSums();
  for (let t = 1; t < frames; t++)
    addLagSums(
      sums,
      lagPair(lumaOf(square(t - 1, side)), lumaOf(square(t, side)), matte(t), square(t, side), W, H),
    );
  return finishLag(sums);
}

test('a matte that follows the moving square exactly has no lag', () => {
  const s = score(6, (t) => square(t));
  assert.equal(s.lagMiss, 0);
  assert.equal(s.lagGhost, 0);
  assert.ok(s.lagMovingPixels > 0 && s.lagMovingFgPixels > 0);
});

test('a matte one frame behind misses the leading edge and leaves a ghost behind', () => {
  const s = score(6, (t) => square(t - 1));
  assert.ok((s.lagMiss ?? 0) > 0.5, `lagMiss ${s.lagMiss}`);
  assert.ok((s.lagGhost ?? 0) > 0.3, `lagGhost ${s.lagGhost}`);
  // Per pair exactly the STEP-px strip on each side, less the tolerance next to the other matte:
  // in front (missed) and behind (ghost).
  const one = lagPair(lumaOf(square(2)), lumaOf(square(3)), square(2), square(3), W, H);
  const beyond = STEP - defaultLagOptions.tolerance;
  assert.equal(one.missed, beyond * SIDE);
  assert.equal(one.ghost, beyond * SIDE);
});

test('an outline a few pixels off is edge placement, not lag', () => {
  // The matte one pixel wider on every side and the front edge 2 px short: all within 3 px.
  const s = score(6, (t) => rect(10 + STEP * t - 1, TOP - 1, SIDE, SIDE + 2));
  assert.equal(s.lagMiss, 0);
  assert.equal(s.lagGhost, 0);
});

test('a matte that keeps the trail but follows the front only ghosts', () => {
  const s = score(6, (t) => union(square(t - 1), square(t)));
  assert.equal(s.lagMiss, 0);
  assert.ok((s.lagGhost ?? 0) > 0.3);
});

test('alpha is binarised at 0.5: a soft but right matte has no lag', () => {
  const s = score(4, (t) => square(t).map((v) => (v > 0 ? 128 : 127)));
  assert.equal(s.lagMiss, 0);
  assert.equal(s.lagGhost, 0);
});

test('a static clip has no moving pixels and no lag figure', () => {
  const luma = lumaOf(square(0));
  const s = finishLag(lagPair(luma, luma.slice(), square(1), square(0), W, H));
  assert.deepEqual(s, { lagMiss: null, lagGhost: null, lagMovingPixels: 0, lagMovingFgPixels: 0 });
});

test('isolated noise spikes do not count as motion; a moving edge does', () => {
  const l0 = new Uint8Array(W * H).fill(100);
  const l1 = l0.slice();
  // Single pixels changed by 60 levels, 4 px apart: each one's 3×3 mean is 60/9 < 12.
  for (let y = 2; y < H; y += 4) for (let x = 2; x < W; x += 4) l1[y * W + x] = 160;
  assert.equal(
    movingMask(l0, l1, W, H, 12).reduce((a, v) => a + v, 0),
    0,
  );
  // A 1-px-wide column changed by 60: the column and its two neighbours (mean 20) move.
  const l2 = l0.slice();
  for (let y = 0; y < H; y++) l2[y * W + 40] = 160;
  const m = movingMask(l0, l2, W, H, 12);
  assert.equal(
    m.reduce((a, v) => a + v, 0),
    3 * H,
  );
  assert.equal(m[10 * W + 39], 1);
  assert.equal(m[10 * W + 42], 0);
});

test('pixel sums pool over frames: a pair with more motion weighs more', () => {
  // Pair 1: small square, lagged matte. Pair 2: a square four times as tall, exact matte.
  const lagged = lagPair(lumaOf(square(0)), lumaOf(square(1)), square(0), square(1), W, H);
  const tall = 4 * SIDE - 8;
  const exact = lagPair(
    lumaOf(rect(10, 4, SIDE, tall)),
    lumaOf(rect(10 + STEP, 4, SIDE, tall)),
    rect(10 + STEP, 4, SIDE, tall),
    rect(10 + STEP, 4, SIDE, tall),
    W,
    H,
  );
  const pooled = finishLag(addLagSums(addLagSums(emptyLagSums(), lagged), exact));
  const perPairMean = ((finishLag(lagged).lagMiss ?? 0) + 0) / 2;
  assert.equal(pooled.lagMiss, lagged.missed / (lagged.movingFg + exact.movingFg));
  assert.ok((pooled.lagMiss ?? 0) < perPairMean);
});

test('the quality accumulator reports lag only when the raw matte is given', () => {
  const withRaw = new QualityAccumulator(W, H);
  const without = new QualityAccumulator(W, H);
  for (let t = 0; t < 5; t++) {
    const luma = lumaOf(square(t));
    const alpha = square(Math.max(0, t - 1));
    withRaw.add({ alpha, luma, raw: square(t) });
    without.add({ alpha, luma });
  }
  const q = withRaw.result();
  assert.ok((q.lagMiss ?? 0) > 0.5);
  assert.ok((q.lagGhost ?? 0) > 0.3);
  assert.ok((q.lagMovingPixels ?? 0) > 0);
  const r = without.result();
  assert.equal(r.lagMiss, undefined);
  assert.equal(r.lagMovingPixels, undefined);
});
