import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlphacutError } from '../../../src/core/errors.ts';
import { anchorNames, type Anchor, type CompositionSpec } from '../../../src/core/job-spec.ts';
import { canvasLayout } from '../../../src/pipeline/compose/canvas-layout.ts';

function comp(
  anchor: Anchor,
  scale = 1,
  x = 0,
  y = 0,
  canvas = { width: 1280, height: 720 },
): CompositionSpec {
  return { canvas, anchor, scale, offset: { x, y } };
}

test('each of the 9 anchors puts a 640×360 foreground at its point of a 1280×720 canvas', () => {
  const expected: Record<Anchor, [number, number]> = {
    'top-left': [0, 0],
    'top-center': [320, 0],
    'top-right': [640, 0],
    'center-left': [0, 180],
    center: [320, 180],
    'center-right': [640, 180],
    'bottom-left': [0, 360],
    'bottom-center': [320, 360],
    'bottom-right': [640, 360],
  };
  for (const anchor of anchorNames) {
    const l = canvasLayout(640, 360, comp(anchor), true);
    assert.deepEqual(
      [l.canvasWidth, l.canvasHeight, l.fgWidth, l.fgHeight, l.fgX, l.fgY],
      [1280, 720, 640, 360, ...expected[anchor]],
      anchor,
    );
  }
});

test('scale 0.5 with offset (10,20): top-left lands at (10,20), offset is added after anchoring', () => {
  assert.deepEqual(canvasLayout(640, 360, comp('top-left', 0.5, 10, 20), true), {
    canvasWidth: 1280,
    canvasHeight: 720,
    fgWidth: 320,
    fgHeight: 180,
    fgX: 10,
    fgY: 20,
  });
  const br = canvasLayout(640, 360, comp('bottom-right', 0.5, 10, 20), true);
  assert.deepEqual([br.fgX, br.fgY], [1280 - 320 + 10, 720 - 180 + 20]);
  const c = canvasLayout(640, 360, comp('center', 0.5, -10, -20), true);
  assert.deepEqual([c.fgX, c.fgY], [480 - 10, 270 - 20]);
});

test('a foreground pushed past the canvas keeps its position (the compositor crops)', () => {
  const l = canvasLayout(640, 360, comp('top-left', 2, -100, -50), true);
  assert.deepEqual([l.fgWidth, l.fgHeight, l.fgX, l.fgY], [1280, 720, -100, -50]);
  const r = canvasLayout(640, 360, comp('bottom-right', 1, 500, 0), true);
  assert.deepEqual([r.fgX, r.fgY], [1140, 360]);
});

test('centring with an odd spare pixel rounds towards the top-left', () => {
  const l = canvasLayout(51, 51, comp('center', 1, 0, 0, { width: 100, height: 100 }), false);
  assert.deepEqual([l.fgX, l.fgY], [24, 24]);
});

test('without a composition the canvas is the source, padded to even sides for yuv420', () => {
  assert.deepEqual(canvasLayout(641, 361, undefined, true), {
    canvasWidth: 642,
    canvasHeight: 362,
    fgWidth: 641,
    fgHeight: 361,
    fgX: 0,
    fgY: 0,
  });
  const gif = canvasLayout(641, 361, undefined, false);
  assert.deepEqual([gif.canvasWidth, gif.canvasHeight], [641, 361]);
});

test('a composition without a canvas keeps the source size', () => {
  const l = canvasLayout(640, 360, { anchor: 'center', scale: 0.5, offset: { x: 0, y: 0 } }, true);
  assert.deepEqual(l, {
    canvasWidth: 640,
    canvasHeight: 360,
    fgWidth: 320,
    fgHeight: 180,
    fgX: 160,
    fgY: 90,
  });
});

test('an odd canvas side is refused for yuv420 formats, naming the field', () => {
  assert.throws(
    () => canvasLayout(640, 360, comp('center', 1, 0, 0, { width: 1281, height: 720 }), true),
    (err: unknown) =>
      isAlphacutError(err) &&
      err.code === 'invalid_request' &&
      err.message.includes('composition.canvas.width') &&
      JSON.stringify(err.details).includes('composition.canvas.width'),
  );
  assert.throws(
    () => canvasLayout(640, 360, comp('center', 1, 0, 0, { width: 1280, height: 721 }), true),
    /composition\.canvas\.height/,
  );
  assert.equal(
    canvasLayout(640, 360, comp('center', 1, 0, 0, { width: 1281, height: 721 }), false).canvasWidth,
    1281,
  );
});
