// Graph surgery that turns the fixed-1024² ISNet exports into models that accept any H×W.
//
// Why this is needed: both ISNet exports bake the 1024² geometry into every Resize node (the
// quint8 "small" model as constant `sizes` initializers, the fp16 "medium" model as
// Concat(Shape(x)[0:2], constant H,W)). Feeding any other size makes the decoder's upsampled
// maps disagree with the skip connections they are concatenated with, and the Concat fails. The
// network itself (U²-Net style: convolutions, ceil-mode max-pools, "upsample like" the skip) is
// size-agnostic, so it suffices to compute each Resize target from the tensor it must match.
//
// The rewrite is purely structural and deterministic: same input bytes → same output bytes, so
// callers can pin the sha256 of the result.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS that assigns module.exports at run time, so Node's ESM loader cannot see
// named exports; take the namespace off the default export.
const { onnx } = onnxProto;

type INodeProto = OnnxTypes.INodeProto;
type IGraphProto = OnnxTypes.IGraphProto;
type ITensorProto = OnnxTypes.ITensorProto;
type IValueInfoProto = OnnxTypes.IValueInfoProto;
type IAttributeProto = OnnxTypes.IAttributeProto;

const DT_FLOAT = onnx.TensorProto.DataType.FLOAT; // 1
const DT_FLOAT16 = onnx.TensorProto.DataType.FLOAT16; // 10
const DT_INT64 = onnx.TensorProto.DataType.INT64; // 7

/** The single output kept: ISNet's full-resolution alpha (sigmoid of side output 1). */
export const ISNET_OUTPUT = 'output';
/** Names of the symbolic input/output dims; what onnxruntime reports for the dynamic axes. */
export const DIM_HEIGHT = 'height';
export const DIM_WIDTH = 'width';

/** The model's structure is not the one this rewrite understands. */
export class OnnxRewriteError extends Error {
  override name = 'OnnxRewriteError';
}

// protobufjs decodes int64 fields to Long objects (or numbers, or strings after JSON); this
// normalizes all of them. Every int64 we read here (dims, attribute ints, opset versions) is far
// below 2^53.
function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (v && typeof v === 'object' && 'toNumber' in v && typeof v.toNumber === 'function') {
    return (v as { toNumber(): number }).toNumber();
  }
  return Number.NaN;
}

function decode(bytes: Uint8Array): OnnxTypes.ModelProto {
  const model = onnx.ModelProto.decode(bytes);
  if (!model.graph) throw new OnnxRewriteError('ONNX model has no graph');
  return model;
}

function encode(model: OnnxTypes.ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

function attr(node: INodeProto, name: string): IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

function defaultOpset(model: OnnxTypes.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!entry) throw new OnnxRewriteError('ONNX model imports no default-domain opset');
  return toNum(entry.version);
}

/** Reads the int64 values of a constant tensor (raw_data or int64_data). */
function int64Values(t: ITensorProto): number[] | undefined {
  if (t.dataType !== DT_INT64) return undefined;
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out: number[] = [];
    for (let i = 0; i + 8 <= raw.byteLength; i += 8) out.push(Number(view.getBigInt64(i, true)));
    return out;
  }
  return (t.int64Data ?? []).map(toNum);
}

function int64Tensor(name: string, values: number[]): ITensorProto {
  return onnx.TensorProto.create({ name, dataType: DT_INT64, dims: [values.length], int64Data: values });
}

function intAttr(name: string, i: number): IAttributeProto {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
}

function staticDims(vi: IValueInfoProto | undefined): (number | undefined)[] | undefined {
  const dims = vi?.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null ? toNum(d.dimValue) : undefined));
}

interface GraphIndex {
  producer: Map<string, INodeProto>;
  consumers: Map<string, INodeProto[]>;
  initializers: Map<string, ITensorProto>;
}

