/**
 * Temporal coherence against ground truth (dtSSD, Erofeev et al. 2015), for one frame pair:
 *
 *   dtSSD_t = sqrt( (1/N) Σ_p ((α_t(p) − α_{t−1}(p)) − (g_t(p) − g_{t−1}(p)))² )
 *
 * on the [0, 1] scale (8-bit values / 255). A clip's dtSSD is the mean over t = 1..T−1. It
 * penalises matte changes the reference does not have (flicker) and missed changes (lag). With
 * DAVIS's binary masks as g the moving contour itself contributes, so compare tiers, not absolutes.
 */
export function dtssdFrame(
  alphaPrev: Uint8Array,
  alpha: Uint8Array,
  gtPrev: Uint8Array,
  gt: Uint8Array,
): number {
  const n = alpha.length;
  if (alphaPrev.length !== n || gtPrev.length !== n || gt.length !== n)
    throw new Error('dtssdFrame: sizes differ');
  if (n === 0) return 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = (alpha[i] as number) - (alphaPrev[i] as number) - ((gt[i] as number) - (gtPrev[i] as number));
    s += d * d;
  }
  return Math.sqrt(s / n) / 255;
}
