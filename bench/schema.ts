import { z } from 'zod';
import { tierNames } from '../src/models/tiers.ts';

/**
 * The benchmark's results file, `bench/results/<UTC date>-<git sha>[-dirty][-quick].json`.
 * Bump BENCH_SCHEMA_VERSION on any change that a reader of old files must know about (a field
 * renamed, removed, or its meaning or unit changed); adding an optional field does not need it.
 * Every alpha-scale figure is on [0, 1] (8-bit alpha / 255). See bench/README.md for formulas.
 */
export const BENCH_SCHEMA_VERSION = 2;

const unit = z.number().min(0).max(1);
const nonNeg = z.number().finite().min(0);
const positive = z.number().finite().positive();
const count = z.number().int().min(0);

export const stageTimingsSchema = z.object({
  probeMs: nonNeg,
  prepareMs: nonNeg,
  decodeMs: nonNeg,
  resizeMs: nonNeg,
  modelMs: nonNeg,
  refineMs: nonNeg,
  composeMs: nonNeg,
  encodeMs: nonNeg,
  totalMs: nonNeg,
});

export const ceilingSchema = z.object({
  /** What was timed: the pipeline's own decode args (rgba out) piped into its own WebM encoder. */
  frames: count,
  wallMs: positive,
  fps: positive,
  /** Spawn to the decoder's first output (process start-up + first decode). */
  startupMs: nonNeg,
  /** frames / (wallMs − startupMs): the steady rate, the one to compare fpsExcludingLoad with. */
  fpsExcludingStartup: positive,
});

