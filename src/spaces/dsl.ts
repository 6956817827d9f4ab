import type { Json, JsonObject } from "../core/json.js";
import { deepClone, stableStringify } from "../core/json.js";
import type { Rng } from "../core/rng.js";
import type { ArchGraph, Dimension, DimensionValues, SearchSpace } from "../core/space.js";
import { UserError } from "../core/errors.js";

/** A value a categorical parameter can take. */
export type Scalar = string | number | boolean;

/** Makes a parameter present only when an earlier categorical parameter is present with one of `in`. */
export interface Condition {
  param: string;
  in: Scalar[];
}

interface ParamBase {
  name: string;
  when?: Condition;
}

export interface CategoricalParam extends ParamBase {
  type: "categorical";
  choices: Scalar[];
}

export interface IntParam extends ParamBase {
  type: "int";
  /** Inclusive bounds. */
  low: number;
  high: number;
  /** Sample log-uniformly (needs low > 0). */
  log?: boolean;
}

export interface FloatParam extends ParamBase {
  type: "float";
  low: number;
  high: number;
  log?: boolean;
}

/** Between `min` and `max` blocks, each an object over the `body` parameters. */
export interface RepeatParam extends ParamBase {
  type: "repeat";
  min: number;
  max: number;
  body: Param[];
}

/** A DAG cell on nodes 0..nodes-1 with one op per edge i->j (i<j), in `cellEdges` order. */
export interface CellParam extends ParamBase {
  type: "cell";
  nodes: number;
  ops: string[];
}

export type Param = CategoricalParam | IntParam | FloatParam | RepeatParam | CellParam;

// ---------------------------------------------------------------------------------------------
// Builders

export function categorical(name: string, choices: Scalar[], opts: { when?: Condition } = {}): CategoricalParam {
  return { type: "categorical", name, choices, ...opts };
}

export function int(name: string, low: number, high: number, opts: { log?: boolean; when?: Condition } = {}): IntParam {
  return { type: "int", name, low, high, ...opts };
}

export function float(name: string, low: number, high: number, opts: { log?: boolean; when?: Condition } = {}): FloatParam {
  return { type: "float", name, low, high, ...opts };
}

export function repeat(name: string, min: number, max: number, body: Param[], opts: { when?: Condition } = {}): RepeatParam {
  return { type: "repeat", name, min, max, body, ...opts };
}

export function cell(name: string, nodes: number, ops: string[], opts: { when?: Condition } = {}): CellParam {
  return { type: "cell", name, nodes, ops, ...opts };
}

/** `when("optimizer", "sgd")`: a condition for the `when` option of the builders. */
export function when(param: string, ...values: Scalar[]): Condition {
  return { param, in: values };
}

/** Edges of a cell ordered by target then source: (0,1),(0,2),(1,2),(0,3),(1,3),(2,3),... */
export function cellEdges(nodes: number): [number, number][] {
  const edges: [number, number][] = [];
  for (let t = 1; t < nodes; t++) for (let s = 0; s < t; s++) edges.push([s, t]);
  return edges;
}

