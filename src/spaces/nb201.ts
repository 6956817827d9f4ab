import type { JsonObject } from "../core/json.js";
import type { Rng } from "../core/rng.js";
import type { ArchGraph, Dimension, DimensionValues, SearchSpace } from "../core/space.js";
import { UserError } from "../core/errors.js";
import { archString, NB201_EDGES, NB201_OPS, parseArchString, type Nb201Op } from "../benchmarks/nb201.js";

const NONE: Nb201Op = "none";
const VOCABULARY = ["input", ...NB201_OPS, "output"] as const;

function opsOf(point: string): Nb201Op[] {
  const ops = parseArchString(point);
  if (!ops) throw new UserError(`not a NAS-Bench-201 architecture string: ${JSON.stringify(point)}`);
  return ops;
}

/**
 * Canonical NB201 cell: an edge matters only if its source is reachable from the input and its
 * target reaches the output through non-`none` edges; dead edges become `none`, and a cell whose
 * output is cut from its input is all `none`. When edge 1->2 is `none`, nodes 1 and 2 are
 * interchangeable, so the lexicographically smaller of the two labellings is taken.
 */
export function canonicalNb201(ops: readonly Nb201Op[]): Nb201Op[] {
  const live = (k: number) => ops[k] !== NONE;
  const [e01, e02, e12, e03, e13, e23] = [0, 1, 2, 3, 4, 5].map(live);
  const from = [true, e01, false, false];
  from[2] = e02 || (from[1] && e12);
  const to = [false, false, e23, true];
  to[1] = e13 || (e12 && to[2]);
  to[0] = e03 || (e01 && to[1]) || (e02 && to[2]);
  if (!to[0]) return ops.map(() => NONE);
  const pruned = ops.map((op, k) => {
    const [s, t] = NB201_EDGES[k];
    return op !== NONE && from[s] && to[t] ? op : NONE;
  });
  if (pruned[2] === NONE) {
    const swapped: Nb201Op[] = [pruned[1], pruned[0], NONE, pruned[3], pruned[5], pruned[4]];
    if (swapped.join(",") < pruned.join(",")) return swapped;
  }
  return pruned;
}

/**
 * NAS-Bench-201 cell space: 6 edges x 5 operations (15,625 cells). A point is the benchmark's
 * own architecture string, e.g. `|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|`.
 */
export class Nb201Space implements SearchSpace<string> {
  readonly name = "nb201";
  readonly encodingLength = NB201_EDGES.length * NB201_OPS.length;

  describe(): JsonObject {
    return {
      name: this.name,
      point: "NAS-Bench-201 architecture string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|",
      edges: NB201_EDGES.map(([s, t]) => `${s}->${t}`),
      ops: [...NB201_OPS],
      size: 15625,
    };
  }

  size(): number {
    return NB201_OPS.length ** NB201_EDGES.length;
  }

  sample(rng: Rng): string {
    return archString(NB201_EDGES.map(() => rng.choice(NB201_OPS)));
  }

  canonical(point: string): string {
    return archString(canonicalNb201(opsOf(point)));
  }

  validate(value: unknown): string {
    if (typeof value !== "string") throw new UserError(`expected a NAS-Bench-201 architecture string, got ${JSON.stringify(value)}`);
    opsOf(value);
    return value;
  }

  /** Changes the operation on one edge to a different one. */
  mutate(point: string, rng: Rng): string {
    const ops = opsOf(point);
    const k = rng.int(ops.length);
    const others = NB201_OPS.filter((op) => op !== ops[k]);
    ops[k] = rng.choice(others);
    return archString(ops);
  }

  crossover(a: string, b: string, rng: Rng): string {
    const oa = opsOf(a);
    const ob = opsOf(b);
    return archString(oa.map((op, k) => (rng.bool() ? op : ob[k])));
  }

  /** The 24 cells that differ in exactly one edge. */
  neighbours(point: string): string[] {
    const ops = opsOf(point);
    const out: string[] = [];
    ops.forEach((op, k) => {
      for (const other of NB201_OPS) {
        if (other === op) continue;
        const next = [...ops];
        next[k] = other;
        out.push(archString(next));
      }
    });
    return out;
  }

  /** One-hot operation per edge (30 values). */
  encode(point: string): number[] {
    const ops = opsOf(point);
    const v = new Array<number>(this.encodingLength).fill(0);
    ops.forEach((op, k) => (v[k * NB201_OPS.length + NB201_OPS.indexOf(op)] = 1));
    return v;
  }

  /** Six categorical decisions, one per edge, named by the edge (`0->1`, ...). */
  dimensions(): readonly Dimension[] {
    return NB201_EDGES.map(([s, t]) => ({ name: `${s}->${t}`, kind: "categorical" as const, choices: NB201_OPS }));
  }

  toValues(point: string): DimensionValues {
    return opsOf(point);
  }

  fromValues(values: DimensionValues): string {
    if (values.length !== NB201_EDGES.length || values.some((v) => typeof v !== "string" || !(NB201_OPS as readonly string[]).includes(v))) {
      throw new UserError(`expected ${NB201_EDGES.length} NAS-Bench-201 operations, got ${JSON.stringify(values)}`);
    }
    return archString(values as Nb201Op[]);
  }

  /** Operations on nodes: input, one node per edge (in edge order), output. */
  /** Capability "supernet": the NB201 supernet (src/oneshot/nb201-supernet.ts) holds every cell. */
  supernet(): string {
    return "nb201";
  }

  graph(point: string): ArchGraph {
    const ops = opsOf(point);
    const n = ops.length + 2;
    const adjacency = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    const out = n - 1;
    NB201_EDGES.forEach(([s, t], k) => {
      const node = k + 1;
      if (s === 0) adjacency[0][node] = 1;
      if (t === 3) adjacency[node][out] = 1;
      NB201_EDGES.forEach(([s2], k2) => {
        if (s2 === t) adjacency[node][k2 + 1] = 1;
      });
    });
    return { ops: ["input", ...ops, "output"], adjacency, vocabulary: VOCABULARY };
  }
}
