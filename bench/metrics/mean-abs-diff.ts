/**
 * Mean absolute difference (MAD) between a matte and a reference, on the [0, 1] alpha scale:
 *
 *   MAD = (1/N) Σ_p |α(p) − g(p)| / 255      (α, g 8-bit; N pixels)
 *
 * Against DAVIS's binary masks (g ∈ {0, 255}) this counts soft edges as partial errors too, so a
 * perfect binary answer scores 0 and a good soft matte scores a little above it.
 */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`meanAbsDiff: sizes differ (${a.length} vs ${b.length})`);
  if (a.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length / 255;
}
