import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputStabiliser, TemporalStabiliser } from '../../src/pipeline/temporal-stabiliser.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const W = 160;
const H = 120;

/** A textured static background luma (0..255) with per-frame sensor noise of ±`noise` levels. */
function backgroundLuma(rnd: () => number, out: Uint8Array, noise = 2): Uint8Array {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const base = 70 + 30 * Math.sin(x / 6) * Math.cos(y / 5);
      out[y * W + x] = Math.round(base + (rnd() * 2 - 1) * noise);
    }
  }
  return out;
}

function staticScene(strength: number, noise = 2): { reduction: number; bias: number } {
  const rnd = rng(1);
  const st = new TemporalStabiliser({ width: W, height: H, strength });
  const cx = 80;
  const cy = 60;
  const r = 35;
  // True matte: a disc with a 3-px soft edge; per frame ±0.2 noise in an 8-px band around the edge.
  const truth = new Float32Array(W * H);
  const band: number[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const d = Math.hypot(x - cx, y - cy) - r;
      truth[y * W + x] = Math.min(1, Math.max(0, 0.5 - d / 3));
      if (Math.abs(d) < 8) band.push(y * W + x);
    }
  }
  const luma = new Uint8Array(W * H);
  const matte = new Float32Array(W * H);
  const out = new Float32Array(W * H);
  const prevRaw = new Float32Array(W * H);
  const prevOut = new Float32Array(W * H);
  let rawChange = 0;
  let outChange = 0;
  let sumRaw = 0;
  let sumOut = 0;
  let count = 0;
  const frames = 60;
  const warmup = 5;
  for (let t = 0; t < frames; t++) {
    backgroundLuma(rnd, luma, noise);
    // The disc is part of the picture too (brighter), static.
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const k = y * W + x;
        luma[k] = Math.round(luma[k]! + truth[k]! * 120);
      }
    }
    matte.set(truth);
    for (const k of band) matte[k] = Math.min(1, Math.max(0, truth[k]! + (rnd() * 0.4 - 0.2)));
    const res = st.apply(matte, luma, out);
    assert.equal(res.sceneCut, false);
    if (t >= warmup) {
      for (const k of band) {
        rawChange += Math.abs(matte[k]! - prevRaw[k]!);
        outChange += Math.abs(out[k]! - prevOut[k]!);
        sumRaw += matte[k]!;
        sumOut += out[k]!;
        count++;
      }
    }
    prevRaw.set(matte);
    prevOut.set(out);
  }
  return { reduction: 1 - outChange / rawChange, bias: (sumOut - sumRaw) / count };
}

test('static scene: flicker of a noisy matte drops by ≥ 70 % (strength 0.8), ≥ 85 % (strength 1), unbiased', () => {
  for (const [strength, wanted] of [
    [0.8, 0.7],
    [1, 0.85],
  ] as const) {
    const { reduction, bias } = staticScene(strength);
    assert.ok(
      reduction >= wanted,
      `strength ${strength}: change reduced by ${(reduction * 100).toFixed(1)} %`,
    );
    // The smoothed matte has the same average as the raw one (no drift, no shrinking).
    assert.ok(Math.abs(bias) < 0.01, `strength ${strength}: mean alpha shifted by ${bias}`);
  }
});

test('noisy source (±12 grey levels per frame): noise is not mistaken for motion', () => {
  const { reduction } = staticScene(0.8, 12);
  assert.ok(reduction >= 0.7, `change reduced by ${(reduction * 100).toFixed(1)} %`);
});

/** Scene with a bright square at (sx, sy), size 30, over the textured background. */
function squareFrame(
  rnd: () => number,
  sx: number,
  sy: number,
  luma: Uint8Array,
  matte: Float32Array,
  matteNoise: number,
  lumaNoise = 2,
): void {
  backgroundLuma(rnd, luma, lumaNoise);
  matte.fill(0);
  for (let y = sy; y < sy + 30; y++) {
    for (let x = sx; x < sx + 30; x++) {
      luma[y * W + x] = 220 + Math.round(rnd() * 4 - 2);
      matte[y * W + x] = 1;
    }
  }
  if (matteNoise > 0) {
    for (let k = 0; k < matte.length; k++)
      matte[k] = Math.min(1, Math.max(0, matte[k]! + (rnd() * 2 - 1) * matteNoise));
  }
}

function regionStats(
  a: Float32Array,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const v = a[y * W + x]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return { min, max };
}

