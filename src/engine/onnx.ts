/**
 * ONNX export by tracing: the network runs once on an example input while every call into the
 * libtorch binding is observed, and each op becomes ONNX nodes (opset 17). Parameters and
 * buffers become initializers named as in the module's state dict; any other tensor that the
 * forward pass reads without computing it (a constant) becomes an initializer too. So any
 * network built from the engine's ops exports, whatever its module structure; control flow that
 * depends on data is frozen as it ran on the example.
 */
import { renameSync, writeFileSync } from "node:fs";
import { EngineError } from "./errors.js";
import { native, observeNative, type NativeBinding, type NativeTensor } from "./native.js";
import { noGrad, tidy, Tensor, type Dtype } from "./tensor.js";
import type { Module } from "./nn/module.js";
import { encodeModel, OnnxAttrType, OnnxDataType, type AttributeMsg, type NodeMsg, type TensorMsg, type ValueInfoMsg } from "./onnx-schema.js";

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

export interface OnnxExportOptions {
  /**
   * Leave the batch dimension (dim 0 of inputs and outputs) symbolic, so the model runs at any
   * batch size. Reshapes keep dim 0 from their input where the traced sizes agree. Default true.
   */
  dynamicBatch?: boolean;
  /** Graph name and documentation stored in the file. */
  name?: string;
  docString?: string;
}

type H = NativeTensor;
type Attrs = Record<string, AttributeMsg>;

const DTYPES: Record<Dtype, number> = { float32: OnnxDataType.FLOAT, float64: OnnxDataType.DOUBLE, int64: OnnxDataType.INT64, int32: OnnxDataType.INT32, bool: OnnxDataType.BOOL };
const int = (name: string, i: number): AttributeMsg => ({ name, type: OnnxAttrType.INT, i });
const ints = (name: string, v: number[]): AttributeMsg => ({ name, type: OnnxAttrType.INTS, ints: v });
const float = (name: string, f: number): AttributeMsg => ({ name, type: OnnxAttrType.FLOAT, f });
const str = (name: string, s: string): AttributeMsg => ({ name, type: OnnxAttrType.STRING, s: new TextEncoder().encode(s) });
const attrs = (...a: AttributeMsg[]): Attrs => Object.fromEntries(a.map((x) => [x.name, x]));
/** A bound ONNX clamps slice ends to, standing for "to the end" (keeps the batch dimension free). */
const TO_END = Number.MAX_SAFE_INTEGER;

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** The graph being built while a network runs. */
class GraphBuilder {
  readonly nodes: NodeMsg[] = [];
  readonly initializers: TensorMsg[] = [];
  private readonly names = new Map<H, string>();
  private readonly constants = new Map<string, string>();
  private readonly used = new Set<string>();
  private count = 0;

  constructor(
    readonly raw: NativeBinding,
    private readonly parameterNames: Map<H, string>,
    readonly dynamicBatch: boolean,
  ) {}

  shape(h: H): number[] {
    return this.raw.Shape(h) as number[];
  }
  dtype(h: H): Dtype {
    return this.raw.DtypeOf(h) as Dtype;
  }

  private unique(base: string): string {
    let n = base;
    while (this.used.has(n)) n = `${base}_${this.count++}`;
    this.used.add(n);
    return n;
  }

  /** The value a tensor holds: a traced result, a graph input, or (on first use) an initializer with its data. */
  value(h: H): string {
    const known = this.names.get(h);
    if (known) return known;
    const name = this.unique(this.parameterNames.get(h) ?? `const_${this.count++}`);
    const dtype = this.dtype(h);
    this.initializers.push({ name, dims: this.shape(h), dataType: onnxType(dtype), rawData: bytesOf(this.raw.ToArray(h) as ArrayBufferView) });
    this.names.set(h, name);
    return name;
  }

  bind(h: H, name: string): void {
    this.names.set(h, name);
  }
  /** A graph input: its name is taken. */
  input(h: H, name: string): void {
    this.used.add(name);
    this.bind(h, name);
  }

