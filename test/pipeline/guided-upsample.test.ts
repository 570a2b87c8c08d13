import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GuidedUpsampler,
  bilinearUpsample,
  defaultCoarseScale,
  suggestGuidedParams,
  type GuideMode,
} from '../../src/pipeline/guided-upsample.ts';

/** Deterministic pseudo-random numbers in [0,1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Disc {
  cx: number;
  cy: number;
  r: number;
}

/** Full-res frame: a sharp bright disc on a darker textured blue-green background, light noise. */
function discFrame(W: number, H: number, d: Disc, seed = 1): Uint8Array {
  const rnd = rng(seed);
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inside = Math.hypot(x - d.cx, y - d.cy) < d.r;
      const n = (rnd() - 0.5) * 8;
      const p = (y * W + x) * 3;
      rgb[p] = clamp255((inside ? 230 : 30 + (x * 40) / W) + n);
      rgb[p + 1] = clamp255((inside ? 170 : 90 + 20 * Math.sin(x / 9) * Math.sin(y / 7)) + n);
      rgb[p + 2] = clamp255((inside ? 140 : 150) + n);
    }
  }
  return rgb;
}

function clamp255(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** Blocky low-res matte: 1 where the matte pixel's centre (mapped onto the frame) is in the disc. */
function blockyDiscMatte(W: number, H: number, mw: number, mh: number, d: Disc): Float32Array {
  const m = new Float32Array(mw * mh);
  for (let j = 0; j < mh; j++) {
    for (let i = 0; i < mw; i++) {
      const x = ((i + 0.5) * W) / mw - 0.5;
      const y = ((j + 0.5) * H) / mh - 0.5;
      m[j * mw + i] = Math.hypot(x - d.cx, y - d.cy) < d.r ? 1 : 0;
    }
  }
  return m;
}

/**
 * IoU of (alpha > 127) with the true disc; mean 10 %–90 % transition width along 720 radial
 * rays (px); fraction of pixels farther than 12 px from the edge off 0 or 1 by more than 10 %.
 */
function discScores(
  out: Uint8Array,
  W: number,
  H: number,
  d: Disc,
): { iou: number; width: number; stray: number } {
  let inter = 0;
  let union = 0;
  let far = 0;
  let stray = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const dist = Math.hypot(x - d.cx, y - d.cy);
      const v = out[y * W + x]!;
      const truth = dist < d.r;
      const pred = v > 127;
      if (truth && pred) inter++;
      if (truth || pred) union++;
      if (Math.abs(dist - d.r) > 12) {
        far++;
        if (v > 25 && v < 230) stray++;
      }
    }
  }
  let width = 0;
  const rays = 720;
  for (let k = 0; k < rays; k++) {
    const th = (2 * Math.PI * k) / rays;
    let soft = 0;
    for (let t = d.r - 20; t <= d.r + 20; t += 0.25) {
      const x = Math.round(d.cx + t * Math.cos(th));
      const y = Math.round(d.cy + t * Math.sin(th));
      const v = out[y * W + x]!;
      if (v > 25 && v < 230) soft += 0.25;
    }
    width += soft / rays;
  }
  return { iou: inter / union, width, stray: stray / far };
}

for (const mode of ['gray', 'color'] as GuideMode[]) {
  test(`${mode} guide: a blocky disc matte snaps to the sharp image edge (better IoU, narrow edge)`, () => {
    const W = 640;
    const H = 360;
    const mw = 64;
    const mh = 64; // stretched: 10 × 5.6 frame pixels per matte pixel
    const disc = { cx: 330.3, cy: 170.7, r: 110 };
    const rgb = discFrame(W, H, disc);
    const matte = blockyDiscMatte(W, H, mw, mh, disc);

    const base = new Uint8Array(W * H);
    bilinearUpsample(matte, mw, mh, base, W, H);
    const guided = new Uint8Array(W * H);
    const up = new GuidedUpsampler({
      width: W,
      height: H,
      matteWidth: mw,
      matteHeight: mh,
      radius: 16,
      eps: 1e-4,
      mode,
    });
    up.upsample(matte, rgb, guided);

    const b = discScores(base, W, H, disc);
    const g = discScores(guided, W, H, disc);
    assert.ok(g.iou > b.iou, `guided IoU ${g.iou} should beat bilinear ${b.iou}`);
    assert.ok(g.iou > 0.99, `guided IoU ${g.iou}`);
    assert.ok(b.width > 4, `bilinear edge is wide (${b.width.toFixed(2)} px)`);
    // The 10–90 % transition: ~7 px for bilinear; about a pixel guided (the gray guide is a bit
    // wider because the background texture competes with the edge in the luma statistics).
    assert.ok(g.width < (mode === 'color' ? 1 : 2.5), `guided edge width ${g.width.toFixed(2)} px`);
    assert.ok(g.width < b.width / 3, `guided ${g.width.toFixed(2)} px vs bilinear ${b.width.toFixed(2)} px`);
    // Away from the edge the alpha is clean: the background texture does not leak in.
    assert.ok(g.stray < 0.002, `fraction of non-binary pixels away from the edge: ${g.stray}`);
  });
}

