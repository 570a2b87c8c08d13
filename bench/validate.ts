/**
 * Validates a bench results file and the files written beside it:
 *   npx tsx bench/validate.ts [--quick] <results.json>
 * Exit 0 when valid, 1 with one line per problem otherwise. `--quick` also requires a quick run
 * that includes every tier, a raw baseline and a ground-truth clip, and applies the J sanity
 * floor (what `.ci/bench-check.sh` expects).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tierNames } from '../src/models/tiers.ts';
import { checkResults, J_FLOOR } from './validate-results.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  process.stderr.write('usage: validate.ts [--quick] <results.json>\n');
  process.exit(2);
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const problems: string[] = [];
let raw: unknown;
try {
  raw = JSON.parse(await readFile(file, 'utf8'));
} catch (err) {
  problems.push(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
}
if (raw !== undefined) {
  const { results, problems: p } = checkResults(raw, quick ? { jFloor: J_FLOOR } : {});
  problems.push(...p);
  if (results && quick) {
    if (results.mode !== 'quick') problems.push(`mode is ${results.mode}, expected quick`);
    for (const t of tierNames)
      if (!results.settings.variants.includes(t)) problems.push(`quick run lacks tier ${t}`);
    if (!results.settings.variants.some((v) => v.endsWith('-raw')))
      problems.push('quick run has no raw baseline');
    if (!results.clips.some((c) => c.groundTruth)) problems.push('quick run has no ground-truth clip');
  }
  const stem = file.replace(/\.json$/, '');
  const md = await readFile(`${stem}.md`, 'utf8').catch(() => undefined);
  if (md === undefined || !md.includes('| variant |'))
    problems.push(`${stem}.md missing or without the summary table`);
  for (const suffix of ['-speed.png', '-quality.png']) {
    const png = await readFile(join(dirname(stem), `${stem.split('/').pop()}${suffix}`)).catch(
      () => undefined,
    );
    if (!png || png.length < 1000 || !png.subarray(0, 8).equals(PNG))
      problems.push(`${stem}${suffix} missing or not a PNG`);
  }
}
if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`bench results invalid: ${p}\n`);
  process.exit(1);
}
process.stdout.write(`bench results valid: ${file}\n`);