  /** A constant initializer (shared between uses of the same values). */
  constant(values: number[], dtype: Dtype, dims: number[] = [values.length]): string {
    const key = `${dtype}:${dims.join(",")}:${values.join(",")}`;
    const known = this.constants.get(key);
    if (known) return known;
    const data =
      dtype === "float32" ? new Float32Array(values) :
      dtype === "float64" ? new Float64Array(values) :
      dtype === "int64" ? BigInt64Array.from(values, (v) => BigInt(v)) :
      dtype === "int32" ? new Int32Array(values) : Uint8Array.from(values);
    const name = this.unique(`const_${this.count++}`);
    this.initializers.push({ name, dims, dataType: onnxType(dtype), rawData: bytesOf(data) });
    this.constants.set(key, name);
    return name;
  }
  scalar(v: number, dtype: Dtype): string {
    return this.constant([v], dtype, []);
  }
  int64s(v: number[]): string {
    return this.constant(v, "int64");
  }

  /** Adds a node; returns its output names. Empty input names mark omitted optional inputs. */
  node(opType: string, input: string[], a: Attrs = {}, outputs = 1, outputNames?: string[]): string[] {
    const name = this.unique(`${opType}_${this.count++}`);
    const output = outputNames ?? Array.from({ length: outputs }, (_, i) => (outputs === 1 ? name : `${name}:${i}`));
    for (const o of output) this.used.add(o);
    this.nodes.push({ name, opType, input, output, attribute: Object.values(a) });
    return output;
  }
  op(opType: string, input: string[], a: Attrs = {}): string {
    return this.node(opType, input, a)[0];
  }

  /** Reshape to a traced shape; with a free batch, dim 0 is copied from the input where the sizes agree. */
  reshape(x: string, target: number[], inShape: number[]): string {
    const dims = [...target];
    if (this.dynamicBatch && dims.length > 0 && inShape.length > 0 && dims[0] === inShape[0]) dims[0] = 0;
    return this.op("Reshape", [x, this.int64s(dims)]);
  }
}

function onnxType(d: Dtype): number {
  const t = DTYPES[d];
  if (t === undefined) throw new EngineError(`cannot export a ${d} tensor to ONNX`);
  return t;
}

const axis = (d: number, rank: number) => (d < 0 ? d + rank : d);
const isHandle = (v: unknown): v is H => typeof v === "object" && v !== null;

type Handler = (g: GraphBuilder, args: any[], out: H) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

const UNARY: Record<string, string> = { relu: "Relu", sigmoid: "Sigmoid", tanh: "Tanh", exp: "Exp", log: "Log", neg: "Neg", sqrt: "Sqrt", abs: "Abs", sign: "Sign" };
const BINARY: Record<string, string> = { add: "Add", sub: "Sub", mul: "Mul", div: "Div", pow: "Pow", maximum: "Max", minimum: "Min", eq: "Equal", gt: "Greater", lt: "Less" };