test('moving square: the new position is ≥ 0.9 in the same frame, the old one is cleared (no trail)', () => {
  const rnd = rng(2);
  const st = new TemporalStabiliser({ width: W, height: H, strength: 1 });
  const luma = new Uint8Array(W * H);
  const matte = new Float32Array(W * H);
  const out = new Float32Array(W * H);
  // 15 still frames (the stabiliser settles on the square at x = 30), with a little matte noise.
  for (let t = 0; t < 15; t++) {
    squareFrame(rnd, 30, 40, luma, matte, 0.05);
    st.apply(matte, luma, out);
  }
  // Jump by 40 px: the old and new squares do not overlap.
  squareFrame(rnd, 70, 40, luma, matte, 0.05);
  assert.equal(st.apply(matte, luma, out).sceneCut, false);
  const now = regionStats(out, 70, 40, 100, 70);
  const old = regionStats(out, 30, 40, 60, 70);
  assert.ok(now.min >= 0.9, `new position min alpha ${now.min}`);
  assert.ok(old.max <= 0.1, `old position max alpha ${old.max}`);
  // One frame later, still there and still no trail.
  squareFrame(rnd, 70, 40, luma, matte, 0.05);
  st.apply(matte, luma, out);
  assert.ok(regionStats(out, 70, 40, 100, 70).min >= 0.9);
  assert.ok(regionStats(out, 30, 40, 60, 70).max <= 0.1);
});

for (const lumaNoise of [2, 12]) {
  test(`slowly moving square (3 px per frame, ±${lumaNoise} levels of noise): leading edge in, trailing strip out, every frame`, () => {
    const rnd = rng(3);
    const st = new TemporalStabiliser({ width: W, height: H, strength: 1 });
    const luma = new Uint8Array(W * H);
    const matte = new Float32Array(W * H);
    const out = new Float32Array(W * H);
    for (let t = 0; t < 10; t++) {
      squareFrame(rnd, 20, 40, luma, matte, 0.05, lumaNoise);
      st.apply(matte, luma, out);
    }
    for (let sx = 23; sx <= 80; sx += 3) {
      squareFrame(rnd, sx, 40, luma, matte, 0.05, lumaNoise);
      st.apply(matte, luma, out);
      const lead = regionStats(out, sx + 27, 40, sx + 30, 70); // the 3 columns just covered
      const trail = regionStats(out, sx - 3, 40, sx, 70); // the 3 columns just uncovered
      assert.ok(lead.min >= 0.9, `x=${sx}: leading edge min ${lead.min}`);
      assert.ok(trail.max <= 0.1, `x=${sx}: trailing strip max ${trail.max}`);
    }
  });
}

test('scene cut: the output equals the new matte and the state restarts from it', () => {
  const rnd = rng(4);
  const st = new TemporalStabiliser({ width: W, height: H, strength: 1 });
  const luma = new Uint8Array(W * H);
  const matte = new Float32Array(W * H);
  const out = new Float32Array(W * H);
  for (let t = 0; t < 10; t++) {
    squareFrame(rnd, 30, 40, luma, matte, 0.1);
    st.apply(matte, luma, out);
  }
  // A totally different shot: bright sky on top, dark ground below, a person-like bar on the right.
  const luma2 = new Uint8Array(W * H);
  const matte2 = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      luma2[y * W + x] = y < 60 ? 230 : 20;
      matte2[y * W + x] = x > 110 && x < 140 ? 0.95 : (x % 7) / 50;
    }
  }
  const res = st.apply(matte2, luma2, out);
  assert.equal(res.sceneCut, true);
  assert.deepEqual(out, matte2);
  // The next frame of the new shot is not a cut, and the old square is forgotten.
  const res2 = st.apply(matte2, luma2, out);
  assert.equal(res2.sceneCut, false);
  assert.ok(regionStats(out, 30, 40, 60, 70).max <= 0.2);
});

test('first frame and reset() pass the matte through; strength 0 is a pass-through', () => {
  const rnd = rng(5);
  const luma = new Uint8Array(W * H);
  const matte = new Float32Array(W * H);
  const out = new Float32Array(W * H);
  const st = new TemporalStabiliser({ width: W, height: H, strength: 0.9 });
  squareFrame(rnd, 30, 40, luma, matte, 0.2);
  assert.equal(st.apply(matte, luma, out).sceneCut, false);
  assert.deepEqual(out, matte);
  squareFrame(rnd, 30, 40, luma, matte, 0.2);
  st.apply(matte, luma, out);
  assert.notDeepEqual(out, matte, 'second frame is smoothed');
  st.reset();
  squareFrame(rnd, 30, 40, luma, matte, 0.2);
  st.apply(matte, luma, out);
  assert.deepEqual(out, matte, 'after reset');

  const off = new TemporalStabiliser({ width: W, height: H, strength: 0 });
  for (let t = 0; t < 4; t++) {
    squareFrame(rnd, 30, 40, luma, matte, 0.2);
    off.apply(matte, luma, out);
    assert.deepEqual(out, matte);
  }
});