/** A point that fails validation; `path` names the field (`layers[2].kernel`), "" for the whole point. */
export class PointError extends UserError {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(path ? `${path}: ${detail}` : detail);
    this.name = "PointError";
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers over one list of parameters (the top level, or a repeat body)

const fmt = (x: Scalar) => (typeof x === "string" ? JSON.stringify(x) : String(x));

function show(value: unknown): string {
  const text = value === undefined ? "undefined" : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const joinPath = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `p` is active given the (already built, in declaration order) values of its block. */
function isActive(p: Param, obj: JsonObject): boolean {
  if (!p.when) return true;
  const v = obj[p.when.param];
  return v !== undefined && p.when.in.some((c) => c === v);
}

function checkDeclarations(params: Param[], prefix: string): void {
  if (!Array.isArray(params)) throw new UserError(`parameters${prefix ? ` of "${prefix}"` : ""} must be a list`);
  const seen = new Map<string, Param>();
  for (const p of params) {
    if (!isPlainObject(p) || typeof p.name !== "string" || p.name === "") {
      throw new UserError(`every parameter${prefix ? ` of "${prefix}"` : ""} needs a non-empty name, got ${show(p)}`);
    }
    const label = `parameter "${joinPath(prefix, p.name)}"`;
    const bad = (why: string): never => {
      throw new UserError(`${label}: ${why}`);
    };
    if (seen.has(p.name)) bad("duplicate name");
    if (p.when !== undefined) {
      const parent = seen.get(p.when.param);
      if (!parent) bad(`"when" refers to "${p.when.param}", which is not an earlier parameter${prefix ? " of the same block" : ""}`);
      else if (parent.type !== "categorical") bad(`"when" refers to "${p.when.param}", which is not categorical`);
      else {
        if (!Array.isArray(p.when.in) || p.when.in.length === 0) bad(`"when.in" must list at least one value of "${parent.name}"`);
        for (const v of p.when.in) {
          if (!parent.choices.some((c) => c === v)) bad(`"when.in" value ${show(v)} is not a choice of "${parent.name}"`);
        }
      }
    }
    switch (p.type) {
      case "categorical":
        if (!Array.isArray(p.choices) || p.choices.length === 0) bad("needs at least one choice");
        for (const c of p.choices) {
          const ok = typeof c === "string" || typeof c === "boolean" || (typeof c === "number" && Number.isFinite(c));
          if (!ok) bad(`choice ${show(c)} is not a string, finite number or boolean`);
        }
        if (new Set(p.choices).size !== p.choices.length) bad("choices must be distinct");
        break;
      case "int":
      case "float": {
        const isNum = p.type === "int" ? Number.isInteger : Number.isFinite;
        if (!isNum(p.low) || !isNum(p.high)) bad(`low and high must be ${p.type === "int" ? "integers" : "finite numbers"}`);
        if (p.low > p.high) bad(`low (${p.low}) must be <= high (${p.high})`);
        if (p.log && p.low <= 0) bad(`log scale needs low > 0, got ${p.low}`);
        break;
      }
      case "repeat":
        if (!Number.isInteger(p.min) || !Number.isInteger(p.max) || p.min < 0) bad("min and max must be integers >= 0");
        if (p.min > p.max) bad(`min (${p.min}) must be <= max (${p.max})`);
        checkDeclarations(p.body, joinPath(prefix, p.name));
        break;
      case "cell":
        if (!Number.isInteger(p.nodes) || p.nodes < 2) bad(`nodes must be an integer >= 2, got ${show(p.nodes)}`);
        if (!Array.isArray(p.ops) || p.ops.length === 0) bad("needs at least one op");
        if (p.ops.some((op) => typeof op !== "string")) bad("ops must be strings");
        if (new Set(p.ops).size !== p.ops.length) bad("ops must be distinct");
        break;
      default:
        bad(`unknown type ${show((p as { type?: unknown }).type)} (expected categorical, int, float, repeat or cell)`);
    }
    seen.set(p.name, p);
  }
}

/** Maps a numeric parameter to [0, 1] (in log space when log) and back. */
function toUnit(p: IntParam | FloatParam, v: number): number {
  if (p.high === p.low) return 0;
  return p.log ? (Math.log(v) - Math.log(p.low)) / (Math.log(p.high) - Math.log(p.low)) : (v - p.low) / (p.high - p.low);
}

function fromUnit(p: IntParam | FloatParam, u: number): number {
  return p.log ? Math.exp(Math.log(p.low) + u * (Math.log(p.high) - Math.log(p.low))) : p.low + u * (p.high - p.low);
}

const clip = (v: number, low: number, high: number) => Math.min(high, Math.max(low, v));

function sampleParam(p: Param, rng: Rng): Json {
  switch (p.type) {
    case "categorical":
      return rng.choice(p.choices);
    case "int":
      if (!p.log) return rng.intBetween(p.low, p.high);
      // Log-uniform over [low, high + 1), floored: P(k) is proportional to log((k + 1) / k).
      return clip(Math.floor(Math.exp(rng.uniform(Math.log(p.low), Math.log(p.high + 1)))), p.low, p.high);
    case "float":
      return clip(fromUnit(p, rng.next()), p.low, p.high);
    case "repeat": {
      const n = rng.intBetween(p.min, p.max);
      return Array.from({ length: n }, () => sampleList(p.body, rng));
    }
    case "cell":
      return cellEdges(p.nodes).map(() => rng.choice(p.ops));
  }
}

function sampleList(params: Param[], rng: Rng): JsonObject {
  return fillList(params, {}, (p) => sampleParam(p, rng));
}

/** A deterministic value for a parameter that a neighbour step newly activates. */
function defaultValue(p: Param): Json {
  switch (p.type) {
    case "categorical":
      return p.choices[0];
    case "int":
      return clip(Math.round(fromUnit(p, 0.5)), p.low, p.high);
    case "float":
      return clip(fromUnit(p, 0.5), p.low, p.high);
    case "repeat":
      return Array.from({ length: p.min }, () => fillList(p.body, {}, defaultValue));
    case "cell":
      return cellEdges(p.nodes).map(() => p.ops[0]);
  }
}

/**
 * Rebuilds a block in declaration order: keeps the values of active parameters, drops inactive
 * ones and fills newly active ones with `fill`.
 */
function fillList(params: Param[], obj: JsonObject, fill: (p: Param) => Json): JsonObject {
  const out: JsonObject = {};
  for (const p of params) {
    if (!isActive(p, out)) continue;
    out[p.name] = obj[p.name] !== undefined ? obj[p.name] : fill(p);
  }
  return out;
}

/** `fillList` in place, for mutation sites that hold a reference to the block. */
function refillInPlace(params: Param[], obj: JsonObject, rng: Rng): void {
  const fixed = fillList(params, obj, (p) => sampleParam(p, rng));
  for (const key of Object.keys(obj)) delete obj[key];
  Object.assign(obj, fixed);
}

/** Number of values of one parameter (Infinity for floats). */
function countParam(p: Param): number {
  switch (p.type) {
    case "categorical":
      return p.choices.length;
    case "int":
      return p.high - p.low + 1;
    case "float":
      return p.low === p.high ? 1 : Infinity;
    case "repeat": {
      const body = countList(p.body);
      let total = 0;
      for (let n = p.min; n <= p.max; n++) total += body ** n;
      return total;
    }
    case "cell":
      return p.ops.length ** cellEdges(p.nodes).length;
  }
}

/** Number of points of a block: branches on every categorical that controls a condition. */
function countList(params: Param[]): number {
  const controllers = new Set(params.flatMap((p) => (p.when ? [p.when.param] : [])));
  const count = (i: number, ctx: JsonObject): number => {
    if (i === params.length) return 1;
    const p = params[i];
    if (!isActive(p, ctx)) return count(i + 1, ctx);
    if (p.type === "categorical" && controllers.has(p.name)) {
      return p.choices.reduce<number>((sum, c) => sum + count(i + 1, { ...ctx, [p.name]: c }), 0);
    }
    return countParam(p) * count(i + 1, ctx);
  };
  return count(0, {});
}

function validateParam(p: Param, v: unknown, path: string): Json {
  const bad = (why: string): never => {
    throw new PointError(path, why);
  };
  switch (p.type) {
    case "categorical":
      if (!p.choices.some((c) => c === v)) bad(`expected one of ${p.choices.map(fmt).join(", ")}, got ${show(v)}`);
      return v as Scalar;
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v) || v < p.low || v > p.high) bad(`expected an integer in [${p.low}, ${p.high}], got ${show(v)}`);
      return v as number;
    case "float":
      if (typeof v !== "number" || !Number.isFinite(v) || v < p.low || v > p.high) bad(`expected a number in [${p.low}, ${p.high}], got ${show(v)}`);
      return v as number;
    case "repeat": {
      if (!Array.isArray(v)) return bad(`expected a list of ${p.min} to ${p.max} blocks, got ${show(v)}`);
      if (v.length < p.min || v.length > p.max) bad(`expected ${p.min} to ${p.max} blocks, got ${v.length}`);
      return v.map((block, i) => validateList(p.body, block, `${path}[${i}]`));
    }
    case "cell": {
      const edges = cellEdges(p.nodes);
      if (!Array.isArray(v) || v.length !== edges.length) return bad(`expected a list of ${edges.length} ops (one per edge), got ${show(v)}`);
      return v.map((op, k) => {
        if (!p.ops.includes(op as string)) {
          throw new PointError(`${path}[${k}]`, `edge ${edges[k][0]}->${edges[k][1]}: expected one of ${p.ops.map(fmt).join(", ")}, got ${show(op)}`);
        }
        return op as string;
      });
    }
  }
}

