import { Worker } from 'node:worker_threads';
import { aspectInputSize, type Segmenter } from './segmenter.ts';

export type SegmenterSpec =
  | { kind: 'isnet'; modelId: string; modelPath: string; longSide: number }
  | { kind: 'selfie'; modelId: string; modelPath: string; size: { width: number; height: number } };

export type WorkerRequest =
  | { type: 'open'; id: number; session: number; spec: SegmenterSpec }
  | { type: 'run'; id: number; session: number; rgb: Uint8Array; width: number; height: number }
  | { type: 'close'; id: number; session: number };
export type WorkerReply =
  | { type: 'opened' | 'closed'; id: number }
  | { type: 'matte'; id: number; matte: Float32Array }
  | { type: 'error'; id: number; message: string };

/** A request before the host numbers it (Omit distributed over the union's members). */
type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;

type Pending = { resolve: (v: Float32Array | undefined) => void; reject: (e: Error) => void };

/**
 * The process's one inference thread (see segmenter-worker.ts for why there is exactly one).
 * It is unref'd while idle so it never keeps a finished CLI alive.
 */
class InferenceHost {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private nextSession = 0;
  private failure: Error | undefined;

  constructor() {
    this.worker = new Worker(new URL('./segmenter-worker-entry.mjs', import.meta.url));
    this.worker.unref();
    this.worker.on('message', (msg: WorkerReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.settled(msg.id);
      if (msg.type === 'error') p.reject(new Error(msg.message));
      else p.resolve(msg.type === 'matte' ? msg.matte : undefined);
    });
    const fail = (err: Error): void => {
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (host === this) host = undefined;
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`inference thread exited (${code})`)));
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  newSession(): number {
    return this.nextSession++;
  }

  request(msg: Unnumbered<WorkerRequest>, transfer: ArrayBuffer[] = []): Promise<Float32Array | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...msg, id } as WorkerRequest, transfer);
    });
  }
}

let host: InferenceHost | undefined;

/** A Segmenter whose session lives on the inference thread; the caller's thread never blocks. */
export class WorkerSegmenter implements Segmenter {
  private constructor(
    private readonly spec: SegmenterSpec,
    private readonly host: InferenceHost,
    private readonly session: number,
  ) {}

  static async open(spec: SegmenterSpec): Promise<WorkerSegmenter> {
    host ??= new InferenceHost();
    const session = host.newSession();
    await host.request({ type: 'open', session, spec });
    return new WorkerSegmenter(spec, host, session);
  }

  get modelId(): string {
    return this.spec.modelId;
  }

  inputSizeFor(width: number, height: number): { width: number; height: number } {
    return this.spec.kind === 'isnet' ? aspectInputSize(width, height, this.spec.longSide) : this.spec.size;
  }

  async run(rgb: Uint8Array, width: number, height: number): Promise<Float32Array> {
    // Copy: the caller's buffer may be a view into a pooled or reused buffer.
    const copy = new Uint8Array(rgb);
    const matte = await this.host.request({ type: 'run', session: this.session, rgb: copy, width, height }, [
      copy.buffer,
    ]);
    if (!matte) throw new Error(`${this.spec.modelId}: no matte returned`);
    return matte;
  }

  async dispose(): Promise<void> {
    await this.host.request({ type: 'close', session: this.session });
  }
}
