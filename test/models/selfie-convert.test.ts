// TFLite → ONNX conversion of MediaPipe's selfie segmentation models.
//
// Three layers of evidence:
//  1. op-level: tiny TFLite graphs built here with the flatbuffers Builder (odd sizes, non-square
//     kernels, depth multiplier 2, padded transposed conv, non-integer resize) are converted, run in
//     onnxruntime-node and compared with hand-computed numbers and with a plain-JS reference that
//     implements the TFLite kernels directly in NHWC with the native weight layouts;
//  2. whole graph: both selfie models run through that JS reference and through the converted ONNX
//     graph on a real frame must agree to float precision; a deliberately broken conversion must not;
//  3. quality on real footage: IoU against a chroma-key ground truth on a blue-backdrop clip.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Builder } from 'flatbuffers';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import {
  BuiltinOperator,
  TensorType,
  TfliteFormatError,
  operatorName,
  readTflite,
  type TfliteModel,
} from '../../src/models/tflite-reader.ts';
import {
  TfliteConversionError,
  convertTfliteModel,
  convertTfliteToOnnx,
  parseTransposeConvBiasOptions,
  samePadding,
} from '../../src/models/tflite-to-onnx.ts';
import {
  SELFIE_INPUT_SIZE,
  buildSelfieModel,
  readSelfieTflite,
  type SelfieVariant,
} from '../../src/models/selfie-build.ts';

const { onnx } = onnxProto;
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mediaDir = path.resolve(projectRoot, '../shared/media');
const clipPath = path.join(mediaDir, 'clips/grid-lwbsza.mp4');
const FFMPEG = '/usr/bin/ffmpeg';
const clipSkip = !existsSync(clipPath)
  ? `test media not found at ${clipPath} (shared/media is not checked out here)`
  : !existsSync(FFMPEG)
    ? `ffmpeg not found at ${FFMPEG}`
    : false;

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
};

async function runOnnx(model: Uint8Array, input: Float32Array, shape: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(model, SESSION_OPTIONS);
  try {
    const result = await session.run({ input: new ort.Tensor('float32', input, shape) });
    const out = result.output;
    assert.ok(out, 'model has an `output`');
    return out;
  } finally {
    await session.release();
  }
}

// ---- deterministic pseudo-random data ----------------------------------------------------------

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'same length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// ---- plain-JS TFLite reference kernels (NHWC, native TFLite weight layouts) ---------------------

interface T4 {
  shape: number[];
  data: Float32Array;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** TFLite's padding rule (ComputePaddingWithOffset): pad before = floor(total / 2). */
function tflitePadBefore(
  padding: 'SAME' | 'VALID',
  inSize: number,
  outSize: number,
  k: number,
  s: number,
  d = 1,
): number {
  if (padding === 'VALID') return 0;
  const total = Math.max((outSize - 1) * s + (k - 1) * d + 1 - inSize, 0);
  return Math.floor(total / 2);
}

function applyActivation(x: Float32Array, act: string): Float32Array {
  if (act === 'NONE') return x;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (act === 'RELU') x[i] = Math.max(v, 0);
    else if (act === 'RELU6') x[i] = Math.min(Math.max(v, 0), 6);
    else if (act === 'RELU_N1_TO_1') x[i] = Math.min(Math.max(v, -1), 1);
    else if (act === 'TANH') x[i] = Math.tanh(v);
    else throw new Error(`reference: activation ${act}`);
  }
  return x;
}

/** CONV_2D; w is OHWI. */
function refConv(
  x: T4,
  w: T4,
  bias: Float32Array | null,
  o: { padding: 'SAME' | 'VALID'; strideH: number; strideW: number; dilationH: number; dilationW: number },
  outShape: number[],
): T4 {
  const [n, ih, iw, ic] = x.shape as [number, number, number, number];
  const [oc, kh, kw, wic] = w.shape as [number, number, number, number];
  assert.equal(wic, ic);
  const [, oh, ow] = outShape as [number, number, number];
  const pt = tflitePadBefore(o.padding, ih, oh, kh, o.strideH, o.dilationH);
  const pl = tflitePadBefore(o.padding, iw, ow, kw, o.strideW, o.dilationW);
  const out = new Float32Array(n * oh * ow * oc);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let c = 0; c < oc; c++) {
          let acc = bias ? bias[c]! : 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = y * o.strideH - pt + ky * o.dilationH;
            if (iy < 0 || iy >= ih) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = xx * o.strideW - pl + kx * o.dilationW;
              if (ix < 0 || ix >= iw) continue;
              const xi = ((b * ih + iy) * iw + ix) * ic;
              const wi = ((c * kh + ky) * kw + kx) * ic;
              for (let k = 0; k < ic; k++) acc += x.data[xi + k]! * w.data[wi + k]!;
            }
          }
          out[((b * oh + y) * ow + xx) * oc + c] = acc;
        }
  return { shape: [n, oh, ow, oc], data: out };
}

/** DEPTHWISE_CONV_2D; w is 1×H×W×(C·m), output channel o reads input channel floor(o / m). */
function refDepthwise(
  x: T4,
  w: T4,
  bias: Float32Array | null,
  o: { padding: 'SAME' | 'VALID'; strideH: number; strideW: number; dilationH: number; dilationW: number },
  outShape: number[],
): T4 {
  const [n, ih, iw, ic] = x.shape as [number, number, number, number];
  const [, kh, kw, oc] = w.shape as [number, number, number, number];
  const m = oc / ic;
  const [, oh, ow] = outShape as [number, number, number];
  const pt = tflitePadBefore(o.padding, ih, oh, kh, o.strideH, o.dilationH);
  const pl = tflitePadBefore(o.padding, iw, ow, kw, o.strideW, o.dilationW);
  const out = new Float32Array(n * oh * ow * oc);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let c = 0; c < oc; c++) {
          const cin = Math.floor(c / m);
          let acc = bias ? bias[c]! : 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = y * o.strideH - pt + ky * o.dilationH;
            if (iy < 0 || iy >= ih) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = xx * o.strideW - pl + kx * o.dilationW;
              if (ix < 0 || ix >= iw) continue;
              acc += x.data[((b * ih + iy) * iw + ix) * ic + cin]! * w.data[(ky * kw + kx) * oc + c]!;
            }
          }
          out[((b * oh + y) * ow + xx) * oc + c] = acc;
        }
  return { shape: [n, oh, ow, oc], data: out };
}

