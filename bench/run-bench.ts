import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../src/app/paths.ts';
import { tierNames, tiers, type TierName } from '../src/models/tiers.ts';
import { writeCharts } from './charts.ts';
import { measureCeiling } from './ceiling.ts';
import type { JobResult, JobSpec } from './job.ts';
import { discoverClips, prepareClip, type BenchClip } from './media.ts';
import { BOUNDARY_TOLERANCE_FRACTION } from './metrics/boundary-f.ts';
import { defaultFlickerOptions } from './metrics/flicker.ts';
import { defaultLagOptions } from './metrics/motion-lag.ts';
import { renderReport } from './report.ts';
import {
  BENCH_SCHEMA_VERSION,
  benchResultsSchema,
  type BenchClipResult,
  type BenchResults,
  type BenchRun,
  type BenchSummary,
  type RefineMode,
} from './schema.ts';

const run = promisify(execFile);

/**
 * Frames per clip: the full bench takes the first FULL_FRAMES of each clip. Measured on the
 * shared 2-core machine (2026-12-04): one clip costs ~30 s of fixed cost (six child processes,
 * model loads, first inferences, input preparation, ceiling) plus ~13 s per frame over all six
 * variants (pro ~5, original and original-raw ~3 each, light ~1.5, human ~0.1). 11 clips × 12
 * frames ≈ 35 min (a 2-frame run took 9.6 min). `--frames` trades time for depth.
 */
export const FULL_FRAMES = 12;
export const QUICK_FRAMES = 8;
export const QUICK_CLIPS = ['dog'];
/** Raw baselines (model output, bilinear, no temporal) run for these tiers by default. */
export const DEFAULT_RAW: TierName[] = ['human', 'original'];
/** The tier whose matte is the reference for clips without ground truth. */
export const REFERENCE_TIER: TierName = 'pro';

export interface BenchOptions {
  quick: boolean;
  tiers: TierName[];
  raw: TierName[];
  /** Clip ids; undefined = all (full) or QUICK_CLIPS (quick). */
  clips: string[] | undefined;
  frames: number;
  include1080p: boolean;
  outDir: string;
  dataDir: string;
  mediaDir: string;
  command: string;
  signal: AbortSignal;
  log: (line: string) => void;
}

export interface Variant {
  name: string;
  tier: TierName;
  refine: RefineMode;
}

/**
 * Display order: tiers in tierNames order, each raw baseline right after its tier, then the
 * ablation variants of the tiers in `ablate` (one technique switched off at a time).
 */
export function variantsFor(tierList: TierName[], raw: TierName[], ablate: TierName[] = []): Variant[] {
  const out: Variant[] = [];
  for (const t of tierNames) {
    if (tierList.includes(t)) out.push({ name: t, tier: t, refine: 'full' });
    if (raw.includes(t)) out.push({ name: `${t}-raw`, tier: t, refine: 'raw' });
    if (ablate.includes(t))
      for (const mode of ['nocrop', 'notrack'] as const)
        out.push({ name: `${t}-${mode}`, tier: t, refine: mode });
  }
  return out;
}

/**
 * Tiers to ablate, from BENCH_ABLATE (a comma list). The bench's option parser lives in the CLI,
 * which another part of the project owns; an environment variable needs no change there.
 */
export function ablateFromEnv(env: NodeJS.ProcessEnv = process.env): TierName[] {
  const list = (env.BENCH_ABLATE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const t of list)
    if (!(tierNames as string[]).includes(t)) throw new Error(`BENCH_ABLATE: unknown tier ${t}`);
  return list as TierName[];
}

/**
 * Run order within a clip: the reference first, so every other run can be compared with it; then
 * tier by tier, the raw baseline before the tier's other variants, so that they can be scored for
 * motion lag against its mattes. The reference keeps its place even when its tier has a raw
 * baseline (the agreement IoU needs it first), so the reference itself gets no lag figure.
 */
export function runOrder(variants: Variant[]): Variant[] {
  const ref = variants.filter((v) => v.tier === REFERENCE_TIER && v.refine === 'full');
  const rank = (v: Variant): number => tierNames.indexOf(v.tier) * 2 + (v.refine === 'raw' ? 0 : 1);
  return [...ref, ...variants.filter((v) => !ref.includes(v)).sort((a, b) => rank(a) - rank(b))];
}