function indexGraph(graph: IGraphProto): GraphIndex {
  const producer = new Map<string, INodeProto>();
  const consumers = new Map<string, INodeProto[]>();
  for (const node of graph.node ?? []) {
    for (const o of node.output ?? []) if (o) producer.set(o, node);
    for (const i of node.input ?? []) {
      if (!i) continue;
      const list = consumers.get(i);
      if (list) list.push(node);
      else consumers.set(i, [node]);
    }
  }
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  return { producer, consumers, initializers };
}

/**
 * The [H, W] the original graph resized to, when it is a constant we can read: either a constant
 * `sizes` tensor (small model) or Concat(<N,C from Shape>, constant [H, W]) (medium model).
 * Only used to check that the tensor we now take H, W from had exactly that shape originally.
 */
function originalTargetHW(sizesName: string, ix: GraphIndex): number[] | undefined {
  const constant = (name: string): number[] | undefined => {
    const init = ix.initializers.get(name);
    if (init) return int64Values(init);
    const p = ix.producer.get(name);
    if (p?.opType === 'Constant') {
      const t = attr(p, 'value')?.t;
      if (t) return int64Values(t);
    }
    return undefined;
  };
  const direct = constant(sizesName);
  if (direct) return direct.length === 4 ? direct.slice(2) : undefined;
  const p = ix.producer.get(sizesName);
  if (p?.opType === 'Concat' && p.input?.length === 2) {
    const tail = constant(p.input[1] ?? '');
    if (tail?.length === 2) return tail;
  }
  return undefined;
}

/**
 * Finds the tensor whose spatial size this Resize must reproduce: the other input of the Concat
 * that consumes the Resize output (possibly through Cast nodes: the fp16 export wraps every
 * Resize in Cast-to-fp32 / Cast-to-fp16). Returns undefined when the output does not reach a
 * Concat (the side outputs, which are upsampled to the network input's size).
 */
function concatPartner(resizeOut: string, ix: GraphIndex): string | undefined {
  let tensor = resizeOut;
  for (let hops = 0; hops < 8; hops++) {
    const users = ix.consumers.get(tensor) ?? [];
    const concat = users.find((u) => u.opType === 'Concat');
    if (concat) {
      const others = (concat.input ?? []).filter((i) => i && i !== tensor);
      // ISNet concatenates along channels, so every other input has the same H, W; any is fine.
      return others[0];
    }
    const cast = users.length === 1 && users[0]?.opType === 'Cast' ? users[0] : undefined;
    if (!cast?.output?.[0]) return undefined;
    tensor = cast.output[0];
  }
  return undefined;
}

function uniqueNamer(graph: IGraphProto): (base: string) => string {
  const taken = new Set<string>();
  for (const n of graph.node ?? []) {
    if (n.name) taken.add(n.name);
    for (const o of n.output ?? []) taken.add(o);
  }
  for (const t of graph.initializer ?? []) if (t.name) taken.add(t.name);
  for (const v of [...(graph.input ?? []), ...(graph.output ?? [])]) if (v.name) taken.add(v.name);
  return (base) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
}

/**
 * Stable topological sort: emits, at each step, the earliest (by `rank`) node whose inputs are
 * all available. Keeps the original order wherever it is already valid, so the output is
 * deterministic and diff-friendly; the fp16 export lists its Cast nodes after their consumers,
 * which onnxruntime tolerates but the ONNX spec does not.
 */
function topoSort(nodes: INodeProto[], available: Set<string>, rank: Map<INodeProto, number>): INodeProto[] {
  const sorted = [...nodes].sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0));
  const have = new Set(available);
  const pending = new Map<INodeProto, number>();
  const waiting = new Map<string, INodeProto[]>();
  const ready: INodeProto[] = [];
  for (const n of sorted) {
    const missing = [...new Set((n.input ?? []).filter((i) => i && !have.has(i)))];
    pending.set(n, missing.length);
    for (const m of missing) {
      const list = waiting.get(m);
      if (list) list.push(n);
      else waiting.set(m, [n]);
    }
    if (missing.length === 0) ready.push(n);
  }
  const out: INodeProto[] = [];
  const byRank = (a: INodeProto, b: INodeProto): number => (rank.get(a) ?? 0) - (rank.get(b) ?? 0);
  ready.sort(byRank);
  while (ready.length > 0) {
    const n = ready.shift() as INodeProto;
    out.push(n);
    for (const o of n.output ?? []) {
      if (!o || have.has(o)) continue;
      have.add(o);
      for (const w of waiting.get(o) ?? []) {
        const left = (pending.get(w) ?? 0) - 1;
        pending.set(w, left);
        if (left === 0) {
          // Insert keeping `ready` ordered by rank (n is small: ~1k nodes).
          const r = rank.get(w) ?? 0;
          let at = ready.findIndex((x) => (rank.get(x) ?? 0) > r);
          if (at < 0) at = ready.length;
          ready.splice(at, 0, w);
        }
      }
    }
  }
  if (out.length !== nodes.length) throw new OnnxRewriteError('ONNX graph has a cycle or an undefined input');
  return out;
}

