import type { Readable } from 'node:stream';
import type { FramePool } from './frame-pool.ts';

/**
 * Cuts a raw video byte stream into whole frames. Pulling with `for await` is what gives us
 * backpressure: while the consumer is busy, the stream pauses, the pipe fills and ffmpeg blocks,
 * so memory stays at a few frames whatever the video's length. Each yielded frame is the
 * consumer's until it hands it back to `pool` (if any).
 */
export async function* readRawFrames(
  stream: Readable,
  frameBytes: number,
  pool?: FramePool,
): AsyncGenerator<Buffer> {
  const alloc = (): Buffer => pool?.take() ?? Buffer.allocUnsafe(frameBytes);
  let frame = alloc();
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(frameBytes - filled, chunk.length - offset);
      chunk.copy(frame, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === frameBytes) {
        yield frame;
        frame = alloc();
        filled = 0;
      }
    }
  }
  // A partial trailing frame means ffmpeg died mid-frame; the caller checks the exit status.
}

/**
 * Writes a buffer to a child's stdin and resolves once the stream is done with it. Waiting for the
 * write callback (not just `drain`) matters because callers reuse their frame buffers: a small
 * write that "fits" is still queued by reference, and overwriting it would corrupt that frame. The
 * wait also gives backpressure: a slow encoder slows us down.
 */
export function writeWithBackpressure(stream: NodeJS.WritableStream, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (err) => (err ? reject(err) : resolve()));
  });
}
