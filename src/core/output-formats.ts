/**
 * What each `output_format` of API.md promises: container, whether it carries alpha and audio,
 * and how the file is served. The pipeline, the API and the UI all read this one table.
 */
export const outputFormatNames = [
  'webm',
  'mov',
  'mp4',
  'gif',
  'webp',
  'png_sequence',
  'mask',
  'stacked',
  'pro_bundle',
] as const;

export type OutputFormat = (typeof outputFormatNames)[number];

export interface OutputFormatInfo {
  /** File name extension of the delivered file. */
  extension: string;
  contentType: string;
  /** The format can show a transparent background (GIF: 1-bit; stacked: through its shader). */
  alpha: boolean;
  /** The delivered file (or ZIP) carries the source audio when `preserve_audio` is on. */
  audio: boolean;
  /** yuv420 codecs need even canvas sides. */
  evenDimensions: boolean;
}

export const outputFormats: Record<OutputFormat, OutputFormatInfo> = {
  webm: { extension: 'webm', contentType: 'video/webm', alpha: true, audio: true, evenDimensions: true },
  mov: { extension: 'mov', contentType: 'video/quicktime', alpha: true, audio: true, evenDimensions: true },
  mp4: { extension: 'mp4', contentType: 'video/mp4', alpha: false, audio: true, evenDimensions: true },
  gif: { extension: 'gif', contentType: 'image/gif', alpha: true, audio: false, evenDimensions: false },
  webp: { extension: 'webp', contentType: 'image/webp', alpha: true, audio: false, evenDimensions: false },
  png_sequence: {
    extension: 'zip',
    contentType: 'application/zip',
    alpha: true,
    audio: true,
    evenDimensions: false,
  },
  mask: { extension: 'mp4', contentType: 'video/mp4', alpha: false, audio: false, evenDimensions: true },
  stacked: { extension: 'mp4', contentType: 'video/mp4', alpha: true, audio: true, evenDimensions: true },
  pro_bundle: {
    extension: 'zip',
    contentType: 'application/zip',
    alpha: true,
    audio: true,
    evenDimensions: true,
  },
};

export function isOutputFormat(v: string): v is OutputFormat {
  return (outputFormatNames as readonly string[]).includes(v);
}
