// TFLite → ONNX converter for small float convolutional graphs (written for MediaPipe's selfie
// segmentation models, which use fp16 weights behind DEQUANTIZE ops and one MediaPipe custom op).
//
// Model interface (what the produced ONNX graph looks like):
//   - inputs keep the TFLite layout: a single 4-D input is named `input` and is NHWC float32
//     (for the selfie models 1×H×W×3 RGB in [0,1]); a single output is named `output`, NHWC
//     (1×H×W×1 sigmoid probability for the selfie models). Several inputs/outputs keep their
//     TFLite tensor names.
//   - internally every 4-D activation is NCHW: one Transpose after each 4-D graph input and one
//     before each 4-D graph output; every operator in between works on NCHW tensors, so ONNX
//     Runtime sees plain Conv/ConvTranspose/pooling nodes it can fuse.
//   - all shapes are static (taken from the TFLite tensors) and checked op by op.
//
// Conversion rules (TFLite semantics → ONNX):
//   - DEQUANTIZE of a constant (FLOAT16, or INT8/UINT8 with scale/zero-point) is folded at convert
//     time into a float32 initializer; DEQUANTIZE of a runtime tensor is rejected.
//   - CONV_2D weights are OHWI → ONNX OIHW; DEPTHWISE_CONV_2D weights are 1×H×W×(C·m) → ONNX
//     (C·m)×1×H×W with group = C. TRANSPOSE_CONV and MediaPipe's Convolution2DTransposeBias
//     weights are OHWI → ONNX ConvTranspose IOHW (no kernel flip: both scatter
//     out[y·s − pad + ky] += in[y]·w[ky]).
//   - SAME padding is explicit: total = max((out−1)·s + (k−1)·d + 1 − in, 0), with floor(total/2)
//     before and the rest after (TFLite puts the odd pixel at the end/bottom-right).
//   - Fused activations become a following Relu / Clip / Tanh node.
//   - AVERAGE_POOL_2D excludes padding from the divisor (count_include_pad = 0); a pool whose
//     window covers the whole (unpadded) input and MEAN over H,W become GlobalAveragePool.
//   - RESIZE_BILINEAR: half_pixel_centers → coordinate_transformation_mode "half_pixel",
//     align_corners → "align_corners", neither → "asymmetric" (TF's legacy scaler). TF clamps
//     the source coordinate into the image exactly as ONNX Runtime's linear Resize does.
//   - Convolution2DTransposeBias custom_options are the raw bytes of a C struct
//     TfLiteTransposeConvParams { TfLitePadding padding; int stride_width; int stride_height; }
//     (little-endian int32 each; TfLitePadding: 1 = SAME, 2 = VALID). In the selfie models they
//     are 01000000 02000000 02000000: SAME, stride 2×2.
//
// Anything else throws TfliteConversionError naming the operator.

import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import {
  BuiltinOperator,
  TensorType,
  operatorName,
  readTflite,
  tensorTypeName,
  type Conv2DOptions,
  type DepthwiseConv2DOptions,
  type TfliteActivation,
  type TfliteModel,
  type TfliteOperator,
  type TflitePadding,
  type TfliteSubgraph,
  type TfliteTensor,
} from './tflite-reader.ts';

const { onnx } = onnxProto;

/** ONNX opset this converter emits (default domain). */
export const ONNX_OPSET = 17;
const ONNX_IR_VERSION = 8;

export class TfliteConversionError extends Error {
  override name = 'TfliteConversionError';
}

export interface ConvertOptions {
  /** Name of the graph input when the model has exactly one input (default `input`). */
  inputName?: string;
  /** Name of the graph output when the model has exactly one output (default `output`). */
  outputName?: string;
}

/** Convert a .tflite file to serialized ONNX ModelProto bytes. Deterministic. */
export function convertTfliteToOnnx(tflite: Uint8Array, options: ConvertOptions = {}): Uint8Array {
  const model = convertTfliteModel(readTflite(tflite), options);
  return onnx.ModelProto.encode(model).finish();
}