test('colour guide separates foreground and background of equal brightness; the gray guide cannot', () => {
  const W = 400;
  const H = 240;
  const disc = { cx: 200, cy: 120, r: 70 };
  // Foreground red (luma ≈ 0.299·200 + 0.587·60 + 0.114·60 ≈ 102), background green of the same luma.
  const rgb = new Uint8Array(W * H * 3);
  const rnd = rng(7);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inside = Math.hypot(x - disc.cx, y - disc.cy) < disc.r;
      const n = (rnd() - 0.5) * 4;
      const p = (y * W + x) * 3;
      rgb[p] = clamp255((inside ? 200 : 60) + n);
      rgb[p + 1] = clamp255((inside ? 60 : 131) + n);
      rgb[p + 2] = clamp255(60 + n);
    }
  }
  const mw = 40;
  const mh = 24;
  const matte = blockyDiscMatte(W, H, mw, mh, disc);
  const scores: Record<string, number> = {};
  for (const mode of ['gray', 'color'] as GuideMode[]) {
    const out = new Uint8Array(W * H);
    new GuidedUpsampler({
      width: W,
      height: H,
      matteWidth: mw,
      matteHeight: mh,
      radius: 16,
      eps: 1e-4,
      mode,
    }).upsample(matte, rgb, out);
    scores[mode] = discScores(out, W, H, disc).iou;
  }
  assert.ok(scores.color! > 0.99, `colour IoU ${scores.color}`);
  assert.ok(scores.color! > scores.gray!, `colour ${scores.color} vs gray ${scores.gray}`);
});

for (const mode of ['gray', 'color'] as GuideMode[]) {
  test(`${mode} guide: a flat image region keeps the matte smooth (no ringing, no overshoot)`, () => {
    const W = 320;
    const H = 180;
    const mw = 40;
    const mh = 30;
    // Nearly flat guide (±1 level of noise) and a matte with a smooth ramp plus a hard step.
    const rnd = rng(3);
    const rgb = new Uint8Array(W * H * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = 128 + Math.round(rnd() * 2 - 1);
    const matte = new Float32Array(mw * mh);
    for (let j = 0; j < mh; j++) {
      for (let i = 0; i < mw; i++) {
        matte[j * mw + i] = i < 20 ? Math.min(0.6, Math.max(0, (i - 4) / 20)) : i < 30 ? 0.25 : 0.9;
      }
    }
    const out = new Uint8Array(W * H);
    new GuidedUpsampler({
      width: W,
      height: H,
      matteWidth: mw,
      matteHeight: mh,
      radius: 12,
      eps: 1e-4,
      mode,
    }).upsample(matte, rgb, out);
    for (let y = 0; y < H; y += 7) {
      const row = out.subarray(y * W, (y + 1) * W);
      for (let x = 0; x < W; x++) {
        // No overshoot beyond the matte's range (0 … 0.9) by more than a level.
        assert.ok(row[x]! <= Math.round(0.9 * 255) + 1, `overshoot ${row[x]} at ${x},${y}`);
      }
      // The ramp (x < 140) rises monotonically, no ripples.
      for (let x = 1; x < 140; x++) assert.ok(row[x]! >= row[x - 1]! - 1, `ripple at ${x},${y}`);
      // Across the 0.25 plateau and the step to 0.9: monotonic after the ramp's top, no undershoot.
      for (let x = 150; x < W; x++)
        assert.ok(row[x]! >= Math.round(0.25 * 255) - 2, `undershoot ${row[x]} at ${x},${y}`);
      // Smooth: second differences stay small everywhere (no noise pattern, no ringing).
      for (let x = 1; x < W - 1; x++) {
        const d2 = Math.abs(row[x + 1]! - 2 * row[x]! + row[x - 1]!);
        assert.ok(d2 <= 6, `second difference ${d2} at ${x},${y}`);
      }
    }
  });
}

test('soft alpha stays soft where the image itself is a soft blend (hair, blur)', () => {
  const W = 320;
  const H = 160;
  const mw = 32;
  const mh = 16;
  // The image blends background → foreground linearly over x ∈ [140, 180]; the true alpha is that ramp.
  const alpha = (x: number): number => Math.min(1, Math.max(0, (x - 140) / 40));
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const a = alpha(x);
      const p = (y * W + x) * 3;
      rgb[p] = clamp255(a * 230 + (1 - a) * 30);
      rgb[p + 1] = clamp255(a * 200 + (1 - a) * 60);
      rgb[p + 2] = clamp255(a * 170 + (1 - a) * 90);
    }
  }
  const matte = new Float32Array(mw * mh);
  for (let j = 0; j < mh; j++)
    for (let i = 0; i < mw; i++) matte[j * mw + i] = alpha(((i + 0.5) * W) / mw - 0.5);
  for (const mode of ['gray', 'color'] as GuideMode[]) {
    const out = new Uint8Array(W * H);
    new GuidedUpsampler({
      width: W,
      height: H,
      matteWidth: mw,
      matteHeight: mh,
      radius: 20,
      eps: 1e-4,
      mode,
    }).upsample(matte, rgb, out);
    const y = 80;
    for (let x = 145; x < 176; x++) {
      const v = out[y * W + x]! / 255;
      assert.ok(
        Math.abs(v - alpha(x)) < 0.06,
        `${mode}: alpha ${v.toFixed(3)} vs ${alpha(x).toFixed(3)} at x=${x}`,
      );
    }
  }
});