/** The ONNX form of each binding call (see archsearch_torch.cc for the argument lists). */
const HANDLERS: Record<string, Handler> = {
  Unary(g, [op, x], out) {
    const xn = g.value(x);
    if (UNARY[op]) return g.bind(out, g.op(UNARY[op], [xn]));
    if (op === "square") return g.bind(out, g.op("Mul", [xn, xn]));
    if (op === "gelu") {
      // The exact (erf) GELU, libtorch's default: x * 0.5 * (1 + erf(x / sqrt 2)).
      const dt = g.dtype(x);
      const e = g.op("Erf", [g.op("Div", [xn, g.scalar(Math.SQRT2, dt)])]);
      const half = g.op("Mul", [xn, g.scalar(0.5, dt)]);
      return g.bind(out, g.op("Mul", [half, g.op("Add", [e, g.scalar(1, dt)])]));
    }
    throw unsupported(`the unary op ${op}`);
  },
  Binary(g, [op, a, b], out) {
    if (!BINARY[op]) throw unsupported(`the binary op ${op}`);
    // ONNX wants both operands of one type: libtorch's type promotion is made explicit with casts.
    const compare = op === "eq" || op === "gt" || op === "lt";
    const integral = (d: Dtype) => d === "int64" || d === "int32" || d === "bool";
    let dt = compare ? g.dtype(a) : g.dtype(out);
    if (compare && !isHandle(b) && integral(dt) && !Number.isInteger(b)) dt = "float32";
    const as = (h: H) => (g.dtype(h) === dt ? g.value(h) : g.op("Cast", [g.value(h)], attrs(int("to", onnxType(dt)))));
    const bn = isHandle(b) ? as(b) : g.scalar(b as number, dt);
    g.bind(out, g.op(BINARY[op], [as(a), bn]));
  },
  Matmul: (g, [a, b], out) => g.bind(out, g.op("MatMul", [g.value(a), g.value(b)])),
  Bmm: (g, [a, b], out) => g.bind(out, g.op("MatMul", [g.value(a), g.value(b)])),
  Clamp(g, [x, lo, hi], out) {
    const dt = g.dtype(x);
    g.bind(out, g.op("Clip", [g.value(x), g.scalar(lo, dt), g.scalar(hi, dt)]));
  },
  Where: (g, [c, a, b], out) => g.bind(out, g.op("Where", [g.value(c), g.value(a), g.value(b)])),
  Cast: (g, [x, dtype], out) => g.bind(out, g.op("Cast", [g.value(x)], attrs(int("to", onnxType(dtype))))),
  Reduce(g, [op, x, dims, keep], out) {
    // Sums of booleans or integers count in the result's type (libtorch: int64).
    const promoted = (op === "sum" || op === "mean") && g.dtype(out) !== g.dtype(x);
    const xn = promoted ? g.op("Cast", [g.value(x)], attrs(int("to", onnxType(g.dtype(out))))) : g.value(x);
    const keepdims = int("keepdims", keep ? 1 : 0);
    const ax = (dims as number[]).map((d) => axis(d, g.shape(x).length));
    if (op === "sum") return g.bind(out, g.op("ReduceSum", ax.length ? [xn, g.int64s(ax)] : [xn], attrs(keepdims)));
    const byAttr: Record<string, string> = { mean: "ReduceMean", max: "ReduceMax", min: "ReduceMin", logsumexp: "ReduceLogSumExp" };
    if (byAttr[op]) return g.bind(out, g.op(byAttr[op], [xn], attrs(keepdims, ...(ax.length ? [ints("axes", ax)] : []))));
    if (op === "argmax") {
      if (ax.length) return g.bind(out, g.op("ArgMax", [xn], attrs(int("axis", ax[0]), keepdims)));
      return g.bind(out, g.op("ArgMax", [g.op("Reshape", [xn, g.int64s([-1])])], attrs(int("axis", 0), int("keepdims", 0))));
    }
    throw unsupported(`the reduction ${op}`);
  },
  Reshape: (g, [x], out) => g.bind(out, g.reshape(g.value(x), g.shape(out), g.shape(x))),
  Permute(g, [x, dims], out) {
    const r = g.shape(x).length;
    g.bind(out, g.op("Transpose", [g.value(x)], attrs(ints("perm", (dims as number[]).map((d) => axis(d, r))))));
  },
  Transpose(g, [x, a, b], out) {
    const r = g.shape(x).length;
    const perm = [...Array(r).keys()];
    [perm[axis(a, r)], perm[axis(b, r)]] = [perm[axis(b, r)], perm[axis(a, r)]];
    g.bind(out, g.op("Transpose", [g.value(x)], attrs(ints("perm", perm))));
  },
  Contiguous: (g, [x], out) => g.bind(out, g.value(x)),
  Detach: (g, [x], out) => g.bind(out, g.value(x)),
  Clone: (g, [x], out) => g.bind(out, g.value(x)),
  Unsqueeze: (g, [x, d], out) => g.bind(out, g.op("Unsqueeze", [g.value(x), g.int64s([axis(d, g.shape(out).length)])])),
  Squeeze(g, [x, d], out) {
    const s = g.shape(x);
    const a = axis(d, s.length);
    g.bind(out, s[a] === 1 ? g.op("Squeeze", [g.value(x), g.int64s([a])]) : g.value(x));
  },
  Flatten(g, [x, start], out) {
    const inShape = g.shape(x);
    const outShape = g.shape(out);
    // ONNX Flatten always gives 2-D [prod(dims < axis), prod(dims >= axis)]: torch's flatten(1) of a batch.
    if (axis(start, inShape.length) === 1 && outShape.length === 2) return g.bind(out, g.op("Flatten", [g.value(x)], attrs(int("axis", 1))));
    g.bind(out, g.reshape(g.value(x), outShape, inShape));
  },
  Expand(g, [x], out) {
    // Broadcast target with 1 wherever the input keeps its size, so a free batch stays free.
    const inShape = g.shape(x);
    const outShape = g.shape(out);
    const off = outShape.length - inShape.length;
    const target = outShape.map((n, i) => (i >= off && inShape[i - off] === n ? 1 : n));
    g.bind(out, g.op("Expand", [g.value(x), g.int64s(target)]));
  },
  Slice(g, [x, dim, start, end, step], out) {
    const s = g.shape(x);
    const a = axis(dim, s.length);
    const n = s[a];
    const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const b = clampIdx(start);
    const e = clampIdx(end);
    g.bind(out, g.op("Slice", [g.value(x), g.int64s([b]), g.int64s([e === n ? TO_END : e]), g.int64s([a]), g.int64s([step])]));
  },
  Cat(g, [xs, dim], out) {
    g.bind(out, g.op("Concat", (xs as H[]).map((h) => g.value(h)), attrs(int("axis", axis(dim, g.shape(out).length)))));
  },
  Stack(g, [xs, dim], out) {
    const a = axis(dim, g.shape(out).length);
    const parts = (xs as H[]).map((h) => g.op("Unsqueeze", [g.value(h), g.int64s([a])]));
    g.bind(out, g.op("Concat", parts, attrs(int("axis", a))));
  },
  IndexSelect: (g, [x, dim, idx], out) => g.bind(out, g.op("Gather", [g.value(x), g.value(idx)], attrs(int("axis", axis(dim, g.shape(x).length))))),
  Gather: (g, [x, dim, idx], out) => g.bind(out, g.op("GatherElements", [g.value(x), g.value(idx)], attrs(int("axis", axis(dim, g.shape(x).length))))),
  ScatterAdd(g, [self, dim, idx, src], out) {
    if (g.shape(idx).join() !== g.shape(src).join()) throw unsupported("scatter_add with an index smaller than its source");
    const a = axis(dim, g.shape(self).length);
    g.bind(out, g.op("ScatterElements", [g.value(self), g.value(idx), g.value(src)], attrs(int("axis", a), str("reduction", "add"))));
  },
  IndexAdd(g, [self, dim, idx, src], out) {
    if (axis(dim, g.shape(self).length) !== 0) throw unsupported("index_add along a dimension other than 0");
    const rows = g.op("Unsqueeze", [g.value(idx), g.int64s([1])]);
    g.bind(out, g.op("ScatterND", [g.value(self), rows, g.value(src)], attrs(str("reduction", "add"))));
  },
  Conv2d(g, [x, w, b, stride, padding, dilation, groups], out) {
    const ws = g.shape(w);
    const inputs = [g.value(x), g.value(w), ...(b ? [g.value(b)] : [])];
    g.bind(
      out,
      g.op("Conv", inputs, attrs(ints("kernel_shape", ws.slice(2)), ints("strides", stride), ints("pads", [padding[0], padding[1], padding[0], padding[1]]), ints("dilations", dilation), int("group", groups))),
    );
  },
  BatchNorm(g, [x, w, b, mean, variance, training, , eps], out) {
    if (training) throw new EngineError("cannot export batch norm in training mode: put the network in eval mode (net.eval()) first");
    if (!mean || !variance) throw unsupported("batch norm without running statistics");
    const c = g.shape(x)[1];
    const dt = g.dtype(x);
    const scale = w ? g.value(w) : g.constant(Array(c).fill(1), dt);
    const bias = b ? g.value(b) : g.constant(Array(c).fill(0), dt);
    g.bind(out, g.op("BatchNormalization", [g.value(x), scale, bias, g.value(mean), g.value(variance)], attrs(float("epsilon", eps))));
  },
  LayerNorm(g, [x, shape, w, b, eps], out) {
    const dims = shape as number[];
    const dt = g.dtype(x);
    const scale = w ? g.value(w) : g.constant(Array(dims.reduce((p, q) => p * q, 1)).fill(1), dt, dims);
    const inputs = [g.value(x), scale, ...(b ? [g.value(b)] : [])];
    g.bind(out, g.op("LayerNormalization", inputs, attrs(int("axis", -dims.length), float("epsilon", eps))));
  },
  MaxPool2d(g, [x, k, s, p], out) {
    g.bind(out, g.op("MaxPool", [g.value(x)], attrs(ints("kernel_shape", k), ints("strides", s), ints("pads", [p[0], p[1], p[0], p[1]]))));
  },
  AvgPool2d(g, [x, k, s, p, countIncludePad], out) {
    g.bind(
      out,
      g.op("AveragePool", [g.value(x)], attrs(ints("kernel_shape", k), ints("strides", s), ints("pads", [p[0], p[1], p[0], p[1]]), int("count_include_pad", countIncludePad ? 1 : 0))),
    );
  },
  AdaptiveAvgPool2d(g, [x, size], out) {
    const [h, w] = g.shape(x).slice(2);
    const [oh, ow] = size as number[];
    if (oh === 1 && ow === 1) return g.bind(out, g.op("GlobalAveragePool", [g.value(x)]));
    if (h % oh !== 0 || w % ow !== 0) throw unsupported(`adaptive average pooling from ${h}x${w} to ${oh}x${ow} (not a whole window)`);
    const k = [h / oh, w / ow];
    g.bind(out, g.op("AveragePool", [g.value(x)], attrs(ints("kernel_shape", k), ints("strides", k))));
  },
  Linear(g, [x, w, b], out) {
    const xn = g.value(x);
    if (g.shape(x).length === 2) return g.bind(out, g.op("Gemm", [xn, g.value(w), ...(b ? [g.value(b)] : [])], attrs(int("transB", 1))));
    const y = g.op("MatMul", [xn, g.op("Transpose", [g.value(w)], attrs(ints("perm", [1, 0])))]);
    g.bind(out, b ? g.op("Add", [y, g.value(b)]) : y);
  },
  Dropout(g, [x, p, training], out) {
    if (training && p > 0) throw new EngineError("cannot export dropout in training mode: put the network in eval mode (net.eval()) first");
    g.bind(out, g.value(x));
  },
  Embedding: (g, [w, idx], out) => g.bind(out, g.op("Gather", [g.value(w), g.value(idx)], attrs(int("axis", 0)))),
  Softmax: (g, [x, dim], out) => g.bind(out, g.op("Softmax", [g.value(x)], attrs(int("axis", axis(dim, g.shape(x).length))))),
  LogSoftmax: (g, [x, dim], out) => g.bind(out, g.op("LogSoftmax", [g.value(x)], attrs(int("axis", axis(dim, g.shape(x).length))))),
};

