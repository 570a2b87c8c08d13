import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { chartSvg, qualityPanels, speedPanel } from '../../bench/charts.ts';
import { discoverClips } from '../../bench/media.ts';
import { renderReport, summaryTable } from '../../bench/report.ts';
import { runOrder, selectClips, summarise, variantsFor } from '../../bench/run-bench.ts';
import {
  BENCH_SCHEMA_VERSION,
  benchResultsSchema,
  type BenchResults,
  type BenchRun,
} from '../../bench/schema.ts';
import { checkResults } from '../../bench/validate-results.ts';
import { sharedMediaDir } from '../../src/app/paths.ts';
import { noSharedMedia } from '../helpers/media.ts';

const stages = {
  probeMs: 50,
  prepareMs: 900,
  decodeMs: 100,
  resizeMs: 0,
  modelMs: 8000,
  refineMs: 600,
  composeMs: 20,
  encodeMs: 90,
  totalMs: 10000,
};

function run(clip: string, variant: string, gt: boolean, ref: boolean): BenchRun {
  const [tier, raw] = variant.split('-');
  return {
    clip,
    variant,
    tier: tier as string,
    refine: raw ? 'raw' : 'full',
    status: 'ok',
    speed: {
      frames: 12,
      wallMs: 10000,
      fps: 1.2,
      fpsExcludingLoad: 1.3,
      ratioToCeiling: 0.01,
      ratioExcludingLoad: 0.012,
      stages,
      hookMs: 3,
      peakRssBytes: 300 * 2 ** 20,
      peakRssTreeBytes: 700 * 2 ** 20,
      outputBytes: 123456,
      keyFrames: 12,
      modelId: 'isnet-small',
      modelInput: { width: 1024, height: 576 },
    },
    quality: {
      frames: 12,
      j: gt ? 0.9 : null,
      boundaryF: gt ? 0.85 : null,
      mad: gt ? 0.02 : null,
      dtssd: gt ? 0.05 : null,
      flicker: 0.004,
      stillFlicker: 0.002,
      stillFraction: 0.3,
      agreementIoU: ref ? null : 0.95,
    },
  };
}

function sample(): BenchResults {
  const variants = variantsFor(['human', 'original', 'pro'], ['original']);
  const clips = [
    { id: 'dog', kind: 'davis' as const, gt: true },
    { id: 'grid-lwbsza', kind: 'clip' as const, gt: false },
  ].map((c) => ({
    id: c.id,
    kind: c.kind,
    source: `x/${c.id}.mp4`,
    groundTruth: c.gt,
    width: 854,
    height: 480,
    fps: 24,
    frames: 12,
    sourceFrames: 60,
    preparation: 'first 12 frames',
    ceiling: { frames: 12, wallMs: 100, fps: 120, startupMs: 10, fpsExcludingStartup: 133 },
  }));
  const runs = clips.flatMap((c) => variants.map((v) => run(c.id, v.name, c.groundTruth, v.name === 'pro')));
  return benchResultsSchema.parse({
    schemaVersion: BENCH_SCHEMA_VERSION,
    kind: 'alphacut-bench',
    createdAt: '2026-12-04T21:00:00.000Z',
    mode: 'quick',
    command: 'npm run bench -- --quick',
    git: { sha: 'abc1234', dirty: false },
    machine: {
      cpuModel: 'cpu',
      cores: 2,
      memoryBytes: 2 ** 34,
      platform: 'linux',
      node: 'v20',
      ffmpeg: 'ffmpeg 5.1',
      onnxruntime: '1.24.3',
    },
    settings: {
      framesPerClip: 12,
      tiers: ['human', 'original', 'pro'],
      rawBaselines: ['original'],
      variants: variants.map((v) => v.name),
      reference: 'pro',
      flickerTau: 12,
      stillThreshold: 6,
      boundaryToleranceFraction: 0.008,
    },
    tierConfigs: {},
    clips,
    runs,
    summary: summarise(variants, clips, runs),
    wallSeconds: 100,
  });
}

test('variants: tier order, raw baseline right after its tier', () => {
  assert.deepEqual(
    variantsFor(['pro', 'human', 'original'], ['original', 'human']).map((v) => v.name),
    ['human', 'human-raw', 'original', 'original-raw', 'pro'],
  );
});

test('run order: the reference first, then each raw baseline before the rest of its tier', () => {
  assert.deepEqual(
    runOrder(variantsFor(['human', 'original', 'pro'], ['human', 'original', 'pro'], ['original'])).map(
      (v) => v.name,
    ),
    [
      'pro',
      'human-raw',
      'human',
      'original-raw',
      'original',
      'original-nocrop',
      'original-notrack',
      'pro-raw',
    ],
  );
});

/** The sample as the lag-scoring bench writes it: `original` scored against `original-raw`. */
function sampleWithLag(): BenchResults {
  const r = sample();
  r.settings.lagThreshold = 12;
  for (const run of r.runs)
    if (run.variant === 'original')
      Object.assign(run.quality!, {
        lagMiss: 0.0018,
        lagGhost: 0.0004,
        lagMovingPixels: 250_000,
        lagMovingFgPixels: 40_000,
      });
  r.summary = summarise(variantsFor(['human', 'original', 'pro'], ['original']), r.clips, r.runs);
  return r;
}