test('odd sizes (853×479 from 257×143): right length, values in range, constant mattes stay constant', () => {
  const W = 853;
  const H = 479;
  const mw = 257;
  const mh = 143;
  const rnd = rng(11);
  const rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.floor(rnd() * 256);
  const matte = new Float32Array(mw * mh);
  for (let i = 0; i < matte.length; i++) matte[i] = rnd();
  for (const mode of ['gray', 'color'] as GuideMode[]) {
    for (const coarseScale of [undefined, 1, 3, 5]) {
      const up = new GuidedUpsampler({
        width: W,
        height: H,
        matteWidth: mw,
        matteHeight: mh,
        radius: 9,
        eps: 1e-3,
        mode,
        ...(coarseScale === undefined ? {} : { coarseScale }),
      });
      const out = new Uint8Array(W * H).fill(77);
      up.upsample(matte, rgb, out);
      let sum = 0;
      for (const v of out) sum += v;
      const mean = sum / out.length / 255;
      assert.ok(Math.abs(mean - 0.5) < 0.05, `${mode} s=${up.coarseScale}: mean ${mean}`);
      // Same result when run again with the reused buffers.
      const again = new Uint8Array(W * H);
      up.upsample(matte, rgb, again);
      assert.deepEqual(again, out);

      up.upsample(new Float32Array(mw * mh).fill(1), rgb, out);
      assert.ok(
        out.every((v) => v === 255),
        'all-foreground matte → 255 everywhere',
      );
      up.upsample(new Float32Array(mw * mh), rgb, out);
      assert.ok(
        out.every((v) => v === 0),
        'all-background matte → 0 everywhere',
      );
      up.upsample(new Float32Array(mw * mh).fill(0.5), rgb, out);
      assert.ok(
        out.every((v) => v === 128 || v === 127),
        'constant 0.5 matte → 127/128 everywhere',
      );
    }
  }
  const out = new Uint8Array(W * H);
  bilinearUpsample(matte, mw, mh, out, W, H);
  assert.equal(out.length, W * H);
});

