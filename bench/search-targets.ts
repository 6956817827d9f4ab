/**
 * What the search bench searches: a space, its table simulator, the metric a strategy selects on
 * (validation, with its direction) and the hidden test metric reported, for NAS-Bench-201,
 * TransNAS-Bench-101 (micro, macro; one task) and NAS-Bench-Graph (one data set).
 */
import type { Evaluator } from "../src/core/evaluator.js";
import type { Json } from "../src/core/json.js";
import type { SearchSpace } from "../src/core/space.js";
import { loadNb201, NB201_COLUMNS, NB201_DATASETS, type Nb201Dataset } from "../src/benchmarks/nb201.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";
import { TransNasMicroSpace } from "../src/spaces/transnas-micro.js";
import { TransNasMacroSpace } from "../src/spaces/transnas-macro.js";
import { TransNasSimulator, transNasObjective } from "../src/evaluators/transnas-simulator.js";
import { NasBenchGraphSpace } from "../src/spaces/nas-bench-graph.js";
import { NasBenchGraphSimulator } from "../src/evaluators/nas-bench-graph-simulator.js";
import { checkNbgDataset } from "../src/benchmarks/nas-bench-graph.js";
import { transNasMacroArchs } from "../src/benchmarks/transnas.js";

export const BENCHMARKS = ["nb201", "transnas-micro", "transnas-macro", "nas-bench-graph"] as const;

/** A decision as the Optuna peer sees it; `inactiveIf`: skipped when decision `dim` has value `equals`. */
export interface PeerDim {
  name: string;
  choices: readonly Json[];
  inactiveIf?: { dim: number; equals: Json };
}

export interface SearchTarget {
  benchmark: string;
  /** Data set or task. */
  task: string;
  label: string;
  space: SearchSpace;
  evaluator: Evaluator;
  metric: string;
  direction: "max" | "min";
  test: string;
  /** Validation and test value of every point of the space (uniform random search draws from these). */
  population(): { valid: number[]; test: number[] };
  /** The space as decisions, and [valid, test] of each combination of values (key: values joined by "|", null for inactive). */
  peerTable(): { dims: PeerDim[]; values: Record<string, [number, number]> };
}

/** Every combination of the decisions' values, inactive ones as null. */
function combinations(dims: readonly PeerDim[]): Json[][] {
  let out: Json[][] = [[]];
  dims.forEach((d) => {
    const next: Json[][] = [];
    for (const prefix of out) {
      if (d.inactiveIf && prefix[d.inactiveIf.dim] === d.inactiveIf.equals) next.push([...prefix, null]);
      else for (const c of d.choices) next.push([...prefix, c]);
    }
    out = next;
  });
  return out;
}

/** A target whose points are looked up by `value(point)`; the peer table comes from the space's decisions. */
function tableTarget(t: Omit<SearchTarget, "population" | "peerTable">, points: () => Json[], value: (p: Json) => [number, number], dims: PeerDim[]): SearchTarget {
  return {
    ...t,
    population() {
      const pts = points();
      const vt = pts.map(value);
      return { valid: vt.map((x) => x[0]), test: vt.map((x) => x[1]) };
    },
    peerTable() {
      const values: Record<string, [number, number]> = {};
      for (const combo of combinations(dims)) values[combo.map((v) => (v === null ? "null" : String(v))).join("|")] = value(t.space.fromValues!(combo));
      return { dims, values };
    },
  };
}

function plainDims(space: SearchSpace): PeerDim[] {
  return space.dimensions!().map((d) => {
    if (d.kind !== "categorical") throw new Error(`dimension ${d.name} is not categorical`);
    return { name: d.name, choices: d.choices };
  });
}

export function searchTarget(benchmark: string, task: string | undefined, noise: boolean): SearchTarget {
  if (benchmark === "nb201") {
    const dataset = (task ?? "cifar10") as Nb201Dataset;
    if (!NB201_DATASETS.includes(dataset)) throw new Error(`--dataset must be one of ${NB201_DATASETS.join(", ")}`);
    const table = loadNb201();
    const cols = NB201_COLUMNS[dataset];
    const space = new Nb201Space();
    const valid = table.column(cols.valid);
    const test = table.column(cols.test);
    return tableTarget(
      { benchmark, task: dataset, label: `NAS-Bench-201 ${dataset}`, space, evaluator: new Nb201Simulator({ dataset, noise }, table), metric: "valid_acc", direction: "max", test: "test_acc" },
      () => table.archStrings,
      (p) => {
        const i = table.indexOf.get(p as string)!;
        return [valid[i], test[i]];
      },
      plainDims(space),
    );
  }
  if (benchmark === "transnas-micro" || benchmark === "transnas-macro") {
    const name = task ?? "class_scene";
    const evaluator = new TransNasSimulator({ task: name });
    const obj = transNasObjective(name);
    const macro = benchmark === "transnas-macro";
    const space = macro ? new TransNasMacroSpace() : new TransNasMicroSpace();
    const value = (p: Json): [number, number] => {
      const r = evaluator.lookup(p);
      return [r.metrics[obj.metric], r.hidden[obj.test]];
    };
    const points = () => {
      const out: Json[] = [];
      const n = space.size!()!;
      if (macro) return transNasMacroArchs();
      for (let i = 0; i < n; i++) out.push(`64-41414-${i >> 10}_${(i >> 8) & 3}${(i >> 6) & 3}_${(i >> 4) & 3}${(i >> 2) & 3}${i & 3}`);
      return out;
    };
    const dims = plainDims(space);
    // Module 6 only exists when module 5 does.
    if (macro) dims[5].inactiveIf = { dim: 4, equals: "none" };
    return tableTarget({ benchmark, task: name, label: `TransNAS-Bench-101 ${macro ? "macro" : "micro"} ${name}`, space, evaluator, metric: obj.metric, direction: obj.direction, test: obj.test }, points, value, dims);
  }
  if (benchmark === "nas-bench-graph") {
    const dataset = checkNbgDataset(task ?? "cora");
    const space = new NasBenchGraphSpace(dataset === "proteins" ? { ops: ["gcn", "sage", "arma", "fc", "skip"] } : {});
    const evaluator = new NasBenchGraphSimulator({ dataset });
    const value = (p: Json): [number, number] => {
      const r = evaluator.lookup(p);
      return [r.metrics.valid_acc, r.hidden.test_acc];
    };
    const dims = plainDims(space);
    // Every point: every decision combination but the all-skip ones (not points).
    const points = () => combinations(dims).filter((c) => c.slice(1).some((op) => op !== "skip")).map((c) => space.fromValues(c));
    return tableTarget({ benchmark, task: dataset, label: `NAS-Bench-Graph ${dataset}`, space, evaluator, metric: "valid_acc", direction: "max", test: "test_acc" }, points, value, dims);
  }
  throw new Error(`--benchmark must be one of ${BENCHMARKS.join(", ")}`);
}
