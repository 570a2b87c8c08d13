/**
 * ms/frame of the refinement stages at 1080p (not a test): `npx tsx bench/refine-speed.ts`.
 * Single thread; prints the median and the minimum of RUNS timed runs after a warm-up. On a
 * shared machine the minimum is the better estimate of the cost itself.
 *
 * Scenes: "subject" is a bright disc of radius 400 px on a textured background with a soft
 * matte edge (alpha is fractional only near the outline, as for a person in frame); "worst"
 * has fractional alpha over the whole frame, so none of the upsampler's exact shortcuts apply.
 */
import os from 'node:os';
import {
  GuidedUpsampler,
  bilinearUpsample,
  suggestGuidedParams,
  type GuideMode,
} from '../src/pipeline/guided-upsample.ts';
import { TemporalStabiliser } from '../src/pipeline/temporal-stabiliser.ts';

const W = 1920;
const H = 1080;
const RUNS = Number(process.env.RUNS ?? 40);

function time(fn: () => void): { median: number; min: number } {
  for (let i = 0; i < 8; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return { median: t[t.length >> 1]!, min: t[0]! };
}

function report(label: string, r: { median: number; min: number }): void {
  console.log(
    `${label.padEnd(58)} ${r.median.toFixed(2).padStart(7)} ms median ${r.min.toFixed(2).padStart(7)} ms min`,
  );
}

const frame = new Uint8Array(W * H * 3);
for (let y = 0; y < H; y++) {
  for (let x = 0; x < W; x++) {
    const inside = (x - 960) ** 2 + (y - 540) ** 2 < 400 ** 2;
    const p = (y * W + x) * 3;
    frame[p] = inside ? 220 : (x * 255) / W;
    frame[p + 1] = inside ? 180 : ((x ^ y) & 63) + 40;
    frame[p + 2] = inside ? 150 : (y * 255) / H;
  }
}

function subjectMatte(mw: number, mh: number): Float32Array {
  const m = new Float32Array(mw * mh);
  for (let y = 0; y < mh; y++) {
    for (let x = 0; x < mw; x++) {
      const d = Math.hypot(((x + 0.5) * W) / mw - 960, ((y + 0.5) * H) / mh - 540) - 400;
      // A model's sigmoid never reaches 0 or 1 exactly: background 0.003, foreground 0.997.
      m[y * mw + x] = 0.003 + 0.994 * Math.min(1, Math.max(0, 0.5 - d / 16));
    }
  }
  return m;
}

function worstMatte(mw: number, mh: number): Float32Array {
  const m = new Float32Array(mw * mh);
  for (let i = 0; i < m.length; i++) m[i] = 0.2 + 0.6 * (((i * 2654435761) >>> 24) / 255);
  return m;
}

console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg()[0]!.toFixed(2)}, ${RUNS} runs`,
);
const out = new Uint8Array(W * H);
for (const [mw, mh] of [
  [256, 256],
  [1024, 576],
] as const) {
  const subject = subjectMatte(mw, mh);
  const worst = worstMatte(mw, mh);
  report(
    `bilinear ${mw}×${mh} subject`,
    time(() => bilinearUpsample(subject, mw, mh, out, W, H)),
  );
  report(
    `bilinear ${mw}×${mh} worst`,
    time(() => bilinearUpsample(worst, mw, mh, out, W, H)),
  );
  const sug = suggestGuidedParams(W, H, mw, mh);
  for (const mode of ['gray', 'color'] as GuideMode[]) {
    for (const coarseScale of [sug.coarseScale, sug.coarseScale === 4 ? 2 : 4]) {
      const up = new GuidedUpsampler({
        width: W,
        height: H,
        matteWidth: mw,
        matteHeight: mh,
        radius: sug.radius,
        eps: sug.eps,
        mode,
        coarseScale,
      });
      const tag = `${mode.padEnd(5)} ${mw}×${mh} r=${sug.radius} s=${coarseScale}${coarseScale === sug.coarseScale ? '*' : ''}`;
      report(
        `guided ${tag} subject`,
        time(() => up.upsample(subject, frame, out)),
      );
      report(
        `guided ${tag} worst`,
        time(() => up.upsample(worst, frame, out)),
      );
    }
  }
}

for (const [w, h] of [
  [1024, 576],
  [256, 256],
] as const) {
  const st = new TemporalStabiliser({ width: w, height: h, strength: 0.8 });
  // Alternating frames of a noisy matte over a textured luma with light noise and a moving patch.
  const mA = new Float32Array(w * h).map(() => Math.random());
  const mB = new Float32Array(w * h).map(() => Math.random());
  const lA = new Uint8Array(w * h).map((_, i) => (i * 7) & 255);
  const lB = new Uint8Array(w * h).map(
    (_, i) => (((i * 7) & 255) ^ (i % 5 === 0 ? 3 : 0)) + (i % w < w / 8 ? 40 : 0),
  );
  const o = new Float32Array(w * h);
  let k = 0;
  report(
    `stabiliser ${w}×${h}`,
    time(() => {
      k ^= 1;
      st.apply(k ? mA : mB, k ? lA : lB, o);
    }),
  );
}
