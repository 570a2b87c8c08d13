import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The project (package) root, whether run from a checkout or an installed package. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Where alphacut keeps its state (models cache today; database, uploads and outputs later).
 * `--data-dir` beats ALPHACUT_DATA_DIR beats `<project>/data`.
 */
export function resolveDataDir(flag?: string): string {
  return resolve(flag ?? process.env.ALPHACUT_DATA_DIR ?? resolve(projectRoot, 'data'));
}

/** The shared development media set that sits beside the project (tests and bench use it). */
export const sharedMediaDir = resolve(projectRoot, '../shared/media');
