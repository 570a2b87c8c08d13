import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { AlphacutError } from '../core/errors.ts';
import type { BlobStore } from '../core/ports/blob-store.ts';
import { runToCompletion } from './ffmpeg-process.ts';
import { untrustedInputArgs, URL_INPUT_PROTOCOLS } from './ffmpeg-input-policy.ts';

/** What the rest of the pipeline needs to know about an input video, in display orientation. */
export interface MediaInfo {
  width: number;
  height: number;
  /** Frame rate as a rational, because 30000/1001 must not drift over an hour of video. */
  fps: { num: number; den: number };
  /** Container/stream frame count (nb_frames or counted packets); the decoder has the last word. */
  frameCount: number;
  durationSeconds: number;
  /** Start time of the video stream, kept so that audio stays where it was. */
  startSeconds: number;
  /** Start time of the container; ffmpeg already subtracts it from every stream's timestamps. */
  formatStartSeconds: number;
  pixFmt: string;
  colorSpace: string | undefined;
  colorRange: string | undefined;
  rotation: number;
  hasAudio: boolean;
  audioCodec: string | undefined;
  formatName: string;
  sizeBytes: number;
}

export interface ProbeLimits {
  maxDurationSeconds: number;
  maxWidth: number;
  maxHeight: number;
}

export const defaultProbeLimits: ProbeLimits = {
  maxDurationSeconds: 4 * 3600,
  maxWidth: 4096,
  maxHeight: 4096,
};

const numeric = z.union([z.string(), z.number()]).transform((v) => Number(v));

const streamSchema = z.object({
  index: z.number(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  pix_fmt: z.string().optional(),
  color_space: z.string().optional(),
  color_range: z.string().optional(),
  r_frame_rate: z.string().optional(),
  avg_frame_rate: z.string().optional(),
  nb_frames: numeric.optional(),
  nb_read_packets: numeric.optional(),
  duration: numeric.optional(),
  start_time: numeric.optional(),
  disposition: z.object({ attached_pic: z.number().optional() }).partial().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  side_data_list: z.array(z.object({ rotation: z.number().optional() }).passthrough()).optional(),
});

const probeSchema = z.object({
  streams: z.array(streamSchema).default([]),
  format: z
    .object({
      format_name: z.string().optional(),
      duration: numeric.optional(),
      start_time: numeric.optional(),
    })
    .partial()
    .optional(),
});

function parseRational(s: string | undefined): { num: number; den: number } | undefined {
  if (!s) return undefined;
  const [n, d] = s.split('/').map(Number);
  if (!n || !d || !Number.isFinite(n) || !Number.isFinite(d) || n <= 0 || d <= 0) return undefined;
  return { num: n, den: d };
}

/** Prefer the nominal rate when it agrees with the average (30000/1001 rather than 456000/15217). */
function chooseFps(r?: string, avg?: string): { num: number; den: number } | undefined {
  const nominal = parseRational(r);
  const average = parseRational(avg);
  if (nominal && average) {
    const a = average.num / average.den;
    const n = nominal.num / nominal.den;
    return Math.abs(a - n) / a < 0.01 ? nominal : average;
  }
  return average ?? nominal;
}

/**
 * ffmpeg picks the MP4 demuxer from a `.mp4` name even for a text file, and then reports a
 * missing moov atom; only a file that starts like an ISO-BMFF box really is a truncated MP4.
 */
function startsLikeIsoBmff(head: Buffer): boolean {
  return ['ftyp', 'mdat', 'moov', 'free', 'wide', 'skip', 'pnot'].includes(head.toString('latin1', 4, 8));
}

async function fileHead(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    return head;
  } finally {
    await fh.close();
  }
}

