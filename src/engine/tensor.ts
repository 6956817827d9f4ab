import { native, type NativeTensor } from "./native.js";

export type Dtype = "float32" | "float64" | "int64" | "int32" | "bool";
export type Shape = number[];
type Data = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/**
 * Disposal scopes (like tf.tidy): every tensor made inside `tidy(fn)` is disposed when fn
 * returns, except what fn returns and what was `keep()`-ed. Finalizers free anything missed, but
 * scopes make memory use deterministic in long searches.
 */
const scopes: Set<Tensor>[] = [];

export class Tensor {
  /** @internal */
  readonly h: NativeTensor;

  constructor(handle: NativeTensor) {
    this.h = handle;
    scopes[scopes.length - 1]?.add(this);
  }

  get shape(): Shape {
    return native().Shape(this.h) as Shape;
  }
  get dtype(): Dtype {
    return native().DtypeOf(this.h) as Dtype;
  }
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Copies the data out (float32 -> Float32Array, int64 -> BigInt64Array, ...). */
  data(): Data {
    return native().ToArray(this.h) as Data;
  }
  /** Data as plain numbers (int64 converted). */
  toArray(): number[] {
    const d = this.data();
    return Array.from(d as ArrayLike<number | bigint>, (v) => Number(v));
  }
  item(): number {
    return native().Item(this.h) as number;
  }

  dispose(): void {
    this.h.dispose();
    for (const s of scopes) s.delete(this);
  }
  get disposed(): boolean {
    return this.h.isDisposed();
  }
  /** Keeps this tensor alive past the enclosing `tidy` scopes. */
  keep(): this {
    for (const s of scopes) s.delete(this);
    return this;
  }

  // autograd
  requiresGrad(on = true): this {
    native().SetRequiresGrad(this.h, on);
    return this;
  }
  get requiresGradEnabled(): boolean {
    return native().RequiresGrad(this.h) as boolean;
  }
  /** The accumulated gradient, or null before any backward. */
  get grad(): Tensor | null {
    const g = native().Grad(this.h) as NativeTensor | null;
    return g ? new Tensor(g) : null;
  }
  zeroGrad(): void {
    native().ZeroGrad(this.h);
  }
  backward(gradient?: Tensor): void {
    native().Backward(this.h, gradient?.h ?? null);
  }
  detach(): Tensor {
    return wrap(native().Detach(this.h));
  }
  clone(): Tensor {
    return wrap(native().Clone(this.h));
  }
  /** Copies `src` into this tensor in place (no gradient tracking). */
  copy(src: Tensor): this {
    native().CopyInto(this.h, src.h);
    return this;
  }

  // elementwise
  add(b: Tensor | number): Tensor { return binary("add", this, b); }
  sub(b: Tensor | number): Tensor { return binary("sub", this, b); }
  mul(b: Tensor | number): Tensor { return binary("mul", this, b); }
  div(b: Tensor | number): Tensor { return binary("div", this, b); }
  pow(b: Tensor | number): Tensor { return binary("pow", this, b); }
  maximum(b: Tensor | number): Tensor { return binary("maximum", this, b); }
  minimum(b: Tensor | number): Tensor { return binary("minimum", this, b); }
  eq(b: Tensor | number): Tensor { return binary("eq", this, b); }
  gt(b: Tensor | number): Tensor { return binary("gt", this, b); }
  lt(b: Tensor | number): Tensor { return binary("lt", this, b); }
  relu(): Tensor { return unary("relu", this); }
  gelu(): Tensor { return unary("gelu", this); }
  sigmoid(): Tensor { return unary("sigmoid", this); }
  tanh(): Tensor { return unary("tanh", this); }
  exp(): Tensor { return unary("exp", this); }
  log(): Tensor { return unary("log", this); }
  neg(): Tensor { return unary("neg", this); }
  sqrt(): Tensor { return unary("sqrt", this); }
  abs(): Tensor { return unary("abs", this); }
  sign(): Tensor { return unary("sign", this); }
  square(): Tensor { return unary("square", this); }
  clamp(min: number, max: number): Tensor { return wrap(native().Clamp(this.h, min, max)); }
  cast(dtype: Dtype): Tensor { return wrap(native().Cast(this.h, dtype)); }
  matmul(b: Tensor): Tensor { return wrap(native().Matmul(this.h, b.h)); }
  bmm(b: Tensor): Tensor { return wrap(native().Bmm(this.h, b.h)); }

