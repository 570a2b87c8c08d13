import cliProgress from 'cli-progress';
import type { Progress } from '../pipeline/job-context.ts';

function formatEta(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '--:--';
  const total = Math.round(s);
  return `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
}

/**
 * A progress bar (frames, fps, ETA) on a terminal; on a pipe or in CI, a plain line every few
 * seconds instead, so logs stay readable.
 */
export function createProgressDisplay(stream: NodeJS.WriteStream = process.stderr): {
  update: (p: Progress) => void;
  stop: () => void;
} {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: ' {bar} {percentage}% | {value}/{total} frames | {fps} fps | ETA {etaText}',
        hideCursor: true,
        stream,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (p) => {
        if (p.stage !== 'process' && p.stage !== 'finalize') return;
        const payload = { fps: p.fps.toFixed(1), etaText: formatEta(p.etaSeconds) };
        if (!started) {
          bar.start(p.framesTotal, p.framesDone, payload);
          started = true;
        } else bar.update(p.framesDone, payload);
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  return {
    update: (p) => {
      const now = Date.now();
      if (p.stage === 'process' && now - last < 2000 && p.framesDone !== p.framesTotal) return;
      last = now;
      stream.write(
        `${p.stage}: ${p.framesDone}/${p.framesTotal} frames, ${p.fps.toFixed(1)} fps, eta ${formatEta(p.etaSeconds)}\n`,
      );
    },
    stop: () => {},
  };
}
