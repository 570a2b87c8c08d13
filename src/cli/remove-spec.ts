import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { AlphacutError } from '../core/errors.ts';
import {
  jobCreateSchema,
  normalizeRenderSpec,
  parseRequest,
  presetColors,
  type RenderFields,
  type RenderSpec,
} from '../core/job-spec.ts';
import { isOutputFormat, type OutputFormat } from '../core/output-formats.ts';

/** Formats a CLI user most likely means by an output file's extension. */
const formatByExtension: Record<string, OutputFormat> = {
  '.webm': 'webm',
  '.mov': 'mov',
  '.mp4': 'mp4',
  '.gif': 'gif',
  '.webp': 'webp',
  '.zip': 'png_sequence',
};

export interface RemoveSpecFlags {
  output: string;
  spec?: string;
  model?: string;
  format?: string;
  background?: string;
  audio: boolean;
}

/**
 * `--background` shorthand: a preset name, `#RRGGBB`, `blur[:strength]`, or a path to an image or
 * video file (by extension).
 */
function backgroundFlag(value: string): RenderFields {
  if (value === 'transparent') return { background: { type: 'transparent' } };
  if (value in presetColors) return { bg_type: value as keyof typeof presetColors };
  if (/^#[0-9a-fA-F]{6}$/.test(value)) return { background: { type: 'color', color: value } };
  const blur = /^blur(?::(\d+(?:\.\d+)?))?$/.exec(value);
  if (blur) return { background: { type: 'blur', strength: blur[1] ? Number(blur[1]) : 50 } };
  const isVideo = /\.(mp4|mov|webm|mkv|m4v|avi)$/i.test(value);
  return isVideo
    ? { background: { type: 'video', video_url: value } }
    : { background: { type: 'image', image_url: value } };
}

/**
 * Local files only: the CLI runs as the user, so reading their files is expected, but fetching
 * URLs is the service's job (with its SSRF guard and limits).
 */
function localPath(ref: string, field: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref))
    throw new AlphacutError(
      'invalid_request',
      `${field}: the CLI takes local files; "${ref}" is a URL (download it first, or use the /v1 API)`,
    );
  return resolve(ref);
}

/**
 * Builds the job's RenderSpec the same way the API does: the `--spec` file is a `POST /v1/jobs`
 * body (its `video_url` may name the input), and flags override it field by field.
 */
export async function buildRemoveSpec(
  flags: RemoveSpecFlags,
  input: string | undefined,
): Promise<{ input: string; spec: RenderSpec }> {
  let fromFile: RenderFields & { video_url?: string } = {};
  if (flags.spec) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(flags.spec, 'utf8'));
    } catch (err) {
      throw new AlphacutError(
        'invalid_request',
        `--spec ${flags.spec}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    // The positional input stands in for video_url, which the API requires.
    const body =
      raw && typeof raw === 'object' && !('video_url' in raw) && input ? { ...raw, video_url: input } : raw;
    fromFile = parseRequest(jobCreateSchema, body);
  }
  const source = input ?? fromFile.video_url;
  if (!source) throw new AlphacutError('invalid_request', 'no input: give a file or "video_url" in --spec');

  const overrides: RenderFields = {};
  if (flags.model) overrides.model = flags.model as RenderFields['model'];
  if (flags.format) {
    if (!isOutputFormat(flags.format))
      throw new AlphacutError('invalid_request', `--format: unknown output format "${flags.format}"`);
    overrides.output_format = flags.format;
  } else if (!fromFile.output_format) {
    const byExt = formatByExtension[extname(flags.output).toLowerCase()];
    if (byExt) overrides.output_format = byExt;
  }
  if (flags.background) Object.assign(overrides, backgroundFlag(flags.background));
  if (!flags.audio) overrides.preserve_audio = false;

  const spec = normalizeRenderSpec(fromFile, overrides);
  const bg = spec.background;
  if (bg.type === 'image' || bg.type === 'video')
    spec.background = { ...bg, source: localPath(bg.source, `background.${bg.type}_url`) };
  return { input: localPath(source, 'video_url'), spec };
}
