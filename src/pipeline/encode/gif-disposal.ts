import { open, type FileHandle } from 'node:fs/promises';

/**
 * Rewrites the disposal method of every frame of a GIF to "restore to background".
 *
 * Why: ffmpeg 5.1's GIF encoder picks the disposal per frame. A frame with transparent pixels is
 * cropped to its visible box and cleared after display, but a fully opaque frame is left in place
 * ("do not dispose") and, with offsetting, reduced to what changed since the previous frame. In a
 * clip that mixes both (the subject fills the canvas for a moment), the next transparent frame is
 * then drawn over the old opaque one and leaves a trail. Encoded without offsetting/transdiff,
 * every frame is complete on its own, so clearing after each one is always right.
 */

class SequentialReader {
  private buf = Buffer.alloc(1 << 20);
  private start = 0;
  private length = 0;

  constructor(private readonly fh: FileHandle) {}

  async bytes(pos: number, n: number): Promise<Buffer> {
    if (pos < this.start || pos + n > this.start + this.length) {
      if (n > this.buf.length) this.buf = Buffer.alloc(n);
      const { bytesRead } = await this.fh.read(this.buf, 0, this.buf.length, pos);
      this.start = pos;
      this.length = bytesRead;
      if (bytesRead < n) throw new Error('GIF ends early');
    }
    return this.buf.subarray(pos - this.start, pos - this.start + n);
  }
}

/** Offset just past a run of data sub-blocks (length byte, data...) ending with a 0 length. */
async function skipSubBlocks(r: SequentialReader, pos: number): Promise<number> {
  for (;;) {
    const size = (await r.bytes(pos, 1))[0] as number;
    pos += 1 + size;
    if (size === 0) return pos;
  }
}

function colorTableBytes(packed: number): number {
  return packed & 0x80 ? 3 * (2 << (packed & 7)) : 0;
}

/** Returns how many frames it changed. */
export async function forceRestoreToBackground(path: string): Promise<number> {
  const fh = await open(path, 'r+');
  try {
    const r = new SequentialReader(fh);
    const screen = await r.bytes(6, 7);
    let pos = 13 + colorTableBytes(screen[4] as number);
    const patches: number[] = [];
    for (;;) {
      const intro = (await r.bytes(pos, 1))[0];
      if (intro === 0x3b) break;
      if (intro === 0x21) {
        const [label, size, packed] = await r.bytes(pos + 1, 3);
        // Graphic Control Extension: disposal is bits 2-4 of its first data byte.
        if (label === 0xf9 && size === 4 && (((packed as number) >> 2) & 7) !== 2) patches.push(pos + 3);
        pos = await skipSubBlocks(r, pos + 2);
      } else if (intro === 0x2c) {
        const descriptor = await r.bytes(pos, 10);
        // Descriptor, local colour table, LZW minimum code size, then the image data blocks.
        pos = await skipSubBlocks(r, pos + 10 + colorTableBytes(descriptor[9] as number) + 1);
      } else throw new Error(`Unexpected GIF block 0x${String(intro?.toString(16))} at ${pos}`);
    }
    for (const at of patches) {
      const packed = (await r.bytes(at, 1))[0] as number;
      await fh.write(Buffer.from([(packed & ~0x1c) | (2 << 2)]), 0, 1, at);
    }
    return patches.length;
  } finally {
    await fh.close();
  }
}
