import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tiers, type TierConfig, type TierName } from '../src/models/tiers.ts';
import { silentContext } from '../src/pipeline/job-context.ts';
import { removeBackground } from '../src/pipeline/remove-background.ts';
import type { FlickerOptions } from './metrics/flicker.ts';
import type { LagOptions } from './metrics/motion-lag.ts';
import { processTreeRss } from './process-tree-rss.ts';
import { QualityAccumulator } from './quality-accumulator.ts';
import type { BenchQuality, BenchSpeed, RefineMode } from './schema.ts';

/** One (clip, variant) run, as the bench's parent process hands it to a child process. */
export interface JobSpec {
  clip: string;
  variant: string;
  tier: TierName;
  refine: RefineMode;
  input: string;
  dataDir: string;
  workDir: string;
  /**
   * Where the run's mattes go (frames × W×H bytes); the reference tier's and the raw baselines'
   * files are kept for the runs after them.
   */
  alphaPath: string;
  keepAlpha: boolean;
  lumaPath: string;
  gtPath?: string;
  refPath?: string;
  /** The same tier's raw per-frame mattes (`<tier>-raw`), for the motion lag. */
  rawPath?: string;
  /** Chroma-key clips: pseudo ground truth and hair band files (see PreparedClip). */
  keyPath?: string;
  keyBandPath?: string;
  flicker: FlickerOptions;
  lag: LagOptions;
}

export type JobResult =
  | { status: 'ok'; speed: Omit<BenchSpeed, 'ratioToCeiling' | 'ratioExcludingLoad'>; quality: BenchQuality }
  | { status: 'failed'; error: string };

function readFrame(fd: number, buf: Uint8Array, index: number): void {
  const n = readSync(fd, buf, 0, buf.length, index * buf.length);
  if (n !== buf.length) throw new Error(`short read of frame ${index}`);
}

/** The tier configuration a variant runs: the shipping one with the variant's techniques off. */
export function variantTier(tier: TierName, mode: RefineMode): TierConfig {
  const t = tiers[tier];
  if (mode === 'raw' || mode === 'nocrop') return { ...t, subjectCrop: false, subjectTrack: false };
  if (mode === 'notrack') return { ...t, subjectTrack: false };
  return t;
}

/**
 * Runs the real pipeline on the clip and scores its mattes. The onMatte hook only copies each
 * matte to a file (so the speed figures stay those of the pipeline); the metrics are computed
 * afterwards, one frame at a time, from that file and the clip's luma and ground-truth files.
 */