/** Keeps only nodes that `outputs` depend on, and initializers those nodes read. */
function prune(graph: IGraphProto, outputs: string[]): void {
  const ix = indexGraph(graph);
  const needed = new Set(outputs);
  const keep = new Set<INodeProto>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const t = stack.pop() as string;
    const p = ix.producer.get(t);
    if (!p || keep.has(p)) continue;
    keep.add(p);
    for (const i of p.input ?? []) {
      if (i && !needed.has(i)) {
        needed.add(i);
        stack.push(i);
      }
    }
  }
  graph.node = (graph.node ?? []).filter((n) => keep.has(n));
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name ?? ''));
}

function makeHWSymbolic(vi: IValueInfoProto): void {
  const dims = vi.type?.tensorType?.shape?.dim;
  if (!dims || dims.length !== 4) throw new OnnxRewriteError(`expected a 4-D NCHW tensor for ${vi.name}`);
  dims[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: DIM_HEIGHT });
  dims[3] = onnx.TensorShapeProto.Dimension.create({ dimParam: DIM_WIDTH });
}

/**
 * Rewrites an ISNet ModelProto (bytes) so that it accepts any input H×W (see file comment).
 *
 * Every Resize's `sizes` becomes Concat(Shape(src)[0:2], Shape(ref)[2:4]) where src is the Resize
 * input (keeps N, C) and ref is the skip tensor it is concatenated with, or the network input for
 * the side outputs that are upsampled to full size. Then: input/output H, W become symbolic,
 * value_info (which records the old 1024²-derived static shapes and would contradict the new
 * ones) is dropped, only the `output` output is kept, and everything it does not need is pruned.
 * At the original size, every Resize gets the very same sizes as before, so the output is the same.
 */
