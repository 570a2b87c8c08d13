import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { resolveDataDir } from '../../src/app/paths.ts';
import { AlphacutError } from '../../src/core/errors.ts';
import { silentContext } from '../../src/pipeline/job-context.ts';
import { removeBackground, type RemoveOptions } from '../../src/pipeline/remove-background.ts';
import {
  countFrames,
  ffmpeg,
  ffprobeJson,
  iou,
  makeClip,
  noSharedMedia,
  readGray,
  readWebmAlpha,
  sharedMedia,
  tempDir,
} from '../helpers/media.ts';

const dataDir = resolveDataDir();
const run = promisify(execFile);

function opts(o: Omit<RemoveOptions, 'dataDir'>): RemoveOptions {
  return { dataDir, ...o };
}

/** Our child processes: ffmpeg decoders/encoders, or (with `-f`) the inference process too. */
async function children(pattern = 'ffmpeg', full = false): Promise<string[]> {
  try {
    const { stdout } = await run('pgrep', [
      '-a',
      '-P',
      String(process.pid),
      ...(full ? ['-f'] : []),
      pattern,
    ]);
    return stdout.trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('removeBackground on real footage', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(async () => cleanup());

  it(
    'human tier: same frame count, real alpha (read back with libvpx-vp9), audio kept, mask written',
    { skip: noSharedMedia },
    async () => {
      const input = sharedMedia('clips/grid-lwbsza.mp4');
      const output = join(dir, 'grid.webm');
      const mask = join(dir, 'grid-mask.mp4');
      const result = await removeBackground(
        opts({ input, output, maskOutput: mask, tier: 'human' }),
        silentContext(),
      );
      assert.equal(result.framesOut, 75);
      assert.equal(await countFrames(output, true), 75);
      assert.equal(await countFrames(mask), 75);

      const probe = await ffprobeJson(output);
      const v = probe.streams.find((s) => s.codec_type === 'video');
      const a = probe.streams.find((s) => s.codec_type === 'audio');
      assert.equal(v?.codec_name, 'vp9');
      assert.equal(a?.codec_name, 'opus');
      assert.equal(v?.r_frame_rate, '25/1');
      assert.ok(Math.abs(Number(probe.format.duration) - 3) < 0.1, `duration ${probe.format.duration}`);

      const alpha = await readWebmAlpha(output, 360, 288);
      assert.equal(alpha.length, 75);
      // The woman is in the middle of the frame, the blue backdrop at the top corners.
      const f = alpha[40] as Uint8Array;
      const at = (x: number, y: number): number => f[y * 360 + x] as number;
      assert.ok(at(180, 200) > 200, `subject alpha ${at(180, 200)}`);
      assert.ok(at(10, 10) < 30 && at(350, 10) < 30, `backdrop alpha ${at(10, 10)}, ${at(350, 10)}`);
      // Edges stay soft somewhere (hair), not a 1-bit cutout.
      const soft = f.filter((x) => x > 25 && x < 230).length;
      assert.ok(soft > 200, `only ${soft} soft-alpha pixels`);
    },
  );

  it(
    'original tier on DAVIS dance-twirl: mean IoU of alpha > 0.5 vs ground truth >= 0.75',
    { skip: noSharedMedia },
    async () => {
      // A 24-frame subset keeps the test short; frame i of the mp4 is annotation i.
      const input = join(dir, 'twirl24.mp4');
      await ffmpeg([
        '-i',
        sharedMedia('davis2016/dance-twirl/dance-twirl.mp4'),
        '-frames:v',
        '24',
        '-c:v',
        'libx264',
        '-crf',
        '12',
        input,
      ]);
      const output = join(dir, 'twirl.webm');
      await removeBackground(opts({ input, output, tier: 'original' }), silentContext());
      const alpha = await readWebmAlpha(output, 854, 480);
      assert.equal(alpha.length, 24);
      const gt = await readGray(
        [
          '-start_number',
          '0',
          '-i',
          sharedMedia('davis2016/dance-twirl/Annotations/%05d.png'),
          '-frames:v',
          '24',
        ],
        854,
        480,
      );
      const scores = alpha.map((a, i) => iou(a, gt[i] as Uint8Array));
      const mean = scores.reduce((s, x) => s + x, 0) / scores.length;
      assert.ok(
        mean >= 0.75,
        `mean IoU ${mean.toFixed(3)} (per frame ${scores.map((s) => s.toFixed(2)).join(' ')})`,
      );
    },
  );

  it('light tier finds the subject wherever original does (dog)', { skip: noSharedMedia }, async () => {
    const input = join(dir, 'dog16.mp4');
    await ffmpeg([
      '-i',
      sharedMedia('davis2016/dog/dog.mp4'),
      '-frames:v',
      '16',
      '-c:v',
      'libx264',
      '-crf',
      '12',
      input,
    ]);
    const mattes: Record<string, Uint8Array[]> = { light: [], original: [] };
    for (const tier of ['light', 'original'] as const) {
      await removeBackground(
        opts({
          input,
          output: join(dir, `dog-${tier}.webm`),
          tier,
          onMatte: (_i, a) => mattes[tier]?.push(a.slice()),
        }),
        silentContext(),
      );
    }
    assert.equal(mattes.light?.length, 16);
    for (let i = 0; i < 16; i++) {
      const l = mattes.light?.[i] as Uint8Array;
      const o = mattes.original?.[i] as Uint8Array;
      const area = o.filter((x) => x > 127).length;
      if (area < 500) continue;
      assert.ok(iou(l, o) > 0.7, `frame ${i}: light vs original IoU ${iou(l, o).toFixed(2)}`);
    }
  });
});

describe('removeBackground failures and cancellation', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(async () => cleanup());

  it('a truncated stream (index at the front) fails with decode_failed and leaves no output', async () => {
    const full = join(dir, 'full.mp4');
    await makeClip(full, { seconds: 4, extra: ['-movflags', '+faststart'] });
    const cut = join(dir, 'cut.mp4');
    await copyFile(full, cut);
    await truncate(cut, Math.floor((await stat(full)).size * 0.4));
    const output = join(dir, 'cut.webm');
    await assert.rejects(
      removeBackground(opts({ input: cut, output, tier: 'human' }), silentContext()),
      (e: unknown) => {
        assert.ok(e instanceof AlphacutError);
        assert.equal(e.code, 'decode_failed');
        assert.match(e.message, /truncated/);
        return true;
      },
    );
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes('cut.webm')),
      [],
    );
  });

  it('cancel kills ffmpeg within 2 s and leaves no partial output', async () => {
    const input = join(dir, 'long.mp4');
    await makeClip(input, { seconds: 60, width: 640, height: 360 });
    const output = join(dir, 'long.webm');
    const controller = new AbortController();
    let frames = 0;
    const ctx = {
      ...silentContext(controller.signal),
      progress: (p: { framesDone: number }) => void (frames = p.framesDone),
    };
    const job = removeBackground(
      opts({ input, output, maskOutput: join(dir, 'long-mask.mp4'), tier: 'original' }),
      ctx,
    );
    while (frames < 3) await new Promise((r) => setTimeout(r, 50));
    assert.ok((await children()).length >= 2, 'decoder and encoders run while processing');
    const t0 = Date.now();
    controller.abort();
    await assert.rejects(job, (e: unknown) => e instanceof AlphacutError && e.code === 'canceled');
    assert.ok(Date.now() - t0 < 2000, `cancel took ${Date.now() - t0} ms`);
    assert.deepEqual(await children(), []);
    assert.deepEqual(await children('inference-child', true), [], 'the inference process is gone too');
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes('long.webm') || f.includes('long-mask')),
      [],
    );
  });
});

describe('removeBackground keeps audio in sync', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(async () => cleanup());

  it('a container that does not start at 0 (MPEG-TS) keeps audio aligned and the duration', async () => {
    const input = join(dir, 'clip.ts');
    await makeClip(input, { seconds: 2, audio: true, extra: ['-f', 'mpegts'] });
    const srcStart = Number((await ffprobeJson(input)).format.start_time);
    assert.ok(srcStart > 1, `mpegts starts at ${srcStart}s, so the test means something`);
    const output = join(dir, 'clip.webm');
    await removeBackground(opts({ input, output, tier: 'human' }), silentContext());
    const probe = await ffprobeJson(output);
    const audio = probe.streams.find((s) => s.codec_type === 'audio');
    assert.ok(audio, 'audio kept');
    assert.ok(Math.abs(Number(audio.start_time)) < 0.05, `audio starts at ${audio.start_time}`);
    assert.ok(Math.abs(Number(probe.format.duration) - 2) < 0.1, `duration ${probe.format.duration}`);
  });
});