// ---- numeric helpers ---------------------------------------------------------------------------

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Permute a dense row-major array: out.shape[i] = shape[perm[i]]. */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  if (perm.length !== rank) throw new Error('permute: rank mismatch');
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const stridesInOutOrder = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i]! * stridesInOutOrder[i]!;
    out[o] = data[src]!;
    for (let i = rank - 1; i >= 0; i--) {
      idx[i]!++;
      if (idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** NHWC axis → NCHW axis. */
const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1] as const;

/** TFLite-style explicit padding for one spatial dimension. */
export function samePadding(
  inSize: number,
  kernel: number,
  stride: number,
  dilation = 1,
): { out: number; before: number; after: number } {
  const out = Math.ceil(inSize / stride);
  const effK = (kernel - 1) * dilation + 1;
  const total = Math.max((out - 1) * stride + effK - inSize, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

function spatialPadding(
  padding: TflitePadding,
  inSize: number,
  kernel: number,
  stride: number,
  dilation = 1,
): { out: number; before: number; after: number } {
  if (!(stride >= 1)) throw new TfliteConversionError(`invalid stride ${stride}`);
  if (padding === 'SAME') return samePadding(inSize, kernel, stride, dilation);
  const effK = (kernel - 1) * dilation + 1;
  return { out: Math.floor((inSize - effK) / stride) + 1, before: 0, after: 0 };
}

// ---- graph builder -------------------------------------------------------------------------------

type Attr = OnnxTypes.IAttributeProto;
const A = onnx.AttributeProto.AttributeType;

function attrInt(name: string, i: number): Attr {
  return { name, type: A.INT, i };
}
function attrInts(name: string, ints: number[]): Attr {
  return { name, type: A.INTS, ints };
}
function attrString(name: string, s: string): Attr {
  return { name, type: A.STRING, s: new TextEncoder().encode(s) };
}

interface Value {
  /** ONNX value name. */
  name: string;
  /** Layout of the ONNX value: 4-D activations are NCHW; everything else keeps TFLite's order. */
  layout: 'nchw' | 'plain';
}

interface ConstTensor {
  shape: number[];
  type: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly usedNames = new Set<string>();

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = clean;
    for (let i = 1; this.usedNames.has(name); i++) name = `${clean}__${i}`;
    this.usedNames.add(name);
    return name;
  }

  reserve(name: string): void {
    if (this.usedNames.has(name)) throw new TfliteConversionError(`duplicate ONNX value name ${name}`);
    this.usedNames.add(name);
  }

  node(opType: string, inputs: string[], outputs: string[], attrs: Attr[] = [], name?: string): void {
    this.nodes.push({
      opType,
      input: inputs,
      output: outputs,
      attribute: attrs,
      name: name ?? this.unique(`${opType}_${this.nodes.length}`),
    });
  }

  floatInit(base: string, shape: number[], data: Float32Array): string {
    if (product(shape) !== data.length) throw new Error(`initializer ${base}: shape/data mismatch`);
    const name = this.unique(base);
    const raw = new Uint8Array(data.length * 4);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i]!, true);
    this.initializers.push({ name, dims: shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
    return name;
  }

  int64Init(base: string, values: number[]): string {
    const name = this.unique(base);
    const raw = new Uint8Array(values.length * 8);
    const dv = new DataView(raw.buffer);
    values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: raw,
    });
    return name;
  }
}

// ---- converter -----------------------------------------------------------------------------------

const SUPPORTED = [
  'ADD',
  'SUB',
  'MUL',
  'DIV',
  'AVERAGE_POOL_2D',
  'MAX_POOL_2D',
  'CONCATENATION',
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'TRANSPOSE_CONV',
  'DEQUANTIZE (of constants)',
  'HARD_SWISH',
  'LOGISTIC',
  'RELU',
  'RELU6',
  'RELU_N1_TO_1',
  'TANH',
  'MEAN (4-D, keep_dims)',
  'RESIZE_BILINEAR',
  'CUSTOM(Convolution2DTransposeBias)',
];

class Converter {
  private readonly g = new GraphBuilder();
  private readonly values = new Map<number, Value>();
  private readonly folded = new Map<number, ConstTensor>();
  private readonly sg: TfliteSubgraph;

  constructor(
    readonly model: TfliteModel,
    private readonly options: ConvertOptions,
  ) {
    if (model.subgraphs.length !== 1) {
      throw new TfliteConversionError(`expected exactly 1 subgraph, found ${model.subgraphs.length}`);
    }
    this.sg = model.subgraphs[0]!;
  }

  private tensor(i: number): TfliteTensor {
    const t = this.sg.tensors[i];
    if (!t) throw new TfliteConversionError(`tensor index ${i} out of range`);
    return t;
  }

  private isConst(i: number): boolean {
    return this.folded.has(i) || this.tensor(i).data !== null;
  }

  /** Constant tensor contents as float32/int32 (folding FLOAT16/quantized data). */
  private constant(i: number): ConstTensor {
    const f = this.folded.get(i);
    if (f) return f;
    const t = this.tensor(i);
    if (!t.data) throw new TfliteConversionError(`tensor ${i} (${t.name}) is not a constant`);
    const n = product(t.shape);
    const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const need = (bytes: number): void => {
      if (t.data!.byteLength !== n * bytes) {
        throw new TfliteConversionError(
          `tensor ${i} (${t.name}): buffer has ${t.data!.byteLength} bytes, shape [${t.shape}] needs ${n * bytes}`,
        );
      }
    };
    switch (t.type) {
      case TensorType.FLOAT32: {
        need(4);
        const out = new Float32Array(n);
        for (let k = 0; k < n; k++) out[k] = dv.getFloat32(k * 4, true);
        return { shape: t.shape, type: 'float32', data: out };
      }
      case TensorType.FLOAT16: {
        need(2);
        const out = new Float32Array(n);
        for (let k = 0; k < n; k++) out[k] = halfToFloat(dv.getUint16(k * 2, true));
        return { shape: t.shape, type: 'float32', data: out };
      }
      case TensorType.INT32: {
        need(4);
        const out = new Int32Array(n);
        for (let k = 0; k < n; k++) out[k] = dv.getInt32(k * 4, true);
        return { shape: t.shape, type: 'int32', data: out };
      }
      default:
        throw new TfliteConversionError(
          `tensor ${i} (${t.name}): constant of type ${tensorTypeName(t.type)} is not supported here`,
        );
    }
  }

