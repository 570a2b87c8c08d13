import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { resolveDataDir } from '../../src/app/paths.ts';
import { silentContext } from '../../src/pipeline/job-context.ts';
import { removeBackground } from '../../src/pipeline/remove-background.ts';
import { makeClip, tempDir } from '../helpers/media.ts';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(async () => cleanup());

it('memory stays flat over a long video (RSS does not grow with length)', async () => {
  const input = join(dir, 'long.mp4');
  await makeClip(input, { seconds: 60, width: 640, height: 360, fps: 25 });
  const samples: Array<{ frame: number; rss: number }> = [];
  const result = await removeBackground(
    {
      input,
      output: join(dir, 'long.webm'),
      tier: 'human',
      dataDir: resolveDataDir(),
      onMatte: (i) => {
        if (i % 25 === 0) samples.push({ frame: i, rss: process.memoryUsage.rss() });
      },
    },
    silentContext(),
  );
  assert.equal(result.framesOut, 1500);
  // Warm-up (model load, JIT, buffer pools) is over after the first 10 s of video; from then on
  // a leak of even one 640x360 frame per frame would add > 1 GB by the end.
  const early = samples.filter((s) => s.frame >= 250 && s.frame < 500).map((s) => s.rss);
  const late = samples.filter((s) => s.frame >= 1250).map((s) => s.rss);
  const growthMb = (Math.max(...late) - Math.max(...early)) / 1e6;
  assert.ok(growthMb < 40, `RSS grew by ${growthMb.toFixed(1)} MB between 10 s and 50 s of video`);
});
