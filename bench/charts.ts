import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { BenchResults } from './schema.ts';

/**
 * The bench's charts, drawn as SVG by hand (no chart library) and rasterised to PNG by sharp:
 * `<stem>-speed.png` (fps of every variant per clip on a log scale, the clip's ceiling as a line)
 * and `<stem>-quality.png` (J against ground truth, agreement IoU against `pro`, flicker).
 */

const PALETTE: Record<string, string> = {
  human: '#1f77b4',
  'human-raw': '#9ecae1',
  light: '#2ca02c',
  'light-raw': '#a1d99b',
  original: '#d62728',
  'original-raw': '#fc9272',
  pro: '#6a3d9a',
  'pro-raw': '#bcbddc',
};
const FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function colorOf(variant: string, i: number): string {
  return PALETTE[variant] ?? ['#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'][i % 5]!;
}

/** Black or white, whichever reads better on the given #rrggbb fill. */
function textOn(fill: string): string {
  const v = parseInt(fill.slice(1), 16);
  const lum = 0.299 * ((v >> 16) & 255) + 0.587 * ((v >> 8) & 255) + 0.114 * (v & 255);
  return lum > 150 ? '#000' : '#fff';
}

export interface Series {
  name: string;
  values: Array<number | null>;
}

export interface Panel {
  title: string;
  yLabel: string;
  groups: string[];
  series: Series[];
  scale: 'linear' | 'log';
  /** Fixed axis range; otherwise from the data. */
  min?: number;
  max?: number;
  /** One line per group (e.g. the ceiling), labelled. */
  markers?: Array<number | null>;
  markerLabel?: string;
  /** Value labels printed on top of bars. */
  digits: number;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number, digits: number): string {
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return v.toFixed(digits);
}