  private constFloat(i: number): ConstTensor & { data: Float32Array } {
    const c = this.constant(i);
    if (c.type !== 'float32' || !(c.data instanceof Float32Array)) {
      throw new TfliteConversionError(`tensor ${i} (${this.tensor(i).name}) must be a float constant`);
    }
    return c as ConstTensor & { data: Float32Array };
  }

  /** ONNX value for an activation input. */
  private act(i: number, op: TfliteOperator): Value {
    const v = this.values.get(i);
    if (v) return v;
    const t = this.tensor(i);
    if (this.isConst(i)) {
      throw new TfliteConversionError(
        `op ${op.index} ${operatorName(op.opcode)}: constant tensor ${t.name} used where an activation is expected`,
      );
    }
    throw new TfliteConversionError(
      `op ${op.index} ${operatorName(op.opcode)}: tensor ${t.name} has no producer`,
    );
  }

  private act4d(i: number, op: TfliteOperator): { v: Value; n: number; h: number; w: number; c: number } {
    const v = this.act(i, op);
    const s = this.tensor(i).shape;
    if (v.layout !== 'nchw' || s.length !== 4) {
      throw new TfliteConversionError(
        `op ${op.index} ${operatorName(op.opcode)}: expected a 4-D input, got [${s}]`,
      );
    }
    return { v, n: s[0]!, h: s[1]!, w: s[2]!, c: s[3]! };
  }

  /** Elementwise operand: activation, or a constant reshaped to broadcast against NCHW. */
  private operand(i: number, op: TfliteOperator, otherRank: number): string {
    const v = this.values.get(i);
    if (v) {
      if (v.layout === 'nchw' || otherRank < 4) return v.name;
      throw new TfliteConversionError(`op ${op.index}: mixing a 4-D activation with a non-4-D activation`);
    }
    const c = this.constFloat(i);
    const t = this.tensor(i);
    if (otherRank !== 4 || product(c.shape) === 1) {
      return this.g.floatInit(t.name, otherRank !== 4 ? c.shape : [], c.data);
    }
    if (c.shape.length === 4) {
      return this.g.floatInit(
        t.name,
        NHWC_TO_NCHW_AXIS.map((a) => c.shape[a]!),
        permute(c.data, c.shape, [0, 3, 1, 2]),
      );
    }
    if (c.shape.length === 1) return this.g.floatInit(t.name, [c.shape[0]!, 1, 1], c.data);
    throw new TfliteConversionError(
      `op ${op.index} ${operatorName(op.opcode)}: cannot broadcast constant [${c.shape}] against a 4-D activation`,
    );
  }

  private outName(i: number): string {
    const t = this.tensor(i);
    return this.g.unique(t.name);
  }

  private setOut(i: number, name: string, layout: Value['layout']): void {
    if (this.values.has(i)) throw new TfliteConversionError(`tensor ${i} produced twice`);
    this.values.set(i, { name, layout });
  }

  /** Emit the op into `outName`, or into a temporary followed by its fused activation. */
  private fused(activation: TfliteActivation, outName: string, emit: (dst: string) => void): void {
    if (activation === 'NONE') {
      emit(outName);
      return;
    }
    const pre = this.g.unique(`${outName}/pre_act`);
    emit(pre);
    switch (activation) {
      case 'RELU':
        this.g.node('Relu', [pre], [outName]);
        break;
      case 'RELU6':
        this.g.node('Clip', [pre, this.scalar(0), this.scalar(6)], [outName]);
        break;
      case 'RELU_N1_TO_1':
        this.g.node('Clip', [pre, this.scalar(-1), this.scalar(1)], [outName]);
        break;
      case 'TANH':
        this.g.node('Tanh', [pre], [outName]);
        break;
      default:
        throw new TfliteConversionError(`fused activation ${activation} is not supported`);
    }
  }

  private readonly scalars = new Map<number, string>();
  private scalar(v: number): string {
    let name = this.scalars.get(v);
    if (!name) {
      name = this.g.floatInit(`const_${v}`, [], new Float32Array([v]));
      this.scalars.set(v, name);
    }
    return name;
  }

  private checkShape(op: TfliteOperator, outIdx: number, expected: number[]): void {
    const actual = this.tensor(outIdx).shape;
    if (actual.length !== expected.length || actual.some((d, k) => d !== expected[k])) {
      throw new TfliteConversionError(
        `op ${op.index} ${operatorName(op.opcode)}: computed output shape [${expected}] but the model declares [${actual}]`,
      );
    }
  }

