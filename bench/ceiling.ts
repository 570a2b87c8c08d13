import { rm, stat } from 'node:fs/promises';
import { webmArgs } from '../src/pipeline/encode/alpha-video-args.ts';
import { decodeArgs, sourceMatrix } from '../src/pipeline/ffmpeg-args.ts';
import { spawnFfmpeg } from '../src/pipeline/ffmpeg-process.ts';
import type { MediaInfo } from '../src/pipeline/probe.ts';

/** The pipeline's decode arguments with rgba instead of rgb24 out, so they feed the encoder directly. */
export function ceilingDecodeArgs(input: string, info: MediaInfo): string[] {
  let replaced = 0;
  const args = decodeArgs(input, info).map((a) =>
    a.endsWith(',format=rgb24') ? (replaced++, a.replace(/,format=rgb24$/, ',format=rgba')) : a,
  );
  if (replaced !== 1) throw new Error('ceiling: decodeArgs no longer ends its filter with format=rgb24');
  return args;
}

export interface CeilingResult {
  frames: number;
  wallMs: number;
  fps: number;
  /** Spawn to the decoder's first output: process start-up and the first frame's decode. */
  startupMs: number;
  /** frames / (wall − start-up): the steady rate, to compare with fpsExcludingLoad. */
  fpsExcludingStartup: number;
  outputBytes: number;
}

/**
 * The fastest any transparent-WebM job can be on this machine for this clip: the pipeline's own
 * decoder (same arguments, rgba out, alpha = 255) piped straight into the pipeline's own VP9+alpha
 * encoder (webmArgs, no audio). No model, no refinement, no copy through Node.
 */
export async function measureCeiling(input: string, info: MediaInfo, output: string): Promise<CeilingResult> {
  const t0 = performance.now();
  const dec = spawnFfmpeg('ffmpeg', ceilingDecodeArgs(input, info));
  dec.child.stdin.end();
  const enc = spawnFfmpeg(
    'ffmpeg',
    webmArgs({ width: info.width, height: info.height, fps: info.fps, matrix: sourceMatrix(info) }, output),
  );
  let bytes = 0;
  let firstAt: number | undefined;
  dec.child.stdout.on('data', (c: Buffer) => {
    firstAt ??= performance.now();
    bytes += c.length;
  });
  dec.child.stdout.pipe(enc.child.stdin);
  const [d, e] = await Promise.all([dec.exited, enc.exited]);
  const wallMs = performance.now() - t0;
  if (d.code !== 0) throw new Error(`ceiling decode failed: ${dec.stderrTail()}`);
  if (e.code !== 0) throw new Error(`ceiling encode failed: ${enc.stderrTail()}`);
  const outputBytes = (await stat(output)).size;
  await rm(output, { force: true });
  const frames = Math.floor(bytes / (info.width * info.height * 4));
  if (frames <= 0) throw new Error('ceiling: no frame decoded');
  const startupMs = (firstAt ?? t0) - t0;
  return {
    frames,
    wallMs,
    fps: frames / (wallMs / 1000),
    startupMs,
    fpsExcludingStartup: frames / (Math.max(1, wallMs - startupMs) / 1000),
    outputBytes,
  };
}