/** One bar panel as an SVG fragment of the given size, drawn at (x0, y0). */
export function panelSvg(p: Panel, x0: number, y0: number, width: number, height: number): string {
  const left = 70;
  const right = 20;
  const top = 56;
  // Group labels may have several lines ('\n'); long ones are drawn slanted.
  const slotW = (width - left - right) / Math.max(1, p.groups.length);
  const rotate = p.groups.some((g) => g.split('\n').some((l) => l.length * 6.5 > slotW));
  // Slanted labels are one line; upright ones keep their lines.
  const labelLines = p.groups.map((g) => (rotate ? [g.replace(/\n/g, ' ')] : g.split('\n')));
  const longest = Math.max(1, ...labelLines.flat().map((l) => l.length));
  const maxLines = Math.max(1, ...labelLines.map((l) => l.length));
  const bottom = 30 + (rotate ? longest * 6.5 * 0.43 : 14 * maxLines);
  const pw = width - left - right;
  const ph = height - top - bottom;
  const all = [...p.series.flatMap((s) => s.values), ...(p.markers ?? [])].filter(
    (v): v is number => v !== null && Number.isFinite(v) && (p.scale === 'linear' || v > 0),
  );
  let lo: number;
  let hi: number;
  if (p.scale === 'log') {
    lo = p.min ?? 10 ** Math.floor(Math.log10(Math.min(...all, 1)));
    hi = p.max ?? 10 ** Math.ceil(Math.log10(Math.max(...all, 1) * 1.05));
    if (hi <= lo) hi = lo * 10;
  } else {
    lo = p.min ?? 0;
    hi = p.max ?? niceMax(Math.max(...all, 0) * 1.1);
  }
  const y = (v: number): number => {
    const t =
      p.scale === 'log'
        ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
        : (v - lo) / (hi - lo);
    return y0 + top + ph * (1 - Math.min(1, Math.max(0, t)));
  };
  const out: string[] = [];
  out.push(
    `<text x="${x0 + width / 2}" y="${y0 + 22}" text-anchor="middle" font-size="17" font-weight="bold" ${FONT}>${esc(p.title)}</text>`,
  );
  // Grid and y ticks.
  const ticks: number[] = [];
  if (p.scale === 'log') for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push(v);
  else for (let i = 0; i <= 5; i++) ticks.push(lo + ((hi - lo) * i) / 5);
  for (const t of ticks) {
    const yy = y(t);
    out.push(
      `<line x1="${x0 + left}" x2="${x0 + left + pw}" y1="${yy}" y2="${yy}" stroke="#ddd" stroke-width="1"/>`,
      `<text x="${x0 + left - 6}" y="${yy + 4}" text-anchor="end" font-size="11" ${FONT}>${esc(
        p.scale === 'log'
          ? String(t >= 1 ? Math.round(t) : t.toPrecision(1))
          : String(Number(t.toPrecision(3))),
      )}</text>`,
    );
  }
  out.push(
    `<text transform="translate(${x0 + 16},${y0 + top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12" ${FONT}>${esc(p.yLabel)}</text>`,
    `<line x1="${x0 + left}" x2="${x0 + left}" y1="${y0 + top}" y2="${y0 + top + ph}" stroke="#333"/>`,
    `<line x1="${x0 + left}" x2="${x0 + left + pw}" y1="${y0 + top + ph}" y2="${y0 + top + ph}" stroke="#333"/>`,
  );
  // Legend.
  let lx = x0 + left;
  const legend = [...p.series.map((s, i) => ({ name: s.name, color: colorOf(s.name, i), line: false }))];
  if (p.markers && p.markerLabel) legend.push({ name: p.markerLabel, color: '#000', line: true });
  for (const l of legend) {
    const ly = y0 + 38;
    out.push(
      l.line
        ? `<line x1="${lx}" x2="${lx + 14}" y1="${ly}" y2="${ly}" stroke="#000" stroke-width="2" stroke-dasharray="4 2"/>`
        : `<rect x="${lx}" y="${ly - 6}" width="14" height="12" fill="${l.color}"/>`,
      `<text x="${lx + 18}" y="${ly + 4}" font-size="12" ${FONT}>${esc(l.name)}</text>`,
    );
    lx += 32 + l.name.length * 8;
  }
  // Bars.
  const groupW = pw / Math.max(1, p.groups.length);
  const barW = Math.min(28, (groupW * 0.8) / Math.max(1, p.series.length));
  p.groups.forEach((g, gi) => {
    const gx = x0 + left + gi * groupW;
    const start = gx + (groupW - barW * p.series.length) / 2;
    p.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const bx = start + si * barW;
      const by = y(v);
      const base = y0 + top + ph;
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${Math.max(0, base - by).toFixed(1)}" fill="${colorOf(s.name, si)}"/>`,
      );
      // Value label: inside the top of a tall bar (white), above a short one.
      const label = esc(fmt(v, p.digits));
      const inside = base - by > 8 + label.length * 6;
      if (barW >= 12)
        out.push(
          inside
            ? `<text transform="translate(${(bx + barW / 2 + 3).toFixed(1)},${(by + 4).toFixed(1)}) rotate(-90)" text-anchor="end" font-size="9" fill="${textOn(colorOf(s.name, si))}" ${FONT}>${label}</text>`
            : `<text transform="translate(${(bx + barW / 2 + 3).toFixed(1)},${(by - 3).toFixed(1)}) rotate(-90)" font-size="9" ${FONT}>${label}</text>`,
        );
    });
    const m = p.markers?.[gi];
    if (m !== null && m !== undefined && Number.isFinite(m)) {
      const my = y(m);
      out.push(
        `<line x1="${(gx + 4).toFixed(1)}" x2="${(gx + groupW - 4).toFixed(1)}" y1="${my}" y2="${my}" stroke="#000" stroke-width="2" stroke-dasharray="4 2"/>`,
        `<text x="${gx + groupW / 2}" y="${my - 4}" text-anchor="middle" font-size="10" ${FONT}>${esc(fmt(m, 1))}</text>`,
      );
    }
    const lx2 = gx + groupW / 2;
    const ly2 = y0 + top + ph + 16;
    (labelLines[gi] ?? []).forEach((line, li) => {
      out.push(
        rotate
          ? `<text transform="translate(${lx2 + 6},${ly2}) rotate(-25)" text-anchor="end" font-size="11" ${FONT}>${esc(line)}</text>`
          : `<text x="${lx2}" y="${ly2 + li * 14}" text-anchor="middle" font-size="11" ${FONT}>${esc(line)}</text>`,
      );
    });
  });
  return out.join('\n');
}