export function makeSizeAgnostic(modelBytes: Uint8Array): Uint8Array {
  const model = decode(modelBytes);
  const graph = model.graph as OnnxTypes.GraphProto;
  const opset = defaultOpset(model);
  // Shape's start/end attributes arrived in opset 15. Bumping an older model's opset could
  // silently change other operators' semantics, so below 15 we emit Shape + Slice instead
  // (Slice with tensor starts/ends exists since opset 10).
  if (opset < 10) throw new OnnxRewriteError(`ONNX opset ${opset} is too old to rewrite (need ≥ 10)`);
  const shapeHasStartEnd = opset >= 15;

  const initNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const realInputs = (graph.input ?? []).filter((v) => !initNames.has(v.name));
  if (realInputs.length !== 1 || !realInputs[0]?.name) {
    throw new OnnxRewriteError(`expected exactly one graph input, found ${realInputs.length}`);
  }
  const netInput = realInputs[0];
  const netInputName = netInput.name as string;
  if (!(graph.output ?? []).some((o) => o.name === ISNET_OUTPUT)) {
    throw new OnnxRewriteError(`ONNX graph has no output named "${ISNET_OUTPUT}"`);
  }

  const ix = indexGraph(graph);
  const staticShape = new Map<string, (number | undefined)[] | undefined>();
  for (const vi of [...(graph.valueInfo ?? []), ...(graph.input ?? []), ...(graph.output ?? [])]) {
    if (vi.name) staticShape.set(vi.name, staticDims(vi));
  }
  const newName = uniqueNamer(graph);
  const rank = new Map<INodeProto, number>();
  const nodes = graph.node ?? [];
  nodes.forEach((n, i) => rank.set(n, i));
  const added: INodeProto[] = [];
  const newInits: ITensorProto[] = [];
  // Shape slices are shared: the six side outputs all read H, W of the network input.
  const shapeSlices = new Map<string, string>();

  const shapeSlice = (tensor: string, start: number, end: number, at: number): string => {
    const key = `${tensor}\u0000${start}:${end}`;
    const known = shapeSlices.get(key);
    if (known) return known;
    const base = `${tensor}__shape_${start}_${end}`;
    const out = newName(base);
    if (shapeHasStartEnd) {
      added.push(
        onnx.NodeProto.create({
          name: newName(`${base}_node`),
          opType: 'Shape',
          input: [tensor],
          output: [out],
          attribute: [intAttr('start', start), intAttr('end', end)],
        }),
      );
    } else {
      const full = newName(`${base}_full`);
      const starts = newName(`${base}_starts`);
      const ends = newName(`${base}_ends`);
      newInits.push(int64Tensor(starts, [start]), int64Tensor(ends, [end]));
      added.push(
        onnx.NodeProto.create({
          name: newName(`${base}_shape`),
          opType: 'Shape',
          input: [tensor],
          output: [full],
        }),
        onnx.NodeProto.create({
          name: newName(`${base}_slice`),
          opType: 'Slice',
          input: [full, starts, ends],
          output: [out],
        }),
      );
    }
    // New nodes sort just before the Resize that first needs them.
    for (const n of added) if (!rank.has(n)) rank.set(n, at - 0.5);
    shapeSlices.set(key, out);
    return out;
  };

  let rewritten = 0;
  for (const [i, node] of nodes.entries()) {
    if (node.opType !== 'Resize') continue;
    const inputs = node.input ?? [];
    const src = inputs[0];
    const out = node.output?.[0];
    if (!src || !out) throw new OnnxRewriteError(`Resize ${node.name} has no data input/output`);
    const oldSizes = inputs[3];
    if (!oldSizes) {
      // A scales-driven Resize would already be size-agnostic, but ISNet has none; refuse rather
      // than guess, so a different export is noticed.
      throw new OnnxRewriteError(`Resize ${node.name} has no sizes input`);
    }
    const ref = concatPartner(out, ix) ?? netInputName;

    // Safety check: at the export size the tensor we now take H, W from must have had exactly the
    // H, W the graph resized to, otherwise the rewrite would change the model's output. Both ISNet
    // exports carry the static shapes (value_info) needed for all 39 Resizes; a model where this
    // cannot be checked is not one whose rewrite has been verified, so it is refused.
    const target = originalTargetHW(oldSizes, ix);
    const refDims = staticShape.get(ref);
    if (!target || !refDims || refDims.length !== 4) {
      throw new OnnxRewriteError(`Resize ${node.name}: cannot verify its target size against ${ref}`);
    }
    if (refDims[2] !== target[0] || refDims[3] !== target[1]) {
      throw new OnnxRewriteError(
        `Resize ${node.name}: target ${target.join('×')} does not match ${ref} (${refDims.join('×')})`,
      );
    }

    const nc = shapeSlice(src, 0, 2, i);
    const hw = shapeSlice(ref, 2, 4, i);
    const sizes = newName(`${node.name || out}__sizes`);
    const concat = onnx.NodeProto.create({
      name: newName(`${node.name || out}__sizes_concat`),
      opType: 'Concat',
      input: [nc, hw],
      output: [sizes],
      attribute: [intAttr('axis', 0)],
    });
    added.push(concat);
    rank.set(concat, i - 0.25);
    node.input = [...inputs.slice(0, 3), sizes];
    rewritten++;
  }
  if (rewritten === 0) throw new OnnxRewriteError('ONNX graph has no Resize nodes: not an ISNet export?');

  graph.node = [...nodes, ...added];
  graph.initializer = [...(graph.initializer ?? []), ...newInits];
  graph.output = (graph.output ?? []).filter((o) => o.name === ISNET_OUTPUT);
  prune(graph, [ISNET_OUTPUT]);
  // The graph input list may also name initializers (IR < 4 style); keep only the real input.
  graph.input = [netInput];
  makeHWSymbolic(netInput);
  for (const o of graph.output) makeHWSymbolic(o);
  graph.valueInfo = [];
  graph.node = topoSort(
    graph.node ?? [],
    new Set([netInputName, ...(graph.initializer ?? []).map((t) => t.name ?? '')]),
    rank,
  );
  return encode(model);
}

