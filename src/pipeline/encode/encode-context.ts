import type { AudioPlan, FrameGeometry } from './encode-types.ts';
import { EncoderProcess } from './encoder-process.ts';

/**
 * What a format's sink gets to work with: where to write, a scratch folder for intermediates, and
 * a way to start children and register cleanups so that one abort reaches all of them.
 */
export class EncodeContext {
  private readonly processes: EncoderProcess[] = [];
  private readonly cleanups: Array<() => void> = [];
  /** Frames accepted so far (for manifests). */
  frames = 0;

  constructor(
    readonly geometry: FrameGeometry,
    /** The temporary name of the deliverable; renamed by the writer once the sink finished. */
    readonly partial: string,
    /** Private folder for intermediates; removed by the writer whatever happens. */
    readonly scratch: string,
    readonly audio: AudioPlan | undefined,
    readonly signal: AbortSignal,
  ) {}

  spawn(what: string, args: string[]): EncoderProcess {
    const p = new EncoderProcess(what, args, this.signal);
    this.processes.push(p);
    return p;
  }

  onAbort(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** Kills every child and waits until each has really exited. */
  async stopAll(): Promise<void> {
    for (const c of this.cleanups) c();
    for (const p of this.processes) p.kill();
    await Promise.all(this.processes.map((p) => p.exited));
  }
}

/** A format's encoding machinery, fed frame by frame, finishing into `context.partial`. */
export interface FormatSink {
  write(rgba: Uint8Array, mask: Uint8Array): Promise<void>;
  finish(): Promise<void>;
}
