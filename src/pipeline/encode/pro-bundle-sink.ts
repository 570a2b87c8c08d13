import { join } from 'node:path';
import { standaloneAudioArgs } from './audio-args.ts';
import type { EncodeContext, FormatSink } from './encode-context.ts';
import { alphaMatteArgs, mp4Args } from './h264-args.ts';
import { audioEntryName, bundleAlphaName, bundleColorName, proBundleManifest } from './manifests.ts';
import { ZipFileWriter } from './zip-file-writer.ts';

/**
 * color.mp4 + alpha.mp4 (+ audio.m4a) in a ZIP, for editors without alpha-video support. The two
 * MP4s are separate children fed the same frames, so they encode in parallel; both need their
 * index moved to the front at the end, which is why they are zipped only once complete.
 */
export function proBundleSink(ctx: EncodeContext): FormatSink {
  const g = ctx.geometry;
  const colorFile = join(ctx.scratch, bundleColorName);
  const alphaFile = join(ctx.scratch, bundleAlphaName);
  const audioFile = join(ctx.scratch, audioEntryName);
  const color = ctx.spawn(bundleColorName, mp4Args(g, colorFile));
  const alpha = ctx.spawn(bundleAlphaName, alphaMatteArgs(g, alphaFile));
  const audio = ctx.audio && ctx.spawn(audioEntryName, standaloneAudioArgs(ctx.audio, audioFile));
  return {
    async write(rgba) {
      await Promise.all([color.write(rgba), alpha.write(rgba)]);
    },
    async finish() {
      await Promise.all([color.close(), alpha.close(), audio?.close()]);
      const zip = new ZipFileWriter(ctx.partial);
      ctx.onAbort(() => zip.destroy());
      await zip.addFile(colorFile, bundleColorName, false);
      await zip.addFile(alphaFile, bundleAlphaName, false);
      if (audio) await zip.addFile(audioFile, audioEntryName, false);
      const manifest = proBundleManifest({
        width: g.width,
        height: g.height,
        fps: g.fps,
        frameCount: ctx.frames,
        hasAudio: audio !== undefined,
        matrix: g.matrix,
      });
      await zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json', true);
      await zip.end();
    },
  };
}