// IEEE 754 binary16 → binary32, exact for every value (subnormals, ±inf, NaN payloads kept).
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// All 65536 fp16 bit patterns as float; a table lookup keeps upcasting ~44M weights well under a second.
let halfTable: Float32Array | undefined;
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

// TypedArray views use the host byte order while ONNX raw_data is little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function upcastTensor(t: ITensorProto): void {
  if (t.dataType !== DT_FLOAT16) return;
  let halves: Uint16Array;
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    halves = new Uint16Array(raw.byteLength >> 1);
    if (LITTLE_ENDIAN) new Uint8Array(halves.buffer).set(raw.subarray(0, halves.byteLength));
    else for (let k = 0; k < halves.length; k++) halves[k] = view.getUint16(2 * k, true);
  } else {
    // The spec stores fp16 in int32_data as the raw 16-bit patterns.
    halves = Uint16Array.from(t.int32Data ?? []);
  }
  const table = halfToFloatTable();
  const floats = new Float32Array(halves.length);
  for (let k = 0; k < halves.length; k++) floats[k] = table[halves[k] as number] as number;
  const bytes = new Uint8Array(floats.buffer);
  if (!LITTLE_ENDIAN) {
    const out = new DataView(floats.buffer);
    for (let k = 0; k < floats.length; k++) out.setFloat32(4 * k, floats[k] as number, true);
  }
  t.dataType = DT_FLOAT;
  t.rawData = bytes;
  t.int32Data = [];
}

function upcastValueInfo(vi: IValueInfoProto): void {
  const tt = vi.type?.tensorType;
  if (tt && tt.elemType === DT_FLOAT16) tt.elemType = DT_FLOAT;
}

function upcastGraph(graph: IGraphProto): void {
  for (const t of graph.initializer ?? []) upcastTensor(t);
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    upcastValueInfo(v);
  }
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.t) upcastTensor(a.t);
      for (const t of a.tensors ?? []) upcastTensor(t);
      if (a.g) upcastGraph(a.g);
      for (const g of a.graphs ?? []) upcastGraph(g);
      // Cast(to=FLOAT16) → Cast(to=FLOAT); `dtype` covers ops like RandomNormal/EyeLike.
      if ((a.name === 'to' && node.opType === 'Cast') || a.name === 'dtype') {
        if (toNum(a.i) === DT_FLOAT16) a.i = DT_FLOAT;
      }
    }
  }
}

/**
 * Converts an fp16 model to fp32: FLOAT16 initializers and constant tensors become FLOAT,
 * Cast(to=FLOAT16) becomes Cast(to=FLOAT), and fp16 graph inputs/outputs/value_info become float.
 *
 * Why: onnxruntime's CPU provider lacks fp16 kernels for most of these ops and wraps them in
 * casts, so the fp16 medium model is slower on CPU than the same weights in fp32 (measured at
 * 1024², 2 threads: ~3.5–6 s vs ~2–2.5 s per frame). The conversion is exact (every fp16 value is
 * a float), so the fp32 graph computes the same function with less intermediate rounding. The
 * Cast(to=FLOAT) nodes left on float tensors are identities, harmless to keep.
 */
export function upcastFp16ToFp32(modelBytes: Uint8Array): Uint8Array {
  const model = decode(modelBytes);
  upcastGraph(model.graph as OnnxTypes.GraphProto);
  return encode(model);
}
