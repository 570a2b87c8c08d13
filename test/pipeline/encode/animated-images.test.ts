import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { countFrames, ffmpeg, tempDir } from '../../helpers/media.ts';
import { openOutputWriter } from '../../../src/pipeline/encode/output-writer.ts';
import {
  COLOR,
  FPS,
  FIRST_POSITION,
  FRAMES,
  H,
  W,
  centreOf,
  decodeAnimatedImage,
  makeAudioSource,
  makeFrame,
  near,
  pixel,
  writeClip,
  type RgbaFrames,
} from './encode-fixtures.ts';

/** Opaque pixels per frame: a trail would make the count grow as the square moves. */
function opaqueCounts(f: RgbaFrames): number[] {
  return f.frames.map((fr) => {
    let n = 0;
    for (let i = 3; i < fr.length; i += 4) if ((fr[i] as number) >= 128) n++;
    return n;
  });
}

describe('animated image formats', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir('alphacut-encode-anim-')));
  after(() => cleanup());

  test('gif: 1-bit transparency, the subject leaves no trail, loops forever', async () => {
    const out = join(dir, 'out.gif');
    // Audio is offered and must be ignored.
    const r = await writeClip({ format: 'gif', output: out, audio: await makeAudioSource(dir) });
    assert.equal(r.frames, FRAMES);
    const bytes = await readFile(out);
    assert.equal(bytes.toString('latin1', 0, 6), 'GIF89a');
    assert.ok(bytes.includes(Buffer.from('NETSCAPE2.0')), 'loop extension present');
    assert.equal(await countFrames(out), FRAMES);

    const f = await decodeAnimatedImage(out);
    assert.equal(f.width, W);
    assert.equal(f.height, H);
    assert.equal(f.frames.length, FRAMES);
    assert.deepEqual(opaqueCounts(f), new Array<number>(FRAMES).fill(20 * 20));
    for (let i = 0; i < FRAMES; i++)
      assert.ok(near(pixel(f, i, centreOf(i)), [...COLOR, 255], 12), `frame ${i}`);
    assert.equal(pixel(f, FRAMES - 1, FIRST_POSITION)[3], 0, 'no trail');

    // ffmpeg's own GIF decoder applies disposal too; it must agree.
    const raw = await ffmpeg(['-i', out, '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1']);
    const viaFfmpeg: RgbaFrames = { width: W, height: H, frames: [] };
    for (let o = 0; o < raw.length; o += W * H * 4) viaFfmpeg.frames.push(raw.subarray(o, o + W * H * 4));
    assert.deepEqual(opaqueCounts(viaFfmpeg), new Array<number>(FRAMES).fill(20 * 20));
  });

  test('gif: a clip mixing fully opaque and see-through frames leaves no trail either', async () => {
    const out = join(dir, 'mixed.gif');
    const full = { rgba: new Uint8Array(W * H * 4).fill(200), mask: new Uint8Array(W * H).fill(255) };
    const empty = { rgba: new Uint8Array(W * H * 4), mask: new Uint8Array(W * H) };
    const seq = [makeFrame(0), full, makeFrame(5), empty, makeFrame(8), full, full, makeFrame(2)];
    const writer = await openOutputWriter({
      format: 'gif',
      output: out,
      width: W,
      height: H,
      fps: FPS,
      matrix: 'bt709',
      signal: new AbortController().signal,
    });
    for (const f of seq) await writer.write(f.rgba, f.mask);
    await writer.finish();
    const expected = [400, W * H, 400, 0, 400, W * H, W * H, 400];
    assert.deepEqual(opaqueCounts(await decodeAnimatedImage(out)), expected);
    const raw = await ffmpeg(['-i', out, '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1']);
    const viaFfmpeg: RgbaFrames = { width: W, height: H, frames: [] };
    for (let o = 0; o < raw.length; o += W * H * 4) viaFfmpeg.frames.push(raw.subarray(o, o + W * H * 4));
    assert.deepEqual(opaqueCounts(viaFfmpeg), expected);
  });

  test('webp: animated with alpha, every frame readable through sharp', async () => {
    const out = join(dir, 'out.webp');
    await writeClip({ format: 'webp', output: out });
    const bytes = await readFile(out);
    assert.equal(bytes.toString('latin1', 8, 12), 'WEBP');
    const f = await decodeAnimatedImage(out);
    assert.equal(f.frames.length, FRAMES);
    assert.equal(f.width, W);
    assert.equal(f.height, H);
    for (let i = 0; i < FRAMES; i++) {
      assert.ok(near(pixel(f, i, centreOf(i)), [...COLOR, 255], 12), `frame ${i} inside`);
      assert.equal(pixel(f, i, [2, 2])[3], 0, `frame ${i} outside`);
    }
    assert.equal(pixel(f, FRAMES - 1, FIRST_POSITION)[3], 0, 'no trail');
    const { default: sharp } = await import('sharp');
    const md = await sharp(out).metadata();
    assert.equal(md.loop, 0);
    assert.deepEqual(md.delay, new Array<number>(FRAMES).fill(40));
  });
});
