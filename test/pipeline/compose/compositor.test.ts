import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompositionSpec } from '../../../src/core/job-spec.ts';
import { canvasLayout } from '../../../src/pipeline/compose/canvas-layout.ts';
import { Compositor } from '../../../src/pipeline/compose/compositor.ts';
import { pixel, rectFrame, solid, type Rgb } from './synthetic.ts';

const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];
const GREEN: Rgb = [0, 255, 0];
const rect = { x: 60, y: 45, w: 40, h: 30 };

function outputs(w: number, h: number): { rgba: Uint8Array; mask: Uint8Array } {
  return { rgba: new Uint8Array(w * h * 4), mask: new Uint8Array(w * h) };
}

function comp(c: Partial<CompositionSpec> & { canvas: { width: number; height: number } }): CompositionSpec {
  return { anchor: 'center', scale: 1, offset: { x: 0, y: 0 }, ...c };
}

/** Mean blue of the canvas pixels whose placed mask is strictly between 0 and 255. */
function edgeBlue(rgba: Uint8Array, mask: Uint8Array): number {
  let sum = 0;
  let n = 0;
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] === 0 || mask[p] === 255) continue;
    sum += rgba[p * 4 + 2] as number;
    n++;
  }
  assert.ok(n > 0, 'no edge pixels');
  return sum / n;
}

test('a red square with a soft edge, keyed off blue, lands on green where the layout says', () => {
  const f = rectFrame(160, 120, rect, RED, BLUE);
  const layout = canvasLayout(160, 120, comp({ canvas: { width: 320, height: 240 } }), true);
  assert.deepEqual([layout.fgX, layout.fgY], [80, 60]);
  const bg = solid(320, 240, GREEN);
  const out = outputs(320, 240);
  new Compositor(layout, 160, 120, { opaqueBackground: true, decontaminate: true }).compose(
    f.rgb,
    f.alpha,
    bg,
    out,
  );
  // Square corners at canvas (140,105) and (179,134); everything else green, all opaque.
  assert.deepEqual(pixel(out.rgba, 320, 140, 105, 4), [255, 0, 0, 255]);
  assert.deepEqual(pixel(out.rgba, 320, 179, 134, 4), [255, 0, 0, 255]);
  assert.deepEqual(
    pixel(out.rgba, 320, 180, 135, 4),
    [188, 187, 0, 255],
    'corner ring pixel: half red, half green light',
  );
  assert.deepEqual(pixel(out.rgba, 320, 10, 10, 4), [0, 255, 0, 255]);
  assert.deepEqual(pixel(out.rgba, 320, 85, 65, 4), [0, 255, 0, 255], 'inside the placed frame, α 0');
  assert.equal(out.mask[105 * 320 + 140], 255);
  assert.equal(out.mask[104 * 320 + 139], 128);
  assert.equal(out.mask[10 * 320 + 10], 0);
  for (let p = 0; p < 320 * 240; p++) assert.equal(out.rgba[p * 4 + 3], 255);
});

test('decontamination removes the blue halo from the edge ring', () => {
  const f = rectFrame(160, 120, rect, RED, BLUE);
  const layout = canvasLayout(160, 120, comp({ canvas: { width: 320, height: 240 } }), true);
  const bg = solid(320, 240, GREEN);
  const withDc = outputs(320, 240);
  const without = outputs(320, 240);
  new Compositor(layout, 160, 120, { opaqueBackground: true, decontaminate: true }).compose(
    f.rgb,
    f.alpha,
    bg,
    withDc,
  );
  new Compositor(layout, 160, 120, { opaqueBackground: true, decontaminate: false }).compose(
    f.rgb,
    f.alpha,
    bg,
    without,
  );
  const before = edgeBlue(without.rgba, without.mask);
  const after = edgeBlue(withDc.rgba, withDc.mask);
  // Half of the ring's light was the old blue: ~137 in sRGB without, none with.
  assert.ok(before > 120, `without decontamination ${before}`);
  assert.ok(after < 3, `with decontamination ${after}`);
  // And the ring is a light-correct red/green mix (188 = half the light), not 128.
  assert.deepEqual(pixel(withDc.rgba, 320, 139, 120, 4), [188, 187, 0, 255]);
});