  private in(op: TfliteOperator, k: number): number {
    const i = op.inputs[k];
    if (i === undefined || i < 0) {
      throw new TfliteConversionError(`op ${op.index} ${operatorName(op.opcode)}: missing input ${k}`);
    }
    return i;
  }
  private out(op: TfliteOperator, k = 0): number {
    const i = op.outputs[k];
    if (i === undefined || i < 0) {
      throw new TfliteConversionError(`op ${op.index} ${operatorName(op.opcode)}: missing output ${k}`);
    }
    return i;
  }

  // ---- ops -------------------------------------------------------------------------------------

  private dequantize(op: TfliteOperator): void {
    const src = this.in(op, 0);
    const dst = this.out(op);
    const t = this.tensor(src);
    if (!t.data) {
      throw new TfliteConversionError(
        `op ${op.index} DEQUANTIZE: only constant inputs are supported (tensor ${t.name} is computed at run time)`,
      );
    }
    const n = product(t.shape);
    let data: Float32Array;
    if (t.type === TensorType.FLOAT16) {
      data = this.constFloat(src).data;
    } else if (t.type === TensorType.INT8 || t.type === TensorType.UINT8) {
      const q = t.quantization;
      if (!q || q.scale.length === 0)
        throw new TfliteConversionError(`DEQUANTIZE ${t.name}: no quantization scale`);
      if (t.data.byteLength !== n)
        throw new TfliteConversionError(`DEQUANTIZE ${t.name}: buffer size mismatch`);
      data = new Float32Array(n);
      const perAxis = q.scale.length > 1;
      const axis = q.quantizedDimension;
      const inner = perAxis ? product(t.shape.slice(axis + 1)) : 1;
      const dim = perAxis ? t.shape[axis]! : 1;
      for (let k = 0; k < n; k++) {
        const ch = perAxis ? Math.floor(k / inner) % dim : 0;
        const raw = t.type === TensorType.INT8 ? (t.data[k]! << 24) >> 24 : t.data[k]!;
        data[k] = (raw - Number(q.zeroPoint[ch] ?? 0n)) * q.scale[ch]!;
      }
    } else {
      throw new TfliteConversionError(`DEQUANTIZE of ${tensorTypeName(t.type)} constants is not supported`);
    }
    this.checkShape(op, dst, t.shape);
    this.folded.set(dst, { shape: t.shape, type: 'float32', data });
  }

  private conv2d(op: TfliteOperator): void {
    const o = op.builtinOptions;
    if (o.kind !== 'conv2d') throw new TfliteConversionError(`op ${op.index}: bad CONV_2D options`);
    const x = this.act4d(this.in(op, 0), op);
    const w = this.constFloat(this.in(op, 1));
    if (w.shape.length !== 4)
      throw new TfliteConversionError(`op ${op.index} CONV_2D: weights must be 4-D OHWI`);
    const [co, kh, kw, ci] = w.shape as [number, number, number, number];
    if (ci !== x.c) {
      // Grouped convolution (TFLite infers groups = C_in / filter C_in).
      if (x.c % ci !== 0)
        throw new TfliteConversionError(`op ${op.index} CONV_2D: ${x.c} input channels vs filter ${ci}`);
    }
    const group = x.c / ci;
    this.emitConv(
      op,
      x,
      o,
      { suffix: 'oihw', shape: [co, ci, kh, kw], data: permute(w.data, w.shape, [0, 3, 1, 2]) },
      group,
    );
  }

  private biasInit(idx: number, channels: number, op: TfliteOperator): string {
    const b = this.constFloat(idx);
    if (b.data.length !== channels) {
      throw new TfliteConversionError(
        `op ${op.index}: bias has ${b.data.length} values, expected ${channels}`,
      );
    }
    return this.g.floatInit(this.tensor(idx).name, [channels], b.data);
  }

  private depthwise(op: TfliteOperator): void {
    const o = op.builtinOptions;
    if (o.kind !== 'depthwise')
      throw new TfliteConversionError(`op ${op.index}: bad DEPTHWISE_CONV_2D options`);
    const x = this.act4d(this.in(op, 0), op);
    const w = this.constFloat(this.in(op, 1));
    if (w.shape.length !== 4 || w.shape[0] !== 1) {
      throw new TfliteConversionError(
        `op ${op.index} DEPTHWISE_CONV_2D: weights must be 1×H×W×O, got [${w.shape}]`,
      );
    }
    const [, kh, kw, co] = w.shape as [number, number, number, number];
    // depth_multiplier is informational in newer converters; derive it from the shapes.
    if (co % x.c !== 0)
      throw new TfliteConversionError(`op ${op.index}: ${co} outputs not a multiple of ${x.c} inputs`);
    const mult = co / x.c;
    if (o.depthMultiplier > 0 && o.depthMultiplier !== mult) {
      throw new TfliteConversionError(
        `op ${op.index}: depth_multiplier ${o.depthMultiplier} vs weights ${mult}`,
      );
    }
    // [1,kh,kw,O] → [O,1,kh,kw]; output channel o reads input channel floor(o / mult) in both.
    this.emitConv(
      op,
      x,
      o,
      { suffix: 'o1hw', shape: [co, 1, kh, kw], data: permute(w.data, w.shape, [3, 0, 1, 2]) },
      x.c,
    );
  }