test('rejects wrong buffer sizes and bad options', () => {
  const up = new GuidedUpsampler({
    width: 20,
    height: 10,
    matteWidth: 5,
    matteHeight: 5,
    radius: 4,
    eps: 1e-3,
  });
  assert.throws(
    () => up.upsample(new Float32Array(24), new Uint8Array(600), new Uint8Array(200)),
    RangeError,
  );
  assert.throws(
    () => up.upsample(new Float32Array(25), new Uint8Array(599), new Uint8Array(200)),
    RangeError,
  );
  assert.throws(
    () => up.upsample(new Float32Array(25), new Uint8Array(600), new Uint8Array(201)),
    RangeError,
  );
  assert.throws(
    () => new GuidedUpsampler({ width: 0, height: 10, matteWidth: 5, matteHeight: 5, radius: 4, eps: 1e-3 }),
  );
  assert.throws(
    () => new GuidedUpsampler({ width: 9, height: 10, matteWidth: 5, matteHeight: 5, radius: 0, eps: 1e-3 }),
  );
  assert.throws(
    () => new GuidedUpsampler({ width: 9, height: 10, matteWidth: 5, matteHeight: 5, radius: 4, eps: 0 }),
  );
  assert.throws(
    () =>
      new GuidedUpsampler({
        width: 9,
        height: 10,
        matteWidth: 5,
        matteHeight: 5,
        radius: 4,
        eps: 1,
        coarseScale: 1.5,
      }),
  );
  assert.throws(() => bilinearUpsample(new Float32Array(3), 2, 2, new Uint8Array(16), 4, 4), RangeError);
});

test('default parameters follow the matte footprint', () => {
  assert.deepEqual(suggestGuidedParams(1920, 1080, 256, 256), { radius: 23, eps: 1e-4, coarseScale: 8 });
  assert.deepEqual(suggestGuidedParams(1920, 1080, 1024, 576), { radius: 8, eps: 1e-4, coarseScale: 4 });
  assert.deepEqual(suggestGuidedParams(1920, 1080, 1920, 1080), { radius: 4, eps: 1e-4, coarseScale: 2 });
  assert.equal(defaultCoarseScale(1920, 1080, 256, 256, 6), 3, 'capped at radius/2');
  const up = new GuidedUpsampler({
    width: 1920,
    height: 1080,
    matteWidth: 256,
    matteHeight: 256,
    radius: 23,
    eps: 1e-4,
  });
  assert.equal(up.mode, 'color');
  assert.equal(up.coarseScale, 8);
  assert.equal(up.coarseWidth, 240);
  assert.equal(up.coarseHeight, 135);
});

test('bilinearUpsample: identity at equal size, constant stays constant, linear ramp stays linear', () => {
  const m = new Float32Array([0, 0.25, 0.5, 1, 0.75, 0.2]);
  const out = new Uint8Array(6);
  bilinearUpsample(m, 3, 2, out, 3, 2);
  assert.deepEqual([...out], [0, 64, 128, 255, 191, 51]);
  const c = new Uint8Array(35 * 17);
  bilinearUpsample(new Float32Array(4 * 3).fill(0.4), 4, 3, c, 35, 17);
  assert.ok(c.every((v) => v === 102));
  const ramp = new Float32Array([0, 1]);
  const r = new Uint8Array(8);
  bilinearUpsample(ramp, 2, 1, r, 8, 1);
  // Pixel centres map to matte x = (x + 0.5)/4 − 0.5: clamped below 0 and above 1.
  assert.deepEqual([...r], [0, 0, 32, 96, 159, 223, 255, 255]);
});

test('bilinearUpsample equals direct bilinear interpolation (incl. its filled 0/255 spans)', () => {
  const rnd = rng(9);
  for (const [mw, mh, W, H] of [
    [37, 29, 203, 117],
    [256, 256, 853, 479],
    [100, 50, 40, 20],
  ] as const) {
    const m = new Float32Array(mw * mh).map((_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : rnd()));
    const out = new Uint8Array(W * H);
    bilinearUpsample(m, mw, mh, out, W, H);
    const at = (x: number, sc: number, n: number): [number, number, number] => {
      const u = (x + 0.5) * sc - 0.5;
      if (u <= 0) return [0, 0, 0];
      if (u >= n - 1) return [n - 1, n - 1, 0];
      const i = Math.floor(u);
      return [i, i + 1, u - i];
    };
    for (let y = 0; y < H; y++) {
      const [j0, j1, fy] = at(y, mh / H, mh);
      for (let x = 0; x < W; x++) {
        const [i0, i1, fx] = at(x, mw / W, mw);
        const v =
          (1 - fy) * ((1 - fx) * m[j0 * mw + i0]! + fx * m[j0 * mw + i1]!) +
          fy * ((1 - fx) * m[j1 * mw + i0]! + fx * m[j1 * mw + i1]!);
        assert.ok(Math.abs(out[y * W + x]! - v * 255) <= 0.5 + 1e-6, `${mw}×${mh}→${W}×${H} at ${x},${y}`);
      }
    }
  }
});

