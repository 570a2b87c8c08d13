import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/**
 * One ffmpeg/ffprobe child process bound to an AbortSignal. Why a wrapper: every child must die
 * when the job is cancelled, its stderr must be kept (the
 * tail only, so a chatty decoder cannot grow memory) for error messages, and callers need one
 * promise that settles when the process is really gone.
 */
export interface FfmpegChild {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Last few KB of stderr, for error messages. */
  stderrTail(): string;
  kill(): void;
}

const STDERR_KEEP = 16 * 1024;

export function spawnFfmpeg(
  command: 'ffmpeg' | 'ffprobe',
  args: string[],
  signal?: AbortSignal,
): FfmpegChild {
  const bin =
    command === 'ffmpeg'
      ? (process.env.ALPHACUT_FFMPEG ?? 'ffmpeg')
      : (process.env.ALPHACUT_FFPROBE ?? 'ffprobe');
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
    if (stderr.length > STDERR_KEEP * 2) stderr = stderr.slice(-STDERR_KEEP);
  });
  // A consumer that stops reading early (error, cancel) must not turn EPIPE into a crash.
  child.stdin.on('error', () => {});
  child.stdout.on('error', () => {});

  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      stderr += `\nspawn failed: ${err.message}`;
      exitedFlag = true;
      resolve({ code: -1, signal: null });
    });
    child.once('close', (code, sig) => {
      exitedFlag = true;
      resolve({ code, signal: sig });
    });
  });

  // SIGKILL straight away: ffmpeg restarts its blocked pipe reads and writes after SIGTERM, so a
  // polite signal only lands once the pipe moves, and whatever it would flush is deleted anyway.
  const kill = (): void => {
    if (exitedFlag) return;
    child.stdin.destroy();
    child.stdout.destroy();
    child.kill('SIGKILL');
  };
  if (signal) {
    if (signal.aborted) kill();
    else {
      signal.addEventListener('abort', kill, { once: true });
      void exited.then(() => signal.removeEventListener('abort', kill));
    }
  }
  return { child, exited, stderrTail: () => stderr.slice(-STDERR_KEEP).trim(), kill };
}

/** Runs a child to completion and returns its stdout; throws with the stderr tail on failure. */
export async function runToCompletion(
  command: 'ffmpeg' | 'ffprobe',
  args: string[],
  signal?: AbortSignal,
): Promise<{ stdout: Buffer; stderr: string; code: number | null }> {
  const proc = spawnFfmpeg(command, args, signal);
  proc.child.stdin.end();
  const chunks: Buffer[] = [];
  proc.child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const { code } = await proc.exited;
  return { stdout: Buffer.concat(chunks), stderr: proc.stderrTail(), code };
}
