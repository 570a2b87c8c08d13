/**
 * ms/frame of the compose stage at 1080p and encode fps of every output format (not a test):
 * `npx tsx bench/compose-speed.ts`. Speed belongs here, not in assertions: these machines are
 * shared and noisy, so the figures are minima of several runs, and the encoders are reported as a
 * ratio to the WebM encoder measured in the same run.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outputFormatNames, outputFormats } from '../src/core/output-formats.ts';
import { BackgroundBlur } from '../src/pipeline/compose/background-blur.ts';
import { canvasLayout } from '../src/pipeline/compose/canvas-layout.ts';
import { Compositor } from '../src/pipeline/compose/compositor.ts';
import { EdgeDecontaminator } from '../src/pipeline/compose/edge-decontaminate.ts';
import { openOutputWriter } from '../src/pipeline/encode/output-writer.ts';
import { discFrame, solid } from '../test/pipeline/compose/synthetic.ts';

const W = 1920;
const H = 1080;
const RUNS = Number(process.env.RUNS ?? 8);
const ENCODE_FRAMES = Number(process.env.ENCODE_FRAMES ?? 45);

async function minMs(fn: () => unknown): Promise<number> {
  await fn();
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

const f = discFrame(W, H);
const bg = solid(W, H, [0, 255, 0]);
const out = { rgba: new Uint8Array(W * H * 4), mask: new Uint8Array(W * H) };
const full = canvasLayout(W, H, undefined, true);
const half = canvasLayout(
  W,
  H,
  { canvas: { width: W, height: H }, anchor: 'center', scale: 0.5, offset: { x: 0, y: 0 } },
  true,
);
const compose = (layout: typeof full, opaque: boolean, decontaminate: boolean) => {
  const c = new Compositor(layout, W, H, { opaqueBackground: opaque, decontaminate });
  return () => c.compose(f.rgb, f.alpha, opaque ? bg : undefined, out);
};
const decon = new EdgeDecontaminator(W, H);
const deconOut = new Uint8Array(W * H * 3);

console.log(`compose stage, 1920x1080, min of ${RUNS} runs (ms/frame)`);
const stages: [string, () => unknown][] = [
  ['transparent', compose(full, false, false)],
  ['opaque background', compose(full, true, false)],
  ['opaque + decontamination + alpha thinning', compose(full, true, true)],
  ['opaque, scale 0.5 (premultiplied resample)', compose(half, true, false)],
  ['decontamination alone', () => decon.run(f.rgb, f.alpha, deconOut, false)],
  ...[10, 50, 100].map((s): [string, () => unknown] => {
    const blur = new BackgroundBlur(W, H, full, s);
    return [`blur background, strength ${s}`, () => blur.render(f.rgb, f.alpha)];
  }),
];
for (const [label, fn] of stages)
  console.log(`  ${label.padEnd(48)} ${(await minMs(fn)).toFixed(1).padStart(7)}`);

console.log(
  `\nencoders, ${ENCODE_FRAMES} frames 1920x1080 30 fps, moving textured subject, no audio (fps; ratio to webm in this run)`,
);
// A textured subject that moves 37 px per frame: static or flat frames would flatter encoders.
const step = 37;
compose(full, false, false)();
const moving = new Uint8Array((W * H + step * ENCODE_FRAMES) * 4);
moving.set(out.rgba);
let seed = 1;
for (let i = 0; i < W * H * 4; i++) {
  if ((i & 3) === 3) continue;
  seed = (seed * 1103515245 + 12345) >>> 0;
  moving[i] = ((moving[i] as number) + ((seed >>> 24) & 63)) & 255;
}
const masks = new Uint8Array(W * H + step * ENCODE_FRAMES);
masks.set(out.mask);
let webmFps = 0;
for (const format of outputFormatNames) {
  const output = join(tmpdir(), `alphacut-bench-${process.pid}.${outputFormats[format].extension}`);
  const t0 = performance.now();
  const w = await openOutputWriter({
    format,
    output,
    width: W,
    height: H,
    fps: { num: 30, den: 1 },
    matrix: 'bt709',
    signal: new AbortController().signal,
  });
  for (let i = 0; i < ENCODE_FRAMES; i++)
    await w.write(
      moving.subarray(i * step * 4, (i * step + W * H) * 4),
      masks.subarray(i * step, i * step + W * H),
    );
  const { bytes } = await w.finish();
  const fps = ENCODE_FRAMES / ((performance.now() - t0) / 1000);
  if (format === 'webm') webmFps = fps;
  console.log(
    `  ${format.padEnd(14)} ${fps.toFixed(1).padStart(6)} fps  ×${(fps / webmFps).toFixed(2)}  ${(bytes / 1e6).toFixed(1)} MB`,
  );
  await rm(output, { force: true });
}