/** Transposed conv (TRANSPOSE_CONV / Convolution2DTransposeBias); w is OHWI; scatter then crop. */
function refTransposeConv(
  x: T4,
  w: T4,
  bias: Float32Array | null,
  padding: 'SAME' | 'VALID',
  strideH: number,
  strideW: number,
  outShape: number[],
): T4 {
  const [n, ih, iw, ic] = x.shape as [number, number, number, number];
  const [oc, kh, kw] = w.shape as [number, number, number];
  const [, oh, ow] = outShape as [number, number, number];
  // TFLite: padding as for a forward conv from the output size back to the input size.
  const pt = tflitePadBefore(padding, oh, ih, kh, strideH);
  const pl = tflitePadBefore(padding, ow, iw, kw, strideW);
  const out = new Float32Array(n * oh * ow * oc);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh * ow; i++)
      for (let c = 0; c < oc; c++) out[(b * oh * ow + i) * oc + c] = bias ? bias[c]! : 0;
    for (let y = 0; y < ih; y++)
      for (let xx = 0; xx < iw; xx++)
        for (let ky = 0; ky < kh; ky++) {
          const oy = y * strideH - pt + ky;
          if (oy < 0 || oy >= oh) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ox = xx * strideW - pl + kx;
            if (ox < 0 || ox >= ow) continue;
            for (let c = 0; c < oc; c++) {
              let acc = 0;
              for (let k = 0; k < ic; k++)
                acc +=
                  x.data[((b * ih + y) * iw + xx) * ic + k]! * w.data[((c * kh + ky) * kw + kx) * ic + k]!;
              out[((b * oh + oy) * ow + ox) * oc + c]! += acc;
            }
          }
        }
  }
  return { shape: [n, oh, ow, oc], data: out };
}

/** AVERAGE_POOL_2D: the divisor counts only in-bounds pixels. */
function refAvgPool(
  x: T4,
  o: { padding: 'SAME' | 'VALID'; strideH: number; strideW: number; filterH: number; filterW: number },
  outShape: number[],
): T4 {
  const [n, ih, iw, c] = x.shape as [number, number, number, number];
  const [, oh, ow] = outShape as [number, number, number];
  const pt = tflitePadBefore(o.padding, ih, oh, o.filterH, o.strideH);
  const pl = tflitePadBefore(o.padding, iw, ow, o.filterW, o.strideW);
  const out = new Float32Array(n * oh * ow * c);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          let cnt = 0;
          for (let ky = 0; ky < o.filterH; ky++) {
            const iy = y * o.strideH - pt + ky;
            if (iy < 0 || iy >= ih) continue;
            for (let kx = 0; kx < o.filterW; kx++) {
              const ix = xx * o.strideW - pl + kx;
              if (ix < 0 || ix >= iw) continue;
              acc += x.data[((b * ih + iy) * iw + ix) * c + ch]!;
              cnt++;
            }
          }
          out[((b * oh + y) * ow + xx) * c + ch] = acc / cnt;
        }
  return { shape: [n, oh, ow, c], data: out };
}

/** MEAN over H and W with keep_dims. */
function refMeanHW(x: T4): T4 {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const out = new Float32Array(n * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h * w; i++)
      for (let ch = 0; ch < c; ch++) out[b * c + ch]! += x.data[(b * h * w + i) * c + ch]!;
  for (let i = 0; i < out.length; i++) out[i]! /= h * w;
  return { shape: [n, 1, 1, c], data: out };
}

/** RESIZE_BILINEAR, TF kernel semantics (legacy / half-pixel / align-corners scalers). */
function refResize(x: T4, oh: number, ow: number, alignCorners: boolean, halfPixel: boolean): T4 {
  const [n, ih, iw, c] = x.shape as [number, number, number, number];
  const scale = (inS: number, outS: number) =>
    alignCorners && outS > 1 ? (inS - 1) / (outS - 1) : inS / outS;
  const sy = scale(ih, oh);
  const sx = scale(iw, ow);
  const out = new Float32Array(n * oh * ow * c);
  const weights = (o: number, s: number, inS: number) => {
    const src = halfPixel ? (o + 0.5) * s - 0.5 : o * s;
    const lo = Math.max(Math.floor(src), 0);
    const hi = Math.min(Math.ceil(src), inS - 1);
    return { lo, hi, f: src - Math.floor(src) };
  };
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++) {
      const wy = weights(y, sy, ih);
      for (let xx = 0; xx < ow; xx++) {
        const wx = weights(xx, sx, iw);
        for (let ch = 0; ch < c; ch++) {
          const at = (yy: number, xq: number) => x.data[((b * ih + yy) * iw + xq) * c + ch]!;
          const top = at(wy.lo, wx.lo) + (at(wy.lo, wx.hi) - at(wy.lo, wx.lo)) * wx.f;
          const bot = at(wy.hi, wx.lo) + (at(wy.hi, wx.hi) - at(wy.hi, wx.lo)) * wx.f;
          out[((b * oh + y) * ow + xx) * c + ch] = top + (bot - top) * wy.f;
        }
      }
    }
  return { shape: [n, oh, ow, c], data: out };
}

/** Numpy-style broadcast of two rank-4 tensors. */
function refBinary(a: T4, b: T4, f: (p: number, q: number) => number): T4 {
  const shape = a.shape.map((d, i) => Math.max(d, b.shape[i]!));
  const out = new Float32Array(size(shape));
  const strides = (s: number[]) => {
    const st = [0, 0, 0, 0];
    let acc = 1;
    for (let i = 3; i >= 0; i--) {
      st[i] = s[i] === 1 ? 0 : acc;
      acc *= s[i]!;
    }
    return st;
  };
  const sa = strides(a.shape);
  const sb = strides(b.shape);
  let o = 0;
  for (let i0 = 0; i0 < shape[0]!; i0++)
    for (let i1 = 0; i1 < shape[1]!; i1++)
      for (let i2 = 0; i2 < shape[2]!; i2++)
        for (let i3 = 0; i3 < shape[3]!; i3++) {
          const ia = i0 * sa[0]! + i1 * sa[1]! + i2 * sa[2]! + i3 * sa[3]!;
          const ib = i0 * sb[0]! + i1 * sb[1]! + i2 * sb[2]! + i3 * sb[3]!;
          out[o++] = f(a.data[ia]!, b.data[ib]!);
        }
  return { shape, data: out };
}

