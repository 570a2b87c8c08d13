import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CUT_HISTOGRAM_DISTANCE, LumaHistogramChange } from '../../src/pipeline/scene-cut.ts';
import { OutputStabiliser, TemporalStabiliser } from '../../src/pipeline/temporal-stabiliser.ts';

const W = 160;
const H = 120;

/** A wide textured panorama (blocky noise, like foliage and street) the camera pans across. */
function panorama(seed: number): { width: number; pixels: Uint8Array } {
  const width = W * 4;
  const pixels = new Uint8Array(width * H);
  let s = seed;
  const cells = new Uint8Array((width / 8) * (H / 8));
  for (let i = 0; i < cells.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    cells[i] = 20 + (s >>> 24) * 0.85;
  }
  for (let y = 0; y < H; y++)
    for (let x = 0; x < width; x++) pixels[y * width + x] = cells[(y >> 3) * (width / 8) + (x >> 3)]!;
  return { width, pixels };
}

function view(p: { width: number; pixels: Uint8Array }, offset: number): Uint8Array {
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++)
    out.set(p.pixels.subarray(y * p.width + offset, y * p.width + offset + W), y * W);
  return out;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

test('a fast pan changes every pixel but not the histogram; a different shot changes both', () => {
  const pano = panorama(7);
  const h = new LumaHistogramChange();
  assert.equal(h.next(view(pano, 0)), Infinity);
  // 40 px per frame on a 160-px-wide picture: a quarter of the view is new each frame.
  const panned = view(pano, 40);
  assert.ok(meanAbsDiff(view(pano, 0), panned) > 40, 'the pan moves luma a lot');
  assert.ok(h.next(panned) < CUT_HISTOGRAM_DISTANCE);
  // A different shot: a bright sky above dark ground.
  const shot = new Uint8Array(W * H).map((_, i) => (i < (W * H) / 2 ? 220 : 30));
  assert.ok(h.next(shot) > CUT_HISTOGRAM_DISTANCE);
  // Float luma in [0,1] bins the same way.
  const f = new LumaHistogramChange();
  f.next(Float32Array.from(view(pano, 0), (v) => v / 255));
  assert.ok(f.next(Float32Array.from(panned, (v) => v / 255)) < CUT_HISTOGRAM_DISTANCE);
});

test('the stabilisers keep smoothing through a fast pan and still reset at a cut', () => {
  const pano = panorama(11);
  const st = new TemporalStabiliser({ width: W, height: H, strength: 1 });
  const hold = new OutputStabiliser(W, H, 1);
  const out = new Float32Array(W * H);
  const alpha = new Uint8Array(W * H);
  const rgb = new Uint8Array(W * H * 3);
  const cuts: boolean[] = [];
  // A subject region the model keeps flickering on (0.4 ↔ 0.6) in a flat, unchanging corner while
  // the rest of the picture pans by 40 px per frame.
  const flickers: number[] = [];
  for (let t = 0; t < 8; t++) {
    const luma = view(pano, 40 * (t % 4));
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) luma[y * W + x] = 128;
    const matte = new Float32Array(W * H);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) matte[y * W + x] = t % 2 ? 0.6 : 0.4;
    cuts.push(st.apply(matte, luma, out).sceneCut);
    for (let i = 0; i < W * H; i++) {
      alpha[i] = Math.round(matte[i]! * 255);
      rgb.fill(luma[i]!, 3 * i, 3 * i + 3);
    }
    hold.apply(alpha, rgb);
    flickers.push(out[0]!, alpha[0]!);
  }
  assert.deepEqual(cuts, new Array(8).fill(false), 'a pan is not a cut');
  // Smoothed: the still corner's matte moves much less than the model's ±0.1.
  const model = flickers.filter((_, i) => i % 2 === 0);
  const steps = model.slice(1).map((v, i) => Math.abs(v - model[i]!));
  assert.ok(Math.max(...steps.slice(2)) < 0.1, `matte steps ${steps.map((s) => s.toFixed(3)).join(' ')}`);
  const held = flickers.filter((_, i) => i % 2 === 1);
  const heldSteps = held.slice(1).map((v, i) => Math.abs(v - held[i]!));
  assert.ok(Math.max(...heldSteps.slice(2)) < 25, `output steps ${heldSteps.join(' ')}`);
  // A real cut still resets.
  const shot = new Uint8Array(W * H).map((_, i) => (i < (W * H) / 2 ? 220 : 30));
  assert.equal(st.apply(new Float32Array(W * H).fill(0.9), shot, out).sceneCut, true);
  assert.ok(out.every((v) => Math.abs(v - 0.9) < 1e-6));
});