export function selectClips(all: BenchClip[], ids: string[] | undefined, include1080p: boolean): BenchClip[] {
  if (!ids) return all.filter((c) => include1080p || c.kind !== 'upscaled');
  const byId = new Map(all.map((c) => [c.id, c]));
  const unknown = ids.filter((id) => !byId.has(id));
  if (unknown.length > 0)
    throw new Error(`unknown clip(s) ${unknown.join(', ')}; available: ${all.map((c) => c.id).join(', ')}`);
  return ids.map((id) => byId.get(id) as BenchClip);
}

async function gitInfo(): Promise<{ sha: string; dirty: boolean }> {
  try {
    const sha = (await run('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: projectRoot })).stdout.trim();
    const status = (await run('git', ['status', '--porcelain'], { cwd: projectRoot })).stdout.trim();
    return { sha, dirty: status.length > 0 };
  } catch {
    return { sha: 'nogit', dirty: false };
  }
}

async function machineInfo(): Promise<BenchResults['machine']> {
  let ffmpeg = 'unknown';
  try {
    ffmpeg = (await run(process.env.ALPHACUT_FFMPEG ?? 'ffmpeg', ['-hide_banner', '-version'])).stdout
      .split('\n')[0]!
      .replace(/\s+Copyright.*$/, '')
      .trim();
  } catch {
    // reported as unknown
  }
  let onnxruntime = 'unknown';
  try {
    const req = createRequire(join(projectRoot, 'package.json'));
    onnxruntime = (req('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    // reported as unknown
  }
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    ffmpeg,
    onnxruntime,
  };
}

/** Runs one job in a fresh child process (its own peak RSS, its own model load). */
async function runChild(spec: JobSpec, dir: string, signal: AbortSignal): Promise<JobResult> {
  const specPath = join(dir, `${spec.variant}.spec.json`);
  const resultPath = join(dir, `${spec.variant}.result.json`);
  await writeFile(specPath, JSON.stringify(spec));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'bench/job-main.ts'), specPath, resultPath],
    { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8000);
  });
  const kill = (): void => {
    child.kill('SIGTERM');
  };
  signal.addEventListener('abort', kill, { once: true });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  signal.removeEventListener('abort', kill);
  try {
    return JSON.parse(await readFile(resultPath, 'utf8')) as JobResult;
  } catch {
    return { status: 'failed', error: `job process exited with ${code}: ${stderr.trim() || 'no output'}` };
  }
}

function mean(xs: Array<number | null | undefined>): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
}

export function summarise(variants: Variant[], clips: BenchClipResult[], runs: BenchRun[]): BenchSummary[] {
  const kind = new Map(clips.map((c) => [c.id, c.kind]));
  return variants.map((v) => {
    const ok = runs.filter((r) => r.variant === v.name && r.status === 'ok');
    const q = ok.map((r) => r.quality);
    const src = ok.filter((r) => kind.get(r.clip) !== 'upscaled');
    const hd = ok.find((r) => kind.get(r.clip) === 'upscaled');
    const rss = ok.map((r) => r.speed?.peakRssTreeBytes ?? r.speed?.peakRssBytes ?? 0);
    return {
      variant: v.name,
      tier: v.tier,
      refine: v.refine,
      j: mean(q.map((x) => x?.j)),
      boundaryF: mean(q.map((x) => x?.boundaryF)),
      mad: mean(q.map((x) => x?.mad)),
      dtssd: mean(q.map((x) => x?.dtssd)),
      flicker: mean(q.map((x) => x?.flicker)),
      stillFlicker: mean(q.map((x) => x?.stillFlicker)),
      agreementIoU: mean(q.map((x) => x?.agreementIoU)),
      keyMad: mean(q.map((x) => x?.chromaKey?.mad)),
      keyHairMad: mean(q.map((x) => x?.chromaKey?.hairMad)),
      keyHairSoft: mean(q.map((x) => x?.chromaKey?.hairSoftFraction)),
      lagMiss: mean(q.map((x) => x?.lagMiss)),
      lagGhost: mean(q.map((x) => x?.lagGhost)),
      fpsSource: mean(src.map((r) => r.speed?.fps)),
      ratioSource: mean(src.map((r) => r.speed?.ratioToCeiling)),
      fps1080p: hd?.speed?.fps ?? null,
      ratio1080p: hd?.speed?.ratioToCeiling ?? null,
      fps1080pExcludingLoad: hd?.speed?.fpsExcludingLoad ?? null,
      ratio1080pExcludingLoad: hd?.speed?.ratioExcludingLoad ?? null,
      peakRssBytes: rss.length > 0 && Math.max(...rss) > 0 ? Math.max(...rss) : null,
    };
  });
}

