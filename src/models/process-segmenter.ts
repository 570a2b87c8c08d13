import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { aspectInputSize, type Segmenter } from './segmenter.ts';

export type SegmenterSpec =
  | { kind: 'isnet'; modelId: string; modelPath: string; longSide: number }
  | { kind: 'selfie'; modelId: string; modelPath: string; size: { width: number; height: number } };

export type ChildRequest = { id: number; rgb: Uint8Array; width: number; height: number };
export type ChildReply =
  | { type: 'ready' }
  | { type: 'matte'; id: number; matte: Float32Array }
  | { type: 'error'; id: number; message: string };

const entry = fileURLToPath(new URL('./inference-child-entry.mjs', import.meta.url));

/**
 * A Segmenter whose onnxruntime session lives in a child process. Why not the main thread:
 * onnxruntime-node's run() blocks its thread for the whole inference (over a second for ISNet),
 * which would delay cancellation, signals and progress by as much. Why not a worker thread: the
 * addon cannot be loaded by a second worker ("Module did not self-register"), and a process
 * cannot exit while a worker sits in a native call. A child process is killed in an instant, so
 * cancel is immediate, and a crash in native code cannot take the caller down.
 */
export class ProcessSegmenter implements Segmenter {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (m: Float32Array) => void; reject: (e: Error) => void }
  >();
  private failure: Error | undefined;

  private constructor(
    private readonly spec: SegmenterSpec,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (msg: ChildReply) => {
      if (msg.type === 'ready') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'matte') p.resolve(msg.matte);
      else p.reject(new Error(`${spec.modelId}: ${msg.message}`));
    });
    child.on('exit', (code, signal) =>
      this.fail(new Error(`${spec.modelId}: inference process ended (${signal ?? code})`)),
    );
    // When dispose() disconnects while the killed child's end of the channel closes, Node's
    // channel reader calls disconnect() again and emits ERR_IPC_DISCONNECTED here; without a
    // listener that is an uncaught exception that takes down a whole worker or server process.
    child.on('error', (err) => this.fail(err));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  static async open(spec: SegmenterSpec): Promise<ProcessSegmenter> {
    // 'advanced' serialization carries typed arrays as binary, not as JSON arrays of numbers.
    const child = fork(entry, [], {
      serialization: 'advanced',
      env: { ...process.env, ALPHACUT_SEGMENTER_SPEC: JSON.stringify(spec) },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: ChildReply): void => {
        cleanup();
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'error') reject(new Error(`${spec.modelId}: ${msg.message}`));
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(
          new Error(`${spec.modelId}: inference process failed to start (exit ${code}): ${stderr.trim()}`),
        );
      };
      const cleanup = (): void => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
    return new ProcessSegmenter(spec, child);
  }

  get modelId(): string {
    return this.spec.modelId;
  }

  inputSizeFor(width: number, height: number): { width: number; height: number } {
    return this.spec.kind === 'isnet' ? aspectInputSize(width, height, this.spec.longSide) : this.spec.size;
  }

  run(rgb: Uint8Array, width: number, height: number): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.child.connected)
      return Promise.reject(new Error(`${this.spec.modelId}: inference process is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, rgb, width, height } satisfies ChildRequest);
    });
  }

  /** Ends the inference process at once, also mid-inference (its result is no longer wanted). */
  async dispose(): Promise<void> {
    // From now on run() refuses at once instead of writing to a closing channel.
    this.fail(new Error(`${this.spec.modelId}: segmenter disposed`));
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect();
    // Whatever it is doing is no longer wanted (fail() above rejected every pending run).
    this.child.kill('SIGKILL');
    await exited;
  }
}
