// Minimal reader for TensorFlow Lite model files (the "TFL3" flatbuffer).
//
// Only the parts of the schema that a float (or fp16-weight) convolutional graph needs are
// decoded: Model → operator_codes, subgraphs (tensors, operators, inputs, outputs), buffers.
// Builtin options are decoded per operator for the builtins listed in BUILTIN_OPTION_READERS;
// anything else keeps its raw table position and is rejected later by the converter with a
// clear message. Field numbers follow the public TFLite schema (schema.fbs): a table's field
// N lives at vtable offset 4 + 2·N.

import { ByteBuffer } from 'flatbuffers';

/** TFLite TensorType enum values (schema.fbs). */
export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  STRING: 5,
  BOOL: 6,
  INT16: 7,
  COMPLEX64: 8,
  INT8: 9,
  FLOAT64: 10,
} as const;

const TENSOR_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(TensorType).map(([k, v]) => [v, k]),
);

export function tensorTypeName(t: number): string {
  return TENSOR_TYPE_NAMES[t] ?? `type#${t}`;
}

/** The builtin operator codes this reader knows by name (schema.fbs BuiltinOperator). */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEPTH_TO_SPACE: 5,
  DEQUANTIZE: 6,
  FLOOR: 8,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU_N1_TO_1: 20,
  RELU6: 21,
  RESHAPE: 22,
  RESIZE_BILINEAR: 23,
  SOFTMAX: 25,
  TANH: 28,
  CUSTOM: 32,
  PAD: 34,
  TRANSPOSE: 39,
  MEAN: 40,
  SUB: 41,
  DIV: 42,
  TRANSPOSE_CONV: 67,
  RESIZE_NEAREST_NEIGHBOR: 97,
  HARD_SWISH: 117,
} as const;

const BUILTIN_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(BuiltinOperator).map(([k, v]) => [v, k]),
);

export function builtinName(code: number): string {
  return BUILTIN_NAMES[code] ?? `BUILTIN#${code}`;
}

/** TFLite Padding enum (schema.fbs): SAME = 0, VALID = 1. */
export type TflitePadding = 'SAME' | 'VALID';
/** TFLite ActivationFunctionType enum (schema.fbs). */
export type TfliteActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';

const ACTIVATIONS: TfliteActivation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

export interface Conv2DOptions {
  kind: 'conv2d';
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  activation: TfliteActivation;
  dilationW: number;
  dilationH: number;
}
export interface DepthwiseConv2DOptions {
  kind: 'depthwise';
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  depthMultiplier: number;
  activation: TfliteActivation;
  dilationW: number;
  dilationH: number;
}
export interface Pool2DOptions {
  kind: 'pool2d';
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  filterW: number;
  filterH: number;
  activation: TfliteActivation;
}
export interface ConcatenationOptions {
  kind: 'concat';
  axis: number;
  activation: TfliteActivation;
}
export interface ActivationOnlyOptions {
  kind: 'activation';
  activation: TfliteActivation;
}
export interface ResizeBilinearOptions {
  kind: 'resize-bilinear';
  alignCorners: boolean;
  halfPixelCenters: boolean;
}
export interface ReshapeOptions {
  kind: 'reshape';
  newShape: number[] | null;
}
export interface ReducerOptions {
  kind: 'reducer';
  keepDims: boolean;
}
export interface TransposeConvOptions {
  kind: 'transpose-conv';
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  activation: TfliteActivation;
}
export interface NoOptions {
  kind: 'none';
}
export type BuiltinOptions =
  | Conv2DOptions
  | DepthwiseConv2DOptions
  | Pool2DOptions
  | ConcatenationOptions
  | ActivationOnlyOptions
  | ResizeBilinearOptions
  | ReshapeOptions
  | ReducerOptions
  | TransposeConvOptions
  | NoOptions;

export interface TfliteQuantization {
  min: number[];
  max: number[];
  scale: number[];
  zeroPoint: bigint[];
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  /** TensorType enum value; see tensorTypeName(). */
  type: number;
  buffer: number;
  /** Constant data from the tensor's buffer, or null for activations (buffer 0 / empty). */
  data: Uint8Array | null;
  quantization: TfliteQuantization | null;
  isVariable: boolean;
  hasSparsity: boolean;
}