test('near-0/1 model output (sigmoid floor) is cleaned to exact 0/255 away from the edge', () => {
  const W = 320;
  const H = 180;
  const mw = 64;
  const mh = 36;
  const disc = { cx: 160, cy: 90, r: 50 };
  const rgb = discFrame(W, H, disc, 4);
  const matte = blockyDiscMatte(W, H, mw, mh, disc).map((v) => 0.004 + 0.992 * v);
  const out = new Uint8Array(W * H);
  new GuidedUpsampler({
    width: W,
    height: H,
    matteWidth: mw,
    matteHeight: mh,
    radius: 10,
    eps: 1e-4,
  }).upsample(matte, rgb, out);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const d = Math.hypot(x - disc.cx, y - disc.cy) - disc.r;
      if (d > 30) assert.equal(out[y * W + x], 0, `background at ${x},${y}`);
      if (d < -30) assert.equal(out[y * W + x], 255, `foreground at ${x},${y}`);
    }
  }
});

/**
 * Direct (slow) evaluation of the same definition: box means with clipped windows on the coarse
 * grid, a solved per window, ā/b̄, bilinear coefficients, q = ā·I + b̄. Checks the fast path and its
 * shortcuts (skipped guide reads, filled spans) give the same output.
 */
function referenceUpsample(
  matte: Float32Array,
  mw: number,
  mh: number,
  rgb: Uint8Array,
  W: number,
  H: number,
  s: number,
  r: number,
  eps: number,
  color: boolean,
  snap: number,
): Uint8Array {
  const cw = Math.ceil(W / s);
  const ch = Math.ceil(H / s);
  const n = cw * ch;
  const C = color ? 3 : 1;
  const I = Array.from({ length: C }, () => new Float64Array(n));
  for (let j = 0; j < ch; j++) {
    for (let i = 0; i < cw; i++) {
      const acc = [0, 0, 0];
      let cnt = 0;
      for (let y = j * s; y < Math.min(H, j * s + s); y++) {
        for (let x = i * s; x < Math.min(W, i * s + s); x++) {
          for (let c = 0; c < 3; c++) acc[c] = acc[c]! + rgb[(y * W + x) * 3 + c]!;
          cnt++;
        }
      }
      if (color) for (let c = 0; c < 3; c++) I[c]![j * cw + i] = acc[c]! / cnt / 255;
      else I[0]![j * cw + i] = (0.299 * acc[0]! + 0.587 * acc[1]! + 0.114 * acc[2]!) / cnt / 255;
    }
  }
  const tent = (nIn: number, o: number, ratio: number): Array<[number, number]> => {
    const half = Math.max(1, ratio);
    const c = (o + 0.5) * ratio - 0.5;
    const ws: Array<[number, number]> = [];
    let sum = 0;
    for (let k = Math.ceil(c - half); k <= Math.floor(c + half); k++) {
      const w = Math.max(0, 1 - Math.abs(k - c) / half);
      ws.push([Math.min(nIn - 1, Math.max(0, k)), w]);
      sum += w;
    }
    return ws.map(([k, w]) => [k, w / sum]);
  };
  const p = new Float64Array(n);
  for (let j = 0; j < ch; j++) {
    for (let i = 0; i < cw; i++) {
      let v = 0;
      for (const [ky, wy] of tent(mh, j, (s * mh) / H)) {
        for (const [kx, wx] of tent(mw, i, (s * mw) / W)) v += wy * wx * matte[ky * mw + kx]!;
      }
      p[j * cw + i] = v < snap ? 0 : v > 1 - snap ? 1 : v;
    }
  }
  const box = (src: Float64Array): Float64Array => {
    const d = new Float64Array(n);
    for (let j = 0; j < ch; j++) {
      for (let i = 0; i < cw; i++) {
        let sm = 0;
        let c = 0;
        for (let y = Math.max(0, j - r); y <= Math.min(ch - 1, j + r); y++) {
          for (let x = Math.max(0, i - r); x <= Math.min(cw - 1, i + r); x++) {
            sm += src[y * cw + x]!;
            c++;
          }
        }
        d[j * cw + i] = sm / c;
      }
    }
    return d;
  };
  const mul = (a: Float64Array, b: Float64Array): Float64Array => a.map((v, k) => v * b[k]!);
  const mI = I.map(box);
  const mP = box(p);
  const mII = I.map((u) => I.map((v) => box(mul(u, v))));
  const mIP = I.map((u) => box(mul(u, p)));
  const A = Array.from({ length: C }, () => new Float64Array(n));
  const B = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // Solve (Σ + eps·U) a = cov(I, p) by Gaussian elimination.
    const M = Array.from({ length: C }, (_, a) => [
      ...Array.from({ length: C }, (_, b) => mII[a]![b]![k]! - mI[a]![k]! * mI[b]![k]! + (a === b ? eps : 0)),
      mIP[a]![k]! - mI[a]![k]! * mP[k]!,
    ]);
    for (let c = 0; c < C; c++) {
      for (let q = c + 1; q < C; q++) {
        const f = M[q]![c]! / M[c]![c]!;
        for (let t = c; t <= C; t++) M[q]![t] = M[q]![t]! - f * M[c]![t]!;
      }
    }
    const a = new Array<number>(C).fill(0);
    for (let c = C - 1; c >= 0; c--) {
      let v = M[c]![C]!;
      for (let q = c + 1; q < C; q++) v -= M[c]![q]! * a[q]!;
      a[c] = v / M[c]![c]!;
    }
    let b = mP[k]!;
    for (let c = 0; c < C; c++) {
      A[c]![k] = a[c]!;
      b -= a[c]! * mI[c]![k]!;
    }
    B[k] = b;
  }
  const mA = A.map(box);
  const mB = box(B);
  const at = (x: number, scale: number, nc: number): [number, number, number] => {
    const u = (x + 0.5) / scale - 0.5;
    if (u <= 0) return [0, 0, 0];
    if (u >= nc - 1) return [nc - 1, nc - 1, 0];
    const i = Math.floor(u);
    return [i, i + 1, u - i];
  };
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const [j0, j1, fy] = at(y, s, ch);
    for (let x = 0; x < W; x++) {
      const [i0, i1, fx] = at(x, s, cw);
      const bil = (pl: Float64Array): number =>
        (1 - fy) * ((1 - fx) * pl[j0 * cw + i0]! + fx * pl[j0 * cw + i1]!) +
        fy * ((1 - fx) * pl[j1 * cw + i0]! + fx * pl[j1 * cw + i1]!);
      const px = (y * W + x) * 3;
      let q = bil(mB);
      if (color) for (let c = 0; c < 3; c++) q += (bil(mA[c]!) * rgb[px + c]!) / 255;
      else q += (bil(mA[0]!) * (0.299 * rgb[px]! + 0.587 * rgb[px + 1]! + 0.114 * rgb[px + 2]!)) / 255;
      out[y * W + x] = Math.round(Math.min(1, Math.max(0, q)) * 255);
    }
  }
  return out;
}