  /**
   * The ONNX Conv (+ bias, + fused activation) shared by CONV_2D and DEPTHWISE_CONV_2D once their
   * weights are in ONNX layout; TFLite's SAME padding becomes explicit, end-heavy pads.
   */
  private emitConv(
    op: TfliteOperator,
    x: { v: Value; n: number; h: number; w: number; c: number },
    o: Conv2DOptions | DepthwiseConv2DOptions,
    weights: { suffix: string; shape: [number, number, number, number]; data: Float32Array },
    group: number,
  ): void {
    const [co, , kh, kw] = weights.shape;
    const ph = spatialPadding(o.padding, x.h, kh, o.strideH, o.dilationH);
    const pw = spatialPadding(o.padding, x.w, kw, o.strideW, o.dilationW);
    this.checkShape(op, this.out(op), [x.n, ph.out, pw.out, co]);
    const wName = this.g.floatInit(
      `${this.tensor(this.in(op, 1)).name}/${weights.suffix}`,
      weights.shape,
      weights.data,
    );
    const inputs = [x.v.name, wName];
    const b = op.inputs[2];
    if (b !== undefined && b >= 0) inputs.push(this.biasInit(b, co, op));
    const out = this.outName(this.out(op));
    this.fused(o.activation, out, (dst) =>
      this.g.node(
        'Conv',
        inputs,
        [dst],
        [
          attrInts('kernel_shape', [kh, kw]),
          attrInts('strides', [o.strideH, o.strideW]),
          attrInts('dilations', [o.dilationH, o.dilationW]),
          attrInts('pads', [ph.before, pw.before, ph.after, pw.after]),
          attrInt('group', group),
        ],
      ),
    );
    this.setOut(this.out(op), out, 'nchw');
  }

  /** Transposed convolution, shared by TRANSPOSE_CONV and Convolution2DTransposeBias. */
  private transposeConv(
    op: TfliteOperator,
    xIdx: number,
    wIdx: number,
    bIdx: number | undefined,
    padding: TflitePadding,
    strideH: number,
    strideW: number,
    activation: TfliteActivation,
  ): void {
    const x = this.act4d(xIdx, op);
    const w = this.constFloat(wIdx);
    if (w.shape.length !== 4)
      throw new TfliteConversionError(`op ${op.index}: transposed-conv weights must be OHWI`);
    const [co, kh, kw, ci] = w.shape as [number, number, number, number];
    if (ci !== x.c)
      throw new TfliteConversionError(`op ${op.index}: weights expect ${ci} input channels, got ${x.c}`);
    const outIdx = this.out(op);
    const outShape = this.tensor(outIdx).shape;
    if (outShape.length !== 4 || outShape[3] !== co || outShape[0] !== x.n) {
      throw new TfliteConversionError(
        `op ${op.index}: output shape [${outShape}] does not fit weights [${w.shape}]`,
      );
    }
    const outH = outShape[1]!;
    const outW = outShape[2]!;
    // TFLite computes the padding as if for a forward conv from the output size to the input
    // size, then crops the full scatter result starting at -pad_before.
    const pad = (outSize: number, inSize: number, k: number, s: number) => {
      const p = spatialPadding(padding, outSize, k, s);
      if (p.out !== inSize) {
        throw new TfliteConversionError(
          `op ${op.index}: ${padding} transposed conv from ${inSize} to ${outSize} with kernel ${k} stride ${s} is inconsistent`,
        );
      }
      const full = (inSize - 1) * s + k;
      const after = full - p.before - outSize;
      // after < 0 means the output is larger than the scatter: extra (bias-only) rows at the end.
      return { before: p.before, after: Math.max(after, 0), outputPadding: Math.max(-after, 0) };
    };
    const ph = pad(outH, x.h, kh, strideH);
    const pw = pad(outW, x.w, kw, strideW);
    if (ph.outputPadding >= strideH || pw.outputPadding >= strideW) {
      throw new TfliteConversionError(`op ${op.index}: transposed conv output padding exceeds the stride`);
    }
    const wName = this.g.floatInit(
      `${this.tensor(wIdx).name}/iohw`,
      [ci, co, kh, kw],
      permute(w.data, w.shape, [3, 0, 1, 2]),
    );
    const inputs = [x.v.name, wName];
    if (bIdx !== undefined && bIdx >= 0) inputs.push(this.biasInit(bIdx, co, op));
    const attrs = [
      attrInts('kernel_shape', [kh, kw]),
      attrInts('strides', [strideH, strideW]),
      attrInts('pads', [ph.before, pw.before, ph.after, pw.after]),
    ];
    if (ph.outputPadding || pw.outputPadding)
      attrs.push(attrInts('output_padding', [ph.outputPadding, pw.outputPadding]));
    const out = this.outName(outIdx);
    this.fused(activation, out, (dst) => this.g.node('ConvTranspose', inputs, [dst], attrs));
    this.setOut(outIdx, out, 'nchw');
  }

