/**
 * NAS-Bench-Graph (Qin et al., NeurIPS 2022 Datasets & Benchmarks), the "light" tables bundled in
 * data/nas-bench-graph/: 26,206 GNN architectures (4 computing nodes, 9 link patterns, 9
 * operations) on 9 node-classification data sets, with validation / test performance (mean of 3
 * seeds), latency and parameters. Architectures are identified by the benchmark's key; the raw
 * (link list, ops) -> key table is the benchmark's own canonicalisation, run on every raw form.
 */
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { dataDir } from "./data-dir.js";
import { readGzCsv } from "./gz-csv.js";

export const NBG_DATASETS = ["cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins"] as const;
export type NbgDataset = (typeof NBG_DATASETS)[number];

/** Operations by upstream id (gnn_list order). */
export const NBG_OPS = ["gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip"] as const;
export type NbgOp = (typeof NBG_OPS)[number];

/** The operations ogbn-proteins was run with (the other data sets use all 9). */
export const NBG_PROTEINS_OPS: readonly NbgOp[] = ["gcn", "sage", "arma", "fc", "skip"];

/** The 9 link patterns: input of computing node 1..4 (0 = the graph's features, j = node j's output). */
export const NBG_LINKS: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 0, 0],
  [0, 0, 0, 1],
  [0, 0, 1, 1],
  [0, 0, 1, 2],
  [0, 0, 1, 3],
  [0, 1, 1, 1],
  [0, 1, 1, 2],
  [0, 1, 2, 2],
  [0, 1, 2, 3],
];

export function checkNbgDataset(name: string): NbgDataset {
  if (!(NBG_DATASETS as readonly string[]).includes(name)) throw new UserError(`NAS-Bench-Graph has no data set "${name}"; its data sets are ${NBG_DATASETS.join(", ")}`);
  return name as NbgDataset;
}

export function nbgDir(): string {
  return join(dataDir(), "nas-bench-graph");
}

/** One data set's table, by benchmark key. Accuracies are in % (the files store fractions). */
export interface NbgTable {
  dataset: NbgDataset;
  keys: Int32Array;
  rowOf: Map<number, number>;
  validAcc: Float64Array;
  testAcc: Float64Array;
  /** As stored upstream (unit not stated there; its magnitudes fit seconds per full-graph forward pass). */
  latency: Float64Array;
  paramsM: Float64Array;
}

const tables = new Map<string, NbgTable>();

export function loadNbg(datasetName: string, dir = nbgDir()): NbgTable {
  const dataset = checkNbgDataset(datasetName);
  const cacheKey = `${dir}|${dataset}`;
  const hit = tables.get(cacheKey);
  if (hit) return hit;
  const csv = readGzCsv(join(dir, `nbg_${dataset}.csv.gz`), "NAS-Bench-Graph");
  const num = (name: string, scale = 1) => {
    const k = csv.col(name);
    return Float64Array.from(csv.rows, (r) => Number(r[k]) * scale);
  };
  const kKey = csv.col("key");
  const keys = Int32Array.from(csv.rows, (r) => Number(r[kKey]));
  const table: NbgTable = {
    dataset,
    keys,
    rowOf: new Map(Array.from(keys, (k, i) => [k, i])),
    validAcc: num("valid_acc", 100),
    testAcc: num("test_acc", 100),
    latency: num("latency"),
    paramsM: num("params_m"),
  };
  tables.set(cacheKey, table);
  return table;
}

let rawCache: { dir: string; map: Map<string, number> } | undefined;

/** Raw architecture id: link list digits and ops, e.g. `0123:skip,skip,gcn,gcn`. */
export function nbgRawId(links: readonly number[], ops: readonly string[]): string {
  return `${links.join("")}:${ops.join(",")}`;
}

/** Raw (link list, ops) -> benchmark key, for all 24 x 9^4 raw forms but the all-skip ones. */
export function loadNbgRawKeys(dir = nbgDir()): Map<string, number> {
  if (rawCache && rawCache.dir === dir) return rawCache.map;
  const csv = readGzCsv(join(dir, "nbg_raw_to_key.csv.gz"), "NAS-Bench-Graph");
  const l = ["l1", "l2", "l3", "l4"].map((c) => csv.col(c));
  const o = ["op1", "op2", "op3", "op4"].map((c) => csv.col(c));
  const kKey = csv.col("key");
  const map = new Map<string, number>();
  for (const r of csv.rows) {
    if (r[kKey] === "") continue;
    map.set(nbgRawId(l.map((k) => Number(r[k])), o.map((k) => r[k])), Number(r[kKey]));
  }
  rawCache = { dir, map };
  return map;
}