export interface TfliteOperatorCode {
  /** Resolved builtin code: max(deprecated_builtin_code, builtin_code). */
  builtinCode: number;
  deprecatedBuiltinCode: number;
  customCode: string | null;
  version: number;
}

export interface TfliteOperator {
  index: number;
  opcodeIndex: number;
  opcode: TfliteOperatorCode;
  /** Tensor indices; -1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  builtinOptionsType: number;
  builtinOptions: BuiltinOptions;
  customOptions: Uint8Array | null;
  customOptionsFormat: number;
}

export interface TfliteSubgraph {
  name: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

export interface TfliteModel {
  version: number;
  description: string;
  operatorCodes: TfliteOperatorCode[];
  subgraphs: TfliteSubgraph[];
  /** Buffer contents (empty array for an empty buffer). */
  buffers: Uint8Array[];
}

export class TfliteFormatError extends Error {
  override name = 'TfliteFormatError';
}

// ---- low-level flatbuffer access -------------------------------------------------------------

class Table {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}

  private off(field: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * field);
  }
  has(field: number): boolean {
    return this.off(field) !== 0;
  }
  int8(field: number, dflt = 0): number {
    const o = this.off(field);
    return o ? this.bb.readInt8(this.pos + o) : dflt;
  }
  uint8(field: number, dflt = 0): number {
    const o = this.off(field);
    return o ? this.bb.readUint8(this.pos + o) : dflt;
  }
  bool(field: number, dflt = false): boolean {
    const o = this.off(field);
    return o ? this.bb.readUint8(this.pos + o) !== 0 : dflt;
  }
  int32(field: number, dflt = 0): number {
    const o = this.off(field);
    return o ? this.bb.readInt32(this.pos + o) : dflt;
  }
  uint32(field: number, dflt = 0): number {
    const o = this.off(field);
    return o ? this.bb.readUint32(this.pos + o) : dflt;
  }
  uint64(field: number, dflt = 0n): bigint {
    const o = this.off(field);
    return o ? this.bb.readUint64(this.pos + o) : dflt;
  }
  string(field: number): string | null {
    const o = this.off(field);
    if (!o) return null;
    return this.bb.__string(this.pos + o) as string;
  }
  table(field: number): Table | null {
    const o = this.off(field);
    if (!o) return null;
    return new Table(this.bb, this.bb.__indirect(this.pos + o));
  }
  private vec(field: number): { start: number; len: number } | null {
    const o = this.off(field);
    if (!o) return null;
    return { start: this.bb.__vector(this.pos + o), len: this.bb.__vector_len(this.pos + o) };
  }
  vecLen(field: number): number {
    return this.vec(field)?.len ?? 0;
  }
  tables(field: number): Table[] {
    const v = this.vec(field);
    if (!v) return [];
    const out: Table[] = [];
    for (let i = 0; i < v.len; i++) out.push(new Table(this.bb, this.bb.__indirect(v.start + 4 * i)));
    return out;
  }
  int32s(field: number): number[] | null {
    const v = this.vec(field);
    if (!v) return null;
    const out: number[] = [];
    for (let i = 0; i < v.len; i++) out.push(this.bb.readInt32(v.start + 4 * i));
    return out;
  }
  float32s(field: number): number[] {
    const v = this.vec(field);
    if (!v) return [];
    const out: number[] = [];
    for (let i = 0; i < v.len; i++) out.push(this.bb.readFloat32(v.start + 4 * i));
    return out;
  }
  int64s(field: number): bigint[] {
    const v = this.vec(field);
    if (!v) return [];
    const out: bigint[] = [];
    for (let i = 0; i < v.len; i++) out.push(this.bb.readInt64(v.start + 8 * i));
    return out;
  }
  bytes(field: number): Uint8Array | null {
    const v = this.vec(field);
    if (!v) return null;
    return this.bb.bytes().subarray(v.start, v.start + v.len);
  }
}

function padding(v: number): TflitePadding {
  if (v === 0) return 'SAME';
  if (v === 1) return 'VALID';
  throw new TfliteFormatError(`unknown TFLite padding value ${v}`);
}