  // reductions (no dims = over everything)
  sum(dims: number[] = [], keepdim = false): Tensor { return reduce("sum", this, dims, keepdim); }
  mean(dims: number[] = [], keepdim = false): Tensor { return reduce("mean", this, dims, keepdim); }
  max(dim?: number, keepdim = false): Tensor { return reduce("max", this, dim === undefined ? [] : [dim], keepdim); }
  min(dim?: number, keepdim = false): Tensor { return reduce("min", this, dim === undefined ? [] : [dim], keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return reduce("argmax", this, dim === undefined ? [] : [dim], keepdim); }
  var(dims: number[] = [], keepdim = false): Tensor { return reduce("var", this, dims, keepdim); }
  logsumexp(dims: number[], keepdim = false): Tensor { return reduce("logsumexp", this, dims, keepdim); }

  // shapes
  reshape(shape: Shape): Tensor { return wrap(native().Reshape(this.h, shape)); }
  permute(dims: number[]): Tensor { return wrap(native().Permute(this.h, dims)); }
  transpose(a: number, b: number): Tensor { return wrap(native().Transpose(this.h, a, b)); }
  contiguous(): Tensor { return wrap(native().Contiguous(this.h)); }
  unsqueeze(dim: number): Tensor { return wrap(native().Unsqueeze(this.h, dim)); }
  squeeze(dim: number): Tensor { return wrap(native().Squeeze(this.h, dim)); }
  flatten(start = 0, end = -1): Tensor { return wrap(native().Flatten(this.h, start, end)); }
  expand(shape: Shape): Tensor { return wrap(native().Expand(this.h, shape)); }
  /** Elements start..end (exclusive) along dim, every step-th. */
  slice(dim: number, start: number, end: number, step = 1): Tensor { return wrap(native().Slice(this.h, dim, start, end, step)); }
  indexSelect(dim: number, index: Tensor): Tensor { return wrap(native().IndexSelect(this.h, dim, index.h)); }
  gather(dim: number, index: Tensor): Tensor { return wrap(native().Gather(this.h, dim, index.h)); }
  /** out = this with src added at `index` along dim (message passing). */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return wrap(native().ScatterAdd(this.h, dim, index.h, src.h)); }
  indexAdd(dim: number, index: Tensor, src: Tensor): Tensor { return wrap(native().IndexAdd(this.h, dim, index.h, src.h)); }
}

function wrap(h: NativeTensor): Tensor {
  return new Tensor(h);
}
function unary(op: string, x: Tensor): Tensor {
  return wrap(native().Unary(op, x.h));
}
function binary(op: string, a: Tensor, b: Tensor | number): Tensor {
  return wrap(native().Binary(op, a.h, typeof b === "number" ? b : b.h));
}
function reduce(op: string, x: Tensor, dims: number[], keepdim: boolean): Tensor {
  return wrap(native().Reduce(op, x.h, dims, keepdim));
}

/** Runs fn in a disposal scope: tensors it creates are disposed afterwards, except those it returns. */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keepers = new Set<Tensor>();
  collect(result!, keepers);
  for (const t of scope) if (!keepers.has(t)) t.h.dispose();
  // Returned tensors belong to the enclosing scope now.
  const outer = scopes[scopes.length - 1];
  if (outer) for (const t of keepers) if (scope.has(t)) outer.add(t);
  return result!;
}

function collect(v: unknown, out: Set<Tensor>): void {
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) for (const x of v) collect(x, out);
  else if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out);
}

/** Runs fn with gradient tracking off (inference, parameter updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = native().SetGradEnabled(false) as boolean;
  try {
    return fn();
  } finally {
    native().SetGradEnabled(prev);
  }
}

// ---- creation ----
export function tensor(values: ArrayLike<number> | Data, shape?: Shape, dtype: Dtype = "float32"): Tensor {
  const n = values.length;
  const s = shape ?? [n];
  let buf: Data;
  if (dtype === "float32") buf = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  else if (dtype === "float64") buf = values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>);
  else if (dtype === "int64") buf = values instanceof BigInt64Array ? values : BigInt64Array.from(Array.from(values as ArrayLike<number>, (v) => BigInt(Math.trunc(v))));
  else if (dtype === "int32") buf = values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  else buf = values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>);
  return wrap(native().FromArray(buf, s, dtype));
}
export const zeros = (shape: Shape, dtype: Dtype = "float32") => full(shape, 0, dtype);
export const ones = (shape: Shape, dtype: Dtype = "float32") => full(shape, 1, dtype);
export const full = (shape: Shape, value: number, dtype: Dtype = "float32") => wrap(native().Full(shape, value, dtype));
/** Standard normal values from libtorch's generator (seed it with manualSeed). */
export const randn = (shape: Shape) => wrap(native().Randn(shape));
export const rand = (shape: Shape) => wrap(native().Rand(shape));
export const randint = (low: number, high: number, shape: Shape) => wrap(native().Randint(low, high, shape));
export const randperm = (n: number) => wrap(native().Randperm(n));
export const arange = (start: number, end: number, step = 1, dtype: Dtype = "int64") => wrap(native().Arange(start, end, step, dtype));
export const cat = (ts: Tensor[], dim = 0) => wrap(native().Cat(ts.map((t) => t.h), dim));
export const stack = (ts: Tensor[], dim = 0) => wrap(native().Stack(ts.map((t) => t.h), dim));
export const where = (cond: Tensor, a: Tensor, b: Tensor) => wrap(native().Where(cond.h, a.h, b.h));

// ---- global engine state ----
export const manualSeed = (seed: number) => native().ManualSeed(seed);
export const setNumThreads = (n: number) => native().SetNumThreads(n);
export const getNumThreads = () => native().GetNumThreads() as number;
export const torchVersion = () => native().Version() as string;
