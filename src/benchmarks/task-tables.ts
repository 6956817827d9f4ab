/**
 * Benchmarks as sets of tasks over one space, for predictors that learn from tables (transfer
 * across tasks, cheap table features): each task's labelled points (every architecture with a
 * result, at its validation metric) and each architecture's cheap features. Predictors ask here
 * by benchmark name instead of importing one benchmark.
 */
import type { Json } from "../core/json.js";
import { UserError } from "../core/errors.js";
import { loadNb201, NB201_COLUMNS, NB201_DATASETS, type Nb201Dataset } from "./nb201.js";
import { loadTransNas, loadTransNasZeroCost, TNB_TASKS, TNB_TASK_INFO, TNB_ZC_PROXIES, type TnbTask } from "./transnas.js";
import { loadNbg, loadNbgRawKeys, NBG_DATASETS, NBG_LINKS, NBG_OPS, nbgRawId } from "./nas-bench-graph.js";

export interface TaskTables {
  /** The search space whose points these are. */
  readonly space: string;
  readonly tasks: readonly string[];
  /** Every architecture with a result on `task`, and its validation value (the task's primary metric, as recorded). */
  labelled(task: string): { points: Json[]; values: number[] };
  /** Names of the cheap per-architecture features the benchmark stores for `task`. */
  featureNames(task: string): readonly string[];
  /** Those features of a point (NaN where the data has none); throws for a point it does not know. */
  features(task: string, point: Json, names: readonly string[]): number[];
}

function checkTask(b: string, tasks: readonly string[], task: string): void {
  if (!tasks.includes(task)) throw new UserError(`benchmark ${b} has no task "${task}"; its tasks are ${tasks.join(", ")}`);
}

const nb201: TaskTables = {
  space: "nb201",
  tasks: NB201_DATASETS,
  labelled(task) {
    checkTask("nb201", NB201_DATASETS, task);
    const t = loadNb201();
    const v = t.column(NB201_COLUMNS[task as Nb201Dataset].valid);
    const points: Json[] = [];
    const values: number[] = [];
    t.archStrings.forEach((a, i) => Number.isFinite(v[i]) && (points.push(a), values.push(v[i])));
    return { points, values };
  },
  featureNames: () => ["log10_params", "log10_flops", "naswot"],
  features(task, point, names) {
    checkTask("nb201", NB201_DATASETS, task);
    const t = loadNb201();
    const i = typeof point === "string" ? t.indexOf.get(point) : undefined;
    if (i === undefined) throw new UserError(`not an NB201 architecture string: ${JSON.stringify(point)}`);
    const cols = NB201_COLUMNS[task as Nb201Dataset];
    const f: Record<string, number> = { log10_params: Math.log10(t.column(cols.params)[i]), log10_flops: Math.log10(t.column(cols.flops)[i]), naswot: t.column("naswot_v1_score_c10")[i] };
    return names.map((n) => f[n]);
  },
};

function transNas(kind: "micro" | "macro"): TaskTables {
  const name = `transnas-${kind}`;
  return {
    space: name,
    tasks: TNB_TASKS,
    labelled(task) {
      checkTask(name, TNB_TASKS, task);
      const t = loadTransNas(task);
      const v = t.column(`valid_${TNB_TASK_INFO[task as TnbTask].primary}`);
      const points: Json[] = [];
      const values: number[] = [];
      t.archStrings.forEach((a, i) => t.kind[i] === kind && Number.isFinite(v[i]) && (points.push(a), values.push(v[i])));
      return { points, values };
    },
    // NASLib's zero-cost proxies: about 700 architectures per task have them, the rest get NaN.
    featureNames: () => TNB_ZC_PROXIES,
    features(task, point, names) {
      checkTask(name, TNB_TASKS, task);
      if (typeof point !== "string" || !loadTransNas(task).indexOf.has(point)) throw new UserError(`not a TransNAS-Bench-101 ${kind} architecture with results: ${JSON.stringify(point)}`);
      const rec = loadTransNasZeroCost().get(task as TnbTask)!.get(point) ?? {};
      return names.map((n) => rec[n] ?? NaN);
    },
  };
}

/** NAS-Bench-Graph: a key's point is its canonical form as the table writes it (pattern and ops). */
const nasBenchGraph: TaskTables = {
  space: "nas-bench-graph",
  tasks: NBG_DATASETS,
  labelled(task) {
    checkTask("nas-bench-graph", NBG_DATASETS, task);
    const t = loadNbg(task);
    const points = Array.from(t.keys, (key) => {
      const digits = String(key).padStart(5, "0");
      const ops = [...digits.slice(1)].map((d) => NBG_OPS[Number(d)]);
      return nbgRawId(NBG_LINKS[Number(digits[0])], ops);
    });
    return { points, values: Array.from(t.validAcc) };
  },
  featureNames: () => ["log10_params", "latency"],
  features(task, point, names) {
    checkTask("nas-bench-graph", NBG_DATASETS, task);
    const t = loadNbg(task);
    // A point is its raw form, which the raw -> key table knows.
    const key = typeof point === "string" ? loadNbgRawKeys().get(point) : undefined;
    const row = key === undefined ? undefined : t.rowOf.get(key);
    if (row === undefined) throw new UserError(`no NAS-Bench-Graph ${task} result for ${JSON.stringify(point)}`);
    const f: Record<string, number> = { log10_params: Math.log10(t.paramsM[row]), latency: t.latency[row] };
    return names.map((n) => f[n]);
  },
};

export const TASK_TABLES: Record<string, TaskTables> = {
  nb201,
  "transnas-micro": transNas("micro"),
  "transnas-macro": transNas("macro"),
  "nas-bench-graph": nasBenchGraph,
};

/** The task tables of a benchmark by name, or of the benchmark whose space is `space`. */
export function taskTables(benchmarkOrSpace: string): TaskTables {
  const t = TASK_TABLES[benchmarkOrSpace] ?? Object.values(TASK_TABLES).find((x) => x.space === benchmarkOrSpace);
  if (!t) throw new UserError(`no benchmark tables for "${benchmarkOrSpace}"; known: ${Object.keys(TASK_TABLES).join(", ")}`);
  return t;
}