test('motion lag: checked where a raw baseline ran, summarised and printed as percentages', () => {
  const r = sampleWithLag();
  assert.deepEqual(checkResults(r).problems, []);
  const orig = r.summary.find((s) => s.variant === 'original')!;
  assert.equal(orig.lagMiss, 0.0018);
  assert.equal(r.summary.find((s) => s.variant === 'human')!.lagMiss, null);
  const md = renderReport(r, 'stem', []);
  assert.match(md, /\| `original` \|[^\n]*\| 0\.18 % \| 0\.04 % \| 250k \(40k\) \|/);
  assert.match(summaryTable(r), /lag miss ↓/);

  const missing = sampleWithLag();
  delete missing.runs.find((x) => x.clip === 'dog' && x.variant === 'original')!.quality!.lagMiss;
  delete missing.runs.find((x) => x.clip === 'dog' && x.variant === 'original')!.quality!.lagMovingPixels;
  assert.match(checkResults(missing).problems.join('\n'), /dog · original: lag against original-raw missing/);

  const stray = sampleWithLag();
  stray.runs.find((x) => x.clip === 'dog' && x.variant === 'human')!.quality!.lagMovingPixels = 10;
  assert.match(checkResults(stray).problems.join('\n'), /dog · human: lag figures without a raw baseline/);

  // Files written before the metric existed carry no lag and stay valid.
  assert.deepEqual(checkResults(sample()).problems, []);
});

test('a complete results file passes the checks', () => {
  assert.deepEqual(checkResults(sample()).problems, []);
});

test('the checks catch a missing run, a failed run, out-of-range and missing metrics', () => {
  const missing = sample();
  missing.runs.pop();
  assert.match(checkResults(missing).problems.join('\n'), /grid-lwbsza · pro: 0 runs/);

  const failed = sample();
  failed.runs[0] = { ...failed.runs[0]!, status: 'failed', error: 'boom', speed: null, quality: null };
  assert.match(checkResults(failed).problems.join('\n'), /dog · human: failed: boom/);

  const range = structuredClone(sample()) as unknown as { runs: Array<{ quality: { j: number } }> };
  range.runs[0]!.quality.j = 1.2;
  assert.match(checkResults(range).problems.join('\n'), /schema: runs\.0\.quality\.j/);

  const noJ = sample();
  noJ.runs[0]!.quality!.j = null;
  assert.match(checkResults(noJ).problems.join('\n'), /j missing on a ground-truth clip/);

  const broken = sample();
  const orig = broken.runs.find((r) => r.clip === 'dog' && r.variant === 'original')!;
  orig.quality!.j = 0.05;
  assert.match(checkResults(broken, { jFloor: 0.5 }).problems.join('\n'), /below the sanity floor/);
  assert.deepEqual(checkResults(broken).problems, []);

  const noAgree = sample();
  noAgree.runs.find((r) => r.clip === 'grid-lwbsza' && r.variant === 'human')!.quality!.agreementIoU = null;
  assert.match(checkResults(noAgree).problems.join('\n'), /agreement IoU with pro missing/);

  const version = { ...sample(), schemaVersion: BENCH_SCHEMA_VERSION + 1 };
  assert.match(checkResults(version).problems.join('\n'), /schemaVersion/);
});

test('summary, report and charts render from a results file', async () => {
  const r = sample();
  const orig = r.summary.find((s) => s.variant === 'original')!;
  assert.equal(orig.j, 0.9);
  assert.equal(orig.agreementIoU, 0.95);
  assert.equal(orig.fps1080p, null);
  const table = summaryTable(r);
  assert.equal(table.split('\n').length, 2 + r.settings.variants.length);
  const md = renderReport(r, 'stem', ['stem-speed.png', 'stem-quality.png']);
  assert.match(md, /npm run bench -- --quick/);
  assert.match(md, /!\[stem-speed\.png\]\(stem-speed\.png\)/);
  const svg = chartSvg([speedPanel(r)], 900, 480, 'footer');
  const meta = await sharp(Buffer.from(chartSvg(qualityPanels(r), 900, 400, 'f'))).metadata();
  assert.equal(meta.width, 900);
  assert.equal(meta.height, 3 * 400 + 24);
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  assert.ok(png.length > 1000);
});

test(
  'the media set is discovered: DAVIS with ground truth, clips without, one 1080p upscale',
  { skip: noSharedMedia },
  () => {
    const clips = discoverClips(sharedMediaDir);
    const dog = clips.find((c) => c.id === 'dog');
    assert.equal(dog?.kind, 'davis');
    assert.ok(dog?.gtDir);
    assert.equal(clips.find((c) => c.id === 'grid-lwbsza')?.gtDir, undefined);
    assert.equal(clips.filter((c) => c.kind === 'upscaled').length, 1);
    assert.ok(!selectClips(clips, undefined, false).some((c) => c.kind === 'upscaled'));
    assert.throws(() => selectClips(clips, ['nope'], true), /unknown clip/);
  },
);
