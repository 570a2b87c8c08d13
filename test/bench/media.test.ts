import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ceilingDecodeArgs, measureCeiling } from '../../bench/ceiling.ts';
import { discoverClips, prepareClip } from '../../bench/media.ts';
import { decodeArgs } from '../../src/pipeline/ffmpeg-args.ts';
import { ffmpeg, tempDir } from '../helpers/media.ts';

const W = 160;
const H = 96;

/** A DAVIS-style folder: `davis2016/syn/syn.mp4` (7 frames) and one mask per frame (k·10 px wide). */
async function syntheticDavis(root: string): Promise<void> {
  const seq = join(root, 'davis2016', 'syn');
  await mkdir(join(seq, 'Annotations'), { recursive: true });
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${W}x${H}:rate=25`,
    '-frames:v',
    '7',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    join(seq, 'syn.mp4'),
  ]);
  for (let k = 0; k < 7; k++) {
    const m = Buffer.alloc(W * H);
    for (let y = 0; y < H; y++) m.fill(255, y * W, y * W + 10 * (k + 1));
    await sharp(m, { raw: { width: W, height: H, channels: 1 } })
      .png()
      .toFile(join(seq, 'Annotations', `${String(k).padStart(5, '0')}.png`));
  }
}

test('prepareClip cuts the first N frames and aligns luma and mask k with frame k', async () => {
  const { dir, cleanup } = await tempDir('alphacut-bench-media-');
  try {
    await syntheticDavis(join(dir, 'media'));
    const clips = discoverClips(join(dir, 'media'));
    assert.deepEqual(
      clips.map((c) => [c.id, c.kind]),
      [['syn', 'davis']],
    );
    const p = await prepareClip(clips[0]!, 4, join(dir, 'work'), join(dir, 'media'));
    assert.equal(p.frames, 4);
    assert.equal(p.sourceFrames, 7);
    assert.equal(p.info.frameCount, 4);
    assert.deepEqual([p.info.width, p.info.height], [W, H]);
    assert.equal(p.sourceRel, join('davis2016', 'syn', 'syn.mp4'));
    const gt = await readFile(p.gtPath!);
    assert.equal(gt.length, 4 * W * H);
    for (let k = 0; k < 4; k++) {
      const row = gt.subarray(k * W * H + 40 * W, k * W * H + 41 * W);
      assert.equal(
        row.reduce((s, v) => s + (v >= 128 ? 1 : 0), 0),
        10 * (k + 1),
        `mask ${k}`,
      );
    }
    assert.equal((await readFile(p.lumaPath)).length, 4 * W * H);

    const c = await measureCeiling(p.input, p.info, join(dir, 'ceiling.webm'));
    assert.equal(c.frames, 4);
    assert.ok(c.fps > 0 && c.fpsExcludingStartup >= c.fps);
  } finally {
    await cleanup();
  }
});

test('the ceiling decodes with the pipeline decoder arguments, rgba instead of rgb24', () => {
  const info = {
    width: 1920,
    height: 1080,
    fps: { num: 24, den: 1 },
    frameCount: 48,
    durationSeconds: 2,
    startSeconds: 0,
    formatStartSeconds: 0,
    pixFmt: 'yuv420p',
    colorSpace: 'bt709',
    colorRange: 'tv',
    rotation: 0,
    hasAudio: false,
    audioCodec: undefined,
    formatName: 'mp4',
    sizeBytes: 1,
  };
  const base = decodeArgs('in.mp4', info);
  const ceil = ceilingDecodeArgs('in.mp4', info);
  const diff = base.flatMap((a, i) => (a === ceil[i] ? [] : [[a, ceil[i]]]));
  assert.equal(diff.length, 1);
  assert.match(diff[0]![1]!, /,format=rgba$/);
});
