/**
 * Interleaves the source colour with the matte into straight (unassociated) RGBA, which is what
 * VP9's alpha plane, ProRes 4444 and PNG store. Colour under alpha 0 is kept as is: encoders
 * compress it better than a hard black, and players never show it.
 */
export function composeTransparent(rgb: Uint8Array, alpha: Uint8Array, out: Uint8Array): void {
  const n = alpha.length;
  for (let p = 0, i = 0, o = 0; p < n; p++, i += 3, o += 4) {
    out[o] = rgb[i] as number;
    out[o + 1] = rgb[i + 1] as number;
    out[o + 2] = rgb[i + 2] as number;
    out[o + 3] = alpha[p] as number;
  }
}
