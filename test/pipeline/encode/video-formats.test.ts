import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AudioPlan } from '../../../src/pipeline/encode/output-writer.ts';
import { countFrames, tempDir } from '../../helpers/media.ts';
import {
  AUDIO_DELAY,
  COLOR,
  FIRST_POSITION,
  FRAMES,
  H,
  OUTPUT_SECONDS,
  TRIM_START,
  W,
  audioTiming,
  centreOf,
  decodeAudio,
  decodeRgba,
  makeAudioSource,
  makeFrame,
  near,
  pixel,
  streams,
  writeClip,
} from './encode-fixtures.ts';

const frameSeconds = 1 / 25;

describe('video output formats', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let audio: AudioPlan;
  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-encode-video-'));
    audio = await makeAudioSource(dir);
  });
  after(() => cleanup());

  async function checkAudio(file: string, codec: string): Promise<void> {
    const a = (await streams(file)).find((s) => s.codec_type === 'audio');
    assert.equal(a?.codec_name, codec);
    const t = audioTiming(await decodeAudio(file));
    // The tone started AUDIO_DELAY into the source; the output starts TRIM_START into it.
    assert.ok(Math.abs(t.onset - (AUDIO_DELAY - TRIM_START)) < frameSeconds, `onset ${t.onset}`);
    assert.ok(t.duration <= OUTPUT_SECONDS + frameSeconds, `audio ${t.duration}s`);
    assert.ok(t.duration >= OUTPUT_SECONDS - frameSeconds, `audio ${t.duration}s`);
  }

  function checkTags(s: Record<string, unknown> | undefined, space = 'bt709'): void {
    assert.equal(s?.color_space, space);
    assert.equal(s?.color_range, 'tv');
  }

  test('webm: VP9 with alpha, Opus audio offset kept', async () => {
    const out = join(dir, 'out.webm');
    const r = await writeClip({ format: 'webm', output: out, audio });
    assert.equal(r.frames, FRAMES);
    assert.ok(r.bytes > 0);
    const [v] = await streams(out);
    assert.equal(v?.codec_name, 'vp9');
    checkTags(v);
    assert.equal(await countFrames(out, true), FRAMES);
    const f = await decodeRgba(out, W, H, true);
    assert.equal(f.frames.length, FRAMES);
    for (let i = 0; i < FRAMES; i++) {
      assert.ok(near(pixel(f, i, centreOf(i)), [...COLOR, 255], 12), `frame ${i} inside`);
      assert.ok((pixel(f, i, [2, 2])[3] ?? 255) <= 4, `frame ${i} outside is transparent`);
    }
    assert.ok((pixel(f, FRAMES - 1, FIRST_POSITION)[3] ?? 255) <= 4, 'no trail');
    await checkAudio(out, 'opus');
  });

  test('mov: ProRes 4444 keeps alpha, PCM audio', async () => {
    const out = join(dir, 'out.mov');
    await writeClip({ format: 'mov', output: out, audio });
    const [v] = await streams(out);
    assert.equal(v?.codec_name, 'prores');
    assert.equal(v?.profile, '4444');
    assert.match(String(v?.pix_fmt), /^yuva444p/);
    checkTags(v);
    const f = await decodeRgba(out, W, H);
    assert.equal(f.frames.length, FRAMES);
    for (let i = 0; i < FRAMES; i++) {
      assert.ok(near(pixel(f, i, centreOf(i)), [...COLOR, 255], 6), `frame ${i} inside`);
      assert.equal(pixel(f, i, [2, 2])[3], 0, `frame ${i} outside`);
    }
    await checkAudio(out, 'pcm_s16le');
  });

  test('mp4: opaque H.264, AAC, BT.601 tagged when asked', async () => {
    const out = join(dir, 'out.mp4');
    await writeClip({ format: 'mp4', output: out, audio, matrix: 'bt601' });
    const [v] = await streams(out);
    assert.equal(v?.codec_name, 'h264');
    assert.equal(v?.pix_fmt, 'yuv420p');
    checkTags(v, 'smpte170m');
    assert.equal(await countFrames(out), FRAMES);
    await checkAudio(out, 'aac');
  });

  test('mask: gray matte from the mask frames, no audio', async () => {
    const out = join(dir, 'mask.mp4');
    await writeClip({ format: 'mask', output: out, audio });
    const s = await streams(out);
    assert.deepEqual(
      s.map((x) => x.codec_type),
      ['video'],
    );
    checkTags(s[0]);
    const f = await decodeRgba(out, W, H);
    assert.equal(f.frames.length, FRAMES);
    for (let i = 0; i < FRAMES; i++) {
      assert.ok(near(pixel(f, i, centreOf(i)), [255, 255, 255], 4), `frame ${i} inside`);
      assert.ok(near(pixel(f, i, [2, 2]), [0, 0, 0], 4), `frame ${i} outside`);
    }
  });

  test('stacked: colour on top, matte below equal to the mask, AAC', async () => {
    const out = join(dir, 'stacked.mp4');
    await writeClip({ format: 'stacked', output: out, audio });
    const [v] = await streams(out);
    assert.equal(v?.width, W);
    assert.equal(v?.height, 2 * H);
    checkTags(v);
    const f = await decodeRgba(out, W, 2 * H);
    assert.equal(f.frames.length, FRAMES);
    for (let i = 0; i < FRAMES; i++) {
      assert.ok(near(pixel(f, i, centreOf(i)), COLOR, 10), `frame ${i} colour`);
      const { mask } = makeFrame(i);
      const frame = f.frames[i] as Uint8Array;
      let err = 0;
      for (let p = 0; p < W * H; p++)
        err += Math.abs((frame[(W * H + p) * 4] as number) - (mask[p] as number));
      assert.ok(err / (W * H) < 3, `frame ${i} bottom half differs from the mask by ${err / (W * H)}`);
    }
    await checkAudio(out, 'aac');
  });
});
