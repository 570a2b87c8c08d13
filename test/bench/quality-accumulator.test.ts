import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QualityAccumulator } from '../../bench/quality-accumulator.ts';

const W = 96;
const H = 64;

function disc(cx: number, cy: number, r: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[y * W + x] = 255;
  return m;
}

/** A bright disc moving right over a dark still background. */
function scene(t: number): { gt: Uint8Array; luma: Uint8Array } {
  const gt = disc(30 + 3 * t, 32, 14);
  const luma = gt.map((v, i) => (v > 0 ? 210 : 40 + (i % 7)));
  return { gt, luma };
}

test('a perfect matte scores J = F = 1, MAD = dtSSD = flicker = 0, agreement 1', () => {
  const acc = new QualityAccumulator(W, H);
  for (let t = 0; t < 6; t++) {
    const { gt, luma } = scene(t);
    acc.add({ alpha: gt, luma, gt, ref: gt });
  }
  const q = acc.result();
  assert.equal(q.frames, 6);
  assert.equal(q.j, 1);
  assert.equal(q.boundaryF, 1);
  assert.equal(q.mad, 0);
  assert.equal(q.dtssd, 0);
  assert.equal(q.flicker, 0);
  assert.equal(q.stillFlicker, 0);
  assert.equal(q.agreementIoU, 1);
  assert.ok(q.stillFraction > 0.5 && q.stillFraction < 1);
});

test('a matte that blinks on still background scores worse on every temporal metric', () => {
  const acc = new QualityAccumulator(W, H);
  const blob = disc(80, 12, 6);
  for (let t = 0; t < 6; t++) {
    const { gt, luma } = scene(t);
    const alpha = gt.slice();
    if (t % 2 === 1) for (let i = 0; i < alpha.length; i++) if (blob[i]) alpha[i] = 255;
    acc.add({ alpha, luma, gt });
  }
  const q = acc.result();
  assert.ok((q.j ?? 1) < 1);
  assert.ok((q.dtssd ?? 0) > 0);
  assert.ok((q.flicker ?? 0) > 0);
  assert.ok((q.stillFlicker ?? 0) > 0);
  assert.equal(q.agreementIoU, null);
});

test('without ground truth only the temporal scores exist', () => {
  const acc = new QualityAccumulator(W, H);
  for (let t = 0; t < 3; t++) {
    const { gt, luma } = scene(t);
    acc.add({ alpha: gt, luma });
  }
  const q = acc.result();
  assert.deepEqual([q.j, q.boundaryF, q.mad, q.dtssd, q.agreementIoU], [null, null, null, null, null]);
  assert.equal(q.flicker, 0);
});
