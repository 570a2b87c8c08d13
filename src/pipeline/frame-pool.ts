/**
 * Reuses frame-sized buffers. A 1080p pipeline otherwise allocates ~8 MB of fresh buffers per frame
 * (the decoded frame, the refined alpha), and V8 answers that much external memory with a full
 * mark-compact every few frames: a quarter of the main thread's busy time at 1080p before pooling.
 * A buffer goes back with `give` only once nothing reads it any more; a pool never holds more than
 * `max` (frames in flight beyond that are simply collected).
 */
export class FramePool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bytes: number,
    private readonly max = 8,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.bytes);
  }

  give(buf: Uint8Array): void {
    // Only whole, attached buffers of the right size: a frame moved to another thread is empty here.
    if (buf.byteLength !== this.bytes || this.free.length >= this.max) return;
    this.free.push(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  }
}