function pctLog(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${(v * 100).toFixed(2)} %`;
}

function fmtSec(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export interface BenchOutcome {
  results: BenchResults;
  files: { json: string; markdown: string; charts: string[] };
  failed: number;
}

/**
 * The benchmark: for every clip, prepare a short input, time the ceiling, then run every variant
 * in a child process and score it. Writes `<outDir>/<date>-<sha>[-dirty][-quick].{json,md}` and
 * the charts beside them.
 */
export async function runBench(o: BenchOptions): Promise<BenchOutcome> {
  const started = performance.now();
  const clips = selectClips(discoverClips(o.mediaDir), o.clips, o.include1080p);
  if (clips.length === 0) throw new Error(`no clips found in ${o.mediaDir}`);
  const variants = variantsFor(o.tiers, o.raw, ablateFromEnv());
  if (variants.length === 0) throw new Error('no tier to run');
  const reference = o.tiers.includes(REFERENCE_TIER) ? REFERENCE_TIER : null;
  const order = runOrder(variants);
  // A raw baseline's mattes stay on disk when a variant of its tier runs after it (motion lag).
  const keepRaw = new Set(
    order.filter((v, i) => v.refine === 'raw' && order.slice(i + 1).some((o) => o.tier === v.tier)),
  );
  const [git, machine] = await Promise.all([gitInfo(), machineInfo()]);
  o.log(
    `bench (${o.quick ? 'quick' : 'full'}): ${clips.length} clip(s) × ${variants.length} variant(s) [${variants
      .map((v) => v.name)
      .join(', ')}], first ${o.frames} frames of each clip; commit ${git.sha}${git.dirty ? ' (dirty)' : ''}`,
  );

  const work = await mkdtemp(join(os.tmpdir(), 'alphacut-bench-'));
  const clipResults: BenchClipResult[] = [];
  const runs: BenchRun[] = [];
  const total = clips.length * order.length;
  let done = 0;
  try {
    for (const clip of clips) {
      if (o.signal.aborted) throw new Error('canceled');
      const dir = join(work, clip.id.replace(/[^\w.-]+/g, '_'));
      const prepared = await prepareClip(clip, o.frames, dir, o.mediaDir);
      const { info } = prepared;
      const ceiling = await measureCeiling(prepared.input, info, join(dir, 'ceiling.webm'));
      clipResults.push({
        id: clip.id,
        kind: clip.kind,
        source: prepared.sourceRel,
        groundTruth: prepared.gtPath !== undefined,
        ...(prepared.keyPath ? { chromaKey: true } : {}),
        width: info.width,
        height: info.height,
        fps: info.fps.num / info.fps.den,
        frames: prepared.frames,
        sourceFrames: prepared.sourceFrames,
        preparation: prepared.preparation,
        ceiling: {
          frames: ceiling.frames,
          wallMs: ceiling.wallMs,
          fps: ceiling.fps,
          startupMs: ceiling.startupMs,
          fpsExcludingStartup: ceiling.fpsExcludingStartup,
        },
      });
      o.log(
        `${clip.id}: ${info.width}x${info.height}, ${prepared.frames} frames; ceiling ${ceiling.fps.toFixed(1)} fps (${ceiling.fpsExcludingStartup.toFixed(1)} after start-up)`,
      );
      let refPath: string | undefined;
      const rawPaths = new Map<TierName, string>();
      for (const v of order) {
        if (o.signal.aborted) throw new Error('canceled');
        const isRef = reference !== null && v.tier === reference && v.refine === 'full';
        const alphaPath = join(dir, `${v.name}.alpha`);
        const spec: JobSpec = {
          clip: clip.id,
          variant: v.name,
          tier: v.tier,
          refine: v.refine,
          input: prepared.input,
          dataDir: o.dataDir,
          workDir: dir,
          alphaPath,
          keepAlpha: isRef || keepRaw.has(v),
          lumaPath: prepared.lumaPath,
          ...(prepared.gtPath ? { gtPath: prepared.gtPath } : {}),
          ...(prepared.keyPath && prepared.keyBandPath
            ? { keyPath: prepared.keyPath, keyBandPath: prepared.keyBandPath }
            : {}),
          ...(refPath && !isRef ? { refPath } : {}),
          ...(v.refine !== 'raw' && rawPaths.has(v.tier) ? { rawPath: rawPaths.get(v.tier) } : {}),
          flicker: defaultFlickerOptions,
          lag: defaultLagOptions,
        };
        const res = await runChild(spec, dir, o.signal);
        if (o.signal.aborted) throw new Error('canceled');
        done++;
        const head = `[${done}/${total} ${fmtSec(performance.now() - started)}] ${clip.id} · ${v.name}`;
        if (res.status === 'ok') {
          if (isRef) refPath = alphaPath;
          if (keepRaw.has(v)) rawPaths.set(v.tier, alphaPath);
          const speed = {
            ...res.speed,
            ratioToCeiling: res.speed.fps / ceiling.fps,
            ratioExcludingLoad: res.speed.fpsExcludingLoad / ceiling.fpsExcludingStartup,
          };
          runs.push({
            clip: clip.id,
            variant: v.name,
            tier: v.tier,
            refine: v.refine,
            status: 'ok',
            speed,
            quality: res.quality,
          });
          const q = res.quality;
          o.log(
            `${head}: ${speed.fps.toFixed(2)} fps (${(speed.ratioToCeiling * 100).toFixed(1)} % of ceiling)` +
              (q.j !== null ? `, J ${q.j.toFixed(3)} F ${q.boundaryF?.toFixed(3)}` : '') +
              (q.agreementIoU !== null ? `, agreement ${q.agreementIoU.toFixed(3)}` : '') +
              (q.flicker !== null ? `, flicker ${(q.flicker * 1000).toFixed(2)}e-3` : '') +
              (q.lagMovingPixels !== undefined
                ? `, lag miss ${pctLog(q.lagMiss)} ghost ${pctLog(q.lagGhost)} (${q.lagMovingPixels} moving px)`
                : '') +
              (q.chromaKey
                ? `, key MAD ${(q.chromaKey.mad * 1000).toFixed(1)}e-3 hair MAD ${((q.chromaKey.hairMad ?? 0) * 1000).toFixed(1)}e-3 hair soft ${((q.chromaKey.hairSoftFraction ?? 0) * 100).toFixed(1)} % (key ${((q.chromaKey.gtHairSoftFraction ?? 0) * 100).toFixed(1)} %)`
                : ''),
          );
        } else {
          runs.push({
            clip: clip.id,
            variant: v.name,
            tier: v.tier,
            refine: v.refine,
            status: 'failed',
            error: res.error,
            speed: null,
            quality: null,
          });
          o.log(`${head}: FAILED: ${res.error}`);
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const results = benchResultsSchema.parse({
    schemaVersion: BENCH_SCHEMA_VERSION,
    kind: 'alphacut-bench',
    createdAt: new Date().toISOString(),
    mode: o.quick ? 'quick' : 'full',
    command: o.command,
    git,
    machine,
    settings: {
      framesPerClip: o.frames,
      tiers: o.tiers,
      rawBaselines: o.raw,
      variants: variants.map((v) => v.name),
      reference,
      flickerTau: defaultFlickerOptions.tau,
      stillThreshold: defaultFlickerOptions.stillThreshold,
      boundaryToleranceFraction: BOUNDARY_TOLERANCE_FRACTION,
      lagThreshold: defaultLagOptions.threshold,
      lagTolerance: defaultLagOptions.tolerance,
    },
    tierConfigs: Object.fromEntries([...new Set(variants.map((v) => v.tier))].map((t) => [t, tiers[t]])),
    clips: clipResults,
    runs,
    summary: summarise(variants, clipResults, runs),
    wallSeconds: (performance.now() - started) / 1000,
  });

  await mkdir(o.outDir, { recursive: true });
  // Two runs of one commit on one day (say, two sets of clips) must not overwrite each other.
  const base = `${results.createdAt.slice(0, 10)}-${git.sha}${git.dirty ? '-dirty' : ''}${o.quick ? '-quick' : ''}`;
  let stem = base;
  for (let n = 2; existsSync(join(o.outDir, `${stem}.json`)); n++) stem = `${base}-${n}`;
  const json = join(o.outDir, `${stem}.json`);
  const markdown = join(o.outDir, `${stem}.md`);
  const charts = await writeCharts(results, o.outDir, stem);
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(markdown, renderReport(results, stem, charts));
  return { results, files: { json, markdown, charts }, failed: runs.filter((r) => r.status !== 'ok').length };
}
