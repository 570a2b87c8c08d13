import { linearToSrgb, srgbToLinear } from '../../../src/pipeline/compose/linear-light.ts';

export type Rgb = readonly [number, number, number];

export interface Frame {
  width: number;
  height: number;
  rgb: Uint8Array;
  alpha: Uint8Array;
}

/** Light-correct mix of two sRGB colours, as a camera records a partly covered pixel. */
export function mix(f: Rgb, b: Rgb, a: number): Rgb {
  const m = (k: 0 | 1 | 2): number =>
    linearToSrgb(a * (srgbToLinear[f[k]] as number) + (1 - a) * (srgbToLinear[b[k]] as number));
  return [m(0), m(1), m(2)];
}

/**
 * A `fg` rectangle on a `bg` frame with a matte that is 255 inside, `edgeAlpha` on a one-pixel
 * ring around it (colour mixed accordingly) and 0 elsewhere.
 */
export function rectFrame(
  width: number,
  height: number,
  rect: { x: number; y: number; w: number; h: number },
  fg: Rgb,
  bg: Rgb,
  edgeAlpha = 128,
): Frame {
  const rgb = new Uint8Array(width * height * 3);
  const alpha = new Uint8Array(width * height);
  const edge = mix(fg, bg, edgeAlpha / 255);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= rect.x && x < rect.x + rect.w && y >= rect.y && y < rect.y + rect.h;
      const ring =
        !inside && x >= rect.x - 1 && x <= rect.x + rect.w && y >= rect.y - 1 && y <= rect.y + rect.h;
      const p = y * width + x;
      const c = inside ? fg : ring ? edge : bg;
      alpha[p] = inside ? 255 : ring ? edgeAlpha : 0;
      rgb.set(c, p * 3);
    }
  }
  return { width, height, rgb, alpha };
}

/** Solid canvas-size rgb24. */
export function solid(width: number, height: number, c: Rgb): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i += 3) out.set(c, i);
  return out;
}

/** A 1080p-like frame: a large disc with a soft edge several pixels wide, on a textured background. */
export function discFrame(width: number, height: number): Frame {
  const rgb = new Uint8Array(width * height * 3);
  const alpha = new Uint8Array(width * height);
  const cx = width / 2;
  const cy = height / 2;
  const r = height * 0.35;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = Math.hypot(x - cx, y - cy) - r;
      const a = Math.max(0, Math.min(1, 0.5 - d / 6));
      const p = y * width + x;
      alpha[p] = Math.round(a * 255);
      const bg: Rgb = [40 + ((x >> 4) & 1) * 60, 120, 200 - ((y >> 4) & 1) * 60];
      rgb.set(mix([230, 180, 140], bg, a), p * 3);
    }
  }
  return { width, height, rgb, alpha };
}

export function pixel(buf: Uint8Array, width: number, x: number, y: number, channels: number): number[] {
  const o = (y * width + x) * channels;
  return Array.from(buf.subarray(o, o + channels));
}