function validateList(params: Param[], value: unknown, prefix: string): JsonObject {
  if (!isPlainObject(value)) throw new PointError(prefix, `expected an object, got ${show(value)}`);
  const out: JsonObject = {};
  for (const p of params) {
    const path = joinPath(prefix, p.name);
    const v = value[p.name];
    const active = isActive(p, out);
    if (active && v === undefined) {
      const why = p.when ? ` (active because ${p.when.param} = ${fmt(out[p.when.param] as Scalar)})` : "";
      throw new PointError(path, `missing${why}`);
    }
    if (!active && v !== undefined) {
      const cond = p.when!;
      throw new PointError(path, `not allowed here: only present when ${cond.param} is one of ${cond.in.map(fmt).join(", ")}`);
    }
    if (active) out[p.name] = validateParam(p, v, path);
  }
  const known = new Set(params.map((p) => p.name));
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new PointError(joinPath(prefix, key), `unknown parameter (expected ${[...known].join(", ") || "none"})`);
  }
  return out;
}

function canonicalList(params: Param[], obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const p of params) {
    const v = obj[p.name];
    if (v === undefined || !isActive(p, out)) continue;
    out[p.name] = p.type === "repeat" ? (v as JsonObject[]).map((b) => canonicalList(p.body, b)) : deepClone(v);
  }
  return out;
}

