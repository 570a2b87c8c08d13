import type { Anchor, JobCreateRequest, ModelId, OutputFormatId } from '../../../src/sdk/api-types.ts';

/**
 * The form state of a new job and its translation into the `POST /v1/jobs` body. Pure functions,
 * so the rules the page enforces before sending are unit-tested (test/web/job-settings.test.ts).
 */

export type BackgroundKind = 'transparent' | 'color' | 'image' | 'blur';

export interface JobSettings {
  model: ModelId;
  outputFormat: OutputFormatId;
  background: {
    kind: BackgroundKind;
    color: string;
    /**
     * An uploaded background video (its `video_url`) or an image URL. Uploads are always videos
     * (the API probes them), so an image background can only come from a URL.
     */
    source?: { url: string; isVideo: boolean };
    blur: number;
  };
  composition: {
    enabled: boolean;
    width: number;
    height: number;
    anchor: Anchor;
    /** Percent of the source size. */
    scalePercent: number;
    offsetX: number;
    offsetY: number;
  };
  /** Render only the first N seconds (API `preview_duration`), or everything when null. */
  previewSeconds: number | null;
}

export const canvasPresets = [
  { label: '1920 × 1080 (landscape HD)', width: 1920, height: 1080 },
  { label: '1280 × 720 (landscape)', width: 1280, height: 720 },
  { label: '1080 × 1920 (portrait, stories)', width: 1080, height: 1920 },
  { label: '1080 × 1080 (square)', width: 1080, height: 1080 },
] as const;

export const colorPresets = [
  { name: 'Green screen', value: '#09a246' },
  { name: 'White', value: '#ffffff' },
  { name: 'Black', value: '#000000' },
  { name: 'Blue screen', value: '#0047bb' },
] as const;

export const formatLabels: Record<OutputFormatId, string> = {
  webm: 'WebM (VP9 with transparency)',
  mov: 'MOV (ProRes 4444 with transparency)',
  mp4: 'MP4 (H.264, no transparency)',
  gif: 'GIF (1-bit transparency)',
  webp: 'Animated WebP',
  png_sequence: 'PNG sequence (ZIP)',
  stacked: 'Stacked MP4 (colour over alpha)',
  pro_bundle: 'Pro bundle (ZIP: colour + alpha)',
  mask: 'Mask only (grayscale MP4)',
};

const opaqueFormats: readonly OutputFormatId[] = ['mp4'];
const evenFormats: readonly OutputFormatId[] = ['webm', 'mov', 'mp4', 'mask', 'stacked', 'pro_bundle'];
export const maxCanvasSide = 4096;

export function defaultSettings(): JobSettings {
  return {
    model: 'light',
    outputFormat: 'webm',
    background: { kind: 'transparent', color: '#09a246', blur: 50 },
    composition: {
      enabled: false,
      width: 1920,
      height: 1080,
      anchor: 'center',
      scalePercent: 100,
      offsetX: 0,
      offsetY: 0,
    },
    previewSeconds: null,
  };
}

/** Problems the server would refuse, found before anything is sent (each a sentence). */
export function settingsProblems(s: JobSettings): string[] {
  const out: string[] = [];
  if (s.background.kind === 'transparent' && opaqueFormats.includes(s.outputFormat))
    out.push(`${formatLabels[s.outputFormat]} cannot be transparent: choose a background or another format.`);
  if (s.background.kind === 'image' && !s.background.source)
    out.push('Choose a background video file or an image URL (or another background).');
  const c = s.composition;
  if (c.enabled) {
    for (const [name, v] of [
      ['width', c.width],
      ['height', c.height],
    ] as const) {
      if (!Number.isInteger(v) || v < 2 || v > maxCanvasSide)
        out.push(`Canvas ${name} must be a whole number from 2 to ${maxCanvasSide}.`);
      else if (v % 2 !== 0 && evenFormats.includes(s.outputFormat))
        out.push(`Canvas ${name} must be even for ${formatLabels[s.outputFormat]}.`);
    }
    if (!(c.scalePercent > 0 && c.scalePercent <= 1000)) out.push('Scale must be between 1 % and 1000 %.');
    if (!Number.isInteger(c.offsetX) || !Number.isInteger(c.offsetY))
      out.push('Offsets must be whole pixels.');
  }
  if (s.previewSeconds !== null && !(s.previewSeconds > 0))
    out.push('The preview length must be more than 0 seconds.');
  return out;
}

export function jobRequestOf(videoUrl: string, s: JobSettings): JobCreateRequest {
  const body: JobCreateRequest = { video_url: videoUrl, model: s.model, output_format: s.outputFormat };
  const b = s.background;
  if (b.kind === 'color') body.background = { type: 'color', color: b.color };
  else if (b.kind === 'blur') body.background = { type: 'blur', strength: b.blur };
  else if (b.kind === 'image' && b.source)
    body.background = b.source.isVideo
      ? { type: 'video', video_url: b.source.url }
      : { type: 'image', image_url: b.source.url };
  else body.background = { type: 'transparent' };
  const c = s.composition;
  if (c.enabled)
    body.composition = {
      canvas: { width: c.width, height: c.height },
      foreground: { anchor: c.anchor, scale: c.scalePercent / 100, offset: { x: c.offsetX, y: c.offsetY } },
    };
  if (s.previewSeconds !== null) body.preview_duration = s.previewSeconds;
  return body;
}

export const videoExtensions = ['mp4', 'mov', 'webm', 'avi', 'mkv', 'm4v', 'gif', 'mpg', 'mpeg', 'ts', 'flv'];
/** The server's default upload limit; a deployment may set another and then answers 413. */
export const defaultUploadLimitBytes = 500 * 1024 * 1024;

/** Checks a picked file before any byte is sent; null when it looks like a video we can upload. */
export function videoFileProblem(
  f: { name: string; size: number; type: string },
  limitBytes = defaultUploadLimitBytes,
): string | null {
  const ext = f.name.includes('.') ? (f.name.split('.').pop() ?? '').toLowerCase() : '';
  const looksVideo = f.type.startsWith('video/') || f.type === 'image/gif' || videoExtensions.includes(ext);
  if (!looksVideo)
    return `"${f.name}" does not look like a video (${f.type || 'unknown type'}). Choose an MP4, MOV, WebM, MKV, AVI or GIF file.`;
  if (f.size === 0) return `"${f.name}" is empty.`;
  if (f.size > limitBytes)
    return `"${f.name}" is ${Math.ceil(f.size / 1024 / 1024)} MB; the upload limit is ${Math.floor(limitBytes / 1024 / 1024)} MB.`;
  return null;
}
