import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { isAlphacutError } from '../../../src/core/errors.ts';
import type { BackgroundSpec } from '../../../src/core/job-spec.ts';
import { BackgroundBlur } from '../../../src/pipeline/compose/background-blur.ts';
import { openBackgroundSource } from '../../../src/pipeline/compose/background-source.ts';
import { canvasLayout, type CanvasLayout } from '../../../src/pipeline/compose/canvas-layout.ts';
import type { MediaInfo } from '../../../src/pipeline/probe.ts';
import { ffmpeg, tempDir } from '../../helpers/media.ts';
import { pixel, rectFrame } from './synthetic.ts';

function srcInfo(width: number, height: number, fps = 25): MediaInfo {
  return {
    width,
    height,
    fps: { num: fps, den: 1 },
    frameCount: 0,
    durationSeconds: 0,
    startSeconds: 0,
    formatStartSeconds: 0,
    pixFmt: 'yuv420p',
    colorSpace: undefined,
    colorRange: undefined,
    rotation: 0,
    hasAudio: false,
    audioCodec: undefined,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    sizeBytes: 0,
  };
}

function square(w: number, h: number): CanvasLayout {
  return canvasLayout(w, h, undefined, false);
}

async function open(spec: BackgroundSpec, layout: CanvasLayout, info = srcInfo(64, 64)) {
  return openBackgroundSource(spec, layout, { signal: new AbortController().signal, srcInfo: info });
}

/** ffmpeg processes whose parent is this test process. */
function childFfmpegs(): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && m[1] === 'ffmpeg' && Number(m[2]) === process.pid) pids.push(Number(d));
    } catch {
      // Gone between readdir and read.
    }
  }
  return pids;
}

test('transparent gives no frame; a colour gives one constant canvas frame', async () => {
  const t = await open({ type: 'transparent' }, square(8, 6));
  assert.equal(await t.next(new Uint8Array(0), new Uint8Array(0)), undefined);
  const c = await open({ type: 'color', rgb: [9, 161, 70] }, square(8, 6));
  const f = await c.next(new Uint8Array(0), new Uint8Array(0));
  assert.ok(f);
  assert.equal(f.length, 8 * 6 * 3);
  assert.deepEqual(pixel(f, 8, 7, 5, 3), [9, 161, 70]);
  await c.close();
});

test('an image background covers the canvas, centre-cropped, EXIF orientation honoured', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // 400×100: left half red, right half blue. Covering 100×100 keeps the middle 100 columns.
    const wide = Buffer.alloc(400 * 100 * 3);
    for (let p = 0; p < 400 * 100; p++) wide.set(p % 400 < 200 ? [255, 0, 0] : [0, 0, 255], p * 3);
    const widePath = join(dir, 'wide.png');
    await sharp(wide, { raw: { width: 400, height: 100, channels: 3 } })
      .png()
      .toFile(widePath);
    const bg = await (
      await open({ type: 'image', source: widePath }, square(100, 100))
    ).next(new Uint8Array(0), new Uint8Array(0));
    assert.ok(bg);
    assert.equal(bg.length, 100 * 100 * 3);
    assert.deepEqual(pixel(bg, 100, 10, 50, 3), [255, 0, 0]);
    assert.deepEqual(pixel(bg, 100, 47, 50, 3), [255, 0, 0]);
    assert.deepEqual(pixel(bg, 100, 52, 50, 3), [0, 0, 255]);
    assert.deepEqual(pixel(bg, 100, 90, 50, 3), [0, 0, 255]);

    // Stored 100×400 (top red, bottom blue) with orientation 6: shown rotated 90° clockwise,
    // i.e. 400×100 with blue on the left and red on the right.
    const tall = Buffer.alloc(100 * 400 * 3);
    for (let p = 0; p < 100 * 400; p++) tall.set(p < 100 * 200 ? [255, 0, 0] : [0, 0, 255], p * 3);
    const tallPath = join(dir, 'rotated.jpg');
    await sharp(tall, { raw: { width: 100, height: 400, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toFile(tallPath);
    const rot = await (
      await open({ type: 'image', source: tallPath }, square(100, 100))
    ).next(new Uint8Array(0), new Uint8Array(0));
    assert.ok(rot);
    const left = pixel(rot, 100, 10, 50, 3);
    const right = pixel(rot, 100, 90, 50, 3);
    assert.ok((left[2] as number) > 200 && (left[0] as number) < 50, `left ${left}`);
    assert.ok((right[0] as number) > 200 && (right[2] as number) < 50, `right ${right}`);
  } finally {
    await cleanup();
  }
});

test('an unreadable image or video background is unsupported_media', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const bad = join(dir, 'not-an-image.png');
    await writeFile(bad, 'hello, not pixels');
    for (const spec of [
      { type: 'image', source: bad },
      { type: 'video', source: bad, audio: false },
      { type: 'image', source: join(dir, 'missing.png') },
    ] as const) {
      await assert.rejects(open(spec, square(32, 32)), (err: unknown) => {
        assert.ok(isAlphacutError(err), String(err));
        assert.equal(err.code, 'unsupported_media');
        assert.match(err.message, new RegExp(`background ${spec.type} could not be read`));
        return true;
      });
    }
    assert.deepEqual(childFfmpegs(), []);
  } finally {
    await cleanup();
  }
});