/** Turns ffprobe's stderr into the reason a user can act on; `head` reads the input's first bytes. */
async function explainProbeFailure(
  stderr: string,
  head: () => Promise<Buffer>,
  notFound: () => AlphacutError,
): Promise<AlphacutError> {
  const s = stderr.toLowerCase();
  if (s.includes('moov atom not found') && startsLikeIsoBmff(await head()))
    return new AlphacutError(
      'unsupported_media',
      'The file is truncated or incomplete: its index (moov atom) is missing, so it cannot be decoded. Upload the complete file.',
      { reason: 'truncated' },
    );
  if (s.includes('no such file') || s.includes('404 not found')) return notFound();
  if (
    s.includes('invalid data found') ||
    s.includes('moov atom not found') ||
    s.includes('not in allowed list') ||
    s.includes('unknown format')
  )
    return new AlphacutError(
      'unsupported_media',
      'The file is not a video in a supported container (mp4, mov, webm, mkv, avi, gif...).',
      {
        reason: 'not_video',
      },
    );
  return new AlphacutError(
    'unsupported_media',
    `The file could not be read as a video: ${stderr.split('\n').pop() ?? ''}`.trim(),
    {
      reason: 'unreadable',
    },
  );
}

export async function probe(
  givenPath: string,
  limits: ProbeLimits = defaultProbeLimits,
  signal?: AbortSignal,
): Promise<MediaInfo> {
  // Absolute, so ffprobe never reads a name like "a:b.mp4" as a protocol.
  const path = resolve(givenPath);
  const notFound = (): AlphacutError => new AlphacutError('invalid_request', `Input file not found: ${path}`);
  let sizeBytes: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a file');
    sizeBytes = st.size;
  } catch {
    throw notFound();
  }
  if (sizeBytes === 0)
    throw new AlphacutError('unsupported_media', 'The file is empty.', { reason: 'empty' });
  const r = await runToCompletion('ffprobe', probeArgs(untrustedInputArgs(), path), signal);
  if (signal?.aborted) throw new AlphacutError('canceled', 'Canceled.');
  if (r.code !== 0 && r.code !== -1)
    throw await explainProbeFailure(r.stderr, () => fileHead(path), notFound);
  return mediaInfoOf(r, sizeBytes, limits);
}

function probeArgs(inputPolicy: string[], input: string): string[] {
  return [
    '-v',
    'error',
    ...inputPolicy,
    '-count_packets',
    '-show_streams',
    '-show_format',
    '-of',
    'json',
    '-i',
    input,
  ];
}

/** A blob store that can hand out presigned GETs (S3), so blobs can be probed where they are. */
export type ProbeableBlobs = BlobStore & Required<Pick<BlobStore, 'presignGet'>>;

export function canProbeInPlace(blobs: BlobStore): blobs is ProbeableBlobs {
  return typeof blobs.presignGet === 'function';
}

/** How long the presigned URL handed to ffprobe lives, and so how long a blob probe may take. */
export const blobProbeTimeoutSeconds = 600;
/** A read that stalls this long (no byte from S3) fails the probe. */
const blobProbeStallMicroseconds = 30_000_000;

/**
 * How ffprobe reaches the store: like the S3 SDK does, directly (no http_proxy from the
 * environment), giving up on a stalled read, and checking the server's certificate (ffmpeg does
 * not by default): against the system's CAs, or NODE_EXTRA_CA_CERTS where Node is told to trust
 * a private CA for S3.
 */
function blobUrlOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    '-rw_timeout',
    String(blobProbeStallMicroseconds),
    '-http_proxy',
    '',
    '-tls_verify',
    '1',
    ...(env.NODE_EXTRA_CA_CERTS ? ['-ca_file', env.NODE_EXTRA_CA_CERTS] : []),
  ];
}

/**
 * Probes a blob in place, over HTTP(S), so that the API node needs no local copy of it. Only
 * ever OUR keys: the URL is presigned here and never leaves this function; nothing a user sends
 * can become ffprobe's input URL (that would be an SSRF through ffmpeg). The input policy is
 * that of untrusted files plus the network protocols a presigned GET needs (see
 * ffmpeg-input-policy.ts); the demuxers stay the same container list, so playlists and concat
 * lists remain impossible, and the mov demuxer does not open a file's external data references
 * (`dref`) unless `-enable_drefs 1` is given, so a crafted file cannot make ffprobe fetch other
 * URLs either. Error messages never carry the URL (it holds a signature): every URL in them is
 * replaced by `label`.
 */