export const clipSchema = z.object({
  /** Stable name: DAVIS sequence, clip file name without extension, `<clip>@1080p` for upscales. */
  id: z.string().min(1),
  kind: z.enum(['davis', 'clip', 'upscaled']),
  /** Source file relative to the shared media folder. */
  source: z.string().min(1),
  groundTruth: z.boolean(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  fps: positive,
  /** Frames benchmarked: the first `frames` of the source (see settings.framesPerClip). */
  frames: z.number().int().positive(),
  sourceFrames: z.number().int().positive(),
  /** How the bench input was made from the source (ffmpeg re-encode), in words. */
  preparation: z.string(),
  /** True when the clip is scored against a chroma-key pseudo ground truth (runs[].quality.chromaKey). */
  chromaKey: z.boolean().optional(),
  ceiling: ceilingSchema,
});

export const speedSchema = z.object({
  frames: z.number().int().positive(),
  /** End-to-end wall time of removeBackground (probe → encoder closed), minus the bench's own hook. */
  wallMs: positive,
  /** frames / wall time. */
  fps: positive,
  /** frames / (wall time − probe − model load): the rate of a worker whose model is already open. */
  fpsExcludingLoad: positive,
  /** fps / ceiling fps of the same clip in the same run (both end to end). */
  ratioToCeiling: positive,
  /** fpsExcludingLoad / the ceiling's fpsExcludingStartup: steady-state share of the ceiling. */
  ratioExcludingLoad: positive,
  /** Per-stage wall time as the pipeline reports it (stages overlap: decode and model run ahead). */
  stages: stageTimingsSchema,
  /** Time the bench's onMatte hook took (copying each matte out); already subtracted from wallMs. */
  hookMs: nonNeg,
  /** Peak RSS of the pipeline's own process, as removeBackground samples it (~every 200 ms). */
  peakRssBytes: z.number().int().positive(),
  /**
   * Peak of the summed RSS of the run's whole process tree (pipeline, inference child, ffmpeg
   * children), sampled every 100 ms from /proc; null where /proc is absent.
   */
  peakRssTreeBytes: z.number().int().positive().nullable(),
  outputBytes: z.number().int().positive(),
  keyFrames: count,
  modelId: z.string(),
  modelInput: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
});

export const qualitySchema = z.object({
  frames: z.number().int().positive(),
  j: unit.nullable(),
  boundaryF: unit.nullable(),
  mad: unit.nullable(),
  dtssd: unit.nullable(),
  flicker: unit.nullable(),
  stillFlicker: unit.nullable(),
  stillFraction: unit,
  agreementIoU: unit.nullable(),
  /**
   * Chroma-key clips only (clips[].chromaKey): scores against the pseudo ground truth of
   * `bench/metrics/chroma-key.ts`, inside its region of interest. `mad`: mean over frames;
   * `hairMad`: pooled over the hair band's pixels; `hairSoftFraction` / `gtHairSoftFraction`:
   * share of hair-band pixels with 0.05 < α < 0.95 in the matte / in the pseudo ground truth;
   * `hairBandFraction`: hair-band pixels per region-of-interest pixel. Optional: added in v2.
   */
  chromaKey: z
    .object({
      mad: unit,
      hairMad: unit.nullable(),
      hairSoftFraction: unit.nullable(),
      gtHairSoftFraction: unit.nullable(),
      hairBandFraction: unit,
    })
    .optional(),
  /**
   * Motion lag against the same tier's raw per-frame matte (`<tier>-raw`), on the pixels whose
   * luma moved (`bench/metrics/motion-lag.ts`): `lagMiss` = share of moving raw-foreground
   * pixels this matte has as background, `lagGhost` = share of moving raw-background pixels it
   * has as foreground (null when there were none); `lagMovingPixels` / `lagMovingFgPixels` =
   * moving pixels summed over the frame pairs, all / raw foreground. Present only on variants
   * whose tier's raw baseline ran earlier in the same clip. Optional: added in v2.
   */
  lagMiss: unit.nullable().optional(),
  lagGhost: unit.nullable().optional(),
  lagMovingPixels: count.optional(),
  lagMovingFgPixels: count.optional(),
});

/**
 * How a variant differs from its tier's shipping configuration. `raw`: the model on the whole
 * frame at every key frame, bilinear-upsampled (no subject crop or tracking, no edge or temporal
 * refinement; since schema v2; in v1 it kept the subject crop). `nocrop`: full refinement but the
 * model on the whole frame. `notrack`: subject crop without the tracker and motion cue. Together
 * they are the ablation raw → nocrop → notrack → full.
 */
export const refineModes = ['full', 'raw', 'nocrop', 'notrack'] as const;
export type RefineMode = (typeof refineModes)[number];

export const runSchema = z.object({
  clip: z.string(),
  /** `<tier>` (shipping configuration) or `<tier>-<mode>` for the other `refineModes`. */
  variant: z.string(),
  tier: z.enum(tierNames as [string, ...string[]]),
  refine: z.enum(refineModes),
  status: z.enum(['ok', 'failed']),
  error: z.string().optional(),
  speed: speedSchema.nullable(),
  quality: qualitySchema.nullable(),
});

export const summarySchema = z.object({
  variant: z.string(),
  tier: z.string(),
  refine: z.enum(refineModes),
  /** Means over the clips where the metric exists (GT metrics: DAVIS clips only). */
  j: unit.nullable(),
  boundaryF: unit.nullable(),
  mad: unit.nullable(),
  dtssd: unit.nullable(),
  flicker: unit.nullable(),
  stillFlicker: unit.nullable(),
  agreementIoU: unit.nullable(),
  /** Means over the chroma-key clips of quality.chromaKey's mad, hairMad, hairSoftFraction. */
  keyMad: unit.nullable().optional(),
  keyHairMad: unit.nullable().optional(),
  keyHairSoft: unit.nullable().optional(),
  /** Means over the clips with a lag figure of quality.lagMiss and quality.lagGhost. */
  lagMiss: unit.nullable().optional(),
  lagGhost: unit.nullable().optional(),
  /** Mean fps over the source-size clips, and the 1080p clip's fps and ratio to its ceiling. */
  fpsSource: positive.nullable(),
  ratioSource: positive.nullable(),
  fps1080p: positive.nullable(),
  ratio1080p: positive.nullable(),
  /** The 1080p clip's steady-state figures (model load and ffmpeg start-up left out). */
  fps1080pExcludingLoad: positive.nullable(),
  ratio1080pExcludingLoad: positive.nullable(),
  /** Largest peak over the variant's runs: the whole process tree where known, else the pipeline's. */
  peakRssBytes: z.number().int().positive().nullable(),
});

export const benchResultsSchema = z.object({
  schemaVersion: z.literal(BENCH_SCHEMA_VERSION),
  kind: z.literal('alphacut-bench'),
  createdAt: z.iso.datetime(),
  mode: z.enum(['quick', 'full']),
  /** The command that produced the file, as typed (`npm run bench -- …`). */
  command: z.string(),
  git: z.object({ sha: z.string(), dirty: z.boolean() }),
  machine: z.object({
    cpuModel: z.string(),
    cores: z.number().int().positive(),
    memoryBytes: z.number().int().positive(),
    platform: z.string(),
    node: z.string(),
    ffmpeg: z.string(),
    onnxruntime: z.string(),
  }),
  settings: z.object({
    framesPerClip: z.number().int().positive(),
    tiers: z.array(z.string()),
    rawBaselines: z.array(z.string()),
    /** Every (clip × variant) pair must have a run; variants in run order. */
    variants: z.array(z.string()),
    /** Tier whose matte is the reference for agreementIoU, or null when it did not run. */
    reference: z.string().nullable(),
    flickerTau: positive,
    stillThreshold: positive,
    boundaryToleranceFraction: positive,
    /** θ of the motion-lag metric (luma levels); absent in files written before it existed. */
    lagThreshold: positive.optional(),
    /** r of the motion-lag metric (px): disagreements within it are edge placement, not lag. */
    lagTolerance: z.number().int().nonnegative().optional(),
  }),
  tierConfigs: z.record(z.string(), z.unknown()),
  clips: z.array(clipSchema).min(1),
  runs: z.array(runSchema).min(1),
  summary: z.array(summarySchema),
  wallSeconds: positive,
});

export type BenchResults = z.infer<typeof benchResultsSchema>;
export type BenchClipResult = z.infer<typeof clipSchema>;
export type BenchRun = z.infer<typeof runSchema>;
export type BenchSpeed = z.infer<typeof speedSchema>;
export type BenchQuality = z.infer<typeof qualitySchema>;
export type BenchSummary = z.infer<typeof summarySchema>;
