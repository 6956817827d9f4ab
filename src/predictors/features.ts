/**
 * Cheap per-architecture features for predictors (NAS-Bench-Suite-Zero, Krishnakumar et al. 2022:
 * zero-cost proxies and cost measures as extra predictor inputs).
 *
 *  - `nb201TableFeatures`: analytic params and FLOPs and the NASWOT score stored in the
 *    NAS-Bench-201 table (no network is built; NASWOT is missing for 341 cells: NaN, which the
 *    predictors replace by the training mean).
 *  - `zeroCostFeatures`: the tensor engine's zero-cost proxies (src/proxies/zero-cost.ts) computed
 *    on a network built from the point, at initialisation, on one batch. The engine is imported on
 *    demand (async factory), so this module loads without libtorch.
 *  - `combineFeatures`: concatenation of providers.
 */
import type { Json } from "../core/json.js";
import { stableStringify } from "../core/json.js";
import { UserError } from "../core/errors.js";
import { loadNb201, NB201_COLUMNS, NB201_DATASETS, type Nb201Dataset, type Nb201Table } from "../benchmarks/nb201.js";
import type { FeatureProvider } from "./predictor.js";
import { taskTables } from "../benchmarks/task-tables.js";

export const NB201_TABLE_FEATURES = ["params", "flops", "naswot"] as const;
export type Nb201TableFeature = (typeof NB201_TABLE_FEATURES)[number];

/** Table column of a feature for a dataset (NASWOT was computed on CIFAR-10 only; it is a property of the cell). */
function columnOf(feature: Nb201TableFeature, dataset: Nb201Dataset): string {
  if (feature === "params") return NB201_COLUMNS[dataset].params;
  if (feature === "flops") return NB201_COLUMNS[dataset].flops;
  return "naswot_v1_score_c10";
}

/**
 * Params (M), FLOPs (M) and the NASWOT score of an NB201 point from the table. Params and FLOPs are
 * given as log10 (they span a factor of 20-30; log makes them better behaved for distance kernels).
 */
export function nb201TableFeatures(opts: { dataset?: Nb201Dataset; features?: readonly Nb201TableFeature[]; table?: Nb201Table } = {}): FeatureProvider {
  const dataset = opts.dataset ?? "cifar10";
  if (!NB201_DATASETS.includes(dataset)) throw new UserError(`unknown NAS-Bench-201 dataset "${dataset}"; expected one of ${NB201_DATASETS.join(", ")}`);
  const which = opts.features ?? NB201_TABLE_FEATURES;
  for (const f of which) {
    if (!NB201_TABLE_FEATURES.includes(f)) throw new UserError(`unknown NAS-Bench-201 table feature "${f}"; expected some of ${NB201_TABLE_FEATURES.join(", ")}`);
  }
  const table = opts.table ?? loadNb201();
  const cols = which.map((f) => table.column(columnOf(f, dataset)));
  const logs = which.map((f) => f !== "naswot");
  return {
    names: which.map((f) => (f === "naswot" ? "naswot" : `log10_${f}`)),
    features(point: Json): number[] {
      const index = typeof point === "string" ? table.indexOf.get(point) : undefined;
      if (index === undefined) throw new UserError(`NAS-Bench-201 table features: ${JSON.stringify(point)} is not an NB201 architecture string`);
      return cols.map((c, j) => (logs[j] ? Math.log10(c[index]) : c[index]));
    },
  };
}

/**
 * The cheap features a benchmark's table stores for a task (src/benchmarks/task-tables.ts):
 * NB201's params / FLOPs / NASWOT, TransNAS-Bench-101's zero-cost proxies from NASLib (NaN for
 * architectures it did not score), NAS-Bench-Graph's params and latency. `benchmark` is a
 * benchmark or space name.
 */
export function tableFeatures(benchmark: string, task: string, features?: readonly string[]): FeatureProvider {
  const tables = taskTables(benchmark);
  if (!tables.tasks.includes(task)) throw new UserError(`benchmark of space ${tables.space} has no task "${task}"; its tasks are ${tables.tasks.join(", ")}`);
  const known = tables.featureNames(task);
  const names = features ?? known;
  for (const f of names) if (!known.includes(f)) throw new UserError(`benchmark of space ${tables.space} has no table feature "${f}"; it has ${known.join(", ")}`);
  return { names: [...names], features: (point) => tables.features(task, point, names) };
}

/** Concatenation of several providers' features. */
export function combineFeatures(...providers: FeatureProvider[]): FeatureProvider {
  return {
    names: providers.flatMap((p) => p.names),
    features: (point) => providers.flatMap((p) => p.features(point)),
  };
}

export interface ZeroCostFeatureOptions {
  /** Builds the (untrained) network of a point; it is disposed after scoring. */
  build: (point: Json) => { dispose(): void };
  /** The one batch every network is scored on: images [N, C, H, W] and int64 labels [N] (engine tensors). */
  batch: { x: unknown; y: unknown };
  /** Proxies to compute (default: naswot, synflow, jacob_cov, grad_norm, snip). */
  proxies?: readonly string[];
  /** Engine seed set before building each network, so a point always gets the same initialisation. */
  seed?: number;
  /** Scores kept in memory (by canonical point text; default 100,000). */
  cacheSize?: number;
}

/**
 * Zero-cost proxies of the tensor engine as features, for spaces with a model builder. Async
 * because it imports the engine on demand; the returned provider is synchronous (it builds and
 * scores a network per new point, memoised).
 */
export async function zeroCostFeatures(opts: ZeroCostFeatureOptions): Promise<FeatureProvider> {
  const zc = await import("../proxies/zero-cost.js");
  const engine = await import("../engine/tensor.js");
  const which = (opts.proxies ?? ["naswot", "synflow", "jacob_cov", "grad_norm", "snip"]) as string[];
  for (const p of which) {
    if (!(zc.PROXY_NAMES as readonly string[]).includes(p)) throw new UserError(`unknown zero-cost proxy "${p}"; known: ${zc.PROXY_NAMES.join(", ")}`);
  }
  const cache = new Map<string, number[]>();
  const limit = opts.cacheSize ?? 100_000;
  return {
    names: which.map((p) => `zc_${p}`),
    features(point: Json): number[] {
      const key = stableStringify(point);
      const hit = cache.get(key);
      if (hit) return hit;
      engine.manualSeed(opts.seed ?? 0);
      const net = opts.build(point);
      try {
        const scores = zc.zeroCostScores(net as never, opts.batch as never, which as never);
        const out = which.map((p) => (Number.isFinite(scores[p]) ? scores[p] : NaN));
        if (cache.size >= limit) cache.clear();
        cache.set(key, out);
        return out;
      } finally {
        net.dispose();
      }
    },
  };
}
