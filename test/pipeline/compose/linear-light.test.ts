import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linearToSrgb, srgbToLinear } from '../../../src/pipeline/compose/linear-light.ts';

test('every 8-bit value survives sRGB → linear → sRGB exactly', () => {
  for (let v = 0; v < 256; v++) assert.equal(linearToSrgb(srgbToLinear[v] as number), v, `value ${v}`);
});

test('the curve is sRGB: half the light is code 188, 50 % code is ~21 % light', () => {
  assert.equal(linearToSrgb(0.5), 188);
  assert.ok(Math.abs((srgbToLinear[128] as number) - 0.2158) < 1e-3);
  assert.equal(linearToSrgb(-1), 0);
  assert.equal(linearToSrgb(2), 255);
});