  private customOp(op: TfliteOperator): void {
    const code = op.opcode.customCode;
    if (code !== 'Convolution2DTransposeBias') {
      throw new TfliteConversionError(
        `op ${op.index}: custom operator ${JSON.stringify(code)} is not supported (only Convolution2DTransposeBias)`,
      );
    }
    const params = parseTransposeConvBiasOptions(op.customOptions);
    this.transposeConv(
      op,
      this.in(op, 0),
      this.in(op, 1),
      op.inputs[2],
      params.padding,
      params.strideH,
      params.strideW,
      'NONE',
    );
  }

  private builtinTransposeConv(op: TfliteOperator): void {
    const o = op.builtinOptions;
    if (o.kind !== 'transpose-conv')
      throw new TfliteConversionError(`op ${op.index}: bad TRANSPOSE_CONV options`);
    // inputs: output_shape, weights, input, [bias]
    const shape = this.constant(this.in(op, 0));
    const declared = this.tensor(this.out(op)).shape;
    if (Array.from(shape.data).some((d, k) => d !== declared[k])) {
      throw new TfliteConversionError(
        `op ${op.index} TRANSPOSE_CONV: output_shape input disagrees with the output tensor`,
      );
    }
    this.transposeConv(
      op,
      this.in(op, 2),
      this.in(op, 1),
      op.inputs[3],
      o.padding,
      o.strideH,
      o.strideW,
      o.activation,
    );
  }

