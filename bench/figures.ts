/**
 * The figures in docs/quality.md, made from the same inputs and metrics as the bench:
 *
 *   npx tsx bench/figures.ts hair  [--frame 8] [--tiers human,original]
 *     grid-lwbsza frame, chroma-key pseudo ground truth and each tier's matte, cropped on the hair
 *   npx tsx bench/figures.ts worst --clip scooter-black --tier original [--frames 24] [--raw]
 *     the frame of a DAVIS clip with the lowest J: luma with the matte (red) over ground truth (green)
 *
 * Writes bench/results/quality-*.png (or --out). The tier runs through the real pipeline on the
 * bench's own prepared input (`prepareClip`), the same way `bench/job.ts` runs it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { projectRoot, resolveDataDir, sharedMediaDir } from '../src/app/paths.ts';
import { tierNames, type TierName } from '../src/models/tiers.ts';
import { silentContext } from '../src/pipeline/job-context.ts';
import { runToCompletion } from '../src/pipeline/ffmpeg-process.ts';
import { removeBackground } from '../src/pipeline/remove-background.ts';
import { variantTier } from './job.ts';
import { discoverClips, prepareClip, type PreparedClip } from './media.ts';
import { chromaKeyAlpha, estimateBackdrop, hairBand } from './metrics/chroma-key.ts';
import { regionIoU } from './metrics/region-iou.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    frame: { type: 'string', default: '8' },
    frames: { type: 'string', default: '24' },
    tiers: { type: 'string', default: 'human,original' },
    clip: { type: 'string', default: 'scooter-black' },
    tier: { type: 'string', default: 'original' },
    raw: { type: 'boolean', default: false },
    out: { type: 'string', default: join(projectRoot, 'bench/results') },
    media: { type: 'string', default: sharedMediaDir },
    'data-dir': { type: 'string' },
  },
});
const dataDir = resolveDataDir(values['data-dir']);

function tierOf(name: string): TierName {
  if (!(tierNames as string[]).includes(name)) throw new Error(`unknown tier ${name}`);
  return name as TierName;
}

/** Every matte of one tier on the prepared clip (frames × W×H bytes). */
async function mattes(p: PreparedClip, tier: TierName, raw: boolean, dir: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  await removeBackground(
    {
      input: p.input,
      output: join(dir, `${tier}.webm`),
      tier: variantTier(tier, raw ? 'raw' : 'full'),
      dataDir,
      preserveAudio: false,
      ...(raw ? { refine: { edges: false, temporal: 0 } } : {}),
      onMatte: (_i, alpha) => {
        out.push(Uint8Array.from(alpha));
      },
    },
    silentContext(),
  );
  return out;
}

async function frameOf(path: string, index: number, bytes: number): Promise<Uint8Array> {
  const all = await readFile(path);
  return new Uint8Array(all.subarray(index * bytes, (index + 1) * bytes));
}

/** Grey panel → RGB. */
function grey3(a: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length * 3);
  for (let i = 0; i < a.length; i++) o.fill(a[i] as number, 3 * i, 3 * i + 3);
  return o;
}

/** RGB panels (each w×h) side by side with a 4-px white gap, cropped and scaled `scale`×. */
async function strip(
  panels: Uint8Array[],
  w: number,
  h: number,
  crop: { left: number; top: number; width: number; height: number },
  scale: number,
  file: string,
): Promise<void> {
  const gap = 4;
  const cw = crop.width * scale;
  const ch = crop.height * scale;
  const tiles = await Promise.all(
    panels.map((p) =>
      sharp(p, { raw: { width: w, height: h, channels: 3 } })
        .extract(crop)
        .resize(cw, ch, { kernel: 'nearest' })
        .png()
        .toBuffer(),
    ),
  );
  await sharp({
    create: {
      width: panels.length * cw + (panels.length - 1) * gap,
      height: ch,
      channels: 3,
      background: '#ffffff',
    },
  })
    .composite(tiles.map((input, i) => ({ input, left: i * (cw + gap), top: 0 })))
    .png()
    .toFile(file);
}

