/**
 * Pulls up to `depth` items ahead of the consumer. This is how the stages overlap: while the
 * consumer refines frame t on the main thread, frame t+1 is already being decoded by ffmpeg and
 * segmented by onnxruntime's native threads.
 */
export async function* prefetch<T>(source: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<T>>[] = [];
  const pull = (): void => {
    const p = it.next();
    // Rejections are observed when the item's turn comes; this only silences the early warning.
    p.catch(() => {});
    queue.push(p);
  };
  try {
    for (;;) {
      while (queue.length < depth + 1) pull();
      // Take the head, then top the queue up BEFORE waiting, so `depth` items are always in
      // flight while the consumer works on this one.
      const head = queue.shift() as Promise<IteratorResult<T>>;
      pull();
      const next = await head;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.(undefined);
  }
}
