import sharp from 'sharp';

/**
 * Downscales a full-resolution rgb24 frame to the model input size. libvips does this in its own
 * thread pool, so the main thread stays free for refinement meanwhile.
 */
export async function resizeRgb(
  rgb: Uint8Array,
  width: number,
  height: number,
  toWidth: number,
  toHeight: number,
): Promise<Uint8Array> {
  if (width === toWidth && height === toHeight) return rgb;
  const buf = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(toWidth, toHeight, { fit: 'fill' })
    .raw()
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Rec. 709 luma of packed rgb24, 0..255. */
export function lumaOf(
  rgb: Uint8Array,
  pixels: number,
  out: Uint8Array = new Uint8Array(pixels),
): Uint8Array {
  for (let p = 0, i = 0; p < pixels; p++, i += 3) {
    out[p] =
      (0.2126 * (rgb[i] as number) +
        0.7152 * (rgb[i + 1] as number) +
        0.0722 * (rgb[i + 2] as number) +
        0.5) |
      0;
  }
  return out;
}
