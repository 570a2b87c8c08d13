/**
 * 8-bit sRGB ↔ linear light. Blending, resampling and blurring must happen on light, not on
 * gamma-encoded code values: a 50 % white-over-black edge is 188 in sRGB, not 128, and averaging
 * code values darkens every soft edge. We use the sRGB curve (IEC 61966-2-1) rather than the
 * BT.709 camera OETF because decoded frames are shown on sRGB displays, which is what users judge.
 *
 * Both directions are table lookups: 256 floats one way, 65 536 bytes the other. The reverse table
 * is that large so that every 8-bit value survives a round trip exactly (step 1/65535 in linear
 * is 0.05 of a code value even next to black); an opaque pixel must come out unchanged.
 */

const LINEAR_STEPS = 65535;

function decode(v: number): number {
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function encode(l: number): number {
  return l <= 0.0031308 ? l * 12.92 : 1.055 * l ** (1 / 2.4) - 0.055;
}

/** sRGB code value (0..255) → linear light in [0,1]. */
export const srgbToLinear: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = decode(i / 255);
  return t;
})();

/**
 * Nearest sRGB code value of linear level i/65535. One spare entry past 1.0 (also 255) absorbs
 * float rounding of means of values ≤ 1, so inlined lookups of [0,1] values need no clamp.
 */
export const linearToSrgbTable: Uint8Array = (() => {
  const t = new Uint8Array(LINEAR_STEPS + 2);
  for (let i = 0; i <= LINEAR_STEPS; i++) t[i] = Math.round(encode(i / LINEAR_STEPS) * 255);
  t[LINEAR_STEPS + 1] = 255;
  return t;
})();

/** Linear light (any number, clamped to [0,1]) → sRGB code value 0..255. */
export function linearToSrgb(l: number): number {
  const i = (l * LINEAR_STEPS + 0.5) | 0;
  return linearToSrgbTable[i <= 0 ? 0 : i >= LINEAR_STEPS ? LINEAR_STEPS : i] as number;
}

/** Scale factor for callers that inline the lookup in a hot loop: `table[(l * LINEAR_SCALE + 0.5) | 0]`. */
export const LINEAR_SCALE = LINEAR_STEPS;