/** Another integer: uniform on narrow ranges; on wide ones usually a nearby step, sometimes anywhere. */
function mutateInt(p: IntParam, v: number, rng: Rng): number {
  const n = p.high - p.low + 1;
  if (n <= 10 || rng.bool(0.2)) {
    const k = p.low + rng.int(n - 1);
    return k >= v ? k + 1 : k;
  }
  let next = clip(Math.round(fromUnit(p, toUnit(p, v) + rng.normal(0, 0.1))), p.low, p.high);
  if (next === v) next = v + (v === p.high || (v > p.low && rng.bool()) ? -1 : 1);
  return next;
}

/** A gaussian step of 10% of the (log) range, reflected at the bounds; retried if it lands on v. */
function mutateFloat(p: FloatParam, v: number, rng: Rng): number {
  for (let tries = 0; tries < 20; tries++) {
    let u = toUnit(p, v) + rng.normal(0, 0.1);
    u = Math.abs(u) % 2; // reflect into [0, 2), then fold [1, 2) back onto [0, 1]
    if (u > 1) u = 2 - u;
    const next = clip(fromUnit(p, u), p.low, p.high);
    if (next !== v) return next;
  }
  return v === p.low ? p.high : p.low;
}

function otherChoice<T>(items: readonly T[], current: unknown, rng: Rng): T {
  const others = items.filter((x) => x !== current);
  return rng.choice(others);
}

/** A mutation site changes one elementary decision of the (cloned) point in place. */
type Site = (rng: Rng) => void;

