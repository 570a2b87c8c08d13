import type { EncodeContext, FormatSink } from './encode-context.ts';

/** Formats made by one ffmpeg child writing the deliverable directly (webm, mov, mp4, ...). */
export function singleProcessSink(
  ctx: EncodeContext,
  what: string,
  args: string[],
  feed: 'rgba' | 'mask',
): FormatSink {
  const encoder = ctx.spawn(what, args);
  return {
    write: (rgba, mask) => encoder.write(feed === 'rgba' ? rgba : mask),
    finish: () => encoder.close(),
  };
}
