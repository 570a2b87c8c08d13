/**
 * What ffmpeg may open when it reads a user's file. A media file can name other files or URLs
 * (HLS/DASH playlists, concat lists, image2 patterns, tee/subfile tricks); by allowing only plain
 * local files and pipes, and only real container demuxers, ffmpeg never follows such a reference.
 */
export const INPUT_PROTOCOLS = 'file,pipe';
export const INPUT_DEMUXERS = [
  'mov,mp4,m4a,3gp,3g2,mj2',
  'matroska,webm',
  'avi',
  'gif',
  'flv',
  'mpegts',
  'mpeg',
  'asf',
  'ogg',
  'nut',
  'h264',
  'hevc',
  'mjpeg',
  'webp_pipe',
  'apng',
  'image2',
].join(',');

/**
 * Arguments to put before `-i <path>` for any untrusted input; `protocols` is URL_INPUT_PROTOCOLS
 * only for a presigned GET of one of our own blobs.
 */
export function untrustedInputArgs(protocols: string = INPUT_PROTOCOLS): string[] {
  return ['-protocol_whitelist', protocols, '-format_whitelist', INPUT_DEMUXERS];
}

/**
 * For a blob of our own store read over a presigned GET (probe.ts probeBlob) and never for a URL
 * a user gave: https needs tls over tcp, plain http (a local S3-compatible server) tcp. No
 * `crypto` (encrypted HLS only), no `httpproxy` (CONNECT tunnels), no `file`: a redirect or a
 * reference inside the media cannot reach local files. The demuxers stay INPUT_DEMUXERS.
 */
export const URL_INPUT_PROTOCOLS = 'http,https,tcp,tls';
