import type { JsonObject } from "../core/json.js";
import type { Rng } from "../core/rng.js";
import type { ArchGraph, Dimension, DimensionValues, SearchSpace } from "../core/space.js";
import { UserError } from "../core/errors.js";
import { macroString, parseMacro, TNB_MACRO_MODULES, transNasMacroArchs } from "../benchmarks/transnas.js";

const MAX = 6;
const MIN = 4;
const NONE = "none";
const VOCABULARY = ["input", ...TNB_MACRO_MODULES, "output"] as const;

/**
 * TransNAS-Bench-101 macro space, restricted to the skeletons the bundled tables can answer for.
 * A skeleton is 4 to 6 modules, each plain, with channels doubled, with stride 2, or both (digits
 * 1..4); the benchmark's 3,256 are those with 1-4 stride-2 and 1-3 doubling modules, but only 725
 * of them could be identified in the published tables, so this space is those 725. A point is the
 * benchmark's arch string, e.g. `64-4111-basic`.
 *
 * Moves stay inside the 725: a neighbour is a known skeleton one edit away (change, insert or
 * delete a module); decision values or a crossover that name an unknown skeleton are mapped to
 * the nearest known one (fewest differing positions, modules aligned from the start; ties: table order).
 */
export class TransNasMacroSpace implements SearchSpace<string> {
  readonly name = "transnas-macro";
  readonly encodingLength = MAX * (TNB_MACRO_MODULES.length + 1);
  private readonly known: string[];
  private readonly knownSet: Set<string>;
  private readonly padded: number[][];

  constructor(known: readonly string[] = transNasMacroArchs()) {
    this.known = [...known];
    this.knownSet = new Set(known);
    this.padded = this.known.map((a) => pad(parseMacro(a)!));
  }

  describe(): JsonObject {
    return {
      name: this.name,
      point: "TransNAS-Bench-101 macro arch string 64-<4 to 6 module digits>-basic",
      modules: Object.fromEntries(TNB_MACRO_MODULES.map((m, i) => [String(i + 1), m])),
      size: this.known.length,
      note: "only the 725 skeletons with known results (of the benchmark's 3,256)",
    };
  }

  size(): number {
    return this.known.length;
  }

  private digitsOf(point: string): number[] {
    const digits = typeof point === "string" ? parseMacro(point) : undefined;
    if (!digits) throw new UserError(`not a TransNAS-Bench-101 macro architecture: ${JSON.stringify(point)} (expected "64-<4 to 6 digits 1..4>-basic")`);
    if (!this.knownSet.has(point)) throw new UserError(`TransNAS-Bench-101 macro architecture ${point} is not one of the ${this.known.length} skeletons with known results`);
    return digits;
  }

  sample(rng: Rng): string {
    return rng.choice(this.known);
  }

  canonical(point: string): string {
    return point;
  }

  validate(value: unknown): string {
    this.digitsOf(value as string);
    return value as string;
  }

  /** The nearest known skeleton to a module list (itself when known). */
  nearest(digits: readonly number[]): string {
    const s = macroString(digits);
    if (this.knownSet.has(s)) return s;
    const p = pad(digits);
    let best = 0;
    let bestD = Infinity;
    this.padded.forEach((q, i) => {
      let d = 0;
      for (let k = 0; k < MAX; k++) if (q[k] !== p[k]) d++;
      if (d < bestD) [best, bestD] = [i, d];
    });
    return this.known[best];
  }

  /** Known skeletons one edit away: one module changed, removed or inserted. */
  neighbours(point: string): string[] {
    const d = this.digitsOf(point);
    const out = new Set<string>();
    const add = (x: number[]) => {
      const s = macroString(x);
      if (x.length >= MIN && x.length <= MAX && s !== point && this.knownSet.has(s)) out.add(s);
    };
    for (let k = 0; k < d.length; k++) {
      for (let v = 1; v <= 4; v++) if (v !== d[k]) add(d.map((x, j) => (j === k ? v : x)));
      add([...d.slice(0, k), ...d.slice(k + 1)]);
    }
    for (let k = 0; k <= d.length; k++) for (let v = 1; v <= 4; v++) add([...d.slice(0, k), v, ...d.slice(k)]);
    return [...out];
  }

  /** A random known neighbour (another random skeleton for the 3 that have none). */
  mutate(point: string, rng: Rng): string {
    const n = this.neighbours(point);
    if (n.length > 0) return rng.choice(n);
    for (;;) {
      const q = this.sample(rng);
      if (q !== point) return q;
    }
  }

  /** Each position from either parent, the length of one of them; mapped to the nearest known skeleton. */
  crossover(a: string, b: string, rng: Rng): string {
    const pa = pad(this.digitsOf(a));
    const pb = pad(this.digitsOf(b));
    const len = rng.bool() ? this.digitsOf(a).length : this.digitsOf(b).length;
    const child: number[] = [];
    for (let k = 0; k < len; k++) {
      const pick = rng.bool() ? pa[k] : pb[k];
      child.push(pick || pa[k] || pb[k]);
    }
    return this.nearest(child);
  }

  /** One-hot per position over none + the 4 module types (30 values). */
  encode(point: string): number[] {
    const v = new Array<number>(this.encodingLength).fill(0);
    pad(this.digitsOf(point)).forEach((x, k) => (v[k * (TNB_MACRO_MODULES.length + 1) + x] = 1));
    return v;
  }

  /** Modules 1-4 always; module 5 may be none; module 6 is inactive when module 5 is none. */
  dimensions(): readonly Dimension[] {
    return Array.from({ length: MAX }, (_, k) => ({
      name: `module${k + 1}`,
      kind: "categorical" as const,
      choices: k < MIN ? TNB_MACRO_MODULES : [NONE, ...TNB_MACRO_MODULES],
    }));
  }

  toValues(point: string): DimensionValues {
    const d = this.digitsOf(point);
    return Array.from({ length: MAX }, (_, k) => (k < d.length ? TNB_MACRO_MODULES[d[k] - 1] : k === d.length ? NONE : null));
  }

  fromValues(values: DimensionValues): string {
    if (values.length !== MAX) throw new UserError(`expected ${MAX} TransNAS-Bench-101 macro module values, got ${JSON.stringify(values)}`);
    const digits: number[] = [];
    for (let k = 0; k < MAX; k++) {
      const v = values[k];
      if (k >= MIN && v === NONE) break;
      const i = TNB_MACRO_MODULES.indexOf(v as (typeof TNB_MACRO_MODULES)[number]);
      if (i < 0) throw new UserError(`module${k + 1}: expected one of ${(k < MIN ? TNB_MACRO_MODULES : [NONE, ...TNB_MACRO_MODULES]).join(", ")}, got ${JSON.stringify(v)}`);
      digits.push(i + 1);
    }
    return this.nearest(digits);
  }

  /** A chain: input, the modules in order, output. */
  graph(point: string): ArchGraph {
    const d = this.digitsOf(point);
    const n = d.length + 2;
    const adjacency = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j === i + 1 ? 1 : 0)));
    return { ops: ["input", ...d.map((x) => TNB_MACRO_MODULES[x - 1]), "output"], adjacency, vocabulary: VOCABULARY };
  }
}

/** Module digits padded with 0 (none) to 6 positions. */
function pad(digits: readonly number[]): number[] {
  return Array.from({ length: MAX }, (_, k) => digits[k] ?? 0);
}
