import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { AudioPlan } from '../../../src/pipeline/encode/output-writer.ts';
import { ffmpeg, tempDir } from '../../helpers/media.ts';
import {
  AUDIO_DELAY,
  COLOR,
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
  readZip,
  streams,
  writeClip,
} from './encode-fixtures.ts';

const STORED = 0;

describe('ZIP output formats', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let audio: AudioPlan;
  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-encode-zip-'));
    audio = await makeAudioSource(dir);
  });
  after(() => cleanup());

  async function checkAudioEntry(data: Buffer): Promise<void> {
    const file = join(dir, `audio-${Math.random()}.m4a`);
    await writeFile(file, data);
    const [a] = await streams(file);
    assert.equal(a?.codec_name, 'aac');
    const t = audioTiming(await decodeAudio(file));
    assert.ok(Math.abs(t.onset - (AUDIO_DELAY - TRIM_START)) < 1 / 25, `onset ${t.onset}`);
    assert.ok(Math.abs(t.duration - OUTPUT_SECONDS) <= 1 / 25, `audio ${t.duration}s`);
  }

  test('png_sequence: stored RGBA PNGs named in order, manifest, audio.m4a', async () => {
    const out = join(dir, 'frames.zip');
    const r = await writeClip({ format: 'png_sequence', output: out, audio });
    assert.equal(r.frames, FRAMES);
    const zip = await readZip(out);
    const names = Array.from({ length: FRAMES }, (_v, i) => `frame_${String(i + 1).padStart(6, '0')}.png`);
    assert.deepEqual([...zip.keys()].sort(), [...names, 'audio.m4a', 'manifest.json'].sort());

    const manifest = JSON.parse((zip.get('manifest.json')?.data ?? '').toString()) as Record<string, unknown>;
    assert.equal(manifest.format, 'png_sequence');
    assert.equal(manifest.width, W);
    assert.equal(manifest.height, H);
    assert.equal(manifest.fps, '25/1');
    assert.equal(manifest.fps_value, 25);
    assert.equal(manifest.frame_count, FRAMES);
    assert.deepEqual(manifest.frames, names);
    assert.equal(manifest.audio, 'audio.m4a');
    assert.equal(manifest.created_by, 'alphacut');

    for (const [i, name] of names.entries()) {
      const entry = zip.get(name);
      assert.ok(entry);
      assert.equal(entry.compressionMethod, STORED, 'PNGs are stored, not deflated again');
      const { data, info } = await sharp(entry.data).raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.channels, 4);
      assert.deepEqual([info.width, info.height], [W, H]);
      // Lossless: exactly the frame that went in, junk under alpha 0 included.
      assert.deepEqual(new Uint8Array(data), makeFrame(i).rgba);
    }
    await checkAudioEntry(zip.get('audio.m4a')?.data ?? Buffer.alloc(0));
  });

  test('png_sequence without audio says so in its manifest', async () => {
    const out = join(dir, 'silent.zip');
    await writeClip({ format: 'png_sequence', output: out });
    const zip = await readZip(out);
    assert.equal(zip.has('audio.m4a'), false);
    const manifest = JSON.parse((zip.get('manifest.json')?.data ?? '').toString()) as Record<string, unknown>;
    assert.equal(manifest.audio, null);
  });

  test('pro_bundle: color.mp4 + alpha.mp4 recombine to the frames, audio.m4a, manifest', async () => {
    const out = join(dir, 'bundle.zip');
    await writeClip({ format: 'pro_bundle', output: out, audio });
    const zip = await readZip(out);
    assert.deepEqual([...zip.keys()].sort(), ['alpha.mp4', 'audio.m4a', 'color.mp4', 'manifest.json']);
    const manifest = JSON.parse((zip.get('manifest.json')?.data ?? '').toString()) as {
      width: number;
      height: number;
      fps: string;
      frame_count: number;
      files: Record<string, string | null>;
      recombine: { ffmpeg: string };
    };
    assert.deepEqual(
      [manifest.width, manifest.height, manifest.fps, manifest.frame_count],
      [W, H, '25/1', FRAMES],
    );
    assert.deepEqual(manifest.files, { color: 'color.mp4', alpha: 'alpha.mp4', audio: 'audio.m4a' });

    for (const name of ['color.mp4', 'alpha.mp4', 'audio.m4a'])
      await writeFile(join(dir, name), zip.get(name)?.data ?? '');
    for (const name of ['color.mp4', 'alpha.mp4']) {
      const s = await streams(join(dir, name));
      assert.deepEqual(
        s.map((x) => x.codec_type),
        ['video'],
      );
      assert.equal(s[0]?.codec_name, 'h264');
      assert.equal(s[0]?.color_space, 'bt709');
      assert.equal(s[0]?.color_range, 'tv');
    }
    const color = await decodeRgba(join(dir, 'color.mp4'), W, H);
    const alpha = await decodeRgba(join(dir, 'alpha.mp4'), W, H);
    assert.equal(color.frames.length, FRAMES);
    assert.equal(alpha.frames.length, FRAMES);
    for (let i = 0; i < FRAMES; i++) {
      assert.ok(near(pixel(color, i, centreOf(i)), COLOR, 10), `frame ${i} colour`);
      assert.ok(near(pixel(alpha, i, centreOf(i)), [255, 255, 255], 4), `frame ${i} alpha inside`);
      assert.ok(near(pixel(alpha, i, [2, 2]), [0, 0, 0], 4), `frame ${i} alpha outside`);
    }
    await checkAudioEntry(zip.get('audio.m4a')?.data ?? Buffer.alloc(0));

    // The manifest's recombine recipe really makes an alpha video.
    const recombined = join(dir, 'out.mov');
    const cmd = manifest.recombine.ffmpeg.replace(/ out\.mov$/, ` ${recombined}`);
    const args = (cmd.match(/"[^"]*"|\S+/g) ?? []).slice(1).map((a) => a.replace(/^"|"$/g, ''));
    const absolute = args.map((a) => (/^(color|alpha)\.mp4$|^audio\.m4a$/.test(a) ? join(dir, a) : a));
    await ffmpeg(absolute);
    const merged = await decodeRgba(recombined, W, H);
    assert.equal(merged.frames.length, FRAMES);
    assert.ok(near(pixel(merged, 3, centreOf(3)), [...COLOR, 255], 10));
    assert.ok((pixel(merged, 3, [2, 2])[3] ?? 255) <= 4);
  });
});
