import type { Readable } from 'node:stream';
import { AlphacutError } from '../../core/errors.ts';
import { spawnFfmpeg, type FfmpegChild } from '../ffmpeg-process.ts';
import { writeWithBackpressure } from '../raw-frame-reader.ts';

/**
 * One ffmpeg encoder child seen from the writer: frames go in with backpressure, and whatever goes
 * wrong comes out as an AlphacutError that says which part failed and why (ffmpeg's stderr tail),
 * or as `canceled` when the job's signal killed it.
 */
export class EncoderProcess {
  private readonly proc: FfmpegChild;

  constructor(
    /** What it makes, for error messages ("the GIF palette", "color.mp4"). */
    readonly what: string,
    args: string[],
    private readonly signal: AbortSignal,
  ) {
    this.proc = spawnFfmpeg('ffmpeg', args, signal);
  }

  get stdout(): Readable {
    return this.proc.child.stdout;
  }

  get exited(): Promise<unknown> {
    return this.proc.exited;
  }

  async write(data: Uint8Array): Promise<void> {
    try {
      await writeWithBackpressure(this.proc.child.stdin, data);
    } catch {
      // EPIPE or a destroyed stdin only says the child is gone; its exit and stderr say why.
      throw await this.failure();
    }
  }

  /** Ends the input (if any) and waits for a clean exit. */
  async close(): Promise<void> {
    this.proc.child.stdin.end();
    const { code } = await this.proc.exited;
    if (code !== 0) throw await this.failure();
  }

  kill(): void {
    this.proc.kill();
  }

  private async failure(): Promise<AlphacutError> {
    if (this.signal.aborted) return new AlphacutError('canceled', 'The job was canceled.');
    // A child that closed its stdin is normally on its way out; do not wait forever if it is not.
    const timer = setTimeout(() => this.proc.kill(), 5000);
    await this.proc.exited;
    clearTimeout(timer);
    if (this.signal.aborted) return new AlphacutError('canceled', 'The job was canceled.');
    return new AlphacutError('encode_failed', `Encoding ${this.what} failed: ${this.proc.stderrTail()}`);
  }
}
