import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EdgeDecontaminator } from '../../../src/pipeline/compose/edge-decontaminate.ts';
import { pixel, rectFrame, type Rgb } from './synthetic.ts';

const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];
const rect = { x: 60, y: 45, w: 40, h: 30 };

test('soft edge pixels lose the old background colour; opaque pixels are untouched', () => {
  const f = rectFrame(160, 120, rect, RED, BLUE);
  const out = new Uint8Array(f.rgb.length);
  new EdgeDecontaminator(160, 120).run(f.rgb, f.alpha, out, false);
  // Left ring pixel: half red, half blue in the source; red only after.
  assert.deepEqual(pixel(f.rgb, 160, 59, 60, 3), [188, 0, 187]);
  assert.deepEqual(pixel(out, 160, 59, 60, 3), [255, 0, 0]);
  for (let p = 0; p < f.alpha.length; p++) {
    if (f.alpha[p] === 255) assert.deepEqual(pixel(out, 160, p % 160, (p / 160) | 0, 3), [...RED]);
    if (f.alpha[p] === 128) assert.ok((out[p * 3 + 2] as number) <= 2, `ring pixel ${p} keeps blue`);
    // Without fillTransparent, transparent pixels keep their colour.
    if (f.alpha[p] === 0) assert.equal(out[p * 3 + 2], 255);
  }
});

test('fillTransparent gives transparent pixels near the subject the subject colour', () => {
  const f = rectFrame(160, 120, rect, RED, BLUE);
  const out = new Uint8Array(f.rgb.length);
  new EdgeDecontaminator(160, 120).run(f.rgb, f.alpha, out, true);
  const near = pixel(out, 160, 57, 60, 3);
  assert.ok((near[0] as number) > 200 && (near[2] as number) < 20, `near pixel ${near}`);
  // Far from the subject nothing changes.
  assert.deepEqual(pixel(out, 160, 2, 2, 3), [...BLUE]);
});

test('a frame without any background pixel is copied unchanged (nothing to estimate from)', () => {
  const f = rectFrame(32, 32, { x: -1, y: -1, w: 40, h: 40 }, RED, BLUE);
  f.alpha.fill(128);
  const out = new Uint8Array(f.rgb.length);
  new EdgeDecontaminator(32, 32).run(f.rgb, f.alpha, out, true);
  assert.deepEqual(out, f.rgb);
});
