import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlphacutError } from '../../../src/core/errors.ts';
import type { OutputFormat } from '../../../src/core/output-formats.ts';
import { openOutputWriter, type AudioPlan } from '../../../src/pipeline/encode/output-writer.ts';
import { tempDir } from '../../helpers/media.ts';
import { FPS, H, W, liveFfmpegChildren, makeAudioSource, makeFrame } from './encode-fixtures.ts';

describe('output writer lifecycle', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let audio: AudioPlan;
  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-encode-life-'));
    audio = await makeAudioSource(dir);
  });
  after(() => cleanup());

  async function freshDirs(name: string): Promise<{ outDir: string; scratch: string }> {
    const outDir = join(dir, name, 'out');
    const scratch = join(dir, name, 'tmp');
    await mkdir(outDir, { recursive: true });
    await mkdir(scratch, { recursive: true });
    return { outDir, scratch };
  }

  const everyFormat: OutputFormat[] = [
    'webm',
    'mov',
    'mp4',
    'gif',
    'webp',
    'png_sequence',
    'mask',
    'stacked',
    'pro_bundle',
  ];

  for (const format of everyFormat)
    test(`${format}: abort mid-stream leaves no child and no file`, async () => {
      const { outDir, scratch } = await freshDirs(`abort-${format}`);
      const output = join(outDir, `out.${format}`);
      const writer = await openOutputWriter({
        format,
        output,
        width: W,
        height: H,
        fps: FPS,
        matrix: 'bt709',
        audio,
        signal: new AbortController().signal,
        tempDir: scratch,
      });
      for (let i = 0; i < 4; i++) {
        const f = makeFrame(i);
        await writer.write(f.rgba, f.mask);
      }
      for (const name of await readdir(outDir))
        assert.match(name, /^\.out\..*\.partial$/, 'only a hidden partial');
      await writer.abort();
      await writer.abort();
      assert.deepEqual(await liveFfmpegChildren(), []);
      assert.deepEqual(await readdir(outDir), []);
      assert.deepEqual(await readdir(scratch), []);
      await assert.rejects(writer.write(makeFrame(0).rgba, makeFrame(0).mask));
    });

  test('the job signal cancels: pending work rejects as canceled and everything is removed', async () => {
    const { outDir, scratch } = await freshDirs('signal');
    const ac = new AbortController();
    const writer = await openOutputWriter({
      format: 'pro_bundle',
      output: join(outDir, 'out.zip'),
      width: W,
      height: H,
      fps: FPS,
      matrix: 'bt709',
      audio,
      signal: ac.signal,
      tempDir: scratch,
    });
    const f = makeFrame(0);
    await writer.write(f.rgba, f.mask);
    ac.abort();
    await assert.rejects(
      async () => {
        for (let i = 0; i < 50; i++) await writer.write(f.rgba, f.mask);
        await writer.finish();
      },
      (e: unknown) => isAlphacutError(e) && e.code === 'canceled',
    );
    await writer.abort();
    assert.deepEqual(await liveFfmpegChildren(), []);
    assert.deepEqual(await readdir(outDir), []);
    assert.deepEqual(await readdir(scratch), []);
  });

  test('an ffmpeg failure surfaces as encode_failed with its stderr, and cleans up', async () => {
    const { outDir, scratch } = await freshDirs('fail');
    const bogus = join(dir, 'not-media.mp4');
    await writeFile(bogus, 'this is not a video');
    const writer = await openOutputWriter({
      format: 'mp4',
      output: join(outDir, 'out.mp4'),
      width: W,
      height: H,
      fps: FPS,
      matrix: 'bt709',
      audio: { ...audio, source: bogus },
      signal: new AbortController().signal,
      tempDir: scratch,
    });
    await assert.rejects(
      async () => {
        for (let i = 0; i < 50; i++) {
          const f = makeFrame(i % 16);
          await writer.write(f.rgba, f.mask);
        }
        await writer.finish();
      },
      (e: unknown) =>
        isAlphacutError(e) && e.code === 'encode_failed' && /not-media|Invalid data/i.test(e.message),
    );
    assert.deepEqual(await liveFfmpegChildren(), []);
    assert.deepEqual(await readdir(outDir), []);
    assert.deepEqual(await readdir(scratch), []);
  });

  test('formats that need even sides refuse odd ones; GIF, WebP and PNG take them', async () => {
    const signal = new AbortController().signal;
    const base = { width: 33, height: 21, fps: FPS, matrix: 'bt709' as const, signal };
    await assert.rejects(openOutputWriter({ ...base, format: 'webm', output: join(dir, 'odd.webm') }));
    for (const format of ['gif', 'webp', 'png_sequence', 'mask'] as const) {
      const w = await openOutputWriter({ ...base, format, output: join(dir, `odd-${format}`) });
      for (let i = 0; i < 3; i++)
        await w.write(new Uint8Array(33 * 21 * 4).fill(255), new Uint8Array(33 * 21).fill(255));
      const r = await w.finish();
      assert.equal(r.frames, 3);
      assert.ok(r.bytes > 0);
    }
  });
});