export async function probeBlob(
  blobs: ProbeableBlobs,
  key: string,
  label: string,
  limits: ProbeLimits = defaultProbeLimits,
  signal?: AbortSignal,
): Promise<MediaInfo> {
  const notFound = (): AlphacutError =>
    new AlphacutError('invalid_request', `Input file not found: ${label}`);
  const st = await blobs.stat(key);
  if (!st) throw notFound();
  if (st.size === 0) throw new AlphacutError('unsupported_media', 'The file is empty.', { reason: 'empty' });
  // Signed for this node's own S3 address (ALPHACUT_S3_PUBLIC_ENDPOINT is for clients only).
  const url = await blobs.presignGet(key, { expiresInSeconds: blobProbeTimeoutSeconds, forThisNode: true });
  const deadline = AbortSignal.timeout(blobProbeTimeoutSeconds * 1000);
  const both = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const r = await runToCompletion(
    'ffprobe',
    probeArgs([...untrustedInputArgs(URL_INPUT_PROTOCOLS), ...blobUrlOptions()], url),
    both,
  );
  if (signal?.aborted) throw new AlphacutError('canceled', 'Canceled.');
  if (deadline.aborted)
    throw new AlphacutError('timeout', `${label}: probing took longer than ${blobProbeTimeoutSeconds} s.`);
  const scrub = (text: string): string =>
    text.replaceAll(url, label).replace(/\b(?:https?|tcp|tls):\/\/\S+/gi, label);
  if (r.code !== 0 && r.code !== -1) {
    const head = async (): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      for await (const c of await blobs.get(key, { start: 0, end: Math.min(11, st.size - 1) }))
        chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    throw await explainProbeFailure(scrub(r.stderr), head, notFound);
  }
  return mediaInfoOf({ ...r, stderr: scrub(r.stderr) }, st.size, limits);
}

function mediaInfoOf(
  { stdout, stderr, code }: { stdout: Buffer; stderr: string; code: number | null },
  sizeBytes: number,
  limits: ProbeLimits,
): MediaInfo {
  if (code === -1)
    throw new AlphacutError(
      'internal_error',
      `ffprobe could not be started (is ffmpeg installed?): ${stderr}`,
    );
  let parsed: z.infer<typeof probeSchema>;
  try {
    parsed = probeSchema.parse(JSON.parse(stdout.toString('utf8')));
  } catch {
    throw new AlphacutError(
      'unsupported_media',
      'The file could not be read as a video (unexpected probe output).',
    );
  }
  const video = parsed.streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video || !video.width || !video.height)
    throw new AlphacutError(
      'unsupported_media',
      'The file has no video stream (audio-only or not a video).',
      { reason: 'no_video' },
    );

  const fps = chooseFps(video.r_frame_rate, video.avg_frame_rate);
  const frameCount = Number(video.nb_frames) || Number(video.nb_read_packets) || 0;
  if (!fps || frameCount <= 0)
    throw new AlphacutError('unsupported_media', 'The video stream has no frames.', {
      reason: 'zero_frames',
    });

  const rotation = Math.round(
    video.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ??
      Number(video.tags?.rotate ?? 0),
  );
  const swap = Math.abs(rotation) % 180 === 90;
  const width = swap ? video.height : video.width;
  const height = swap ? video.width : video.height;
  const durationSeconds =
    Number(video.duration) || Number(parsed.format?.duration) || (frameCount * fps.den) / fps.num;

  if (durationSeconds > limits.maxDurationSeconds)
    throw new AlphacutError(
      'input_too_long',
      `The video is ${durationSeconds.toFixed(1)} s long; the limit is ${limits.maxDurationSeconds} s.`,
      { duration_seconds: durationSeconds, limit_seconds: limits.maxDurationSeconds },
    );
  if (width > limits.maxWidth || height > limits.maxHeight)
    throw new AlphacutError(
      'unsupported_media',
      `The video is ${width}x${height}; the largest supported size is ${limits.maxWidth}x${limits.maxHeight}.`,
      { reason: 'resolution', width, height },
    );

  const audio = parsed.streams.find((s) => s.codec_type === 'audio');
  return {
    width,
    height,
    fps,
    frameCount,
    durationSeconds,
    startSeconds: Number(video.start_time) || 0,
    formatStartSeconds: Number(parsed.format?.start_time) || 0,
    pixFmt: video.pix_fmt ?? 'unknown',
    colorSpace: video.color_space,
    colorRange: video.color_range,
    rotation,
    hasAudio: audio !== undefined,
    audioCodec: audio?.codec_name,
    formatName: parsed.format?.format_name ?? 'unknown',
    sizeBytes,
  };
}