test('a short video background loops at the source rate, and close() ends ffmpeg', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const clip = join(dir, 'bg.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=25:duration=0.5',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      clip,
    ]);
    const src = await open(
      { type: 'video', source: clip, audio: false },
      square(64, 48),
      srcInfo(64, 48, 25),
    );
    assert.equal(childFfmpegs().length, 1);
    const frames: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      const f = await src.next(new Uint8Array(0), new Uint8Array(0));
      assert.ok(f);
      assert.equal(f.length, 64 * 48 * 3);
      frames.push(Buffer.from(f));
    }
    await src.close();
    assert.deepEqual(childFfmpegs(), []);
    // testsrc2 moves every frame: the first repeat of frame 0 is the clip's length.
    const period = frames.findIndex((f, i) => i > 0 && f.equals(frames[0] as Buffer));
    assert.ok(period === 12 || period === 13, `period ${period}`);
    for (let i = 1; i < period; i++) assert.ok(!(frames[i] as Buffer).equals(frames[0] as Buffer));
    for (let i = period; i < 30; i++)
      assert.ok((frames[i] as Buffer).equals(frames[i - period] as Buffer), `frame ${i}`);
  } finally {
    await cleanup();
  }
});

test('a video background is converted to the source frame rate', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // 10 fps background, 1 s; at a 20 fps source each background frame shows twice.
    const clip = join(dir, 'slow.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=64x48:rate=10:duration=1',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      clip,
    ]);
    const src = await open(
      { type: 'video', source: clip, audio: false },
      square(64, 48),
      srcInfo(64, 48, 20),
    );
    const frames: Buffer[] = [];
    for (let i = 0; i < 8; i++)
      frames.push(Buffer.from((await src.next(new Uint8Array(0), new Uint8Array(0))) as Uint8Array));
    await src.close();
    for (let i = 0; i < 8; i += 2) {
      assert.ok((frames[i] as Buffer).equals(frames[i + 1] as Buffer), `frames ${i},${i + 1} differ`);
      if (i + 2 < 8) assert.ok(!(frames[i] as Buffer).equals(frames[i + 2] as Buffer));
    }
  } finally {
    await cleanup();
  }
});

/** 160×120: an 8-px black/white checkerboard with an opaque red square (α 255) in the middle. */
function checkerWithSubject(): { rgb: Uint8Array; alpha: Uint8Array } {
  const f = rectFrame(160, 120, { x: 60, y: 40, w: 40, h: 40 }, [255, 0, 0], [0, 0, 0], 0);
  for (let y = 0; y < 120; y++) {
    for (let x = 0; x < 160; x++) {
      const p = y * 160 + x;
      if (f.alpha[p] === 0) f.rgb.fill(((x >> 3) + (y >> 3)) & 1 ? 255 : 0, p * 3, p * 3 + 3);
    }
  }
  return f;
}

test('blur smooths a checkerboard background and keeps the subject colour out of it', async () => {
  const f = checkerWithSubject();
  const src = await open({ type: 'blur', strength: 100 }, square(160, 120), srcInfo(160, 120));
  const bg = await src.next(f.rgb, f.alpha);
  assert.ok(bg);
  // Far from the subject: grey around the light-average of black and white (188), no 8-px steps.
  let maxStep = 0;
  for (let y = 2; y < 30; y++) {
    for (let x = 2; x < 150; x++) {
      const a = bg[(y * 160 + x) * 3] as number;
      maxStep = Math.max(maxStep, Math.abs(a - (bg[(y * 160 + x + 1) * 3] as number)));
      maxStep = Math.max(maxStep, Math.abs(a - (bg[((y + 1) * 160 + x) * 3] as number)));
    }
  }
  assert.ok(maxStep <= 6, `max step between neighbours ${maxStep}`);
  const mid = pixel(bg, 160, 20, 15, 3);
  assert.ok(Math.abs((mid[0] as number) - 188) < 25, `grey ${mid}`);
  // Right next to the subject, and under it: neutral grey, not red.
  for (const [x, y] of [
    [58, 60],
    [101, 60],
    [80, 38],
    [80, 60],
  ] as const) {
    const [r, g, b] = pixel(bg, 160, x, y, 3) as [number, number, number];
    assert.ok(Math.abs(r - g) <= 4 && Math.abs(r - b) <= 4, `(${x},${y}) = ${[r, g, b]} is tinted`);
  }
});

test('blur strength 0 is the unblurred frame; other canvases are covered', async () => {
  const f = checkerWithSubject();
  const same = new BackgroundBlur(160, 120, square(160, 120), 0);
  assert.equal(await same.render(f.rgb, f.alpha), f.rgb);
  // A 4:3 source on a 60×120 canvas: cover scales it to 160×120 and keeps the middle 60 columns.
  const tall = new BackgroundBlur(160, 120, square(60, 120), 0);
  const out = await tall.render(f.rgb, f.alpha);
  assert.equal(out.length, 60 * 120 * 3);
  assert.deepEqual(pixel(out, 60, 30, 60, 3), pixel(f.rgb, 160, 80, 60, 3));
});
