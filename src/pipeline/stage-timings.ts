/** Wall time spent per pipeline stage, summed over frames; the benchmark reports these. */
export interface StageTimings {
  probeMs: number;
  prepareMs: number;
  /** Waiting on ffmpeg for the next decoded frame. */
  decodeMs: number;
  resizeMs: number;
  modelMs: number;
  refineMs: number;
  composeMs: number;
  /** Waiting for the encoder to accept frames, plus its finish after the last frame. */
  encodeMs: number;
  totalMs: number;
}

export function emptyTimings(): StageTimings {
  return {
    probeMs: 0,
    prepareMs: 0,
    decodeMs: 0,
    resizeMs: 0,
    modelMs: 0,
    refineMs: 0,
    composeMs: 0,
    encodeMs: 0,
    totalMs: 0,
  };
}

/** Wraps an async iterable so the time spent waiting for each item is added to `timings[key]`. */
export async function* timed<T>(
  source: AsyncIterable<T>,
  timings: StageTimings,
  key: keyof StageTimings,
): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const t0 = performance.now();
      const next = await it.next();
      timings[key] += performance.now() - t0;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.(undefined);
  }
}