function collectSites(params: Param[], obj: JsonObject, sites: Site[]): void {
  for (const p of params) {
    const v = obj[p.name];
    if (v === undefined) continue;
    switch (p.type) {
      case "categorical":
        if (p.choices.length > 1) {
          sites.push((rng) => {
            obj[p.name] = otherChoice(p.choices, v, rng);
            refillInPlace(params, obj, rng); // (de)activate conditional children
          });
        }
        break;
      case "int":
        if (p.low < p.high) sites.push((rng) => (obj[p.name] = mutateInt(p, v as number, rng)));
        break;
      case "float":
        if (p.low < p.high) sites.push((rng) => (obj[p.name] = mutateFloat(p, v as number, rng)));
        break;
      case "cell": {
        const ops = v as string[];
        if (p.ops.length > 1) ops.forEach((op, k) => sites.push((rng) => (ops[k] = otherChoice(p.ops, op, rng))));
        break;
      }
      case "repeat": {
        const blocks = v as JsonObject[];
        for (const block of blocks) collectSites(p.body, block, sites);
        if (blocks.length < p.max) sites.push((rng) => blocks.splice(rng.int(blocks.length + 1), 0, sampleList(p.body, rng)));
        if (blocks.length > p.min) sites.push((rng) => blocks.splice(rng.int(blocks.length), 1));
        break;
      }
    }
  }
}

function crossoverList(params: Param[], a: JsonObject, b: JsonObject, rng: Rng): JsonObject {
  const out: JsonObject = {};
  for (const p of params) {
    if (!isActive(p, out)) continue;
    const va = a[p.name];
    const vb = b[p.name];
    if (va === undefined || vb === undefined) {
      // Active here but missing from a parent (its controller differed there): take what exists.
      const v = va ?? vb;
      out[p.name] = v === undefined ? sampleParam(p, rng) : deepClone(v);
      continue;
    }
    if (p.type === "cell") {
      out[p.name] = (va as string[]).map((op, k) => (rng.bool() ? op : (vb as string[])[k]));
    } else if (p.type === "repeat") {
      const ba = va as JsonObject[];
      const bb = vb as JsonObject[];
      const n = rng.bool() ? ba.length : bb.length;
      out[p.name] = Array.from({ length: n }, (_, i) => {
        if (i >= ba.length) return deepClone(bb[i]);
        if (i >= bb.length) return deepClone(ba[i]);
        return deepClone(rng.bool() ? ba[i] : bb[i]);
      });
    } else {
      out[p.name] = rng.bool() ? va : vb;
    }
  }
  return out;
}

/** Alternative values of one parameter, one elementary change away, in a fixed order. */
function alternatives(p: Param, v: Json): Json[] {
  switch (p.type) {
    case "categorical":
      return p.choices.filter((c) => c !== v);
    case "int": {
      const x = v as number;
      const steps = [x - 1, x + 1];
      if (p.log) steps.push(Math.round(x / 2), x * 2);
      return dedupeNumbers(steps.map((s) => clip(s, p.low, p.high)), x);
    }
    case "float": {
      const x = v as number;
      const steps = p.log ? [x / 1.5, x * 1.5] : [x - 0.1 * (p.high - p.low), x + 0.1 * (p.high - p.low)];
      return dedupeNumbers(steps.map((s) => clip(s, p.low, p.high)), x);
    }
    case "cell": {
      const ops = v as string[];
      return ops.flatMap((op, k) => p.ops.filter((o) => o !== op).map((o) => ops.map((x, j) => (j === k ? o : x))));
    }
    case "repeat": {
      const blocks = v as JsonObject[];
      const out: Json[] = [];
      blocks.forEach((block, i) => {
        for (const nb of neighbourList(p.body, block)) out.push(blocks.map((x, j) => (j === i ? nb : x)));
      });
      if (blocks.length < p.max) {
        const last = blocks.length > 0 ? blocks[blocks.length - 1] : fillList(p.body, {}, defaultValue);
        out.push([...blocks, last]);
      }
      if (blocks.length > p.min) out.push(blocks.slice(0, -1));
      return out;
    }
  }
}