function fp16ToFp32(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h >> 15 ? -1 : 1;
  if (e === 0) return (s * m) / 16777216;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** Run a whole TFLite subgraph with the reference kernels above. */
function runReference(model: TfliteModel, input: Float32Array): Float32Array {
  const sg = model.subgraphs[0]!;
  const vals = new Map<number, T4>();
  const get = (i: number): T4 => {
    const v = vals.get(i);
    if (v) return v;
    const t = sg.tensors[i]!;
    if (t.data && t.type === TensorType.FLOAT32) {
      const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const d = new Float32Array(size(t.shape));
      for (let k = 0; k < d.length; k++) d[k] = dv.getFloat32(4 * k, true);
      return { shape: t.shape, data: d };
    }
    if (t.data && t.type === TensorType.INT32) {
      const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      return {
        shape: t.shape,
        data: Float32Array.from({ length: size(t.shape) }, (_, k) => dv.getInt32(4 * k, true)),
      };
    }
    throw new Error(`reference: tensor ${t.name} unavailable`);
  };
  vals.set(sg.inputs[0]!, { shape: sg.tensors[sg.inputs[0]!]!.shape, data: input });
  for (const op of sg.operators) {
    const outIdx = op.outputs[0]!;
    const outShape = sg.tensors[outIdx]!.shape;
    const o = op.builtinOptions;
    let r: T4;
    switch (operatorName(op.opcode)) {
      case 'DEQUANTIZE': {
        const t = sg.tensors[op.inputs[0]!]!;
        assert.equal(t.type, TensorType.FLOAT16);
        const dv = new DataView(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
        const d = new Float32Array(size(t.shape));
        for (let k = 0; k < d.length; k++) d[k] = fp16ToFp32(dv.getUint16(2 * k, true));
        r = { shape: t.shape, data: d };
        break;
      }
      case 'CONV_2D':
        assert.equal(o.kind, 'conv2d');
        r = refConv(get(op.inputs[0]!), get(op.inputs[1]!), get(op.inputs[2]!).data, o as never, outShape);
        r.data = applyActivation(r.data, (o as { activation: string }).activation);
        break;
      case 'DEPTHWISE_CONV_2D':
        assert.equal(o.kind, 'depthwise');
        r = refDepthwise(
          get(op.inputs[0]!),
          get(op.inputs[1]!),
          get(op.inputs[2]!).data,
          o as never,
          outShape,
        );
        r.data = applyActivation(r.data, (o as { activation: string }).activation);
        break;
      case 'AVERAGE_POOL_2D':
        assert.equal(o.kind, 'pool2d');
        r = refAvgPool(get(op.inputs[0]!), o as never, outShape);
        break;
      case 'MEAN': {
        const axes = Array.from(get(op.inputs[1]!).data);
        assert.deepEqual(axes, [1, 2]);
        r = refMeanHW(get(op.inputs[0]!));
        break;
      }
      case 'ADD':
        r = refBinary(get(op.inputs[0]!), get(op.inputs[1]!), (p, q) => p + q);
        break;
      case 'MUL':
        r = refBinary(get(op.inputs[0]!), get(op.inputs[1]!), (p, q) => p * q);
        break;
      case 'HARD_SWISH': {
        const x = get(op.inputs[0]!);
        r = { shape: x.shape, data: x.data.map((v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6) };
        break;
      }
      case 'RELU': {
        const x = get(op.inputs[0]!);
        r = { shape: x.shape, data: x.data.map((v) => Math.max(v, 0)) };
        break;
      }
      case 'LOGISTIC': {
        const x = get(op.inputs[0]!);
        r = { shape: x.shape, data: x.data.map((v) => 1 / (1 + Math.exp(-v))) };
        break;
      }
      case 'RESIZE_BILINEAR': {
        assert.equal(o.kind, 'resize-bilinear');
        const rb = o as { alignCorners: boolean; halfPixelCenters: boolean };
        r = refResize(get(op.inputs[0]!), outShape[1]!, outShape[2]!, rb.alignCorners, rb.halfPixelCenters);
        break;
      }
      case 'CUSTOM(Convolution2DTransposeBias)': {
        const p = parseTransposeConvBiasOptions(op.customOptions);
        r = refTransposeConv(
          get(op.inputs[0]!),
          get(op.inputs[1]!),
          get(op.inputs[2]!).data,
          p.padding,
          p.strideH,
          p.strideW,
          outShape,
        );
        break;
      }
      default:
        throw new Error(`reference: ${operatorName(op.opcode)} not implemented`);
    }
    assert.deepEqual(r.shape, outShape, `reference shape of op ${op.index}`);
    vals.set(outIdx, r);
  }
  return vals.get(sg.outputs[0]!)!.data;
}

// ---- a tiny TFLite writer for synthetic graphs -------------------------------------------------

interface SynthTensor {
  shape: number[];
  type?: number;
  /** Raw little-endian bytes of a constant. */
  data?: Uint8Array;
}
interface SynthOp {
  code: number;
  custom?: string;
  inputs: number[];
  outputs: number[];
  optionsType?: number;
  options?: (b: Builder) => number;
  customOptions?: Uint8Array;
}

function f32Bytes(a: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i]!, true);
  return out;
}
function i32Bytes(a: number[]): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  a.forEach((v, i) => dv.setInt32(4 * i, v, true));
  return out;
}
function fp32ToFp16(v: number): number {
  // Only for exactly representable test values (multiples of 1/1024 in [-2, 2]).
  if (v === 0) return 0;
  const s = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const m = Math.round((a / 2 ** e - 1) * 1024);
  return s | ((e + 15) << 10) | m;
}

function int32Vec(b: Builder, xs: number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]!);
  return b.endVector();
}
function offVec(b: Builder, xs: number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addOffset(xs[i]!);
  return b.endVector();
}

function buildTflite(
  tensors: SynthTensor[],
  ops: SynthOp[],
  inputs: number[],
  outputs: number[],
): Uint8Array {
  const b = new Builder(4096);
  const bufferData: Uint8Array[] = [new Uint8Array(0)];
  const tensorBuffer = tensors.map((t) => (t.data ? bufferData.push(t.data) - 1 : 0));
  const bufferOffs = bufferData.map((d) => {
    const dataOff = d.length ? b.createByteVector(d) : 0;
    b.startObject(3);
    if (dataOff) b.addFieldOffset(0, dataOff, 0);
    return b.endObject();
  });
  const tensorOffs = tensors.map((t, i) => {
    const shape = int32Vec(b, t.shape);
    const name = b.createString(`t${i}`);
    b.startObject(8);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, t.type ?? TensorType.FLOAT32, 0);
    b.addFieldInt32(2, tensorBuffer[i]!, 0);
    b.addFieldOffset(3, name, 0);
    return b.endObject();
  });
  const codes: string[] = [];
  const opcodeIndex = ops.map((op) => {
    const key = `${op.code}/${op.custom ?? ''}`;
    let k = codes.indexOf(key);
    if (k < 0) k = codes.push(key) - 1;
    return k;
  });
  const codeOffs = codes.map((key) => {
    const [code, custom] = key.split('/') as [string, string];
    const customOff = custom ? b.createString(custom) : 0;
    b.startObject(4);
    b.addFieldInt8(0, Math.min(Number(code), 127), 0);
    if (customOff) b.addFieldOffset(1, customOff, 0);
    b.addFieldInt32(2, 1, 1);
    b.addFieldInt32(3, Number(code), 0);
    return b.endObject();
  });
  const opOffs = ops.map((op, i) => {
    const ins = int32Vec(b, op.inputs);
    const outs = int32Vec(b, op.outputs);
    const opts = op.options ? op.options(b) : 0;
    const custom = op.customOptions ? b.createByteVector(op.customOptions) : 0;
    b.startObject(7);
    b.addFieldInt32(0, opcodeIndex[i]!, 0);
    b.addFieldOffset(1, ins, 0);
    b.addFieldOffset(2, outs, 0);
    if (op.optionsType) b.addFieldInt8(3, op.optionsType, 0);
    if (opts) b.addFieldOffset(4, opts, 0);
    if (custom) b.addFieldOffset(5, custom, 0);
    return b.endObject();
  });
  const tv = offVec(b, tensorOffs);
  const iv = int32Vec(b, inputs);
  const ov = int32Vec(b, outputs);
  const opv = offVec(b, opOffs);
  const sgName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(0, tv, 0);
  b.addFieldOffset(1, iv, 0);
  b.addFieldOffset(2, ov, 0);
  b.addFieldOffset(3, opv, 0);
  b.addFieldOffset(4, sgName, 0);
  const sg = b.endObject();
  const codesV = offVec(b, codeOffs);
  const sgV = offVec(b, [sg]);
  const bufV = offVec(b, bufferOffs);
  const desc = b.createString('synthetic test graph');
  b.startObject(5);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, codesV, 0);
  b.addFieldOffset(2, sgV, 0);
  b.addFieldOffset(3, desc, 0);
  b.addFieldOffset(4, bufV, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

const PAD = { SAME: 0, VALID: 1 } as const;
const ACT = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 } as const;

