/**
 * What every stage receives from its caller (the CLI today, the worker later): a signal that
 * cancels within seconds, a logger, and a progress callback that doubles as the job heartbeat.
 */
export interface Progress {
  framesDone: number;
  framesTotal: number;
  /** Frames per second over the whole run so far. */
  fps: number;
  etaSeconds: number | undefined;
  stage: 'probe' | 'prepare' | 'process' | 'finalize';
}

export interface JobContext {
  signal: AbortSignal;
  log: (message: string) => void;
  progress: (p: Progress) => void;
}

export function silentContext(signal: AbortSignal = new AbortController().signal): JobContext {
  return { signal, log: () => {}, progress: () => {} };
}