  private pool(op: TfliteOperator, kind: 'avg' | 'max'): void {
    const o = op.builtinOptions;
    if (o.kind !== 'pool2d') throw new TfliteConversionError(`op ${op.index}: bad pooling options`);
    const x = this.act4d(this.in(op, 0), op);
    const ph = spatialPadding(o.padding, x.h, o.filterH, o.strideH);
    const pw = spatialPadding(o.padding, x.w, o.filterW, o.strideW);
    this.checkShape(op, this.out(op), [x.n, ph.out, pw.out, x.c]);
    const out = this.outName(this.out(op));
    const global = ph.out === 1 && pw.out === 1 && o.filterH >= x.h && o.filterW >= x.w;
    this.fused(o.activation, out, (dst) => {
      if (global) {
        // Padding (if any) is excluded from the average, so the window is the whole image.
        this.g.node(kind === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.v.name], [dst]);
        return;
      }
      const attrs = [
        attrInts('kernel_shape', [o.filterH, o.filterW]),
        attrInts('strides', [o.strideH, o.strideW]),
        attrInts('pads', [ph.before, pw.before, ph.after, pw.after]),
      ];
      if (kind === 'avg') attrs.push(attrInt('count_include_pad', 0));
      this.g.node(kind === 'avg' ? 'AveragePool' : 'MaxPool', [x.v.name], [dst], attrs);
    });
    this.setOut(this.out(op), out, 'nchw');
  }

  private mean(op: TfliteOperator): void {
    const o = op.builtinOptions;
    if (o.kind !== 'reducer') throw new TfliteConversionError(`op ${op.index}: bad MEAN options`);
    const x = this.act4d(this.in(op, 0), op);
    const axesT = this.constant(this.in(op, 1));
    const axes = [...new Set(Array.from(axesT.data).map((a) => (a < 0 ? a + 4 : a)))].sort((p, q) => p - q);
    if (!o.keepDims) {
      throw new TfliteConversionError(
        `op ${op.index} MEAN: keep_dims = false on a 4-D tensor is not supported`,
      );
    }
    const outShape = [x.n, x.h, x.w, x.c].map((d, k) => (axes.includes(k) ? 1 : d));
    this.checkShape(op, this.out(op), outShape);
    const out = this.outName(this.out(op));
    if (axes.length === 2 && axes[0] === 1 && axes[1] === 2) {
      this.g.node('GlobalAveragePool', [x.v.name], [out]);
    } else {
      const nchwAxes = axes.map((a) => NHWC_TO_NCHW_AXIS[a as 0 | 1 | 2 | 3]).sort((p, q) => p - q);
      this.g.node('ReduceMean', [x.v.name], [out], [attrInts('axes', nchwAxes), attrInt('keepdims', 1)]);
    }
    this.setOut(this.out(op), out, 'nchw');
  }

  private binary(op: TfliteOperator, onnxOp: 'Add' | 'Sub' | 'Mul' | 'Div'): void {
    const o = op.builtinOptions;
    const activation = o.kind === 'activation' ? o.activation : 'NONE';
    const ai = this.in(op, 0);
    const bi = this.in(op, 1);
    const outIdx = this.out(op);
    const outRank = this.tensor(outIdx).shape.length;
    const aConst = !this.values.has(ai);
    const bConst = !this.values.has(bi);
    if (aConst && bConst) throw new TfliteConversionError(`op ${op.index}: both operands are constants`);
    const a = this.operand(ai, op, outRank);
    const b = this.operand(bi, op, outRank);
    const out = this.outName(outIdx);
    this.fused(activation, out, (dst) => this.g.node(onnxOp, [a, b], [dst]));
    this.setOut(outIdx, out, outRank === 4 ? 'nchw' : 'plain');
  }

  private unary(op: TfliteOperator, emit: (src: string, dst: string) => void): void {
    const x = this.act(this.in(op, 0), op);
    const outIdx = this.out(op);
    this.checkShape(op, outIdx, this.tensor(this.in(op, 0)).shape);
    const out = this.outName(outIdx);
    emit(x.name, out);
    this.setOut(outIdx, out, x.layout);
  }

  private resizeBilinear(op: TfliteOperator): void {
    const o = op.builtinOptions;
    if (o.kind !== 'resize-bilinear')
      throw new TfliteConversionError(`op ${op.index}: bad RESIZE_BILINEAR options`);
    const x = this.act4d(this.in(op, 0), op);
    const size = this.constant(this.in(op, 1));
    if (size.type !== 'int32' || size.data.length !== 2) {
      throw new TfliteConversionError(`op ${op.index} RESIZE_BILINEAR: size must be a constant int32[2]`);
    }
    const [nh, nw] = [size.data[0]!, size.data[1]!];
    this.checkShape(op, this.out(op), [x.n, nh, nw, x.c]);
    if (o.alignCorners && o.halfPixelCenters) {
      throw new TfliteConversionError(
        `op ${op.index} RESIZE_BILINEAR: align_corners and half_pixel_centers both set`,
      );
    }
    const mode = o.alignCorners ? 'align_corners' : o.halfPixelCenters ? 'half_pixel' : 'asymmetric';
    const sizes = this.g.int64Init(`${this.tensor(this.in(op, 1)).name}/nchw`, [x.n, x.c, nh, nw]);
    const out = this.outName(this.out(op));
    this.g.node(
      'Resize',
      [x.v.name, '', '', sizes],
      [out],
      [attrString('mode', 'linear'), attrString('coordinate_transformation_mode', mode)],
    );
    this.setOut(this.out(op), out, 'nchw');
  }

  private concat(op: TfliteOperator): void {
    const o = op.builtinOptions;
    if (o.kind !== 'concat') throw new TfliteConversionError(`op ${op.index}: bad CONCATENATION options`);
    const outIdx = this.out(op);
    const rank = this.tensor(outIdx).shape.length;
    const axis = o.axis < 0 ? o.axis + rank : o.axis;
    const vals = op.inputs.map((i) => this.act(i, op));
    const layout = vals[0]?.layout ?? 'plain';
    if (vals.some((v) => v.layout !== layout))
      throw new TfliteConversionError(`op ${op.index}: mixed layouts in CONCATENATION`);
    const onnxAxis = layout === 'nchw' ? NHWC_TO_NCHW_AXIS[axis as 0 | 1 | 2 | 3] : axis;
    const out = this.outName(outIdx);
    this.fused(o.activation, out, (dst) =>
      this.g.node(
        'Concat',
        vals.map((v) => v.name),
        [dst],
        [attrInt('axis', onnxAxis)],
      ),
    );
    this.setOut(outIdx, out, layout);
  }

  private convertOp(op: TfliteOperator): void {
    const code = op.opcode.builtinCode;
    switch (code) {
      case BuiltinOperator.DEQUANTIZE:
        return this.dequantize(op);
      case BuiltinOperator.CONV_2D:
        return this.conv2d(op);
      case BuiltinOperator.DEPTHWISE_CONV_2D:
        return this.depthwise(op);
      case BuiltinOperator.TRANSPOSE_CONV:
        return this.builtinTransposeConv(op);
      case BuiltinOperator.CUSTOM:
        return this.customOp(op);
      case BuiltinOperator.AVERAGE_POOL_2D:
        return this.pool(op, 'avg');
      case BuiltinOperator.MAX_POOL_2D:
        return this.pool(op, 'max');
      case BuiltinOperator.MEAN:
        return this.mean(op);
      case BuiltinOperator.ADD:
        return this.binary(op, 'Add');
      case BuiltinOperator.SUB:
        return this.binary(op, 'Sub');
      case BuiltinOperator.MUL:
        return this.binary(op, 'Mul');
      case BuiltinOperator.DIV:
        return this.binary(op, 'Div');
      case BuiltinOperator.CONCATENATION:
        return this.concat(op);
      case BuiltinOperator.RESIZE_BILINEAR:
        return this.resizeBilinear(op);
      case BuiltinOperator.HARD_SWISH:
        // x·relu6(x+3)/6 == ONNX HardSwish (alpha 1/6, beta 0.5).
        return this.unary(op, (s, d) => this.g.node('HardSwish', [s], [d]));
      case BuiltinOperator.LOGISTIC:
        return this.unary(op, (s, d) => this.g.node('Sigmoid', [s], [d]));
      case BuiltinOperator.RELU:
        return this.unary(op, (s, d) => this.g.node('Relu', [s], [d]));
      case BuiltinOperator.RELU6:
        return this.unary(op, (s, d) => this.g.node('Clip', [s, this.scalar(0), this.scalar(6)], [d]));
      case BuiltinOperator.RELU_N1_TO_1:
        return this.unary(op, (s, d) => this.g.node('Clip', [s, this.scalar(-1), this.scalar(1)], [d]));
      case BuiltinOperator.TANH:
        return this.unary(op, (s, d) => this.g.node('Tanh', [s], [d]));
      default:
        throw new TfliteConversionError(
          `op ${op.index}: TFLite operator ${operatorName(op.opcode)} is not supported by this converter ` +
            `(supported: ${SUPPORTED.join(', ')})`,
        );
    }
  }

  private valueInfo(name: string, shape: number[]): OnnxTypes.IValueInfoProto {
    return {
      name,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: shape.map((d) => ({ dimValue: d })) },
        },
      },
    };
  }

  convert(): OnnxTypes.IModelProto {
    const sg = this.sg;
    const graphInputs: OnnxTypes.IValueInfoProto[] = [];
    const graphOutputs: OnnxTypes.IValueInfoProto[] = [];

    for (const t of sg.tensors) {
      if (t.hasSparsity)
        throw new TfliteConversionError(`tensor ${t.name}: sparse tensors are not supported`);
    }

    // Graph inputs: NHWC in, one Transpose to NCHW.
    for (const idx of sg.inputs) {
      const t = this.tensor(idx);
      if (t.type !== TensorType.FLOAT32) {
        throw new TfliteConversionError(
          `graph input ${t.name} is ${tensorTypeName(t.type)}; only FLOAT32 is supported`,
        );
      }
      const name = sg.inputs.length === 1 ? (this.options.inputName ?? 'input') : t.name;
      this.g.reserve(name);
      graphInputs.push(this.valueInfo(name, t.shape));
      if (t.shape.length === 4) {
        const nchw = this.g.unique(`${t.name}/nchw`);
        this.g.node('Transpose', [name], [nchw], [attrInts('perm', [0, 3, 1, 2])], 'input_to_nchw');
        this.values.set(idx, { name: nchw, layout: 'nchw' });
      } else {
        this.values.set(idx, { name, layout: 'plain' });
      }
    }
    const outputNames = new Map<number, string>();
    for (const idx of sg.outputs) {
      const name = sg.outputs.length === 1 ? (this.options.outputName ?? 'output') : this.tensor(idx).name;
      this.g.reserve(name);
      outputNames.set(idx, name);
    }

    for (const op of sg.operators) this.convertOp(op);

    // Graph outputs: NCHW → NHWC.
    for (const idx of sg.outputs) {
      const t = this.tensor(idx);
      const v = this.values.get(idx);
      if (!v) throw new TfliteConversionError(`graph output ${t.name} is never computed`);
      const name = outputNames.get(idx)!;
      if (v.layout === 'nchw') {
        this.g.node('Transpose', [v.name], [name], [attrInts('perm', [0, 2, 3, 1])], `output_to_nhwc_${idx}`);
      } else {
        this.g.node('Identity', [v.name], [name]);
      }
      graphOutputs.push(this.valueInfo(name, t.shape));
    }

    const graph: OnnxTypes.IGraphProto = {
      name: sg.name || 'tflite',
      node: this.g.nodes,
      initializer: this.g.initializers,
      input: graphInputs,
      output: graphOutputs,
      docString: 'Input and output are NHWC float32 like the source TFLite model; NCHW inside.',
    };
    return {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'alphacut-tflite-to-onnx',
      producerVersion: '1',
      docString: `Converted from TFLite: ${this.model.description}`,
      graph,
    };
  }
}