function activation(v: number): TfliteActivation {
  const a = ACTIVATIONS[v];
  if (a === undefined) throw new TfliteFormatError(`unknown TFLite fused activation ${v}`);
  return a;
}

// Option tables by builtin operator. Field numbers are those of schema.fbs.
const BUILTIN_OPTION_READERS: Record<number, (t: Table | null) => BuiltinOptions> = {
  [BuiltinOperator.CONV_2D]: (t) => ({
    kind: 'conv2d',
    padding: padding(t?.int8(0) ?? 0),
    strideW: t?.int32(1) ?? 0,
    strideH: t?.int32(2) ?? 0,
    activation: activation(t?.int8(3) ?? 0),
    dilationW: t?.int32(4, 1) ?? 1,
    dilationH: t?.int32(5, 1) ?? 1,
  }),
  [BuiltinOperator.DEPTHWISE_CONV_2D]: (t) => ({
    kind: 'depthwise',
    padding: padding(t?.int8(0) ?? 0),
    strideW: t?.int32(1) ?? 0,
    strideH: t?.int32(2) ?? 0,
    depthMultiplier: t?.int32(3) ?? 0,
    activation: activation(t?.int8(4) ?? 0),
    dilationW: t?.int32(5, 1) ?? 1,
    dilationH: t?.int32(6, 1) ?? 1,
  }),
  [BuiltinOperator.AVERAGE_POOL_2D]: poolOptions,
  [BuiltinOperator.MAX_POOL_2D]: poolOptions,
  [BuiltinOperator.CONCATENATION]: (t) => ({
    kind: 'concat',
    axis: t?.int32(0) ?? 0,
    activation: activation(t?.int8(1) ?? 0),
  }),
  [BuiltinOperator.ADD]: activationOnly,
  [BuiltinOperator.SUB]: activationOnly,
  [BuiltinOperator.MUL]: activationOnly,
  [BuiltinOperator.DIV]: activationOnly,
  [BuiltinOperator.RESIZE_BILINEAR]: (t) => ({
    kind: 'resize-bilinear',
    // fields 0/1 (new_height/new_width) are deprecated; the size comes from input 1.
    alignCorners: t?.bool(2) ?? false,
    halfPixelCenters: t?.bool(3) ?? false,
  }),
  [BuiltinOperator.RESHAPE]: (t) => ({ kind: 'reshape', newShape: t?.int32s(0) ?? null }),
  [BuiltinOperator.MEAN]: (t) => ({ kind: 'reducer', keepDims: t?.bool(0) ?? false }),
  [BuiltinOperator.TRANSPOSE_CONV]: (t) => ({
    kind: 'transpose-conv',
    padding: padding(t?.int8(0) ?? 0),
    strideW: t?.int32(1) ?? 0,
    strideH: t?.int32(2) ?? 0,
    activation: activation(t?.int8(3) ?? 0),
  }),
};

function poolOptions(t: Table | null): Pool2DOptions {
  return {
    kind: 'pool2d',
    padding: padding(t?.int8(0) ?? 0),
    strideW: t?.int32(1) ?? 0,
    strideH: t?.int32(2) ?? 0,
    filterW: t?.int32(3) ?? 0,
    filterH: t?.int32(4) ?? 0,
    activation: activation(t?.int8(5) ?? 0),
  };
}

function activationOnly(t: Table | null): ActivationOnlyOptions {
  return { kind: 'activation', activation: activation(t?.int8(0) ?? 0) };
}

// ---- model ---------------------------------------------------------------------------------