export async function runJob(spec: JobSpec, signal?: AbortSignal): Promise<JobResult> {
  const output = join(spec.workDir, `${spec.variant}.webm`);
  const alphaFd = openSync(spec.alphaPath, 'w');
  let hookMs = 0;
  let expected = 0;
  let size = 0;
  // The pipeline reports its own process's RSS; the model runs in a child process and ffmpeg in
  // two more, so the bench also samples the whole tree.
  let treePeak = processTreeRss(process.pid);
  const sampler = setInterval(() => {
    const rss = processTreeRss(process.pid);
    if (rss !== undefined && rss > (treePeak ?? 0)) treePeak = rss;
  }, 100);
  try {
    const result = await removeBackground(
      {
        input: spec.input,
        output,
        tier: variantTier(spec.tier, spec.refine),
        dataDir: spec.dataDir,
        preserveAudio: false,
        ...(spec.refine === 'raw' ? { refine: { edges: false, temporal: 0 } } : {}),
        onMatte: (index, alpha) => {
          const t = performance.now();
          if (index !== expected) throw new Error(`matte ${index} arrived, expected ${expected}`);
          writeSync(alphaFd, alpha, 0, alpha.length, index * alpha.length);
          expected++;
          size = alpha.length;
          hookMs += performance.now() - t;
        },
      },
      silentContext(signal),
    );
    clearInterval(sampler);
    closeSync(alphaFd);
    const outputBytes = (await stat(output)).size;
    await rm(output, { force: true });
    const { width, height } = result.info;
    if (size !== width * height) throw new Error(`matte size ${size} is not ${width}x${height}`);
    const frames = result.framesOut;
    const wallMs = Math.max(1, result.timings.totalMs - hookMs);
    const loadMs = result.timings.probeMs + result.timings.prepareMs;
    const speed: Omit<BenchSpeed, 'ratioToCeiling' | 'ratioExcludingLoad'> = {
      frames,
      wallMs,
      fps: frames / (wallMs / 1000),
      fpsExcludingLoad: frames / (Math.max(1, wallMs - loadMs) / 1000),
      stages: result.timings,
      hookMs,
      peakRssBytes: result.peakRssBytes,
      peakRssTreeBytes: treePeak ?? null,
      outputBytes,
      keyFrames: result.keyFrames,
      modelId: result.modelId,
      modelInput: result.modelInput,
    };

    const quality = scoreFiles(spec, width, height, frames);
    if (!spec.keepAlpha) await rm(spec.alphaPath, { force: true });
    return { status: 'ok', speed, quality };
  } catch (err) {
    clearInterval(sampler);
    try {
      closeSync(alphaFd);
    } catch {
      // already closed
    }
    await rm(spec.alphaPath, { force: true });
    await rm(output, { force: true });
    return { status: 'failed', error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Streams the run's mattes and the clip's luma / ground truth / reference / raw baseline through
 * the metrics.
 */
export function scoreFiles(
  spec: Pick<
    JobSpec,
    | 'alphaPath'
    | 'lumaPath'
    | 'gtPath'
    | 'refPath'
    | 'rawPath'
    | 'keyPath'
    | 'keyBandPath'
    | 'flicker'
    | 'lag'
  >,
  width: number,
  height: number,
  frames: number,
): BenchQuality {
  const n = width * height;
  const acc = new QualityAccumulator(width, height, spec.flicker, spec.lag);
  const alpha = new Uint8Array(n);
  const luma = new Uint8Array(n);
  const gt = spec.gtPath ? new Uint8Array(n) : undefined;
  const ref = spec.refPath ? new Uint8Array(n) : undefined;
  const raw = spec.rawPath ? new Uint8Array(n) : undefined;
  const hasKey = spec.keyPath !== undefined && spec.keyBandPath !== undefined;
  const key = hasKey ? new Uint8Array(n) : undefined;
  const keyBand = hasKey ? new Uint8Array(n) : undefined;
  const fds = {
    alpha: openSync(spec.alphaPath, 'r'),
    luma: openSync(spec.lumaPath, 'r'),
    gt: spec.gtPath ? openSync(spec.gtPath, 'r') : undefined,
    ref: spec.refPath ? openSync(spec.refPath, 'r') : undefined,
    raw: spec.rawPath ? openSync(spec.rawPath, 'r') : undefined,
    key: hasKey && spec.keyPath ? openSync(spec.keyPath, 'r') : undefined,
    keyBand: hasKey && spec.keyBandPath ? openSync(spec.keyBandPath, 'r') : undefined,
  };
  try {
    for (let i = 0; i < frames; i++) {
      readFrame(fds.alpha, alpha, i);
      readFrame(fds.luma, luma, i);
      if (gt && fds.gt !== undefined) readFrame(fds.gt, gt, i);
      if (ref && fds.ref !== undefined) readFrame(fds.ref, ref, i);
      if (raw && fds.raw !== undefined) readFrame(fds.raw, raw, i);
      if (key && fds.key !== undefined) readFrame(fds.key, key, i);
      if (keyBand && fds.keyBand !== undefined) readFrame(fds.keyBand, keyBand, i);
      acc.add({ alpha, luma, gt, ref, raw, key, keyBand });
    }
  } finally {
    for (const fd of Object.values(fds)) if (fd !== undefined) closeSync(fd);
  }
  return acc.result();
}
