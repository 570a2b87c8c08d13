import type { Job } from '../../../src/sdk/api-types.ts';
import { formatSeconds } from '../format.ts';

const playableVideo = new Set(['webm', 'mp4', 'mov', 'mask', 'stacked']);
const playableImage = new Set(['gif', 'webp']);
const extensions: Record<string, string> = {
  webm: 'WebM',
  mov: 'MOV',
  mp4: 'MP4',
  gif: 'GIF',
  webp: 'WebP',
  png_sequence: 'ZIP',
  pro_bundle: 'ZIP',
  mask: 'MP4',
  stacked: 'MP4',
};

/**
 * Step 6: the result over a checkerboard (so transparency shows) next to the original, and the
 * signed download links (they work without the key, so plain links are enough).
 */
export function JobResult({ job, original }: { job: Job; original: string | null }) {
  if (job.status !== 'completed' || !job.output_url) return null;
  const fmt = job.output_format;
  return (
    <section class="step" aria-labelledby="result-title">
      <h2 id="result-title">6. Result</h2>
      <div class="compare">
        {original && (
          <figure>
            <figcaption>Original</figcaption>
            <video src={original} controls muted playsInline loop preload="auto" />
          </figure>
        )}
        <figure>
          <figcaption>
            Result ({fmt}, {formatSeconds(job.preview_duration ?? job.duration_seconds)})
          </figcaption>
          <div class="checkerboard">
            {playableVideo.has(fmt) && (
              <video
                class="result-video"
                src={job.output_url}
                controls
                muted
                playsInline
                loop
                preload="auto"
              />
            )}
            {playableImage.has(fmt) && <img src={job.output_url} alt="Result animation" />}
            {!playableVideo.has(fmt) && !playableImage.has(fmt) && (
              <p class="muted">This format is a ZIP archive: download it to use the frames.</p>
            )}
          </div>
          {fmt === 'mov' && (
            <p class="muted">ProRes may not play in every browser; the download is complete.</p>
          )}
        </figure>
      </div>
      <p class="downloads">
        <a class="button" href={job.output_url} download>
          Download output ({extensions[fmt] ?? fmt})
        </a>
        {job.mask_url && (
          <a class="button secondary" href={job.mask_url} download>
            Download mask (MP4)
          </a>
        )}
      </p>
      <p class="muted">
        Credits used: {job.credits_used ?? '—'} · links expire after a while; reopen the job from the Jobs
        page for fresh ones.
      </p>
    </section>
  );
}