function convOptions(pad: 'SAME' | 'VALID', sh: number, sw: number, act: keyof typeof ACT, dh = 1, dw = 1) {
  return (b: Builder) => {
    b.startObject(6);
    b.addFieldInt8(0, PAD[pad], 0);
    b.addFieldInt32(1, sw, 0);
    b.addFieldInt32(2, sh, 0);
    b.addFieldInt8(3, ACT[act], 0);
    b.addFieldInt32(4, dw, 1);
    b.addFieldInt32(5, dh, 1);
    return b.endObject();
  };
}
function depthwiseOptions(
  pad: 'SAME' | 'VALID',
  sh: number,
  sw: number,
  mult: number,
  act: keyof typeof ACT,
) {
  return (b: Builder) => {
    b.startObject(7);
    b.addFieldInt8(0, PAD[pad], 0);
    b.addFieldInt32(1, sw, 0);
    b.addFieldInt32(2, sh, 0);
    b.addFieldInt32(3, mult, 0);
    b.addFieldInt8(4, ACT[act], 0);
    return b.endObject();
  };
}
function poolOptions(pad: 'SAME' | 'VALID', sh: number, sw: number, fh: number, fw: number) {
  return (b: Builder) => {
    b.startObject(6);
    b.addFieldInt8(0, PAD[pad], 0);
    b.addFieldInt32(1, sw, 0);
    b.addFieldInt32(2, sh, 0);
    b.addFieldInt32(3, fw, 0);
    b.addFieldInt32(4, fh, 0);
    return b.endObject();
  };
}
function resizeOptions(alignCorners: boolean, halfPixel: boolean) {
  return (b: Builder) => {
    b.startObject(4);
    b.addFieldInt8(2, alignCorners ? 1 : 0, 0);
    b.addFieldInt8(3, halfPixel ? 1 : 0, 0);
    return b.endObject();
  };
}
function transposeConvBiasOptions(padding: 1 | 2, sw: number, sh: number): Uint8Array {
  return i32Bytes([padding, sw, sh]);
}

/** One-op graph: input tensor 0 (activation), constants after it, output last. */
async function runSingleOp(
  inShape: number[],
  consts: SynthTensor[],
  outShape: number[],
  op: Omit<SynthOp, 'inputs' | 'outputs'> & { inputs?: number[] },
  input: Float32Array,
): Promise<{ onnxOut: Float32Array; tflite: Uint8Array }> {
  const tensors: SynthTensor[] = [{ shape: inShape }, ...consts, { shape: outShape }];
  const outIdx = tensors.length - 1;
  const tflite = buildTflite(
    tensors,
    [{ ...op, inputs: op.inputs ?? tensors.slice(0, -1).map((_, i) => i), outputs: [outIdx] }],
    [0],
    [outIdx],
  );
  const out = await runOnnx(convertTfliteToOnnx(tflite), input, inShape);
  assert.deepEqual(out.dims, outShape);
  return { onnxOut: out.data as Float32Array, tflite };
}

// ---- op-level tests ------------------------------------------------------------------------------

