import { benchResultsSchema, type BenchResults, type BenchRun } from './schema.ts';

/**
 * Quick-run sanity floor: on DAVIS `dog` the ISNet tiers score J ≈ 0.8–0.93; a broken matte
 * (empty, inverted, misaligned) scores far below. Not applied to full runs, whose harder clips
 * may legitimately score lower.
 */
export const J_FLOOR = 0.5;
const J_FLOOR_TIERS = new Set(['light', 'original', 'pro']);

export interface CheckOptions {
  /** Require J ≥ this for the ISNet tiers (full refinement) on ground-truth clips. */
  jFloor?: number;
}

/**
 * Everything a results file must satisfy besides its schema: one successful run per clip and
 * variant, each metric present where its inputs exist, frame counts consistent, and optionally a
 * sanity floor on J. Never checks speed beyond "measured and positive": CI machines differ.
 * Returns the problems.
 */
export function checkResults(
  raw: unknown,
  opts: CheckOptions = {},
): { results?: BenchResults; problems: string[] } {
  const parsed = benchResultsSchema.safeParse(raw);
  if (!parsed.success)
    return {
      problems: parsed.error.issues.map((i) => `schema: ${i.path.join('.') || '(root)'}: ${i.message}`),
    };
  const r = parsed.data;
  const problems: string[] = [];
  const ref = r.settings.reference;
  for (const v of r.settings.variants)
    if (!r.summary.some((s) => s.variant === v)) problems.push(`summary: no row for ${v}`);
  for (const clip of r.clips) {
    if (clip.ceiling.frames !== clip.frames)
      problems.push(`${clip.id}: ceiling decoded ${clip.ceiling.frames} frames, clip has ${clip.frames}`);
    for (const v of r.settings.variants) {
      const where = `${clip.id} · ${v}`;
      const runs = r.runs.filter((x) => x.clip === clip.id && x.variant === v);
      if (runs.length !== 1) {
        problems.push(`${where}: ${runs.length} runs (expected 1)`);
        continue;
      }
      const run = runs[0]!;
      if (run.status !== 'ok' || !run.speed || !run.quality) {
        problems.push(`${where}: ${run.status}${run.error ? `: ${run.error}` : ''}`);
        continue;
      }
      const { speed: s, quality: q } = run;
      if (s.frames !== clip.frames)
        problems.push(`${where}: ${s.frames} frames out, clip has ${clip.frames}`);
      if (q.frames !== clip.frames)
        problems.push(`${where}: ${q.frames} frames scored, clip has ${clip.frames}`);
      const gtMetrics = { j: q.j, boundaryF: q.boundaryF, mad: q.mad, dtssd: q.dtssd };
      for (const [k, val] of Object.entries(gtMetrics)) {
        if (clip.groundTruth && val === null) problems.push(`${where}: ${k} missing on a ground-truth clip`);
        if (!clip.groundTruth && val !== null) problems.push(`${where}: ${k} present without ground truth`);
      }
      if (q.flicker === null) problems.push(`${where}: flicker missing`);
      if (clip.chromaKey && !q.chromaKey) problems.push(`${where}: chroma-key scores missing`);
      if (!clip.chromaKey && q.chromaKey)
        problems.push(`${where}: chroma-key scores on a clip without a key`);
      const isRef = ref !== null && run.tier === ref && run.refine === 'full';
      if (ref !== null && !isRef && q.agreementIoU === null)
        problems.push(`${where}: agreement IoU with ${ref} missing`);
      if (isRef && q.agreementIoU !== null) problems.push(`${where}: the reference has an agreement IoU`);
      problems.push(...lagProblems(r, clip.id, run, isRef).map((p) => `${where}: ${p}`));
      if (
        opts.jFloor !== undefined &&
        clip.groundTruth &&
        run.refine === 'full' &&
        J_FLOOR_TIERS.has(run.tier) &&
        (q.j ?? 0) < opts.jFloor
      )
        problems.push(`${where}: J ${q.j?.toFixed(3)} below the sanity floor ${opts.jFloor}`);
      const t = s.stages;
      if (t.totalMs < t.probeMs + t.prepareMs)
        problems.push(`${where}: total time shorter than probe + model load`);
    }
  }
  const known = new Set(r.clips.map((c) => c.id));
  for (const run of r.runs)
    if (!known.has(run.clip) || !r.settings.variants.includes(run.variant))
      problems.push(`run ${run.clip} · ${run.variant} is not in the clip or variant list`);
  return { results: r, problems };
}

/**
 * Motion lag exists exactly on the non-raw variants (the reference excepted, it runs first) whose
 * tier's raw baseline succeeded on the same clip. Files written before the metric (no
 * settings.lagThreshold) are only checked for figures without a baseline.
 */
function lagProblems(r: BenchResults, clip: string, run: BenchRun, isRef: boolean): string[] {
  const has = run.quality?.lagMovingPixels !== undefined;
  const raw = r.runs.find((x) => x.clip === clip && x.tier === run.tier && x.refine === 'raw');
  const expected = run.refine !== 'raw' && !isRef && raw?.status === 'ok';
  if (has && !expected) return ['lag figures without a raw baseline run before it'];
  if (!has && expected && r.settings.lagThreshold !== undefined)
    return [`lag against ${run.tier}-raw missing`];
  return [];
}