test('50 % white over black blends in linear light: 188, not 128', () => {
  const rgb = solid(16, 16, [255, 255, 255]);
  const alpha = new Uint8Array(256).fill(128);
  const out = outputs(16, 16);
  new Compositor(canvasLayout(16, 16, undefined, true), 16, 16, {
    opaqueBackground: true,
    decontaminate: false,
  }).compose(rgb, alpha, solid(16, 16, [0, 0, 0]), out);
  assert.deepEqual(pixel(out.rgba, 16, 8, 8, 4), [188, 188, 188, 255]);
});

test('scale 1 with an offset is an exact pixel copy, cropped at the canvas edge', () => {
  const W = 64;
  const H = 48;
  const rgb = new Uint8Array(W * H * 3);
  const alpha = new Uint8Array(W * H);
  let s = 7;
  const rnd = (): number => (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  for (let i = 0; i < rgb.length; i++) rgb[i] = rnd();
  for (let i = 0; i < alpha.length; i++) alpha[i] = i % 5 === 0 ? 0 : i % 7 === 0 ? 255 : rnd();
  const layout = canvasLayout(
    W,
    H,
    comp({ canvas: { width: 80, height: 60 }, anchor: 'top-left', offset: { x: -5, y: 20 } }),
    true,
  );
  const out = outputs(80, 60);
  new Compositor(layout, W, H, { opaqueBackground: false, decontaminate: false }).compose(
    rgb,
    alpha,
    undefined,
    out,
  );
  for (let y = 0; y < 60; y++) {
    for (let x = 0; x < 80; x++) {
      const sx = x + 5;
      const sy = y - 20;
      const inside = sx < W && sy >= 0 && sy < H;
      const got = pixel(out.rgba, 80, x, y, 4);
      if (inside) {
        assert.deepEqual(got, [...pixel(rgb, W, sx, sy, 3), alpha[sy * W + sx]], `(${x},${y})`);
      } else assert.equal(got[3], 0, `(${x},${y}) outside`);
      assert.equal(out.mask[y * 80 + x], inside ? alpha[sy * W + sx] : 0);
    }
  }
  // Opaque: α 255 pixels are the source bytes, α 0 the background bytes.
  const bg = solid(80, 60, [9, 99, 199]);
  const opaque = outputs(80, 60);
  new Compositor(layout, W, H, { opaqueBackground: true, decontaminate: false }).compose(
    rgb,
    alpha,
    bg,
    opaque,
  );
  const p255 = alpha.findIndex((a) => a === 255);
  const p0 = alpha.findIndex((a, i) => a === 0 && i % W >= 5);
  for (const [p, want] of [
    [p255, [...pixel(rgb, W, p255 % W, (p255 / W) | 0, 3), 255]],
    [p0, [9, 99, 199, 255]],
  ] as const) {
    assert.deepEqual(pixel(opaque.rgba, 80, (p % W) - 5, ((p / W) | 0) + 20, 4), want);
  }
});

test('a foreground placed entirely off the canvas leaves it empty', () => {
  const f = rectFrame(160, 120, rect, RED, BLUE);
  const layout = canvasLayout(
    160,
    120,
    comp({ canvas: { width: 100, height: 100 }, offset: { x: 500, y: 0 } }),
    true,
  );
  const out = outputs(100, 100);
  new Compositor(layout, 160, 120, { opaqueBackground: false, decontaminate: true }).compose(
    f.rgb,
    f.alpha,
    undefined,
    out,
  );
  assert.ok(out.rgba.every((v) => v === 0));
  assert.ok(out.mask.every((v) => v === 0));
});

test('scaling resamples premultiplied: hidden background colour does not bleed into edges', () => {
  // Hard-edged red square over blue; at scale 0.5 the odd-aligned edges become partial pixels.
  const f = rectFrame(160, 120, { x: 61, y: 45, w: 40, h: 30 }, RED, BLUE, 0);
  f.alpha.forEach((a, p) => {
    if (a === 0) f.rgb.set(BLUE, p * 3);
  });
  const layout = canvasLayout(
    160,
    120,
    comp({ canvas: { width: 160, height: 120 }, anchor: 'top-left', scale: 0.5, offset: { x: 10, y: 20 } }),
    false,
  );
  assert.deepEqual([layout.fgWidth, layout.fgHeight, layout.fgX, layout.fgY], [80, 60, 10, 20]);
  const out = outputs(160, 120);
  new Compositor(layout, 160, 120, { opaqueBackground: false, decontaminate: false }).compose(
    f.rgb,
    f.alpha,
    undefined,
    out,
  );
  let partial = 0;
  for (let p = 0; p < 160 * 120; p++) {
    const a = out.rgba[p * 4 + 3] as number;
    if (a === 0) continue;
    if (a < 255) partial++;
    assert.deepEqual(
      pixel(out.rgba, 160, p % 160, (p / 160) | 0, 4).slice(0, 3),
      [255, 0, 0],
      `pixel ${p} α ${a}`,
    );
  }
  assert.ok(partial > 0, 'expected partially covered edge pixels');
  // The square's centre (source 81,60) sits at canvas (10 + 40.5, 20 + 30).
  assert.deepEqual(pixel(out.rgba, 160, 50, 50, 4), [255, 0, 0, 255]);
  assert.equal(out.mask[50 * 160 + 50], 255);
  assert.equal(out.mask[5 * 160 + 5], 0);
});

test('enlarging is smooth and keeps the subject in place', () => {
  const f = rectFrame(40, 30, { x: 10, y: 10, w: 20, h: 10 }, RED, BLUE, 0);
  const layout = canvasLayout(40, 30, comp({ canvas: { width: 80, height: 60 }, scale: 2 }), true);
  const bg = solid(80, 60, GREEN);
  const out = outputs(80, 60);
  new Compositor(layout, 40, 30, { opaqueBackground: true, decontaminate: false }).compose(
    f.rgb,
    f.alpha,
    bg,
    out,
  );
  assert.deepEqual(pixel(out.rgba, 80, 40, 30, 4), [255, 0, 0, 255]);
  assert.deepEqual(pixel(out.rgba, 80, 5, 5, 4), [0, 255, 0, 255]);
  // Blue was never part of the foreground.
  for (let p = 0; p < 80 * 60; p++) assert.equal(out.rgba[p * 4 + 2], 0);
});

test('a matte drawn too wide over plain old background is thinned there, not painted blue', () => {
  // The model's soft edge reaches 4 px past the red square into pure blue at α 0.5: no colour
  // solve can help (those pixels ARE blue); the colour evidence must lower α instead.
  const f = rectFrame(160, 120, rect, RED, BLUE);
  const alpha = new Uint8Array(160 * 120);
  for (let y = 0; y < 120; y++)
    for (let x = 0; x < 160; x++) {
      const inside = x >= rect.x && x < rect.x + rect.w && y >= rect.y && y < rect.y + rect.h;
      const near = x >= rect.x - 4 && x < rect.x + rect.w + 4 && y >= rect.y - 4 && y < rect.y + rect.h + 4;
      alpha[y * 160 + x] = inside ? 255 : near ? 128 : 0;
    }
  const layout = canvasLayout(160, 120, undefined, true);
  const out = outputs(160, 120);
  new Compositor(layout, 160, 120, { opaqueBackground: true, decontaminate: true }).compose(
    f.rgb,
    alpha,
    solid(160, 120, GREEN),
    out,
  );
  const ring = pixel(out.rgba, 160, rect.x - 2, rect.y + 10, 4);
  assert.ok((ring[2] as number) < 10, `no old blue in the too-wide edge: ${ring}`);
  assert.ok((out.mask[(rect.y + 10) * 160 + rect.x - 2] as number) < 20, 'and the placed matte is thinned');
  assert.deepEqual(pixel(out.rgba, 160, rect.x + 5, rect.y + 5, 4), [255, 0, 0, 255], 'the subject stays');
});
