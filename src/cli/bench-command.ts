import { resolve } from 'node:path';
import { projectRoot, resolveDataDir, sharedMediaDir } from '../app/paths.ts';
import { isTierName, tierNames, type TierName } from '../models/tiers.ts';
import { exitCodes } from './exit-codes.ts';

export interface BenchCommandOptions {
  quick?: boolean;
  /** Tiers to run (default: all). */
  tiers?: string | string[];
  /** Clip ids (default: every clip of the media set; `--quick`: dog). */
  clips?: string | string[];
  /** Results folder (default bench/results). */
  out?: string;
  dataDir?: string;
  /** Frames per clip (default 12, `--quick` 8). */
  frames?: number | string;
  /** Tiers that also get a raw-model baseline (default human,original); `none` for none. */
  raw?: string | string[];
  /** Leave out the 1080p upscaled clip (it is never in `--quick`). */
  skip1080p?: boolean;
  /** Shared media folder (default ../shared/media). */
  media?: string;
}

function usage(message: string): number {
  process.stderr.write(`error [invalid_request]: ${message}\n`);
  return exitCodes.usage;
}

/** `a,b` or ['a', 'b,c'] → ['a', 'b', 'c']. */
function listOf(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

function tierList(list: string | string[] | undefined, what: string): TierName[] | string {
  const names = listOf(list);
  if (!names) return [];
  if (names.length === 1 && names[0] === 'none') return [];
  const bad = names.filter((s) => !isTierName(s));
  if (bad.length > 0)
    return `unknown tier(s) in ${what}: ${bad.join(', ')}; choose from ${tierNames.join(', ')}`;
  return names as TierName[];
}

/** The command line as typed after `bench`, for the results file. */
function commandLine(): string {
  const i = process.argv.indexOf('bench');
  const rest = i >= 0 ? process.argv.slice(i + 1) : [];
  const quoted = rest.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  return quoted.length > 0 ? `npm run bench -- ${quoted.join(' ')}` : 'npm run bench';
}

/**
 * `alphacut bench` / `npm run bench`: speed and quality of every tier on the shared media set
 * (see bench/README.md). Exit 0 when every run succeeded, 1 when some failed (their errors are
 * in the report), 2 on bad options, 130 when interrupted.
 */
export async function benchCommand(opts: BenchCommandOptions): Promise<number> {
  const quick = opts.quick === true;
  const tiers = opts.tiers ? tierList(opts.tiers, '--tiers') : [...tierNames];
  if (typeof tiers === 'string') return usage(tiers);
  const { DEFAULT_RAW, FULL_FRAMES, QUICK_CLIPS, QUICK_FRAMES, runBench } =
    await import('../../bench/run-bench.ts');
  const raw = opts.raw ? tierList(opts.raw, '--raw') : DEFAULT_RAW.filter((t) => tiers.includes(t));
  if (typeof raw === 'string') return usage(raw);
  if (tiers.length === 0 && raw.length === 0) return usage('nothing to run: no tier selected');
  const frames = opts.frames === undefined ? (quick ? QUICK_FRAMES : FULL_FRAMES) : Number(opts.frames);
  if (!Number.isInteger(frames) || frames < 2)
    return usage(`--frames must be an integer ≥ 2 (got ${String(opts.frames)})`);
  const clips = listOf(opts.clips);

  const controller = new AbortController();
  const onSignal = (): void => {
    process.stderr.write('\ncanceling the benchmark...\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outcome = await runBench({
      quick,
      tiers,
      raw,
      clips: clips && clips.length > 0 ? clips : quick ? QUICK_CLIPS : undefined,
      frames,
      include1080p: !quick && opts.skip1080p !== true,
      outDir: resolve(opts.out ?? resolve(projectRoot, 'bench/results')),
      dataDir: resolveDataDir(opts.dataDir),
      mediaDir: resolve(opts.media ?? sharedMediaDir),
      command: commandLine(),
      signal: controller.signal,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const { summaryTable } = await import('../../bench/report.ts');
    process.stdout.write(
      `${summaryTable(outcome.results)}\n\nwrote ${outcome.files.json}\n      ${outcome.files.markdown}\n` +
        outcome.files.charts.map((c) => `      ${resolve(outcome.files.json, '..', c)}\n`).join(''),
    );
    if (outcome.failed > 0) {
      process.stderr.write(`${outcome.failed} run(s) failed; see the report\n`);
      return exitCodes.internal;
    }
    return exitCodes.ok;
  } catch (err) {
    if (controller.signal.aborted) return exitCodes.canceled;
    const msg = err instanceof Error ? err.message : String(err);
    if (msg.startsWith('unknown clip')) return usage(msg);
    process.stderr.write(`error [internal_error]: bench failed: ${msg}\n`);
    return exitCodes.internal;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
