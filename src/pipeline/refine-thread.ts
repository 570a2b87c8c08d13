import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { RefineInput } from './matte-refiner.ts';
import type { RefineReply, RefineRequest, RefineThreadInit } from './refine-thread-protocol.ts';

export interface RefinedFrame {
  alpha: Uint8Array;
  rgb: Buffer;
  /** Time the thread spent refining this frame. */
  ms: number;
}

const entry = fileURLToPath(new URL('./refine-thread-entry.mjs', import.meta.url));

/**
 * The matte refiner (temporal stabiliser, guided upsampling, output hold) on its own thread.
 * Why: at 1080p it is the largest piece of per-frame work left in Node (tens of milliseconds),
 * and on the main thread it ran in series with composing and feeding the encoder, leaving the
 * second core partly idle while the main thread was the bottleneck. On a thread, frame t+1 is
 * refined while frame t is composed and written. Unlike onnxruntime (a child process, see
 * ProcessSegmenter) this is plain JavaScript, so a worker thread is safe and cheap to end.
 * Frames are refined strictly in the order they are sent: the refiner carries state over time.
 */
export class RefineThread {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (r: RefinedFrame) => void; reject: (e: Error) => void }
  >();
  private failure: Error | undefined;
  private readonly worker: Worker;

  constructor(init: RefineThreadInit) {
    // execArgv [] : the entry installs tsx itself; inheriting `--import tsx` would load it twice.
    this.worker = new Worker(entry, { workerData: init, execArgv: [] });
    this.worker.on('message', (msg: RefineReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'alpha')
        p.resolve({
          alpha: msg.alpha,
          rgb: Buffer.from(msg.rgb.buffer, msg.rgb.byteOffset, msg.rgb.byteLength),
          ms: msg.ms,
        });
      else p.reject(new Error(`matte refinement failed: ${msg.message}`));
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`matte refinement thread ended (${code})`)));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  /**
   * Refines one frame; resolves with its full-resolution alpha (in `spareAlpha`, moved there and
   * back, or a new buffer), the frame's pixels and the thread's time on it. A frame that owns its
   * whole ArrayBuffer (every frame of readRawFrames) is moved to the thread and back: `input.rgb`
   * is empty from this call on, and the caller goes on with the returned `rgb`. Any other buffer
   * is copied across.
   */
  refine(input: RefineInput, spareAlpha?: Uint8Array): Promise<RefinedFrame> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const req: RefineRequest = { id, matte: input.matte, luma: input.luma, rgb: input.rgb };
      const transfer: ArrayBuffer[] = [];
      if (ownsBuffer(input.rgb)) transfer.push(input.rgb.buffer);
      if (spareAlpha && ownsBuffer(spareAlpha)) {
        req.out = spareAlpha;
        transfer.push(spareAlpha.buffer);
      }
      this.worker.postMessage(req, transfer);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('matte refinement thread closed');
    await this.worker.terminate();
  }
}

/** A view of a whole (non-shared) ArrayBuffer can be moved to another thread. */
function ownsBuffer(a: Uint8Array): a is Uint8Array & { buffer: ArrayBuffer } {
  return a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
}
