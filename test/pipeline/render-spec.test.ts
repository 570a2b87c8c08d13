import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { resolveDataDir } from '../../src/app/paths.ts';
import { normalizeRenderSpec } from '../../src/core/job-spec.ts';
import { silentContext } from '../../src/pipeline/job-context.ts';
import { removeBackground } from '../../src/pipeline/remove-background.ts';
import { ffmpeg, ffprobeJson, readGray, readWebmAlpha, tempDir } from '../helpers/media.ts';

/**
 * The pipeline end to end with a render spec: a synthetic clip whose subject (an amber 100×80
 * box at (120,60) on dark blue-grey) every ISNet tier finds exactly, so placement, colours, frame
 * counts and audio can be checked to the pixel.
 */
const dataDir = resolveDataDir();
const run = promisify(execFile);
const box = { x: 120, y: 60, w: 100, h: 80, rgb: [0xf0, 0xc0, 0x20] };

async function makeBoxClip(path: string, seconds: number): Promise<void> {
  await ffmpeg([
    ...['-f', 'lavfi', '-i', `color=c=0x203040:size=320x240:rate=25:duration=${seconds}`],
    ...['-f', 'lavfi', '-i', `color=c=0xF0C020:size=${box.w}x${box.h}:rate=25:duration=${seconds}`],
    // Audio starting 0.2 s after the video, so a lost offset shows.
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds - 0.2}`],
    '-filter_complex',
    `[0][1]overlay=x=${box.x}:y=${box.y}[v];[2]adelay=200:all=1[a]`,
    ...['-map', '[v]', '-map', '[a]'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
    ...['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv'],
    ...['-c:a', 'aac', path],
  ]);
}

/** Bounding box of pixels above half alpha. */
function bbox(a: Uint8Array, width: number): { x0: number; x1: number; y0: number; y1: number } {
  let x0 = Infinity;
  let x1 = -1;
  let y0 = Infinity;
  let y1 = -1;
  for (let i = 0; i < a.length; i++) {
    if ((a[i] as number) <= 127) continue;
    const x = i % width;
    const y = Math.floor(i / width);
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  return { x0, x1, y0, y1 };
}

function streams(p: Awaited<ReturnType<typeof ffprobeJson>>, type: string) {
  return p.streams.filter((s) => s.codec_type === type);
}

describe('removeBackground with a render spec', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let clip: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    clip = join(dir, 'box.mp4');
    await makeBoxClip(clip, 1.2);
  });
  after(async () => cleanup());

  it('top-left anchor, scale 0.5, offset (10,20) on a 640×360 canvas puts the subject exactly there', async () => {
    const output = join(dir, 'placed.webm');
    const maskOutput = join(dir, 'placed-mask.mp4');
    const spec = normalizeRenderSpec({
      composition: {
        canvas: { width: 640, height: 360 },
        foreground: { anchor: 'top-left', scale: 0.5, offset: { x: 10, y: 20 } },
      },
    });
    const result = await removeBackground(
      { input: clip, output, maskOutput, tier: 'light', dataDir, spec },
      silentContext(),
    );
    assert.deepEqual([result.output.width, result.output.height], [640, 360]);
    const expected = { x0: 10 + box.x / 2, x1: 10 + (box.x + box.w) / 2 - 1, y0: 20 + box.y / 2 };
    const alphas = await readWebmAlpha(output, 640, 360);
    assert.equal(alphas.length, 30);
    const masks = await readGray(['-i', maskOutput], 640, 360);
    assert.equal(masks.length, 30);
    for (const a of [alphas[15], masks[15]]) {
      const b = bbox(a as Uint8Array, 640);
      assert.ok(Math.abs(b.x0 - expected.x0) <= 1, `left edge ${b.x0}, expected ${expected.x0}`);
      assert.ok(Math.abs(b.x1 - expected.x1) <= 1, `right edge ${b.x1}, expected ${expected.x1}`);
      assert.ok(Math.abs(b.y0 - expected.y0) <= 1, `top edge ${b.y0}, expected ${expected.y0}`);
      assert.ok(Math.abs(b.y1 - (expected.y0 + box.h / 2 - 1)) <= 1, `bottom edge ${b.y1}`);
    }
    // Everything outside the placed foreground is transparent.
    assert.equal((alphas[15] as Uint8Array)[640 * 359 + 639], 0);
  });

  it('legacy bg_type "green" to MP4: subject colour kept, preset green around it, audio in sync, bt709 tv tags', async () => {
    const output = join(dir, 'green.mp4');
    const spec = normalizeRenderSpec({ output_format: 'mp4', bg_type: 'green' });
    await removeBackground({ input: clip, output, tier: 'light', dataDir, spec }, silentContext());
    const probe = await ffprobeJson(output);
    const [video] = streams(probe, 'video');
    const [audio] = streams(probe, 'audio');
    assert.equal(video?.codec_name, 'h264');
    assert.equal(video?.color_space, 'bt709');
    assert.equal(video?.color_range, 'tv');
    assert.equal(Number(video?.nb_frames), 30);
    assert.ok(audio, 'audio kept');
    assert.ok(
      Math.abs(Number(audio.duration) - 1.2) < 0.04 + 1e-6,
      `audio ${audio.duration} s vs video 1.2 s`,
    );
    // The sine starts 0.2 s in; the output's audio stream must keep that offset.
    const audioStart = Number(audio.start_time) - Number(video?.start_time ?? 0);
    const pcm = await ffmpeg(['-i', output, '-map', '0:a', '-ac', '1', '-ar', '8000', '-f', 's16le', '-']);
    const firstLoud = pcm.findIndex((_v, i) => i % 2 === 0 && Math.abs(pcm.readInt16LE(i)) > 2000) / 2 / 8000;
    assert.ok(Math.abs(firstLoud + audioStart - 0.2) < 0.04, `sound starts at ${firstLoud + audioStart} s`);

    const rgb = await ffmpeg([
      '-i',
      output,
      '-vf',
      'select=eq(n\\,15)',
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ]);
    const at = (x: number, y: number): number[] => [
      ...rgb.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3),
    ];
    const near = (got: number[], want: number[], tol: number): boolean =>
      got.every((v, i) => Math.abs(v - (want[i] as number)) <= tol);
    assert.ok(near(at(170, 100), box.rgb, 12), `subject ${at(170, 100)}`);
    assert.ok(near(at(20, 20), [9, 162, 70], 10), `background ${at(20, 20)} is the preset green`);
  });

  it('a video background loops, and its audio is mixed in only when asked for', async () => {
    const bgClip = join(dir, 'bg.mp4');
    // 0.5 s of a 1 kHz tone over a gradient: shorter than the 1.2 s source, so both must loop.
    await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25:duration=0.5'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=0.5'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', bgClip],
    ]);
    const loudFrom = async (file: string): Promise<number> => {
      const pcm = await ffmpeg(['-i', file, '-map', '0:a', '-ac', '1', '-ar', '8000', '-f', 's16le', '-']);
      for (let i = 0; i + 1 < pcm.length; i += 2)
        if (Math.abs(pcm.readInt16LE(i)) > 2000) return i / 2 / 8000;
      return Infinity;
    };
    for (const audio of [false, true]) {
      const output = join(dir, `bgvideo-${audio}.mp4`);
      const spec = normalizeRenderSpec({
        output_format: 'mp4',
        background: { type: 'video', video_url: bgClip, audio },
      });
      await removeBackground({ input: clip, output, tier: 'light', dataDir, spec }, silentContext());
      const probe = await ffprobeJson(output);
      const [video] = streams(probe, 'video');
      const [track] = streams(probe, 'audio');
      assert.equal(Number(video?.nb_frames), 30, 'every source frame, although the background is shorter');
      assert.ok(track && Math.abs(Number(track.duration) - 1.2) <= 0.04, `audio ${track?.duration} s`);
      // The source is silent until 0.2 s: sound before that can only be the background's.
      const first = await loudFrom(output);
      if (audio) assert.ok(first < 0.05, `background audio heard from ${first} s`);
      else assert.ok(Math.abs(first - 0.2) < 0.04, `only the source's sound, from ${first} s`);
    }
  });

  it('trim and preview_duration: frames and audio cover exactly the requested range', async () => {
    const output = join(dir, 'trimmed.mov');
    const spec = normalizeRenderSpec({
      output_format: 'mov',
      trim: { start: 0.4, end: 1.0 },
      preview_duration: 0.4,
    });
    const result = await removeBackground(
      { input: clip, output, tier: 'light', dataDir, spec },
      silentContext(),
    );
    assert.equal(result.framesOut, 10);
    assert.ok(Math.abs(result.renderedSeconds - 0.4) < 1e-9);
    const probe = await ffprobeJson(output);
    const [video] = streams(probe, 'video');
    const [audio] = streams(probe, 'audio');
    assert.equal(video?.codec_name, 'prores');
    assert.match(String(video?.pix_fmt), /^yuva444/);
    assert.equal(Number(video?.nb_frames), 10);
    assert.ok(audio && Math.abs(Number(audio.duration) - 0.4) <= 0.04, `audio ${audio?.duration} s`);
  });

  it('png_sequence: a ZIP with one RGBA PNG per frame, the manifest and the audio', async () => {
    const output = join(dir, 'frames.zip');
    const spec = normalizeRenderSpec({ output_format: 'png_sequence', preview_duration: 0.2 });
    await removeBackground({ input: clip, output, tier: 'light', dataDir, spec }, silentContext());
    const { stdout } = await run('unzip', ['-Z1', output]);
    const names = stdout.trim().split('\n');
    assert.equal(names.filter((n) => n.endsWith('.png')).length, 5);
    assert.ok(names.includes('manifest.json'));
    // The sine begins at 0.2 s, after this 0.2 s preview, so there is no audio to ship.
    const manifest = JSON.parse((await run('unzip', ['-p', output, 'manifest.json'])).stdout) as {
      frame_count: number;
      width: number;
    };
    assert.equal(manifest.frame_count, 5);
    assert.equal(manifest.width, 320);
  });

  it('a failed render leaves no output and no partial file', async () => {
    const output = join(dir, 'bad.webm');
    const spec = normalizeRenderSpec({ background: { type: 'image', image_url: join(dir, 'missing.png') } });
    await assert.rejects(
      removeBackground({ input: clip, output, tier: 'light', dataDir, spec }, silentContext()),
      (e: Error & { code?: string }) => e.code === 'unsupported_media',
    );
    assert.equal(existsSync(output), false);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes('bad.webm')),
      [],
    );
  });
});
