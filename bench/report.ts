import type { BenchResults } from './schema.ts';

/** The Markdown report written beside each results file; metric definitions live in bench/README.md. */

function n(v: number | null | undefined, digits: number, scale = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : (v * scale).toFixed(digits);
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${(v * 100).toFixed(v < 0.1 ? 2 : 1)} %`;
}

/** A pixel count, short: 950, 41k, 3.2M. */
function px(v: number | undefined): string {
  if (v === undefined) return '–';
  if (v < 10_000) return String(v);
  return v < 1e6 ? `${Math.round(v / 1e3)}k` : `${(v / 1e6).toFixed(1)}M`;
}

function mib(b: number | null | undefined): string {
  return b === null || b === undefined ? '–' : (b / 2 ** 20).toFixed(0);
}

function table(header: string[], rows: string[][]): string {
  const align = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [header, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The summary table (one row per variant); README.md shows this one with its command. */
export function summaryTable(r: BenchResults): string {
  const ref = r.settings.reference;
  return table(
    [
      'variant',
      'J ↑',
      'F ↑',
      'MAD×10³ ↓',
      'dtSSD×10³ ↓',
      'flicker×10³ ↓',
      'still flicker×10³ ↓',
      ref ? `IoU vs ${ref} ↑` : 'IoU vs ref',
      'lag miss ↓',
      'lag ghost ↓',
      'fps (source size)',
      '% of ceiling',
      'fps 1080p',
      '% of ceiling 1080p',
      'fps 1080p excl. load',
      '% of ceiling 1080p excl. start-up',
      'peak RSS MiB (all processes)',
    ],
    r.summary.map((s) => [
      `\`${s.variant}\``,
      n(s.j, 3),
      n(s.boundaryF, 3),
      n(s.mad, 2, 1000),
      n(s.dtssd, 2, 1000),
      n(s.flicker, 3, 1000),
      n(s.stillFlicker, 3, 1000),
      s.tier === ref && s.refine === 'full' ? '(ref)' : n(s.agreementIoU, 3),
      pct(s.lagMiss),
      pct(s.lagGhost),
      n(s.fpsSource, 2),
      pct(s.ratioSource),
      n(s.fps1080p, 2),
      pct(s.ratio1080p),
      n(s.fps1080pExcludingLoad, 2),
      pct(s.ratio1080pExcludingLoad),
      mib(s.peakRssBytes),
    ]),
  );
}

