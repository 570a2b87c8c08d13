import { join } from 'node:path';
import { AlphacutError } from '../../core/errors.ts';
import { standaloneAudioArgs } from './audio-args.ts';
import type { EncodeContext, FormatSink } from './encode-context.ts';
import { audioEntryName, pngSequenceManifest } from './manifests.ts';
import { pngFrameName, pngStreamArgs } from './png-sequence-args.ts';
import { splitPngStream } from './png-stream-splitter.ts';
import { ZipFileWriter } from './zip-file-writer.ts';

/**
 * ZIP of RGBA PNGs: ffmpeg encodes (frame-threaded), we cut its PNG stream into entries as they
 * come and store them uncompressed (PNG is deflated already). The audio is made alongside.
 */
export function pngSequenceSink(ctx: EncodeContext): FormatSink {
  const zip = new ZipFileWriter(ctx.partial);
  ctx.onAbort(() => zip.destroy());
  const encoder = ctx.spawn('the PNG frames', pngStreamArgs(ctx.geometry));
  const audioFile = join(ctx.scratch, audioEntryName);
  const audio = ctx.audio && ctx.spawn(audioEntryName, standaloneAudioArgs(ctx.audio, audioFile));

  let zipError: AlphacutError | undefined;
  const stored = (async () => {
    let n = 0;
    for await (const png of splitPngStream(encoder.stdout))
      await zip.addBuffer(png, pngFrameName(n++), false);
    return n;
  })().catch((e: unknown) => {
    zipError = new AlphacutError('encode_failed', `Writing the PNG ZIP failed: ${String(e)}`);
    // ffmpeg would otherwise block on a stdout nobody reads, and with it our writes.
    encoder.kill();
    throw zipError;
  });
  stored.catch(() => {});

  return {
    async write(rgba) {
      try {
        await encoder.write(rgba);
      } catch (e) {
        throw zipError ?? e;
      }
    },
    async finish() {
      await encoder.close().catch((e: unknown) => {
        throw zipError ?? e;
      });
      const count = await stored;
      if (count !== ctx.frames)
        throw new AlphacutError('encode_failed', `The PNG encoder made ${count} of ${ctx.frames} frames.`);
      if (audio) {
        await audio.close();
        await zip.addFile(audioFile, audioEntryName, false);
      }
      const g = ctx.geometry;
      const manifest = pngSequenceManifest({
        width: g.width,
        height: g.height,
        fps: g.fps,
        frameCount: count,
        hasAudio: audio !== undefined,
      });
      await zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json', true);
      await zip.end();
    },
  };
}
