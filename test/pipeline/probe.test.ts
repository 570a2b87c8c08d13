import assert from 'node:assert/strict';
import { copyFile, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AlphacutError } from '../../src/core/errors.ts';
import { probe } from '../../src/pipeline/probe.ts';
import { ffmpeg, makeClip, noSharedMedia, sharedMedia, tempDir } from '../helpers/media.ts';

async function probeError(path: string, limits?: Parameters<typeof probe>[1]): Promise<AlphacutError> {
  try {
    await probe(path, limits);
  } catch (err) {
    assert.ok(err instanceof AlphacutError, `expected AlphacutError, got ${String(err)}`);
    return err;
  }
  assert.fail('probe should have failed');
}

describe('probe', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(async () => cleanup());

  it('reads size, rate, frame count and audio of a real clip', { skip: noSharedMedia }, async () => {
    const info = await probe(sharedMedia('clips/grid-lwbsza.mp4'));
    assert.equal(info.width, 360);
    assert.equal(info.height, 288);
    assert.equal(info.fps.num / info.fps.den, 25);
    assert.equal(info.frameCount, 75);
    assert.ok(info.hasAudio);
    assert.ok(Math.abs(info.durationSeconds - 3) < 0.05, `duration ${info.durationSeconds}`);
  });

  it(
    'keeps the nominal 30000/1001 rate of a slightly irregular stream',
    { skip: noSharedMedia },
    async () => {
      const info = await probe(sharedMedia('clips/opencv-box.mp4'));
      assert.deepEqual(info.fps, { num: 30000, den: 1001 });
      assert.equal(info.width, 640);
    },
  );

  it('rejects a text file renamed .mp4 as not a video', async () => {
    const p = join(dir, 'notes.mp4');
    await writeFile(p, 'these are my holiday notes, not a video\n'.repeat(50));
    const e = await probeError(p);
    assert.equal(e.code, 'unsupported_media');
    assert.equal(e.details?.reason, 'not_video');
    assert.match(e.message, /not a video/);
  });

  it('rejects a truncated MP4 whose index is missing, saying it is truncated', async () => {
    const full = join(dir, 'full.mp4');
    await makeClip(full, { seconds: 2 });
    const cut = join(dir, 'cut.mp4');
    await copyFile(full, cut);
    const size = (await readFile(full)).length;
    await truncate(cut, Math.floor(size / 2));
    const e = await probeError(cut);
    assert.equal(e.code, 'unsupported_media');
    assert.equal(e.details?.reason, 'truncated');
    assert.match(e.message, /truncated/);
  });

  it('rejects an empty file and an audio-only file', async () => {
    const empty = join(dir, 'empty.mp4');
    await writeFile(empty, '');
    assert.equal((await probeError(empty)).details?.reason, 'empty');
    const audio = join(dir, 'tone.m4a');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac', audio]);
    const e = await probeError(audio);
    assert.equal(e.code, 'unsupported_media');
    assert.equal(e.details?.reason, 'no_video');
  });

  it('rejects over-limit duration and resolution with the API codes', async () => {
    const clip = join(dir, 'limits.mp4');
    await makeClip(clip, { seconds: 3, width: 640, height: 360 });
    const long = await probeError(clip, { maxDurationSeconds: 2, maxWidth: 4096, maxHeight: 4096 });
    assert.equal(long.code, 'input_too_long');
    assert.equal(long.httpStatus, 422);
    const big = await probeError(clip, { maxDurationSeconds: 100, maxWidth: 320, maxHeight: 320 });
    assert.equal(big.code, 'unsupported_media');
    assert.equal(big.details?.reason, 'resolution');
  });

  it('reads a file whose relative name looks like a protocol ("clip:1.mp4")', async () => {
    await makeClip(join(dir, 'clip:1.mp4'), { seconds: 1 });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      assert.equal((await probe('clip:1.mp4')).frameCount, 25);
    } finally {
      process.chdir(cwd);
    }
  });

  it('rejects a missing file as an invalid request', async () => {
    assert.equal((await probeError(join(dir, 'nope.mp4'))).code, 'invalid_request');
  });
});