async function hair(): Promise<void> {
  const clip = discoverClips(values.media).find((c) => c.chromaKey);
  if (!clip) throw new Error('no chroma-key clip in the media set');
  const k = Number(values.frame);
  const work = await mkdtemp(join(os.tmpdir(), 'alphacut-fig-'));
  try {
    const p = await prepareClip(clip, k + 1, join(work, 'clip'), values.media);
    const { width: w, height: h } = p.info;
    const n = w * h;
    // prepareClip keeps only the key and band files; decode this frame's colour once more.
    const rgbFile = join(work, 'rgb.png');
    await rgbFrame(p.input, k, rgbFile);
    const rgb = new Uint8Array(await sharp(rgbFile).removeAlpha().raw().toBuffer());
    const gt = chromaKeyAlpha(rgb, w, h, estimateBackdrop(rgb, w, h));
    const band = hairBand(gt, w, h);
    let [x0, y0, x1, y1] = [w, h, -1, -1];
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        if (band[y * w + x]) {
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x);
          y1 = Math.max(y1, y);
        }
    // The top of the head: the band's upper 60 %, 8 px of context around it.
    const yCut = y0 + Math.round((y1 - y0) * 0.6);
    const crop = {
      left: Math.max(0, x0 - 8),
      top: Math.max(0, y0 - 8),
      width: Math.min(w, x1 + 9) - Math.max(0, x0 - 8),
      height: Math.min(h, yCut + 9) - Math.max(0, y0 - 8),
    };
    const panels = [rgb, grey3(gt)];
    const tiers = values.tiers.split(',').map(tierOf);
    for (const t of tiers) {
      const m = (await mattes(p, t, false, work))[k];
      if (!m || m.length !== n) throw new Error(`${t}: no matte for frame ${k}`);
      panels.push(grey3(m));
    }
    const file = join(values.out, `quality-hair-${clip.id}-f${k}.png`);
    await strip(panels, w, h, crop, 2, file);
    process.stdout.write(`${file}: frame, chroma key, ${tiers.join(', ')}; crop ${JSON.stringify(crop)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Writes frame `index` of a video to a PNG file. */
async function rgbFrame(input: string, index: number, file: string): Promise<void> {
  const { code, stderr } = await runToCompletion('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-i',
    input,
    '-vf',
    `select=eq(n\\,${index})`,
    '-frames:v',
    '1',
    file,
  ]);
  if (code !== 0) throw new Error(`ffmpeg: ${stderr}`);
}

async function worst(): Promise<void> {
  const clip = discoverClips(values.media).find((c) => c.id === values.clip);
  if (!clip?.gtDir) throw new Error(`${values.clip}: not a clip with ground truth`);
  const tier = tierOf(values.tier);
  const work = await mkdtemp(join(os.tmpdir(), 'alphacut-fig-'));
  try {
    const p = await prepareClip(clip, Number(values.frames), join(work, 'clip'), values.media);
    const { width: w, height: h } = p.info;
    const n = w * h;
    const ms = await mattes(p, tier, values.raw, work);
    let worstK = 0;
    let worstJ = 2;
    for (let k = 0; k < ms.length; k++) {
      const j = regionIoU(ms[k] as Uint8Array, await frameOf(p.gtPath as string, k, n));
      if (j < worstJ) [worstJ, worstK] = [j, k];
    }
    const luma = await frameOf(p.lumaPath, worstK, n);
    const gt = await frameOf(p.gtPath as string, worstK, n);
    const m = ms[worstK] as Uint8Array;
    // Same convention as the other figures: dimmed luma, matte ≥ 0.5 in red, ground truth in green.
    const rgb = new Uint8Array(3 * n);
    for (let i = 0; i < n; i++) {
      const l = ((luma[i] as number) * 0.6) | 0;
      rgb[3 * i] = (m[i] as number) >= 128 ? 255 : l;
      rgb[3 * i + 1] = (gt[i] as number) >= 128 ? 200 : l;
      rgb[3 * i + 2] = l;
    }
    const name = `${tier}${values.raw ? '-raw' : ''}`;
    const file = join(values.out, `quality-worst-${clip.id}-${name}-f${worstK}.png`);
    await strip([rgb], w, h, { left: 0, top: 0, width: w, height: h }, 1, file);
    process.stdout.write(`${file}: worst frame ${worstK} of ${ms.length}, J ${worstJ.toFixed(3)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const mode = positionals[0];
if (mode === 'hair') await hair();
else if (mode === 'worst') await worst();
else {
  process.stderr.write('usage: figures.ts hair|worst [options] (see the comment at the top)\n');
  process.exit(2);
}