/** Calls that make no graph values (queries, autograd, settings) or make constants (captured when first used). */
const PASSIVE = new Set([
  "ToArray", "Shape", "DtypeOf", "Item", "SetRequiresGrad", "RequiresGrad", "Grad", "ZeroGrad", "Backward", "SetGradEnabled",
  "ManualSeed", "SetNumThreads", "GetNumThreads", "UseCount", "CachedBytes", "Version", "FromArray", "Full", "Arange",
]);
const RANDOM = new Set(["Randn", "Rand", "Randint", "Randperm"]);

function unsupported(what: string): EngineError {
  return new EngineError(`cannot export to ONNX: ${what} has no ONNX form in archsearch's exporter`);
}

function valueInfo(g: GraphBuilder, name: string, h: H, dynamicBatch: boolean): ValueInfoMsg {
  const shape = g.shape(h);
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxType(g.dtype(h)),
        shape: { dim: shape.map((n, i) => (i === 0 && dynamicBatch ? { dimParam: "batch" } : { dimValue: n })) },
      },
    },
  };
}

/**
 * Traces `run` (which computes outputs from `inputs`) into an ONNX model. Tensors named in
 * `parameters` become initializers with those names. For a plain module use `exportOnnx`.
 */
export function traceOnnx(
  inputs: Record<string, Tensor>,
  run: () => Tensor | Record<string, Tensor>,
  opts: OnnxExportOptions & { parameters?: Map<string, Tensor> } = {},
): Uint8Array {
  const dynamicBatch = opts.dynamicBatch ?? true;
  const parameterNames = new Map<H, string>();
  for (const [name, t] of opts.parameters ?? []) parameterNames.set(t.h, name);
  const g = new GraphBuilder(native(), parameterNames, dynamicBatch);
  const graphInputs: ValueInfoMsg[] = Object.entries(inputs).map(([name, t]) => {
    g.input(t.h, name);
    return valueInfo(g, name, t.h, dynamicBatch);
  });
  let graphOutputs: ValueInfoMsg[] = [];
  tidy(() => {
    const result = noGrad(() =>
      observeNative((fn, args, out) => {
        const handler = HANDLERS[fn];
        if (handler) handler(g, args, out as H);
        else if (RANDOM.has(fn)) throw new EngineError(`cannot export to ONNX: the network draws random numbers (${fn}) in its forward pass`);
        else if (fn === "CopyInto") throw new EngineError("cannot export to ONNX: the forward pass writes into a tensor in place");
        else if (!PASSIVE.has(fn)) throw unsupported(`the operation ${fn}`);
      }, run),
    );
    const outs = result instanceof Tensor ? { output: result } : result;
    graphOutputs = Object.entries(outs).map(([name, t]) => {
      g.node("Identity", [g.value(t.h)], {}, 1, [name]);
      return valueInfo(g, name, t.h, dynamicBatch);
    });
    return null;
  });
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "archsearch",
    producerVersion: "0.1.0",
    docString: opts.docString,
    graph: { name: opts.name ?? "archsearch", node: g.nodes, initializer: g.initializers, input: graphInputs, output: graphOutputs },
  });
}

/**
 * Exports a module to ONNX bytes, traced on `example` (its shape fixes every dimension but the
 * batch). The module runs in eval mode for the trace and gets its mode back afterwards.
 */
export function exportOnnx(model: Module, example: Tensor, opts: OnnxExportOptions & { inputName?: string } = {}): Uint8Array {
  const wasTraining = model.training;
  model.eval();
  try {
    return traceOnnx({ [opts.inputName ?? "input"]: example }, () => model.forward(example), { ...opts, parameters: model.stateDict() });
  } finally {
    model.train(wasTraining);
  }
}

/** Writes a module as an .onnx file (through a temporary file, so a crash leaves no half-written model). */
export function saveOnnx(path: string, model: Module, example: Tensor, opts: OnnxExportOptions & { inputName?: string } = {}): void {
  const bytes = exportOnnx(model, example, opts);
  const tmp = `${path}.tmp${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
