/**
 * Region similarity (DAVIS "J"): intersection over union of two binarised mattes.
 *
 *   P = {p : a(p) ≥ 128},  G = {p : b(p) ≥ 128}   (8-bit values; ≥ 128 ⇔ alpha > 0.5)
 *   J = |P ∩ G| / |P ∪ G|,  and J = 1 when both are empty.
 *
 * Used against DAVIS ground-truth masks (J) and against the `pro` tier's matte (agreement IoU).
 */
export const BINARY_THRESHOLD = 128;

export function regionIoU(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`regionIoU: sizes differ (${a.length} vs ${b.length})`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const pa = (a[i] as number) >= BINARY_THRESHOLD;
    const pb = (b[i] as number) >= BINARY_THRESHOLD;
    if (pa && pb) inter++;
    if (pa || pb) union++;
  }
  return union === 0 ? 1 : inter / union;
}