describe('TFLite reader and op mappings', () => {
  test('SAME padding is asymmetric with the extra pixel at the end, like TFLite', () => {
    assert.deepEqual(samePadding(256, 3, 2), { out: 128, before: 0, after: 1 });
    assert.deepEqual(samePadding(32, 5, 2), { out: 16, before: 1, after: 2 });
    assert.deepEqual(samePadding(16, 5, 1), { out: 16, before: 2, after: 2 });
    assert.deepEqual(samePadding(7, 3, 1, 2), { out: 7, before: 2, after: 2 });
  });

  test('Convolution2DTransposeBias options decode as TfLiteTransposeConvParams', () => {
    // The bytes stored in both selfie models.
    assert.deepEqual(parseTransposeConvBiasOptions(Uint8Array.from([1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0])), {
      padding: 'SAME',
      strideW: 2,
      strideH: 2,
    });
    assert.deepEqual(parseTransposeConvBiasOptions(i32Bytes([2, 3, 1])), {
      padding: 'VALID',
      strideW: 3,
      strideH: 1,
    });
    assert.throws(() => parseTransposeConvBiasOptions(i32Bytes([0, 2, 2])), /unknown padding/);
    assert.throws(() => parseTransposeConvBiasOptions(new Uint8Array(4)), /12 bytes/);
  });

  test('rejects non-TFLite input and unsupported operators with clear errors', () => {
    assert.throws(
      () => readTflite(new TextEncoder().encode('definitely not a flatbuffer')),
      TfliteFormatError,
    );
    const softmax = buildTflite(
      [{ shape: [1, 4] }, { shape: [1, 4] }],
      [{ code: 25, inputs: [0], outputs: [1] }],
      [0],
      [1],
    );
    assert.throws(
      () => convertTfliteToOnnx(softmax),
      (e: Error) => e instanceof TfliteConversionError && /SOFTMAX/.test(e.message),
    );
    const custom = buildTflite(
      [{ shape: [1, 2, 2, 1] }, { shape: [1, 2, 2, 1] }],
      [{ code: BuiltinOperator.CUSTOM, custom: 'MaxPoolingWithArgmax2D', inputs: [0], outputs: [1] }],
      [0],
      [1],
    );
    assert.throws(
      () => convertTfliteToOnnx(custom),
      /custom operator "MaxPoolingWithArgmax2D" is not supported/,
    );
  });

  test('CONV_2D stride 2 SAME matches a hand-computed result (pads bottom/right only)', async () => {
    // 4×4 input 1..16, 3×3 kernel of ones, bias 0.5. TFLite pads 0 rows on top and 1 at the bottom.
    const input = Float32Array.from({ length: 16 }, (_, i) => i + 1);
    const { onnxOut } = await runSingleOp(
      [1, 4, 4, 1],
      [
        { shape: [1, 3, 3, 1], data: f32Bytes(new Array(9).fill(1)) },
        { shape: [1], data: f32Bytes([0.5]) },
      ],
      [1, 2, 2, 1],
      { code: BuiltinOperator.CONV_2D, optionsType: 1, options: convOptions('SAME', 2, 2, 'NONE') },
      input,
    );
    // (1+2+3+5+6+7+9+10+11), (3+4+7+8+11+12), (9+10+11+13+14+15), (11+12+15+16); a symmetric pad would give 14 first.
    assert.deepEqual(Array.from(onnxOut), [54.5, 45.5, 72.5, 54.5]);
  });

  test('CONV_2D with OHWI weights, non-square kernel, odd sizes, fused RELU6 and dilation', async () => {
    const cases = [
      { inShape: [1, 7, 9, 3], k: [3, 2], s: [2, 2], d: [1, 1], pad: 'SAME' as const, act: 'RELU6' as const },
      { inShape: [1, 8, 6, 2], k: [3, 3], s: [1, 1], d: [2, 2], pad: 'SAME' as const, act: 'NONE' as const },
      { inShape: [1, 9, 7, 3], k: [5, 3], s: [2, 1], d: [1, 1], pad: 'VALID' as const, act: 'RELU' as const },
    ];
    for (const [ci, c] of cases.entries()) {
      const oc = 4;
      const ic = c.inShape[3]!;
      const wShape = [oc, c.k[0]!, c.k[1]!, ic];
      const w = randomArray(size(wShape), 10 + ci);
      const bias = randomArray(oc, 20 + ci);
      const x = randomArray(size(c.inShape), 30 + ci, -3, 3);
      const eff = (k: number, d: number) => (k - 1) * d + 1;
      const oh =
        c.pad === 'SAME'
          ? Math.ceil(c.inShape[1]! / c.s[0]!)
          : Math.floor((c.inShape[1]! - eff(c.k[0]!, c.d[0]!)) / c.s[0]!) + 1;
      const ow =
        c.pad === 'SAME'
          ? Math.ceil(c.inShape[2]! / c.s[1]!)
          : Math.floor((c.inShape[2]! - eff(c.k[1]!, c.d[1]!)) / c.s[1]!) + 1;
      const outShape = [1, oh, ow, oc];
      const { onnxOut } = await runSingleOp(
        c.inShape,
        [
          { shape: wShape, data: f32Bytes(w) },
          { shape: [oc], data: f32Bytes(bias) },
        ],
        outShape,
        {
          code: BuiltinOperator.CONV_2D,
          optionsType: 1,
          options: convOptions(c.pad, c.s[0]!, c.s[1]!, c.act, c.d[0]!, c.d[1]!),
        },
        x,
      );
      const ref = refConv(
        { shape: c.inShape, data: x },
        { shape: wShape, data: w },
        bias,
        { padding: c.pad, strideH: c.s[0]!, strideW: c.s[1]!, dilationH: c.d[0]!, dilationW: c.d[1]! },
        outShape,
      );
      applyActivation(ref.data, c.act);
      assert.ok(
        maxAbsDiff(onnxOut, ref.data) < 1e-5,
        `case ${ci}: max diff ${maxAbsDiff(onnxOut, ref.data)}`,
      );
    }
  });

  test('DEPTHWISE_CONV_2D with 1HWO weights, depth multiplier 2, non-square kernel, stride 2 SAME', async () => {
    const inShape = [1, 9, 8, 3];
    const wShape = [1, 3, 5, 6];
    const w = randomArray(size(wShape), 1);
    const bias = randomArray(6, 2);
    const x = randomArray(size(inShape), 3, -2, 2);
    const outShape = [1, 5, 4, 6];
    const { onnxOut } = await runSingleOp(
      inShape,
      [
        { shape: wShape, data: f32Bytes(w) },
        { shape: [6], data: f32Bytes(bias) },
      ],
      outShape,
      {
        code: BuiltinOperator.DEPTHWISE_CONV_2D,
        optionsType: 2,
        options: depthwiseOptions('SAME', 2, 2, 2, 'NONE'),
      },
      x,
    );
    const ref = refDepthwise(
      { shape: inShape, data: x },
      { shape: wShape, data: w },
      bias,
      { padding: 'SAME', strideH: 2, strideW: 2, dilationH: 1, dilationW: 1 },
      outShape,
    );
    assert.ok(maxAbsDiff(onnxOut, ref.data) < 1e-5, `max diff ${maxAbsDiff(onnxOut, ref.data)}`);
  });

  test('Convolution2DTransposeBias: ConvTranspose with OHWI weights, bias, TFLite padding', async () => {
    const cases = [
      { inShape: [1, 5, 4, 3], k: [2, 2], s: 2, pad: 1 as const, out: [10, 8] }, // as in the selfie models
      { inShape: [1, 4, 3, 2], k: [3, 3], s: 2, pad: 1 as const, out: [8, 6] }, // SAME, total pad 1
      { inShape: [1, 3, 4, 2], k: [4, 3], s: 2, pad: 2 as const, out: [8, 9] }, // VALID
      { inShape: [1, 3, 3, 2], k: [1, 1], s: 2, pad: 1 as const, out: [6, 6] }, // kernel < stride
    ];
    for (const [ci, c] of cases.entries()) {
      const oc = 2;
      const wShape = [oc, c.k[0]!, c.k[1]!, c.inShape[3]!];
      const w = randomArray(size(wShape), 40 + ci);
      const bias = randomArray(oc, 50 + ci);
      const x = randomArray(size(c.inShape), 60 + ci);
      const outShape = [1, c.out[0]!, c.out[1]!, oc];
      const { onnxOut } = await runSingleOp(
        c.inShape,
        [
          { shape: wShape, data: f32Bytes(w) },
          { shape: [oc], data: f32Bytes(bias) },
        ],
        outShape,
        {
          code: BuiltinOperator.CUSTOM,
          custom: 'Convolution2DTransposeBias',
          customOptions: transposeConvBiasOptions(c.pad, c.s, c.s),
        },
        x,
      );
      const ref = refTransposeConv(
        { shape: c.inShape, data: x },
        { shape: wShape, data: w },
        bias,
        c.pad === 1 ? 'SAME' : 'VALID',
        c.s,
        c.s,
        outShape,
      );
      assert.ok(
        maxAbsDiff(onnxOut, ref.data) < 1e-5,
        `case ${ci}: max diff ${maxAbsDiff(onnxOut, ref.data)}`,
      );
    }
  });

  test('RESIZE_BILINEAR: half_pixel_centers, align_corners and legacy modes, non-integer scales', async () => {
    const cases = [
      { inHW: [5, 7], outHW: [10, 14], align: false, half: true },
      { inHW: [3, 4], outHW: [7, 9], align: false, half: true },
      { inHW: [3, 4], outHW: [7, 9], align: true, half: false },
      { inHW: [4, 5], outHW: [6, 11], align: false, half: false },
    ];
    for (const [ci, c] of cases.entries()) {
      const inShape = [1, c.inHW[0]!, c.inHW[1]!, 3];
      const outShape = [1, c.outHW[0]!, c.outHW[1]!, 3];
      const x = randomArray(size(inShape), 70 + ci);
      const { onnxOut } = await runSingleOp(
        inShape,
        [{ shape: [2], type: TensorType.INT32, data: i32Bytes(c.outHW) }],
        outShape,
        { code: BuiltinOperator.RESIZE_BILINEAR, optionsType: 15, options: resizeOptions(c.align, c.half) },
        x,
      );
      const ref = refResize({ shape: inShape, data: x }, c.outHW[0]!, c.outHW[1]!, c.align, c.half);
      assert.ok(
        maxAbsDiff(onnxOut, ref.data) < 1e-5,
        `case ${ci}: max diff ${maxAbsDiff(onnxOut, ref.data)}`,
      );
    }
  });

  test('AVERAGE_POOL_2D (SAME excludes padding from the divisor) and MEAN over H,W', async () => {
    const inShape = [1, 5, 6, 2];
    const x = randomArray(size(inShape), 80);
    const { onnxOut } = await runSingleOp(
      inShape,
      [],
      [1, 3, 3, 2],
      { code: BuiltinOperator.AVERAGE_POOL_2D, optionsType: 5, options: poolOptions('SAME', 2, 2, 3, 3) },
      x,
    );
    const ref = refAvgPool(
      { shape: inShape, data: x },
      { padding: 'SAME', strideH: 2, strideW: 2, filterH: 3, filterW: 3 },
      [1, 3, 3, 2],
    );
    assert.ok(maxAbsDiff(onnxOut, ref.data) < 1e-6);

    const mean = await runSingleOp(
      inShape,
      [{ shape: [2], type: TensorType.INT32, data: i32Bytes([1, 2]) }],
      [1, 1, 1, 2],
      {
        code: BuiltinOperator.MEAN,
        optionsType: 27,
        options: (b) => {
          b.startObject(1);
          b.addFieldInt8(0, 1, 0);
          return b.endObject();
        },
      },
      x,
    );
    assert.ok(maxAbsDiff(mean.onnxOut, refMeanHW({ shape: inShape, data: x }).data) < 1e-6);
  });

  test('fp16 DEQUANTIZE is folded; HARD_SWISH, MUL broadcast, ADD, LOGISTIC and CONCATENATION map exactly', async () => {
    // in(1×3×4×2) → conv 1×1 (fp16 weights) → HARD_SWISH → MUL by a 1×1×1×2 gate (pool → LOGISTIC)
    // → ADD in → CONCATENATION with in along channels.
    const inShape = [1, 3, 4, 2];
    const wVals = [0.5, -1.25, 1.5, 0.75]; // exact in fp16
    const bVals = [0.25, -0.5];
    const fp16 = (vs: number[]) => {
      const out = new Uint8Array(vs.length * 2);
      const dv = new DataView(out.buffer);
      vs.forEach((v, i) => dv.setUint16(2 * i, fp32ToFp16(v), true));
      return out;
    };
    const tensors: SynthTensor[] = [
      { shape: inShape }, // 0 input
      { shape: [2, 1, 1, 2], type: TensorType.FLOAT16, data: fp16(wVals) }, // 1
      { shape: [2], type: TensorType.FLOAT16, data: fp16(bVals) }, // 2
      { shape: [2, 1, 1, 2] }, // 3 dequantized w
      { shape: [2] }, // 4 dequantized b
      { shape: inShape }, // 5 conv
      { shape: inShape }, // 6 hswish
      { shape: [1, 1, 1, 2] }, // 7 pool
      { shape: [1, 1, 1, 2] }, // 8 sigmoid
      { shape: inShape }, // 9 mul
      { shape: inShape }, // 10 add
      { shape: [1, 3, 4, 4] }, // 11 concat
    ];
    const tflite = buildTflite(
      tensors,
      [
        { code: BuiltinOperator.DEQUANTIZE, inputs: [1], outputs: [3] },
        { code: BuiltinOperator.DEQUANTIZE, inputs: [2], outputs: [4] },
        {
          code: BuiltinOperator.CONV_2D,
          inputs: [0, 3, 4],
          outputs: [5],
          optionsType: 1,
          options: convOptions('SAME', 1, 1, 'NONE'),
        },
        { code: BuiltinOperator.HARD_SWISH, inputs: [5], outputs: [6] },
        {
          code: BuiltinOperator.AVERAGE_POOL_2D,
          inputs: [6],
          outputs: [7],
          optionsType: 5,
          options: poolOptions('VALID', 3, 4, 3, 4),
        },
        { code: BuiltinOperator.LOGISTIC, inputs: [7], outputs: [8] },
        { code: BuiltinOperator.MUL, inputs: [6, 8], outputs: [9], optionsType: 21 },
        { code: BuiltinOperator.ADD, inputs: [9, 0], outputs: [10], optionsType: 11 },
        {
          code: BuiltinOperator.CONCATENATION,
          inputs: [10, 0],
          outputs: [11],
          optionsType: 10,
          options: (b) => {
            b.startObject(2);
            b.addFieldInt32(0, -1, 0);
            return b.endObject();
          },
        },
      ],
      [0],
      [11],
    );
    const x = randomArray(size(inShape), 90, -5, 5);
    const out = await runOnnx(convertTfliteToOnnx(tflite), x, inShape);
    assert.deepEqual(out.dims, [1, 3, 4, 4]);
    // Expected, straight from the definitions.
    const conv = refConv(
      { shape: inShape, data: x },
      { shape: [2, 1, 1, 2], data: Float32Array.from(wVals) },
      Float32Array.from(bVals),
      { padding: 'SAME', strideH: 1, strideW: 1, dilationH: 1, dilationW: 1 },
      inShape,
    );
    const hs = conv.data.map((v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6);
    const gate = refMeanHW({ shape: inShape, data: hs }).data.map((v) => 1 / (1 + Math.exp(-v)));
    const expected = new Float32Array(size([1, 3, 4, 4]));
    for (let p = 0; p < 12; p++)
      for (let c = 0; c < 2; c++) {
        expected[p * 4 + c] = hs[p * 2 + c]! * gate[c]! + x[p * 2 + c]!;
        expected[p * 4 + 2 + c] = x[p * 2 + c]!;
      }
    assert.ok(
      maxAbsDiff(out.data as Float32Array, expected) < 1e-5,
      `max diff ${maxAbsDiff(out.data as Float32Array, expected)}`,
    );
  });
});

// ---- the selfie models ---------------------------------------------------------------------------

const VARIANTS: SelfieVariant[] = ['square', 'landscape'];

/** RGB frames of the clip, decoded by ffmpeg to raw rgb24 on stdout. */
function decodeClip(file: string): { width: number; height: number; frames: Uint8Array[] } {
  const probe = spawnSync(
    FFMPEG.replace(/ffmpeg$/, 'ffprobe'),
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  let width = 360;
  let height = 288;
  if (probe.status === 0) [width, height] = probe.stdout.trim().split(',').map(Number) as [number, number];
  const r = spawnSync(FFMPEG, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, `ffmpeg failed: ${r.stderr?.toString()}`);
  const frameBytes = width * height * 3;
  const frames: Uint8Array[] = [];
  for (let o = 0; o + frameBytes <= r.stdout.length; o += frameBytes)
    frames.push(new Uint8Array(r.stdout.subarray(o, o + frameBytes)));
  return { width, height, frames };
}

/** Stretch an RGB frame to the model size (sharp, bilinear-ish) and scale to [0,1]. */
async function toModelInput(
  rgb: Uint8Array,
  width: number,
  height: number,
  mw: number,
  mh: number,
): Promise<Float32Array> {
  const data = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(mw, mh, { fit: 'fill' })
    .raw()
    .toBuffer();
  const x = new Float32Array(mw * mh * 3);
  for (let i = 0; i < x.length; i++) x[i] = data[i]! / 255;
  return x;
}

/** Half-pixel bilinear upsampling of a single-channel map. */
function upsample(a: Float32Array, w: number, h: number, W: number, H: number): Float32Array {
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * h) / H - 0.5, 0), h - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * w) / W - 0.5, 0), w - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = sx - x0;
      const top = a[y0 * w + x0]! * (1 - fx) + a[y0 * w + x1]! * fx;
      const bot = a[y1 * w + x0]! * (1 - fx) + a[y1 * w + x1]! * fx;
      out[y * W + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

describe('MediaPipe selfie segmentation → ONNX', () => {
  test('both models contain exactly the expected operators', async () => {
    const expected: Record<SelfieVariant, Record<string, number>> = {
      square: { AVERAGE_POOL_2D: 10 },
      landscape: { MEAN: 10 },
    };
    for (const v of VARIANTS) {
      const m = readTflite(await readSelfieTflite(v));
      const counts: Record<string, number> = {};
      for (const op of m.subgraphs[0]!.operators)
        counts[operatorName(op.opcode)] = (counts[operatorName(op.opcode)] ?? 0) + 1;
      assert.deepEqual(counts, {
        DEQUANTIZE: 110,
        CONV_2D: 43,
        HARD_SWISH: 11,
        RELU: 22,
        DEPTHWISE_CONV_2D: 11,
        LOGISTIC: 11,
        MUL: 10,
        ADD: 14,
        RESIZE_BILINEAR: 3,
        'CUSTOM(Convolution2DTransposeBias)': 1,
        ...expected[v],
      });
      const sg = m.subgraphs[0]!;
      const { width, height } = SELFIE_INPUT_SIZE[v];
      assert.deepEqual(sg.tensors[sg.inputs[0]!]!.shape, [1, height, width, 3]);
      assert.deepEqual(sg.tensors[sg.outputs[0]!]!.shape, [1, height, width, 1]);
    }
  });

  test('both variants convert deterministically, load in onnxruntime-node and return 1×H×W×1 in [0,1]', async () => {
    for (const v of VARIANTS) {
      const a = await buildSelfieModel(v);
      const b = await buildSelfieModel(v);
      assert.deepEqual(
        createHash('sha256').update(a).digest('hex'),
        createHash('sha256').update(b).digest('hex'),
      );
      const decoded = onnx.ModelProto.decode(a);
      assert.equal(decoded.graph?.input?.[0]?.name, 'input');
      assert.equal(decoded.graph?.output?.[0]?.name, 'output');
      const onnxOps = new Set(decoded.graph?.node?.map((n) => n.opType));
      assert.ok(onnxOps.has('ConvTranspose') && onnxOps.has('HardSwish') && onnxOps.has('Resize'));
      assert.equal(
        decoded.graph?.node?.filter((n) => n.opType === 'Transpose').length,
        2,
        'one Transpose in, one out',
      );
      const { width, height } = SELFIE_INPUT_SIZE[v];
      const out = await runOnnx(a, randomArray(width * height * 3, 5, 0, 1), [1, height, width, 3]);
      assert.deepEqual(out.dims, [1, height, width, 1]);
      for (const p of out.data as Float32Array) assert.ok(p >= 0 && p <= 1 && Number.isFinite(p));
    }
  });

  test('a missing package names the npm package to install', async () => {
    await assert.rejects(buildSelfieModel('square', path.join(projectRoot, 'no-such-dir')), (e: Error) =>
      e.message.includes('install the npm package @mediapipe/selfie_segmentation@0.1.1675465747 (npm ci)'),
    );
  });

  test(
    'the converted graphs match a plain-JS TFLite reference on a real frame; a broken conversion does not',
    { skip: clipSkip },
    async () => {
      const clip = decodeClip(clipPath);
      for (const v of VARIANTS) {
        const { width, height } = SELFIE_INPUT_SIZE[v];
        const tflite = await readSelfieTflite(v);
        const model = readTflite(tflite);
        const x = await toModelInput(clip.frames[30]!, clip.width, clip.height, width, height);
        const ref = runReference(model, x);
        const onnxBytes = convertTfliteToOnnx(tflite);
        const got = (await runOnnx(onnxBytes, x, [1, height, width, 3])).data as Float32Array;
        const diff = maxAbsDiff(got, ref);
        let meanDiff = 0;
        for (let i = 0; i < got.length; i++) meanDiff += Math.abs(got[i]! - ref[i]!) / got.length;
        console.log(
          `# ${v}: ONNX vs JS TFLite reference: max |Δp| ${diff.toExponential(2)}, mean ${meanDiff.toExponential(2)}`,
        );
        assert.ok(diff < 1e-4, `${v}: max diff ${diff}`);

        // Negative controls: each is a plausible converter mistake, and each must be caught.
        const mutations: Record<string, (m: ReturnType<typeof convertTfliteModel>) => void> = {
          'symmetric SAME padding in the first conv': (m) => {
            const conv = m.graph!.node!.find((n) => n.opType === 'Conv')!;
            conv.attribute!.find((a) => a.name === 'pads')!.ints = [1, 1, 1, 1];
          },
          'spatially flipped ConvTranspose kernel': (m) => {
            const wName = m.graph!.node!.find((n) => n.opType === 'ConvTranspose')!.input![1]!;
            const init = m.graph!.initializer!.find((t) => t.name === wName)!;
            const [ci, co, kh, kw] = init.dims!.map(Number) as [number, number, number, number];
            const src = new DataView(
              init.rawData!.buffer,
              init.rawData!.byteOffset,
              init.rawData!.byteLength,
            );
            const dst = new Uint8Array(init.rawData!.byteLength);
            const dv = new DataView(dst.buffer);
            for (let p = 0; p < ci * co; p++)
              for (let y = 0; y < kh; y++)
                for (let x = 0; x < kw; x++)
                  dv.setFloat32(
                    4 * ((p * kh + y) * kw + x),
                    src.getFloat32(4 * ((p * kh + kh - 1 - y) * kw + kw - 1 - x), true),
                    true,
                  );
            init.rawData = dst;
          },
          'asymmetric instead of half_pixel resize': (m) => {
            for (const n of m.graph!.node!.filter((q) => q.opType === 'Resize'))
              n.attribute!.find((a) => a.name === 'coordinate_transformation_mode')!.s =
                new TextEncoder().encode('asymmetric');
          },
        };
        for (const [what, mutate] of Object.entries(mutations)) {
          const broken = convertTfliteModel(model);
          mutate(broken);
          const bad = (await runOnnx(onnx.ModelProto.encode(broken).finish(), x, [1, height, width, 3]))
            .data as Float32Array;
          const badDiff = maxAbsDiff(bad, ref);
          console.log(`# ${v}: broken conversion (${what}): max |Δp| ${badDiff.toFixed(3)}`);
          assert.ok(badDiff > 1e-2, `${v}: "${what}" went unnoticed (max diff ${badDiff})`);
        }
      }
    },
  );

  test(
    'quality on real footage: IoU with a chroma-key ground truth on a blue-backdrop clip',
    { skip: clipSkip },
    async () => {
      // Pseudo ground truth: grid-lwbsza.mp4 is a woman in front of a flat cyan-blue backdrop. A pixel
      // is BACKGROUND when it is clearly blue-cyan: B − R > 60 and G − R > 40 (the backdrop measures
      // about (35,164,205) to (100,255,255); hair, skin and the dark top all have B − R < 60).
      // The backdrop does not reach the frame edges: columns 0–3 and rows 0–1 and 264–287 show a
      // grey panel that is background but not blue, so IoU is measured in the region x ≥ 4,
      // 2 ≤ y < 264 (checked below: the region's border rows/columns are almost all backdrop
      // wherever the person is not).
      const clip = decodeClip(clipPath);
      const { width: W, height: H } = clip;
      assert.equal(W, 360);
      assert.equal(H, 288);
      const X0 = 4;
      const Y0 = 2;
      const Y1 = 264;
      const isBackdrop = (f: Uint8Array, i: number) =>
        f[3 * i + 2]! - f[3 * i]! > 60 && f[3 * i + 1]! - f[3 * i]! > 40;
      const frameIdx = [0, 15, 30, 45, 60, clip.frames.length - 1];

      // The region really is backdrop at its top row and its left column's upper half.
      const f0 = clip.frames[0]!;
      let blueTop = 0;
      for (let x = X0; x < W; x++) blueTop += isBackdrop(f0, Y0 * W + x) ? 1 : 0;
      let blueLeft = 0;
      for (let y = Y0; y < 130; y++) blueLeft += isBackdrop(f0, y * W + X0) ? 1 : 0;
      assert.ok(blueTop / (W - X0) > 0.95 && blueLeft / (130 - Y0) > 0.9, 'chroma-key region sanity');

      for (const v of VARIANTS) {
        const { width, height } = SELFIE_INPUT_SIZE[v];
        const session = await ort.InferenceSession.create(await buildSelfieModel(v), SESSION_OPTIONS);
        const ious: number[] = [];
        let allForegroundIou = 0;
        for (const fi of frameIdx) {
          const frame = clip.frames[fi]!;
          const x = await toModelInput(frame, W, H, width, height);
          const out = (await session.run({ input: new ort.Tensor('float32', x, [1, height, width, 3]) }))
            .output!;
          const alpha = upsample(out.data as Float32Array, width, height, W, H);
          let inter = 0;
          let union = 0;
          let gtCount = 0;
          let total = 0;
          for (let y = Y0; y < Y1; y++)
            for (let xx = X0; xx < W; xx++) {
              const i = y * W + xx;
              const gt = !isBackdrop(frame, i);
              const pred = alpha[i]! > 0.5;
              if (gt && pred) inter++;
              if (gt || pred) union++;
              if (gt) gtCount++;
              total++;
            }
          ious.push(inter / union);
          allForegroundIou = Math.max(allForegroundIou, gtCount / total);
        }
        await session.release();
        const mean = ious.reduce((a, b) => a + b, 0) / ious.length;
        console.log(
          `# ${v}: IoU per frame ${ious.map((q) => q.toFixed(4)).join(' ')} (mean ${mean.toFixed(4)})`,
        );
        // The threshold has teeth: calling everything foreground scores at most this.
        assert.ok(allForegroundIou < 0.7, `all-foreground IoU ${allForegroundIou}`);
        for (const [k, iou] of ious.entries())
          assert.ok(iou >= 0.85, `${v} frame ${frameIdx[k]}: IoU ${iou.toFixed(4)} < 0.85`);
      }
    },
  );

  test('frames without a person give a low mean alpha (black frame, bare backdrop colour)', async () => {
    for (const v of VARIANTS) {
      const { width, height } = SELFIE_INPUT_SIZE[v];
      const model = await buildSelfieModel(v);
      const black = new Float32Array(width * height * 3);
      const backdrop = new Float32Array(width * height * 3);
      for (let i = 0; i < width * height; i++) backdrop.set([35 / 255, 164 / 255, 205 / 255], 3 * i);
      for (const [what, x] of Object.entries({ black, backdrop })) {
        const out = (await runOnnx(model, x, [1, height, width, 3])).data as Float32Array;
        const mean = out.reduce((a, b) => a + b, 0) / out.length;
        console.log(`# ${v}: mean alpha on a ${what} frame ${mean.toFixed(4)}`);
        assert.ok(mean < 0.05, `${v} ${what}: mean alpha ${mean}`);
      }
    }
  });
});