/** Parse a .tflite file. Throws TfliteFormatError on anything malformed or unsupported. */
export function readTflite(bytes: Uint8Array): TfliteModel {
  if (bytes.length < 8) throw new TfliteFormatError('not a TFLite model: file too short');
  const bb = new ByteBuffer(bytes);
  if (!bb.__has_identifier('TFL3')) {
    throw new TfliteFormatError(
      `not a TFLite model: file identifier is ${JSON.stringify(bb.getBufferIdentifier())}, expected "TFL3"`,
    );
  }
  const root = new Table(bb, bb.readInt32(bb.position()) + bb.position());
  const version = root.uint32(0);
  if (version !== 3) throw new TfliteFormatError(`unsupported TFLite schema version ${version} (expected 3)`);

  // Buffers (field 4). Buffer.data = field 0; offset/size (fields 1, 2) put the data outside the
  // flatbuffer (models over 2 GB), relative to the start of the file.
  const buffers = root.tables(4).map((b, i) => {
    const data = b.bytes(0);
    if (data && data.length > 0) return data;
    const offset = b.uint64(1);
    const size = b.uint64(2);
    if (offset > 1n) {
      const end = offset + size;
      if (end > BigInt(bytes.length)) throw new TfliteFormatError(`buffer ${i} lies outside the file`);
      return bytes.subarray(Number(offset), Number(end));
    }
    return new Uint8Array(0);
  });

  const operatorCodes = root.tables(1).map((c): TfliteOperatorCode => {
    const deprecated = c.int8(0);
    const builtin = c.int32(3);
    return {
      deprecatedBuiltinCode: deprecated,
      // Files written before builtin_code existed only carry the (byte) deprecated code;
      // newer writers set deprecated_builtin_code to min(code, 127). max() covers both.
      builtinCode: Math.max(deprecated, builtin),
      customCode: c.string(1),
      version: c.int32(2, 1),
    };
  });

  const subgraphs = root.tables(2).map((sg, si): TfliteSubgraph => {
    const tensors = sg.tables(0).map((t, ti): TfliteTensor => {
      const buffer = t.uint32(2);
      const buf = buffers[buffer];
      if (buf === undefined) throw new TfliteFormatError(`tensor ${ti} refers to missing buffer ${buffer}`);
      const q = t.table(4);
      let quantization: TfliteQuantization | null = null;
      if (q) {
        if (q.uint8(4) !== 0) {
          throw new TfliteFormatError(`tensor ${ti}: custom quantization details are not supported`);
        }
        quantization = {
          min: q.float32s(0),
          max: q.float32s(1),
          scale: q.float32s(2),
          zeroPoint: q.int64s(3),
          quantizedDimension: q.int32(6),
        };
        if (quantization.scale.length === 0 && quantization.min.length === 0) quantization = null;
      }
      return {
        index: ti,
        name: t.string(3) ?? `tensor_${ti}`,
        shape: t.int32s(0) ?? [],
        type: t.int8(1),
        buffer,
        data: buffer !== 0 && buf.length > 0 ? buf : null,
        quantization,
        isVariable: t.bool(5),
        hasSparsity: t.has(6),
      };
    });
    const operators = sg.tables(3).map((op, oi): TfliteOperator => {
      const opcodeIndex = op.uint32(0);
      const opcode = operatorCodes[opcodeIndex];
      if (!opcode)
        throw new TfliteFormatError(`subgraph ${si} op ${oi}: opcode index ${opcodeIndex} out of range`);
      const optionsType = op.uint8(3);
      const optionsTable = op.table(4);
      const reader = BUILTIN_OPTION_READERS[opcode.builtinCode];
      const builtinOptions: BuiltinOptions =
        opcode.builtinCode === BuiltinOperator.CUSTOM || !reader ? { kind: 'none' } : reader(optionsTable);
      if (op.has(9) && op.uint64(10) > 0n) {
        throw new TfliteFormatError(
          `subgraph ${si} op ${oi}: large (out-of-flatbuffer) custom options are not supported`,
        );
      }
      return {
        index: oi,
        opcodeIndex,
        opcode,
        inputs: op.int32s(1) ?? [],
        outputs: op.int32s(2) ?? [],
        builtinOptionsType: optionsType,
        builtinOptions,
        customOptions: op.bytes(5),
        customOptionsFormat: op.int8(6),
      };
    });
    return {
      name: sg.string(4) ?? `subgraph_${si}`,
      tensors,
      inputs: sg.int32s(1) ?? [],
      outputs: sg.int32s(2) ?? [],
      operators,
    };
  });

  return { version, description: root.string(3) ?? '', operatorCodes, subgraphs, buffers };
}

/** Human-readable operator name: the builtin name, or CUSTOM(<custom_code>). */
export function operatorName(code: TfliteOperatorCode): string {
  if (code.builtinCode === BuiltinOperator.CUSTOM) return `CUSTOM(${code.customCode ?? '?'})`;
  return builtinName(code.builtinCode);
}