test('Float32 luma in [0,1] behaves like Uint8 luma; out may alias the matte', () => {
  const rnd = rng(6);
  const a = new TemporalStabiliser({ width: W, height: H, strength: 0.8 });
  const b = new TemporalStabiliser({ width: W, height: H, strength: 0.8 });
  const luma = new Uint8Array(W * H);
  const lumaF = new Float32Array(W * H);
  const matte = new Float32Array(W * H);
  const outA = new Float32Array(W * H);
  for (let t = 0; t < 6; t++) {
    squareFrame(rnd, 30 + t, 40, luma, matte, 0.2);
    for (let k = 0; k < luma.length; k++) lumaF[k] = luma[k]! / 255;
    a.apply(matte, luma, outA);
    const inPlace = matte.slice();
    b.apply(inPlace, lumaF, inPlace);
    for (let k = 0; k < outA.length; k++) assert.ok(Math.abs(outA[k]! - inPlace[k]!) < 1e-5);
  }
});

test('rejects wrong sizes and options', () => {
  assert.throws(() => new TemporalStabiliser({ width: 0, height: 5, strength: 0.5 }), RangeError);
  assert.throws(() => new TemporalStabiliser({ width: 5, height: 5, strength: 1.5 }), RangeError);
  const st = new TemporalStabiliser({ width: 4, height: 4, strength: 0.5 });
  assert.throws(() => st.apply(new Float32Array(15), new Uint8Array(16), new Float32Array(16)), RangeError);
  assert.throws(() => st.apply(new Float32Array(16), new Uint8Array(15), new Float32Array(16)), RangeError);
  assert.throws(() => st.apply(new Float32Array(16), new Uint8Array(16), new Float32Array(17)), RangeError);
});

/** rgb24 frame of a flat grey with a bright square at x0..x0+s (the "moving subject"). */
function rgbSquareFrame(x0: number, s: number, rnd: () => number, noise = 1): Uint8Array {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inside = x >= x0 && x < x0 + s && y >= 40 && y < 40 + s;
      const v = Math.round((inside ? 200 : 60) + (rnd() * 2 - 1) * noise);
      rgb.fill(v, (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
  }
  return rgb;
}

test('OutputStabiliser: still pixels keep their alpha, a moving subject is followed in the same frame', () => {
  const rnd = rng(7);
  const hold = new OutputStabiliser(W, H, 1);
  let stillChange = 0;
  let rawChange = 0;
  let prevOut: Uint8Array | undefined;
  let prevRaw: Uint8Array | undefined;
  for (let t = 0; t < 12; t++) {
    const x0 = 20 + 6 * t;
    const rgb = rgbSquareFrame(x0, 30, rnd);
    // The square's alpha is exact; a still band at the top (rows 0..9, e.g. hair on a static
    // shot) carries model noise around 0.5.
    const alpha = new Uint8Array(W * H);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        if (x >= x0 && x < x0 + 30 && y >= 40 && y < 70) alpha[i] = 255;
        else if (y < 10) alpha[i] = Math.round(128 + (rnd() * 2 - 1) * 60);
      }
    const raw = alpha.slice();
    hold.apply(alpha, rgb);
    // No lag: where the subject is now, and where it just left, the output is the new alpha.
    for (let y = 40; y < 70; y++) {
      assert.equal(alpha[y * W + x0 + 29], 255, `frame ${t}: leading edge`);
      if (t > 0) assert.equal(alpha[y * W + x0 - 1], 0, `frame ${t}: uncovered background`);
    }
    if (prevOut && prevRaw) {
      for (let i = 0; i < 10 * W; i++) {
        stillChange += Math.abs(alpha[i]! - prevOut[i]!);
        rawChange += Math.abs(raw[i]! - prevRaw[i]!);
      }
    }
    prevOut = alpha.slice();
    prevRaw = raw;
  }
  assert.ok(stillChange < 0.4 * rawChange, `still flicker ${stillChange} vs raw ${rawChange}`);
});

test('OutputStabiliser: the first frame and a scene cut pass through unchanged', () => {
  const rnd = rng(3);
  const hold = new OutputStabiliser(W, H, 1);
  const a0 = new Uint8Array(W * H).fill(200);
  hold.apply(a0, rgbSquareFrame(10, 30, rnd));
  assert.ok(a0.every((v) => v === 200));
  // A different shot: every pixel's luma jumps.
  const cut = new Uint8Array(W * H * 3).fill(250);
  const a1 = new Uint8Array(W * H).fill(10);
  hold.apply(a1, cut);
  assert.ok(a1.every((v) => v === 10));
});