function dedupeNumbers(values: number[], self: number): number[] {
  return values.filter((x, i) => x !== self && values.indexOf(x) === i);
}

function neighbourList(params: Param[], obj: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  for (const p of params) {
    const v = obj[p.name];
    if (v === undefined) continue;
    for (const alt of alternatives(p, v)) out.push(fillList(params, { ...obj, [p.name]: alt }, defaultValue));
  }
  return out;
}

function encodingLengthOf(params: Param[]): number {
  let n = 0;
  for (const p of params) {
    switch (p.type) {
      case "categorical":
        n += p.choices.length;
        break;
      case "int":
      case "float":
        n += p.when ? 2 : 1;
        break;
      case "cell":
        n += cellEdges(p.nodes).length * p.ops.length;
        break;
      case "repeat":
        n += p.max * (1 + encodingLengthOf(p.body));
        break;
    }
  }
  return n;
}

/** Appends the encoding of a block to `out`; `obj` undefined encodes an absent block (zeros). */
function encodeList(params: Param[], obj: JsonObject | undefined, out: number[]): void {
  for (const p of params) {
    const v = obj?.[p.name];
    switch (p.type) {
      case "categorical":
        for (const c of p.choices) out.push(c === v ? 1 : 0);
        break;
      case "int":
      case "float":
        out.push(v === undefined ? 0 : toUnit(p, v as number));
        if (p.when) out.push(v === undefined ? 0 : 1);
        break;
      case "cell": {
        const ops = v as string[] | undefined;
        cellEdges(p.nodes).forEach((_, k) => {
          for (const op of p.ops) out.push(ops?.[k] === op ? 1 : 0);
        });
        break;
      }
      case "repeat": {
        const blocks = (v as JsonObject[] | undefined) ?? [];
        for (let i = 0; i < p.max; i++) {
          out.push(i < blocks.length ? 1 : 0);
          encodeList(p.body, blocks[i], out);
        }
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The space as a flat list of decisions (capability "dimensions")

/**
 * Decisions of one parameter list, in declaration order: a categorical, int or float parameter is
 * one decision; a cell is one categorical decision per edge (`cell[0->1]`); a repeat is its block
 * count (`layers.count`, int) followed by the body's decisions for each of the `max` block
 * positions (`layers[0].kind`, ...). Every parameter always has the same number of decisions, so
 * positions never shift.
 */
function dimensionsOf(params: Param[], prefix: string, out: Dimension[]): void {
  for (const p of params) {
    const name = joinPath(prefix, p.name);
    switch (p.type) {
      case "categorical":
        out.push({ name, kind: "categorical", choices: [...p.choices] });
        break;
      case "int":
      case "float":
        out.push({ name, kind: p.type, low: p.low, high: p.high, log: Boolean(p.log) });
        break;
      case "cell":
        for (const [s, t] of cellEdges(p.nodes)) out.push({ name: `${name}[${s}->${t}]`, kind: "categorical", choices: [...p.ops] });
        break;
      case "repeat":
        out.push({ name: `${name}.count`, kind: "int", low: p.min, high: p.max, log: false });
        for (let i = 0; i < p.max; i++) dimensionsOf(p.body, `${name}[${i}]`, out);
        break;
    }
  }
}

function dimensionCount(params: Param[]): number {
  let n = 0;
  for (const p of params) {
    if (p.type === "cell") n += cellEdges(p.nodes).length;
    else if (p.type === "repeat") n += 1 + p.max * dimensionCount(p.body);
    else n += 1;
  }
  return n;
}

/** Appends the decision values of a block; `obj` undefined (an absent block) gives nulls. */
function valuesOf(params: Param[], obj: JsonObject | undefined, out: DimensionValues): void {
  for (const p of params) {
    const v = obj?.[p.name];
    switch (p.type) {
      case "categorical":
      case "int":
      case "float":
        out.push(v === undefined ? null : v);
        break;
      case "cell": {
        const ops = v as string[] | undefined;
        cellEdges(p.nodes).forEach((_, k) => out.push(ops?.[k] ?? null));
        break;
      }
      case "repeat": {
        const blocks = v as JsonObject[] | undefined;
        out.push(blocks === undefined ? null : blocks.length);
        for (let i = 0; i < p.max; i++) valuesOf(p.body, blocks?.[i], out);
        break;
      }
    }
  }
}

/**
 * Rebuilds a block from decision values starting at `at.i` (which is advanced past the block's
 * decisions whether active or not); values of inactive decisions are ignored, active ones must be
 * present and valid.
 */
function buildFromValues(params: Param[], values: DimensionValues, at: { i: number }, prefix: string): JsonObject {
  const out: JsonObject = {};
  for (const p of params) {
    const path = joinPath(prefix, p.name);
    const active = isActive(p, out);
    const start = at.i;
    const width = p.type === "cell" ? cellEdges(p.nodes).length : p.type === "repeat" ? 1 + p.max * dimensionCount(p.body) : 1;
    if (!active) {
      at.i = start + width;
      continue;
    }
    const need = (v: Json | null | undefined, where: string): Json => {
      if (v === null || v === undefined) throw new PointError(where, "missing (null) but the decision is active");
      return v;
    };
    switch (p.type) {
      case "categorical":
      case "int":
      case "float":
        out[p.name] = validateParam(p, need(values[start], path), path);
        at.i = start + 1;
        break;
      case "cell":
        out[p.name] = validateParam(
          p,
          cellEdges(p.nodes).map((_, k) => need(values[start + k], `${path}[${k}]`)),
          path,
        );
        at.i = start + width;
        break;
      case "repeat": {
        const count = need(values[start], `${path}.count`);
        if (typeof count !== "number" || !Number.isInteger(count) || count < p.min || count > p.max) {
          throw new PointError(`${path}.count`, `expected an integer in [${p.min}, ${p.max}], got ${show(count)}`);
        }
        at.i = start + 1;
        const blocks: JsonObject[] = [];
        for (let b = 0; b < count; b++) blocks.push(buildFromValues(p.body, values, at, `${path}[${b}]`));
        at.i = start + width; // positions past the count are inactive
        out[p.name] = blocks;
        break;
      }
    }
  }
  return out;
}

function describeParam(p: Param): JsonObject {
  const d: JsonObject = { name: p.name, type: p.type };
  switch (p.type) {
    case "categorical":
      d.choices = [...p.choices];
      break;
    case "int":
    case "float":
      d.low = p.low;
      d.high = p.high;
      if (p.log) d.log = true;
      break;
    case "repeat":
      d.min = p.min;
      d.max = p.max;
      d.body = p.body.map(describeParam);
      break;
    case "cell":
      d.nodes = p.nodes;
      d.edges = cellEdges(p.nodes).map(([s, t]) => `${s}->${t}`);
      d.ops = [...p.ops];
      break;
  }
  if (p.when) d.when = { param: p.when.param, in: [...p.when.in] };
  return d;
}

function countCells(params: Param[]): number {
  return params.reduce((n, p) => n + (p.type === "cell" ? 1 : p.type === "repeat" ? countCells(p.body) : 0), 0);
}

/** The op-on-node graph of a cell: input, one node per edge (in edge order), output. */
function cellGraph(p: CellParam, ops: string[]): ArchGraph {
  const edges = cellEdges(p.nodes);
  const n = edges.length + 2;
  const out = n - 1;
  const adjacency = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  edges.forEach(([s, t], k) => {
    if (s === 0) adjacency[0][k + 1] = 1;
    if (t === p.nodes - 1) adjacency[k + 1][out] = 1;
    edges.forEach(([s2], k2) => {
      if (s2 === t) adjacency[k + 1][k2 + 1] = 1;
    });
  });
  return { ops: ["input", ...ops, "output"], adjacency, vocabulary: ["input", ...p.ops, "output"] };
}

// ---------------------------------------------------------------------------------------------

/**
 * A search space declared as a list of parameters; a point is `{ [paramName]: value }` holding
 * exactly the active parameters. Has every capability; `graph` only when the space has exactly
 * one cell, at the top level and unconditional.
 */
export class DeclarativeSpace implements SearchSpace<JsonObject> {
  readonly encodingLength: number;
  private dims?: Dimension[];
  /** Present (an own property) only when the space has exactly one unconditional top-level cell. */
  declare readonly graph?: (point: JsonObject) => ArchGraph;

  constructor(
    readonly name: string,
    readonly params: Param[],
  ) {
    checkDeclarations(params, "");
    this.encodingLength = encodingLengthOf(params);
    const cells = params.filter((p): p is CellParam => p.type === "cell");
    if (countCells(params) === 1 && cells.length === 1 && !cells[0].when) {
      const c = cells[0];
      this.graph = (point: JsonObject): ArchGraph => cellGraph(c, point[c.name] as string[]);
    }
  }

  describe(): JsonObject {
    const size = this.size();
    return { name: this.name, params: this.params.map(describeParam), ...(size !== undefined ? { size } : {}) };
  }

  size(): number | undefined {
    const n = countList(this.params);
    return Number.isFinite(n) ? n : undefined;
  }

  sample(rng: Rng): JsonObject {
    return sampleList(this.params, rng);
  }

  canonical(point: JsonObject): JsonObject {
    return canonicalList(this.params, point);
  }

  validate(value: unknown): JsonObject {
    return validateList(this.params, value, "");
  }

  /** Changes one active decision (or adds/removes one block); newly active children are sampled. */
  mutate(point: JsonObject, rng: Rng): JsonObject {
    const next = deepClone(point);
    const sites: Site[] = [];
    collectSites(this.params, next, sites);
    if (sites.length > 0) rng.choice(sites)(rng);
    return next;
  }

  /** Uniform crossover per top-level parameter, per cell edge and per repeat block position. */
  crossover(a: JsonObject, b: JsonObject, rng: Rng): JsonObject {
    return crossoverList(this.params, a, b, rng);
  }

  neighbours(point: JsonObject): JsonObject[] {
    const self = stableStringify(this.canonical(point));
    const seen = new Set<string>([self]);
    const out: JsonObject[] = [];
    for (const nb of neighbourList(this.params, point)) {
      const key = stableStringify(nb);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(deepClone(nb));
    }
    return out;
  }

  /** Flat decisions (see `dimensionsOf`): conditional decisions and unused block positions are null when inactive. */
  dimensions(): readonly Dimension[] {
    if (!this.dims) {
      const out: Dimension[] = [];
      dimensionsOf(this.params, "", out);
      this.dims = out;
    }
    return this.dims;
  }

  toValues(point: JsonObject): DimensionValues {
    const out: DimensionValues = [];
    valuesOf(this.params, point, out);
    return out;
  }

  fromValues(values: DimensionValues): JsonObject {
    const n = dimensionCount(this.params);
    if (!Array.isArray(values) || values.length !== n) {
      throw new UserError(`space "${this.name}" has ${n} decisions, got ${Array.isArray(values) ? `${values.length} values` : show(values)}`);
    }
    return buildFromValues(this.params, values, { i: 0 }, "");
  }

  encode(point: JsonObject): number[] {
    const out: number[] = [];
    encodeList(this.params, point, out);
    return out;
  }
}

/** A hyperparameter space: a declarative space of categorical, int and float parameters. */
export function hyperparameterSpace(params: Param[], name = "hyperparameters"): DeclarativeSpace {
  for (const p of params) {
    if (p.type === "repeat" || p.type === "cell") {
      throw new UserError(`hyperparameter "${p.name}": a hyperparameter is categorical, int or float, not ${p.type}`);
    }
  }
  return new DeclarativeSpace(name, params);
}
