import { z } from 'zod';
import { AlphacutError } from './errors.ts';
import { outputFormatNames, outputFormats, type OutputFormat } from './output-formats.ts';

/**
 * The job request of API.md (`POST /v1/jobs`, `POST /v1/jobs/{id}/start`) as one zod schema,
 * shared by the HTTP API and `alphacut remove --spec`, and its normalisation into the
 * `RenderSpec` the pipeline runs. Wire names stay snake_case here; everything past
 * `normalizeRenderSpec` is camelCase and has no legacy spellings left.
 */

export const modelNames = ['original', 'light', 'pro', 'human'] as const;
export type ModelName = (typeof modelNames)[number];

export const anchorNames = [
  'top-left',
  'top-center',
  'top-right',
  'center-left',
  'center',
  'center-right',
  'bottom-left',
  'bottom-center',
  'bottom-right',
] as const;
export type Anchor = (typeof anchorNames)[number];

export const maxCanvasSide = 4096;
export const maxMetadataBytes = 16 * 1024;

/** Fixed colours of the legacy `bg_type` presets, in 0..1 as the hosted service documents them. */
export const presetColors = {
  green: [0.035, 0.635, 0.274],
  white: [1, 1, 1],
  black: [0, 0, 0],
  // Broadcast chroma-key blue.
  blue: [0, 0.278, 0.733],
} as const satisfies Record<string, readonly [number, number, number]>;

const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is "#RRGGBB"');
const rgbTriple = z.tuple([
  z.number().min(0).max(255),
  z.number().min(0).max(255),
  z.number().min(0).max(255),
]);
const colorValue = z.union([hexColor, rgbTriple]);

/** A URL the server fetches, or (CLI only) a local path; the caller decides which are allowed. */
const mediaRef = z.string().min(1).max(4096);

export const backgroundSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('transparent') }).strict(),
  z.object({ type: z.literal('color'), color: colorValue }).strict(),
  z.object({ type: z.literal('image'), image_url: mediaRef }).strict(),
  z.object({ type: z.literal('video'), video_url: mediaRef, audio: z.boolean().optional() }).strict(),
  z.object({ type: z.literal('blur'), strength: z.number().min(0).max(100).default(50) }).strict(),
]);

export const compositionSchema = z
  .object({
    canvas: z
      .object({
        width: z.number().int().min(2).max(maxCanvasSide),
        height: z.number().int().min(2).max(maxCanvasSide),
      })
      .strict()
      .optional(),
    foreground: z
      .object({
        anchor: z.enum(anchorNames).default('center'),
        scale: z.number().gt(0).max(10).default(1),
        offset: z
          .object({
            x: z.number().int().min(-16384).max(16384).default(0),
            y: z.number().int().min(-16384).max(16384).default(0),
          })
          .strict()
          .default({ x: 0, y: 0 }),
      })
      .strict()
      .optional(),
  })
  .strict();

const trimSchema = z
  .object({ start: z.number().min(0).default(0), end: z.number().gt(0).optional() })
  .strict()
  .refine((t) => t.end === undefined || t.end > t.start, { message: 'trim.end must be after trim.start' });

const refineSchema = z
  .object({ edges: z.boolean().optional(), temporal: z.number().min(0).max(1).optional() })
  .strict();

const legacyBgType = z.enum(['transparent', 'green', 'white', 'black', 'blue', 'custom', 'color', 'image']);

/** Fields that shape the render; allowed both at create and at start. */
const renderFields = {
  model: z.enum(modelNames).optional(),
  output_format: z.enum(outputFormatNames).optional(),
  background: backgroundSchema.optional(),
  bg_type: legacyBgType.optional(),
  bg_color: rgbTriple.optional(),
  bg_image_url: mediaRef.optional(),
  text_prompt: z.string().max(500).optional(),
  composition: compositionSchema.nullable().optional(),
  preview_duration: z.number().gt(0).max(86400).optional(),
  trim: trimSchema.optional(),
  preserve_audio: z.boolean().optional(),
  refine: refineSchema.optional(),
  webhook_url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
};