test('fast path equals the direct definition of the filter (incl. its skip shortcuts)', () => {
  const W = 203;
  const H = 117;
  const mw = 37;
  const mh = 29;
  const disc = { cx: 90, cy: 60, r: 40 };
  const rgb = discFrame(W, H, disc, 5);
  const matte = new Float32Array(mw * mh);
  for (let y = 0; y < mh; y++) {
    for (let x = 0; x < mw; x++) {
      const d = Math.hypot(((x + 0.5) * W) / mw - disc.cx, ((y + 0.5) * H) / mh - disc.cy) - disc.r;
      matte[y * mw + x] = Math.min(1, Math.max(0, 0.5 - d / 6)) * (x > 30 ? 0.7 : 1);
    }
  }
  for (const mode of ['gray', 'color'] as GuideMode[]) {
    for (const [s, radius] of [
      [1, 3],
      [2, 6],
      [3, 3],
      [4, 12],
    ] as const) {
      const up = new GuidedUpsampler({
        width: W,
        height: H,
        matteWidth: mw,
        matteHeight: mh,
        radius,
        eps: 1e-3,
        mode,
        coarseScale: s,
      });
      const out = new Uint8Array(W * H);
      up.upsample(matte, rgb, out);
      const ref = referenceUpsample(
        matte,
        mw,
        mh,
        rgb,
        W,
        H,
        s,
        up.coarseRadius,
        1e-3,
        mode === 'color',
        2 / 255,
      );
      let off = 0;
      for (let k = 0; k < out.length; k++) {
        const d = Math.abs(out[k]! - ref[k]!);
        assert.ok(d <= 1, `${mode} s=${s}: pixel ${k} differs by ${d}`);
        if (d > 0) off++;
      }
      assert.ok(off <= 3, `${mode} s=${s}: ${off} pixels off by one (float rounding)`);
    }
  }
});
