import type { JobCreateBody, RenderFields } from '../core/job-spec.ts';

const renderKeys = [
  'model',
  'output_format',
  'background',
  'bg_type',
  'bg_color',
  'bg_image_url',
  'text_prompt',
  'composition',
  'preview_duration',
  'trim',
  'preserve_audio',
  'refine',
  'webhook_url',
] as const satisfies readonly (keyof RenderFields)[];

const backgroundKeys = ['background', 'bg_type', 'bg_color', 'bg_image_url'] as const;

/** The render fields of a create body (the rest, video_url/auto_start/metadata, live on the job). */
export function renderFieldsOf(body: JobCreateBody | RenderFields): RenderFields {
  const out: Record<string, unknown> = {};
  for (const k of renderKeys) if (body[k] !== undefined) out[k] = body[k];
  return out as RenderFields;
}

/**
 * The stored request after a start's overrides, with the same layering normalizeRenderSpec
 * applies: field by field, except that any background field replaces the whole background.
 */
export function mergeRenderFields(base: RenderFields, override: RenderFields): RenderFields {
  const o = renderFieldsOf(override);
  const merged: Record<string, unknown> = { ...base };
  if (backgroundKeys.some((k) => o[k] !== undefined)) for (const k of backgroundKeys) delete merged[k];
  Object.assign(merged, o);
  return merged as RenderFields;
}