const metadataSchema = z
  .record(z.string(), z.unknown())
  .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= maxMetadataBytes, {
    message: `metadata must be at most ${maxMetadataBytes} bytes as JSON`,
  });

// Not strict: SDKs of the hosted service send fields we do not use, and rejecting them would
// break the "change only the base URL" promise.
export const jobCreateSchema = z.object({
  video_url: mediaRef,
  auto_start: z.boolean().optional(),
  metadata: metadataSchema.optional(),
  ...renderFields,
});
export type JobCreateBody = z.infer<typeof jobCreateSchema>;

export const jobStartSchema = z.object(renderFields);
export type JobStartBody = z.infer<typeof jobStartSchema>;

export type RenderFields = JobStartBody;

export type Rgb8 = readonly [number, number, number];

export type BackgroundSpec =
  | { type: 'transparent' }
  | { type: 'color'; rgb: Rgb8 }
  | { type: 'image'; source: string }
  | { type: 'video'; source: string; audio: boolean }
  | { type: 'blur'; strength: number };

export interface CompositionSpec {
  canvas?: { width: number; height: number };
  anchor: Anchor;
  scale: number;
  offset: { x: number; y: number };
}

/** Everything the pipeline needs to know about how to render a job, legacy spellings resolved. */
export interface RenderSpec {
  model: ModelName;
  outputFormat: OutputFormat;
  background: BackgroundSpec;
  composition?: CompositionSpec;
  textPrompt?: string;
  trim?: { start: number; end?: number };
  previewDuration?: number;
  preserveAudio: boolean;
  refine?: { edges?: boolean; temporal?: number };
}

/**
 * `[r,g,b]` in 0..1 floats, or 0..255 ints when any value is above 1 (API.md), or `#RRGGBB`, to
 * 8-bit sRGB.
 */
