import type { Readable } from 'node:stream';

/**
 * Cuts a byte stream of concatenated PNG files into one buffer per file. PNG is self-delimiting:
 * an 8-byte signature, then chunks of (length, type, data, CRC) up to IEND, so we only follow the
 * chunk lengths and copy each image once, when it is complete.
 */

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function* splitPngStream(stream: Readable): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let imageBytes = 0;
  // Either reading a chunk header (8 bytes, may straddle reads) or passing over `skip` bytes of
  // signature or chunk body + CRC.
  let readingHeader = false;
  const header = Buffer.alloc(8);
  let headerFill = 0;
  let skip = signature.length;
  let lastChunk = false;

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let pos = 0;
    while (pos < chunk.length) {
      const n = Math.min(readingHeader ? 8 - headerFill : skip, chunk.length - pos);
      parts.push(chunk.subarray(pos, pos + n));
      imageBytes += n;
      if (readingHeader) {
        chunk.copy(header, headerFill, pos, pos + n);
        headerFill += n;
        pos += n;
        if (headerFill === 8) {
          readingHeader = false;
          headerFill = 0;
          skip = header.readUInt32BE(0) + 4;
          lastChunk = header.toString('latin1', 4, 8) === 'IEND';
        }
        continue;
      }
      pos += n;
      skip -= n;
      if (skip > 0) continue;
      if (!lastChunk) {
        readingHeader = true;
        continue;
      }
      const png = Buffer.concat(parts, imageBytes);
      if (!png.subarray(0, 8).equals(signature)) throw new Error('PNG stream out of step');
      yield png;
      parts = [];
      imageBytes = 0;
      skip = signature.length;
      lastChunk = false;
    }
  }
  if (imageBytes > 0) throw new Error('PNG stream ended inside an image');
}
