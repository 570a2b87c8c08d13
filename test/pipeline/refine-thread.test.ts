import assert from 'node:assert/strict';
import { it } from 'node:test';
import { tiers } from '../../src/models/tiers.ts';
import { MatteRefiner } from '../../src/pipeline/matte-refiner.ts';
import { RefineThread } from '../../src/pipeline/refine-thread.ts';

const W = 320;
const H = 180;
const MW = 128;
const MH = 72;

/** Frame t: a bright square moving right over a gradient, its model-resolution matte and luma. */
function frame(t: number): { rgb: Buffer; matte: Float32Array; luma: Uint8Array } {
  const rgb = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const inside = x >= 100 + 6 * t && x < 160 + 6 * t && y >= 50 && y < 130;
      rgb.fill(inside ? 230 : (x + y) % 97, (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
  const matte = new Float32Array(MW * MH);
  const luma = new Uint8Array(MW * MH);
  for (let y = 0; y < MH; y++)
    for (let x = 0; x < MW; x++) {
      const fx = ((x + 0.5) * W) / MW;
      const fy = ((y + 0.5) * H) / MH;
      const inside = fx >= 100 + 6 * t && fx < 160 + 6 * t && fy >= 50 && fy < 130;
      // Model noise near 0.5 at the top edge, so the temporal stages have something to hold.
      matte[y * MW + x] = inside ? 0.95 : y < 4 ? 0.4 + (0.2 * ((x * 7 + t * 13) % 5)) / 4 : 0.02;
      luma[y * MW + x] = inside ? 230 : Math.round((fx + fy) % 97);
    }
  return { rgb, matte, luma };
}

it('the refiner thread gives the same alpha as refining in place, and hands the frame back intact', async () => {
  const tier = tiers.original;
  const inline = new MatteRefiner(tier, W, H, MW, MH);
  const thread = new RefineThread({
    tier,
    width: W,
    height: H,
    matteWidth: MW,
    matteHeight: MH,
    overrides: {},
  });
  try {
    let spare: Uint8Array | undefined;
    for (let t = 0; t < 6; t++) {
      const f = frame(t);
      const expected = new Uint8Array(W * H);
      inline.refine(f, expected);
      const original = Buffer.from(f.rgb);
      const r = await thread.refine(f, spare);
      // The frame moved to the thread and back: no copy stays behind, the pixels are unchanged.
      assert.equal(f.rgb.length, 0, 'the sent frame is detached');
      assert.ok(r.rgb.equals(original), `frame ${t}: pixels changed on the way`);
      assert.deepEqual(r.alpha, expected, `frame ${t}: alpha differs from the in-place refiner`);
      assert.ok(r.alpha.some((a) => a > 200) && r.alpha.some((a) => a < 20), 'a real matte');
      spare = r.alpha.slice();
    }
  } finally {
    await thread.close();
  }
  await assert.rejects(thread.refine(frame(0)), /closed/);
});
