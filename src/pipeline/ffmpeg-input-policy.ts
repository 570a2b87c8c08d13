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

/** Arguments to put before `-i <path>` for any untrusted input. */
export function untrustedInputArgs(): string[] {
  return ['-protocol_whitelist', INPUT_PROTOCOLS, '-format_whitelist', INPUT_DEMUXERS];
}