/** Decode Convolution2DTransposeBias custom_options (raw TfLiteTransposeConvParams). */
export function parseTransposeConvBiasOptions(bytes: Uint8Array | null): {
  padding: TflitePadding;
  strideW: number;
  strideH: number;
} {
  if (!bytes || bytes.byteLength < 12) {
    throw new TfliteConversionError(
      `Convolution2DTransposeBias: expected 12 bytes of custom options (padding, stride_w, stride_h), got ${bytes?.byteLength ?? 0}`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pad = dv.getInt32(0, true);
  const strideW = dv.getInt32(4, true);
  const strideH = dv.getInt32(8, true);
  // TfLitePadding (common.h): 0 unknown, 1 same, 2 valid.
  const padding = pad === 1 ? 'SAME' : pad === 2 ? 'VALID' : null;
  if (!padding) throw new TfliteConversionError(`Convolution2DTransposeBias: unknown padding value ${pad}`);
  if (!(strideW >= 1 && strideH >= 1 && strideW <= 64 && strideH <= 64)) {
    throw new TfliteConversionError(`Convolution2DTransposeBias: implausible strides ${strideW}×${strideH}`);
  }
  return { padding, strideW, strideH };
}

/** Convert an already parsed TFLite model to an ONNX ModelProto object (for inspection/tests). */
export function convertTfliteModel(model: TfliteModel, options: ConvertOptions = {}): OnnxTypes.IModelProto {
  return new Converter(model, options).convert();
}