export function chartSvg(panels: Panel[], width: number, panelHeight: number, footer: string): string {
  const height = panels.length * panelHeight + 24;
  const body = panels.map((p, i) => panelSvg(p, 0, i * panelHeight, width, panelHeight)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="#fff"/>
${body}
<text x="${width - 8}" y="${height - 8}" text-anchor="end" font-size="10" fill="#666" ${FONT}>${esc(footer)}</text>
</svg>
`;
}

function valuesFor(
  r: BenchResults,
  clips: string[],
  variant: string,
  pick: (run: BenchResults['runs'][number]) => number | null | undefined,
): Array<number | null> {
  return clips.map((c) => {
    const run = r.runs.find((x) => x.clip === c && x.variant === variant && x.status === 'ok');
    const v = run ? pick(run) : null;
    return v ?? null;
  });
}

export function speedPanel(r: BenchResults): Panel {
  const clips = r.clips.map((c) => c.id);
  return {
    title: 'End-to-end fps per tier against the ceiling (decode + VP9 alpha encode only)',
    yLabel: 'frames per second (log)',
    groups: r.clips.map((c) => `${c.id}\n${c.width}x${c.height}`),
    series: r.settings.variants.map((v) => ({
      name: v,
      values: valuesFor(r, clips, v, (x) => x.speed?.fps),
    })),
    scale: 'log',
    markers: r.clips.map((c) => c.ceiling.fps),
    markerLabel: 'ceiling',
    digits: 2,
  };
}

export function qualityPanels(r: BenchResults): Panel[] {
  const gt = r.clips.filter((c) => c.groundTruth).map((c) => c.id);
  const noGt = r.clips.filter((c) => !c.groundTruth).map((c) => c.id);
  const all = r.clips.map((c) => c.id);
  const panels: Panel[] = [];
  if (gt.length > 0)
    panels.push({
      title: 'J: IoU with DAVIS ground truth (higher is better)',
      yLabel: 'J',
      groups: gt,
      series: r.settings.variants.map((v) => ({ name: v, values: valuesFor(r, gt, v, (x) => x.quality?.j) })),
      scale: 'linear',
      min: 0,
      max: 1,
      digits: 3,
    });
  if (noGt.length > 0 && r.settings.reference) {
    const ref = r.settings.reference;
    panels.push({
      title: `Agreement IoU with the ${ref} tier, clips without ground truth (higher is closer)`,
      yLabel: `IoU vs ${ref}`,
      groups: noGt,
      series: r.settings.variants
        .filter((v) => v !== ref)
        .map((v) => ({ name: v, values: valuesFor(r, noGt, v, (x) => x.quality?.agreementIoU) })),
      scale: 'linear',
      min: 0,
      max: 1,
      digits: 3,
    });
  }
  panels.push({
    title: 'Flicker: alpha change where the image is unchanged (lower is better)',
    yLabel: 'flicker ×10³',
    groups: all,
    series: r.settings.variants.map((v) => ({
      name: v,
      values: valuesFor(r, all, v, (x) => (x.quality?.flicker ?? NaN) * 1000),
    })),
    scale: 'linear',
    digits: 2,
  });
  return panels;
}

async function png(svg: string, path: string): Promise<void> {
  await writeFile(path, await sharp(Buffer.from(svg)).png().toBuffer());
}

/** Writes the charts next to the results and returns their file names (relative to `dir`). */
export async function writeCharts(r: BenchResults, dir: string, stem: string): Promise<string[]> {
  const footer = `alphacut bench ${r.mode} · ${r.createdAt.slice(0, 16)}Z · ${r.git.sha}${r.git.dirty ? '-dirty' : ''} · first ${r.settings.framesPerClip} frames per clip`;
  const width = Math.max(900, 150 + r.clips.length * Math.max(90, r.settings.variants.length * 20));
  const speed = `${stem}-speed.png`;
  const quality = `${stem}-quality.png`;
  await png(chartSvg([speedPanel(r)], width, 480, footer), join(dir, speed));
  await png(chartSvg(qualityPanels(r), width, 400, footer), join(dir, quality));
  return [speed, quality];
}