export function renderReport(r: BenchResults, stem: string, charts: string[]): string {
  const m = r.machine;
  const gtClips = r.clips.filter((c) => c.groundTruth).map((c) => c.id);
  const clipsById = new Map(r.clips.map((c) => [c.id, c]));
  const lines: string[] = [];
  lines.push(
    `# alphacut benchmark: ${r.createdAt.slice(0, 10)}, ${r.git.sha}${r.git.dirty ? ' (uncommitted changes)' : ''}, ${r.mode}`,
    '',
    `Produced by \`${r.command}\` in ${(r.wallSeconds / 60).toFixed(1)} min. Results: \`${stem}.json\` (schema v${r.schemaVersion}, \`bench/schema.ts\`). Metrics and formulas: [bench/README.md](../README.md).`,
    '',
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB; ${m.platform}; Node ${m.node}; ${m.ffmpeg}; onnxruntime-node ${m.onnxruntime}.`,
    `- Subsampling: the first **${r.settings.framesPerClip} frames** of each clip (fewer if the clip is shorter), so the whole run fits in well under an hour on 2 cores. Speed is one run per clip and variant, each in a fresh process (its own model load and peak RSS), on a machine that may be shared: compare ratios to the ceiling rather than absolute fps.`,
    `- Ceiling: the pipeline's own decoder piped into its own VP9+alpha encoder on the same clip in the same run (no model, no Node).`,
    `- Variants: ${r.settings.variants.map((v) => `\`${v}\``).join(', ')}. \`<tier>-raw\` is the model's own matte on the whole frame (no subject crop or tracking), bilinear-upsampled, without edge refinement or temporal stabilisation; \`-nocrop\` / \`-notrack\` are the ablation variants (bench/README.md).`,
    `- Ground truth (DAVIS 2016): ${gtClips.length > 0 ? gtClips.join(', ') : 'none in this run'}. ${r.settings.reference ? `Clips without ground truth are compared with the \`${r.settings.reference}\` tier (agreement IoU).` : 'No reference tier ran, so there is no agreement IoU.'}`,
    '',
    '## Summary',
    '',
    'Means over clips (J, F, MAD and dtSSD over the DAVIS clips only; agreement IoU over every clip, the reference excepted). ↑ higher is better, ↓ lower is better.',
    '',
    summaryTable(r),
    '',
  );
  for (const c of charts) lines.push(`![${c}](${c})`, '');

  lines.push('## Speed per clip', '');
  lines.push(
    'Stage times are the pipeline\'s own (StageTimings, seconds summed over frames); decode and model run ahead of refine/compose/encode, so they overlap and do not add up to the wall time. "load" is model preparation (session open).',
    '',
  );
  lines.push(
    table(
      [
        'clip',
        'variant',
        'frames',
        'ceiling fps',
        'ceiling fps excl. start-up',
        'fps',
        'fps excl. load',
        '% of ceiling',
        '% of ceiling excl. load/start-up',
        'wall s',
        'load s',
        'decode s',
        'model s',
        'refine s',
        'compose s',
        'encode s',
        'peak RSS MiB (all processes)',
        'peak RSS MiB (pipeline process)',
        'key frames',
        'model input',
      ],
      r.runs.map((run) => {
        const c = clipsById.get(run.clip);
        const s = run.speed;
        const clip = c ? `${run.clip} (${c.width}x${c.height})` : run.clip;
        if (!s) return [clip, `\`${run.variant}\``, 'FAILED', ...Array<string>(17).fill('–')];
        const t = s.stages;
        return [
          clip,
          `\`${run.variant}\``,
          String(s.frames),
          n(c?.ceiling.fps, 1),
          n(c?.ceiling.fpsExcludingStartup, 1),
          n(s.fps, 2),
          n(s.fpsExcludingLoad, 2),
          pct(s.ratioToCeiling),
          pct(s.ratioExcludingLoad),
          n(s.wallMs, 1, 1e-3),
          n(t.probeMs + t.prepareMs, 1, 1e-3),
          n(t.decodeMs, 2, 1e-3),
          n(t.modelMs, 1, 1e-3),
          n(t.refineMs, 2, 1e-3),
          n(t.composeMs, 2, 1e-3),
          n(t.encodeMs, 2, 1e-3),
          mib(s.peakRssTreeBytes),
          mib(s.peakRssBytes),
          String(s.keyFrames),
          `${s.modelId} ${s.modelInput.width}x${s.modelInput.height}`,
        ];
      }),
    ),
    '',
  );

  lines.push('## Quality per clip', '');
  lines.push(
    'Lag miss / ghost: where the luma moved, the share of the same tier\'s raw per-frame matte\'s foreground this matte left out / of its background this matte kept (bench/README.md, "Motion lag"); moving px = moving pixels over all frame pairs (raw foreground among them). – where no raw baseline ran before the variant.',
    '',
  );
  lines.push(
    table(
      [
        'clip',
        'variant',
        'J ↑',
        'F ↑',
        'MAD×10³ ↓',
        'dtSSD×10³ ↓',
        'flicker×10³ ↓',
        'still flicker×10³ ↓',
        'still area',
        r.settings.reference ? `IoU vs ${r.settings.reference} ↑` : 'IoU vs ref',
        'lag miss ↓',
        'lag ghost ↓',
        'moving px (raw fg)',
      ],
      r.runs.map((run) => {
        const q = run.quality;
        if (!q) return [run.clip, `\`${run.variant}\``, 'FAILED', ...Array<string>(10).fill('–')];
        return [
          run.clip,
          `\`${run.variant}\``,
          n(q.j, 3),
          n(q.boundaryF, 3),
          n(q.mad, 2, 1000),
          n(q.dtssd, 2, 1000),
          n(q.flicker, 3, 1000),
          n(q.stillFlicker, 3, 1000),
          pct(q.stillFraction),
          n(q.agreementIoU, 3),
          pct(q.lagMiss),
          pct(q.lagGhost),
          q.lagMovingPixels === undefined ? '–' : `${px(q.lagMovingPixels)} (${px(q.lagMovingFgPixels)})`,
        ];
      }),
    ),
    '',
  );

  const keyed = r.runs.filter((x) => x.quality?.chromaKey);
  if (keyed.length > 0) {
    lines.push('## Soft edges (chroma-key pseudo ground truth)', '');
    lines.push(
      'Against the chroma-key matte of the clip itself (bench/README.md, "Soft edges"; no model involved). MAD over the region of interest and over the hair band (the key\'s soft pixels in the upper half of the subject, dilated 3 px); soft = share of hair-band pixels with 0.05 < α < 0.95.',
      '',
    );
    lines.push(
      table(
        [
          'clip',
          'variant',
          'MAD×10³ ↓',
          'hair MAD×10³ ↓',
          'hair soft (matte)',
          'hair soft (key)',
          'hair band area',
        ],
        keyed.map((run) => {
          const k = run.quality!.chromaKey!;
          return [
            run.clip,
            `\`${run.variant}\``,
            n(k.mad, 1, 1000),
            n(k.hairMad, 1, 1000),
            pct(k.hairSoftFraction),
            pct(k.gtHairSoftFraction),
            pct(k.hairBandFraction),
          ];
        }),
      ),
      '',
    );
  }

  lines.push('## Clips', '');
  lines.push(
    table(
      ['clip', 'source', 'size', 'fps', 'frames used / in source', 'bench input'],
      r.clips.map((c) => [
        c.id,
        `\`${c.source}\``,
        `${c.width}x${c.height}`,
        c.fps.toFixed(2),
        `${c.frames} / ${c.sourceFrames}`,
        c.preparation,
      ]),
    ),
    '',
  );

  const failed = r.runs.filter((x) => x.status !== 'ok');
  if (failed.length > 0) {
    lines.push('## Failures', '');
    for (const f of failed) lines.push(`- ${f.clip} · \`${f.variant}\`: ${f.error ?? 'unknown error'}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
