import { join } from 'node:path';
import { binarizeAlpha, gifPass1Args, gifPass2Args } from './animated-image-args.ts';
import type { EncodeContext, FormatSink } from './encode-context.ts';
import { forceRestoreToBackground } from './gif-disposal.ts';

/** GIF in two passes over a temp copy of the frames, so the palette can see all of them first. */
export function gifSink(ctx: EncodeContext): FormatSink {
  const g = ctx.geometry;
  const intermediate = join(ctx.scratch, 'frames.nut');
  const palette = join(ctx.scratch, 'palette.png');
  const pass1 = ctx.spawn('the GIF palette', gifPass1Args(g, intermediate, palette));
  // One reusable buffer: write() resolves only once the pipe is done with it.
  const frame = new Uint8Array(g.width * g.height * 4);
  let opaqueFrames = 0;
  let seeThroughFrames = 0;
  return {
    async write(rgba) {
      if (binarizeAlpha(rgba, frame) === 0) opaqueFrames++;
      else seeThroughFrames++;
      await pass1.write(frame);
    },
    async finish() {
      await pass1.close();
      const frameIndependent = opaqueFrames > 0 && seeThroughFrames > 0;
      const args = gifPass2Args(intermediate, palette, ctx.partial, { frameIndependent });
      await ctx.spawn('the GIF', args).close();
      if (frameIndependent) await forceRestoreToBackground(ctx.partial);
    },
  };
}
