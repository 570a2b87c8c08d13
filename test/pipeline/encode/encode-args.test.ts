import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { movArgs, webmArgs } from '../../../src/pipeline/encode/alpha-video-args.ts';
import { binarizeAlpha } from '../../../src/pipeline/encode/animated-image-args.ts';
import { audioFilterChain, audioInputArgs } from '../../../src/pipeline/encode/audio-args.ts';
import type { AudioPlan } from '../../../src/pipeline/encode/encode-types.ts';
import { mp4Args, stackedArgs } from '../../../src/pipeline/encode/h264-args.ts';
import { splitPngStream } from '../../../src/pipeline/encode/png-stream-splitter.ts';
import type { MediaInfo } from '../../../src/pipeline/probe.ts';
import { untrustedInputArgs } from '../../../src/pipeline/ffmpeg-input-policy.ts';

const g = { width: 64, height: 48, fps: { num: 30000, den: 1001 }, matrix: 'bt709' as const };
const info = { formatStartSeconds: 0, startSeconds: 0.5, hasAudio: true } as MediaInfo;
const plan: AudioPlan = { source: '/media/in.mp4', info, startSeconds: 1, durationSeconds: 2 };

describe('encoder arguments', () => {
  test('the user file is opened through the input policy, shifted to its first video frame', () => {
    const args = audioInputArgs(plan);
    const i = args.indexOf('-i');
    assert.equal(args[i + 1], '/media/in.mp4');
    assert.deepEqual(args.slice(0, 2), ['-itsoffset', '-0.500000']);
    const policy = untrustedInputArgs();
    assert.deepEqual(args.slice(2, 2 + policy.length), policy);
  });

  test('audio is cut to the output range and starts at the output start', () => {
    assert.equal(
      audioFilterChain(plan, 1),
      '[1:a:0]atrim=start=1.000000:end=3.000000,asetpts=PTS-1.000000/TB,aresample=async=1:first_pts=0[aout]',
    );
  });

  test('every video format converts to limited range with the given matrix and tags it', () => {
    for (const args of [
      webmArgs(g, 'o', plan),
      movArgs(g, 'o', plan),
      mp4Args(g, 'o', plan),
      stackedArgs(g, 'o', plan),
    ]) {
      const graph = args[args.indexOf('-filter_complex') + 1] ?? '';
      assert.match(graph, /out_color_matrix=bt709:out_range=tv:in_range=pc/);
      assert.equal(args[args.indexOf('-colorspace') + 1], 'bt709');
      assert.equal(args[args.indexOf('-color_range') + 1], 'tv');
      assert.equal(args[args.indexOf('-framerate') + 1], '30000/1001');
    }
    assert.ok(movArgs(g, 'o').includes('prores_aw'));
    assert.equal(webmArgs(g, 'o').includes('-itsoffset'), false, 'no audio plan, no audio input');
  });

  test('binarizeAlpha cuts at 128 and blanks colour under transparency', () => {
    const src = new Uint8Array([10, 20, 30, 127, 40, 50, 60, 128, 1, 2, 3, 0, 4, 5, 6, 255]);
    const out = new Uint8Array(16);
    assert.equal(binarizeAlpha(src, out), 2);
    assert.deepEqual([...out], [0, 0, 0, 0, 40, 50, 60, 255, 0, 0, 0, 0, 4, 5, 6, 255]);
    const odd = new Uint8Array(17);
    odd.set(src, 1);
    const out2 = new Uint8Array(16);
    assert.equal(binarizeAlpha(odd.subarray(1), out2), 2);
    assert.deepEqual(out2, out);
  });
});

describe('PNG stream splitter', () => {
  function fakePng(body: number): Buffer {
    const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const chunk = (type: string, len: number): Buffer => {
      const b = Buffer.alloc(12 + len, body);
      b.writeUInt32BE(len, 0);
      b.write(type, 4, 'latin1');
      return b;
    };
    return Buffer.concat([sig, chunk('IHDR', 13), chunk('IDAT', 300 + body), chunk('IEND', 0)]);
  }

  test('cuts concatenated PNGs at IEND whatever the read sizes', async () => {
    const pngs = [fakePng(1), fakePng(2), fakePng(3)];
    const all = Buffer.concat(pngs);
    for (const step of [1, 7, 64, all.length]) {
      const s = new PassThrough();
      for (let o = 0; o < all.length; o += step) s.write(all.subarray(o, o + step));
      s.end();
      const got: Buffer[] = [];
      for await (const p of splitPngStream(s)) got.push(p);
      assert.deepEqual(got, pngs, `step ${step}`);
    }
  });

  test('a stream that stops inside an image is an error', async () => {
    const s = new PassThrough();
    s.end(fakePng(1).subarray(0, 40));
    await assert.rejects(async () => {
      for await (const _p of splitPngStream(s));
    });
  });
});