export function parseColor(c: string | readonly number[]): Rgb8 {
  if (typeof c === 'string') {
    const n = Number.parseInt(c.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const scale = c.some((v) => v > 1) ? 1 : 255;
  const to8 = (v: number | undefined): number => Math.max(0, Math.min(255, Math.round((v ?? 0) * scale)));
  return [to8(c[0]), to8(c[1]), to8(c[2])];
}

function invalid(field: string, message: string): AlphacutError {
  return new AlphacutError('invalid_request', `${field}: ${message}`, { fields: [{ field, message }] });
}

function backgroundFrom(f: RenderFields): BackgroundSpec | undefined {
  const b = f.background;
  if (b) {
    switch (b.type) {
      case 'transparent':
        return { type: 'transparent' };
      case 'color':
        return { type: 'color', rgb: parseColor(b.color) };
      case 'image':
        return { type: 'image', source: b.image_url };
      case 'video':
        return { type: 'video', source: b.video_url, audio: b.audio ?? false };
      case 'blur':
        return { type: 'blur', strength: b.strength };
    }
  }
  switch (f.bg_type) {
    case undefined:
      if (f.bg_color) return { type: 'color', rgb: parseColor(f.bg_color) };
      if (f.bg_image_url) return { type: 'image', source: f.bg_image_url };
      return undefined;
    case 'transparent':
      return { type: 'transparent' };
    case 'green':
    case 'white':
    case 'black':
    case 'blue':
      return { type: 'color', rgb: parseColor(presetColors[f.bg_type]) };
    case 'custom':
    case 'color':
      if (!f.bg_color) throw invalid('bg_color', `required with bg_type "${f.bg_type}"`);
      return { type: 'color', rgb: parseColor(f.bg_color) };
    case 'image':
      if (!f.bg_image_url) throw invalid('bg_image_url', 'required with bg_type "image"');
      return { type: 'image', source: f.bg_image_url };
  }
}

function compositionFrom(c: RenderFields['composition']): CompositionSpec | undefined {
  if (!c) return undefined;
  const fg = c.foreground;
  return {
    ...(c.canvas ? { canvas: { width: c.canvas.width, height: c.canvas.height } } : {}),
    anchor: fg?.anchor ?? 'center',
    scale: fg?.scale ?? 1,
    offset: { x: fg?.offset.x ?? 0, y: fg?.offset.y ?? 0 },
  };
}

/**
 * Merge start-time overrides over the stored request and resolve it into a RenderSpec, enforcing
 * the cross-field rules of API.md (a transparent background needs a format with alpha; a text
 * prompt needs `pro`). Later layers win field by field; a later `background` or `bg_*` replaces
 * the earlier background as a whole.
 */
export function normalizeRenderSpec(...layers: RenderFields[]): RenderSpec {
  let merged: RenderFields = {};
  for (const layer of layers) {
    const touchesBackground =
      layer.background !== undefined ||
      layer.bg_type !== undefined ||
      layer.bg_color !== undefined ||
      layer.bg_image_url !== undefined;
    const base: RenderFields = touchesBackground
      ? { ...merged, background: undefined, bg_type: undefined, bg_color: undefined, bg_image_url: undefined }
      : merged;
    merged = { ...base };
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) Object.assign(merged, { [k]: v });
  }
  const model = merged.model ?? 'original';
  const outputFormat = merged.output_format ?? 'webm';
  const background = backgroundFrom(merged) ?? { type: 'transparent' };
  if (merged.text_prompt !== undefined && merged.text_prompt.trim() !== '' && model !== 'pro')
    throw new AlphacutError(
      'text_prompt_unsupported',
      `text_prompt is only accepted with model "pro" (got "${model}").`,
    );
  if (background.type === 'transparent' && !outputFormats[outputFormat].alpha && outputFormat !== 'mask')
    throw new AlphacutError(
      'alpha_not_supported',
      `output_format "${outputFormat}" cannot carry transparency; choose a background (e.g. {"type":"color","color":"#00ff00"}) or a format with alpha (webm, mov, gif, webp, png_sequence, stacked, pro_bundle).`,
    );
  const composition = compositionFrom(merged.composition);
  return {
    model,
    outputFormat,
    background,
    ...(composition ? { composition } : {}),
    ...(merged.text_prompt?.trim() ? { textPrompt: merged.text_prompt } : {}),
    ...(merged.trim
      ? {
          trim: {
            start: merged.trim.start,
            ...(merged.trim.end !== undefined ? { end: merged.trim.end } : {}),
          },
        }
      : {}),
    ...(merged.preview_duration !== undefined ? { previewDuration: merged.preview_duration } : {}),
    preserveAudio: merged.preserve_audio ?? true,
    ...(merged.refine ? { refine: { ...merged.refine } } : {}),
  };
}

/** zod issues as the `details.fields` of an `invalid_request` error. */
export function invalidRequestFrom(error: z.ZodError): AlphacutError {
  const fields = error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  const first = fields[0];
  return new AlphacutError(
    'invalid_request',
    first ? `${first.field}: ${first.message}` : 'The request body is not valid.',
    { fields },
  );
}

/** Parse with a schema, throwing `invalid_request` with field details on failure. */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (!r.success) throw invalidRequestFrom(r.error);
  return r.data;
}

/**
 * The time range of the source that a spec renders, in seconds from the first video frame:
 * `trim` first, then `preview_duration` counted from the trim start.
 */
export function renderRange(spec: Pick<RenderSpec, 'trim' | 'previewDuration'>): {
  start: number;
  duration?: number;
} {
  const start = spec.trim?.start ?? 0;
  let duration = spec.trim?.end !== undefined ? spec.trim.end - start : undefined;
  if (spec.previewDuration !== undefined)
    duration = duration === undefined ? spec.previewDuration : Math.min(duration, spec.previewDuration);
  return { start, ...(duration !== undefined ? { duration } : {}) };
}
