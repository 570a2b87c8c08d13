/**
 * Scene-cut test shared by the key-frame scheduler (matte-stream.ts) and both stabilisers
 * (temporal-stabiliser.ts). A cut used to be "the mean luma change between consecutive frames is
 * large", and a fast pan passes that test every frame: scooter-black's pan changes luma by 25–55
 * levels per pixel on average from its fifth frame on, so the tracker was reset and temporal
 * smoothing switched off for nearly the whole clip. A cut replaces what is in view, so the
 * distribution of brightness changes with it; a pan, or a subject moving, keeps most of the same
 * surfaces in view and barely moves the histogram (L1 distance ≤ 0.1 over that pan, against
 * 0.5–1.5 between unrelated shots). A cut is therefore both: a large mean change and a histogram
 * distance above CUT_HISTOGRAM_DISTANCE. A cut between two shots of the same scene can be missed;
 * that is harmless, because every pixel whose colour changed is treated as moving anyway.
 */

/** L1 distance between consecutive normalised 32-bin luma histograms (range 0..2) above which a large change is a cut. */
export const CUT_HISTOGRAM_DISTANCE = 0.25;

const BINS = 32;

/** Keeps the previous frame's luma histogram and measures how far the next one moved from it. */
export class LumaHistogramChange {
  private prev = new Float64Array(BINS);
  private cur = new Float64Array(BINS);
  private hasPrev = false;

  reset(): void {
    this.hasPrev = false;
  }

  /**
   * Histogram distance of this frame's luma (8-bit, or [0,1] floats) from the previous frame's
   * (Infinity for the first frame after construction or reset). Allocates nothing. `stride`
   * samples every stride-th pixel: a histogram of 32 bins over half a million pixels of a 1080p
   * frame is as good as over two million, at a quarter of the cost.
   */
  next(luma: Uint8Array | Float32Array, stride = 1): number {
    const h = this.cur;
    h.fill(0);
    let count = 0;
    if (luma instanceof Uint8Array)
      for (let i = 0; i < luma.length; i += stride, count++) h[luma[i]! >> 3]!++;
    else
      for (let i = 0; i < luma.length; i += stride, count++) {
        const b = (luma[i]! * BINS) | 0;
        h[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]!++;
      }
    const inv = count > 0 ? 1 / count : 0;
    let d = 0;
    for (let b = 0; b < BINS; b++) {
      h[b] = h[b]! * inv;
      d += Math.abs(h[b]! - this.prev[b]!);
    }
    const had = this.hasPrev;
    [this.prev, this.cur] = [this.cur, this.prev];
    this.hasPrev = true;
    return had ? d : Infinity;
  }
}
