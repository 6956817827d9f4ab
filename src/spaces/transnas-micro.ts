import type { JsonObject } from "../core/json.js";
import type { Rng } from "../core/rng.js";
import type { ArchGraph, Dimension, DimensionValues, SearchSpace } from "../core/space.js";
import { UserError } from "../core/errors.js";
import { NB201_EDGES, NB201_OPS, type Nb201Op } from "../benchmarks/nb201.js";
import { microString, parseMicro, TNB_MICRO_OPS, type TnbMicroOp } from "../benchmarks/transnas.js";
import { canonicalNb201 } from "./nb201.js";
import { cellGraph } from "./cell-graph.js";

const K = TNB_MICRO_OPS.length;
const VOCABULARY = ["input", ...TNB_MICRO_OPS, "output"] as const;
// The micro cell is NB201's cell with 4 operations: zeroize, skip, conv1x1, conv3x3 map to NB201's
// none, skip_connect, nor_conv_1x1, nor_conv_3x3, so NB201's canonical form applies unchanged.
const AS_NB201: readonly Nb201Op[] = [NB201_OPS[0], NB201_OPS[1], NB201_OPS[2], NB201_OPS[3]];

function codesOf(point: string): number[] {
  const codes = typeof point === "string" ? parseMicro(point) : undefined;
  if (!codes) {
    throw new UserError(
      `not a TransNAS-Bench-101 micro architecture: ${JSON.stringify(point)} (expected "64-41414-a_bc_def", each digit an op code 0..3: ${TNB_MICRO_OPS.map((o, i) => `${i} ${o}`).join(", ")})`,
    );
  }
  return codes;
}

/**
 * TransNAS-Bench-101 micro space: NB201's 4-node cell (6 edges) with 4 operations, 4,096 cells,
 * every one in the benchmark. A point is the benchmark's arch string `64-41414-{e01}_{e02}{e12}_{e03}{e13}{e23}`.
 * Canonical form: NB201's (dead edges zeroized, nodes 1 and 2 swapped when unconnected).
 */
export class TransNasMicroSpace implements SearchSpace<string> {
  readonly name = "transnas-micro";
  readonly encodingLength = NB201_EDGES.length * K;

  describe(): JsonObject {
    return {
      name: this.name,
      point: "TransNAS-Bench-101 micro arch string 64-41414-{0->1}_{0->2}{1->2}_{0->3}{1->3}{2->3} (op codes)",
      edges: NB201_EDGES.map(([s, t]) => `${s}->${t}`),
      ops: Object.fromEntries(TNB_MICRO_OPS.map((o, i) => [String(i), o])),
      size: this.size(),
    };
  }

  size(): number {
    return K ** NB201_EDGES.length;
  }

  sample(rng: Rng): string {
    return microString(NB201_EDGES.map(() => rng.int(K)));
  }

  canonical(point: string): string {
    const ops = canonicalNb201(codesOf(point).map((c) => AS_NB201[c]));
    return microString(ops.map((op) => AS_NB201.indexOf(op)));
  }

  validate(value: unknown): string {
    codesOf(value as string);
    return value as string;
  }

  /** Changes the operation on one edge to a different one. */
  mutate(point: string, rng: Rng): string {
    const codes = codesOf(point);
    const k = rng.int(codes.length);
    codes[k] = (codes[k] + 1 + rng.int(K - 1)) % K;
    return microString(codes);
  }

  crossover(a: string, b: string, rng: Rng): string {
    const cb = codesOf(b);
    return microString(codesOf(a).map((c, k) => (rng.bool() ? c : cb[k])));
  }

  /** The 18 cells that differ in exactly one edge. */
  neighbours(point: string): string[] {
    const codes = codesOf(point);
    const out: string[] = [];
    codes.forEach((c, k) => {
      for (let other = 0; other < K; other++) {
        if (other === c) continue;
        const next = [...codes];
        next[k] = other;
        out.push(microString(next));
      }
    });
    return out;
  }

  /** One-hot operation per edge (24 values). */
  encode(point: string): number[] {
    const v = new Array<number>(this.encodingLength).fill(0);
    codesOf(point).forEach((c, k) => (v[k * K + c] = 1));
    return v;
  }

  dimensions(): readonly Dimension[] {
    return NB201_EDGES.map(([s, t]) => ({ name: `${s}->${t}`, kind: "categorical" as const, choices: TNB_MICRO_OPS }));
  }

  toValues(point: string): DimensionValues {
    return codesOf(point).map((c) => TNB_MICRO_OPS[c]);
  }

  fromValues(values: DimensionValues): string {
    const codes = values.map((v) => TNB_MICRO_OPS.indexOf(v as TnbMicroOp));
    if (codes.length !== NB201_EDGES.length || codes.some((c) => c < 0)) {
      throw new UserError(`expected ${NB201_EDGES.length} TransNAS-Bench-101 micro operations (${TNB_MICRO_OPS.join(", ")}), got ${JSON.stringify(values)}`);
    }
    return microString(codes);
  }

  graph(point: string): ArchGraph {
    return cellGraph(codesOf(point).map((c) => TNB_MICRO_OPS[c]), NB201_EDGES, VOCABULARY);
  }
}
