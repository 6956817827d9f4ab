import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { dataDir } from "./data-dir.js";

/** NAS-Bench-201 operations, in the benchmark's canonical id order (0..4). */
export const NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/** The 6 cell edges (source, target) in arch-string order: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3. */
export const NB201_EDGES: readonly [number, number][] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [0, 3],
  [1, 3],
  [2, 3],
];

export const NB201_DATASETS = ["cifar10", "cifar100", "imagenet16"] as const;
export type Nb201Dataset = (typeof NB201_DATASETS)[number];

/** Table columns per dataset: what a strategy selects on (valid) and what is reported (test). */
export const NB201_COLUMNS: Record<
  Nb201Dataset,
  { valid: string; test: string; valid12: string; test12: string; params: string; flops: string; trainTime: string; seeds: string }
> = {
  cifar10: {
    valid: "c10v_valid_acc",
    test: "c10_test_acc",
    valid12: "c10v_valid_acc_12ep",
    test12: "c10_test_acc_12ep",
    params: "calc_params_mb_c10",
    flops: "calc_flops_m_c10",
    trainTime: "nats_train_time_s_c10v",
    seeds: "c10v_valid_acc",
  },
  cifar100: {
    valid: "c100_valid_acc",
    test: "c100_test_acc",
    valid12: "c100_valid_acc_12ep",
    test12: "c100_test_acc_12ep",
    params: "calc_params_mb_c100",
    flops: "calc_flops_m_c100",
    trainTime: "nats_train_time_s_c100",
    seeds: "c100_valtest_acc",
  },
  imagenet16: {
    valid: "in16_valid_acc",
    test: "in16_test_acc",
    valid12: "in16_valid_acc_12ep",
    test12: "in16_test_acc_12ep",
    params: "calc_params_mb_in16",
    flops: "calc_flops_m_in16",
    trainTime: "nats_train_time_s_in16",
    seeds: "in16_valtest_acc",
  },
};

export function parseArchString(arch: string): Nb201Op[] | undefined {
  const m = /^\|([a-z0-9_]+)~0\|\+\|([a-z0-9_]+)~0\|([a-z0-9_]+)~1\|\+\|([a-z0-9_]+)~0\|([a-z0-9_]+)~1\|([a-z0-9_]+)~2\|$/.exec(arch);
  if (!m) return undefined;
  const ops = m.slice(1) as Nb201Op[];
  return ops.every((op) => (NB201_OPS as readonly string[]).includes(op)) ? ops : undefined;
}

export function archString(ops: readonly string[]): string {
  return `|${ops[0]}~0|+|${ops[1]}~0|${ops[2]}~1|+|${ops[3]}~0|${ops[4]}~1|${ops[5]}~2|`;
}

/** A numeric table in columns (NaN for empty cells), rows in NB201 index order. */
export interface Nb201Table {
  rows: number;
  archStrings: string[];
  indexOf: Map<string, number>;
  columns: Map<string, Float64Array>;
  latencyDevices: string[];
  /** Per-seed 200-epoch accuracies, by seeds column name, per row. */
  seeds: Map<string, number[][]>;
  column(name: string): Float64Array;
}

function readGz(path: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UserError(`Cannot read NAS-Bench-201 data file ${path}: ${(e as Error).message}`);
  }
  try {
    return gunzipSync(buf).toString("utf8");
  } catch (e) {
    throw new UserError(`NAS-Bench-201 data file ${path} is corrupt (gunzip failed: ${(e as Error).message})`);
  }
}

function parseCsv(path: string, text: string, onRow: (cells: string[], line: number) => void): string[] {
  const lines = text.split("\n");
  const header = lines[0].trim().split(",");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.length === 0) continue;
    const cells = line.split(",");
    if (cells.length !== header.length) {
      throw new UserError(`NAS-Bench-201 data file ${path} is corrupt: line ${i + 1} has ${cells.length} fields, expected ${header.length}`);
    }
    onRow(cells, i + 1);
  }
  return header;
}

let cached: { dir: string; table: Nb201Table } | undefined;

/** Architectures of the NB201 space (5 operations on 6 edges): rows of the results table. */
const NB201_ARCHS = 5 ** 6;

/** Loads (once per process and folder) the NB201 results, latency and per-seed tables. */
export function loadNb201(dir = join(dataDir(), "nas-bench-201")): Nb201Table {
  if (cached && cached.dir === dir) return cached.table;
  const resultsPath = join(dir, "nb201_results.csv.gz");
  const rowsText = readGz(resultsPath);
  const headerLine = rowsText.slice(0, rowsText.indexOf("\n")).trim().split(",");
  const numeric = headerLine.filter((h) => h !== "arch_str");
  const values = new Map<string, number[]>(numeric.map((h) => [h, []]));
  const archStrings: string[] = [];
  parseCsv(resultsPath, rowsText, (cells, line) => {
    const index = Number(cells[0]);
    if (index !== archStrings.length) throw new UserError(`NAS-Bench-201 data file ${resultsPath} is corrupt: line ${line} has index ${cells[0]}, expected ${archStrings.length}`);
    headerLine.forEach((h, i) => {
      if (h === "arch_str") archStrings.push(cells[i]);
      else {
        // An empty cell is a missing value (NaN); anything else must be a number ("N/A" is refused here, naming the file).
        const v = cells[i] === "" ? NaN : Number(cells[i]);
        if (cells[i] !== "" && !Number.isFinite(v)) throw new UserError(`NAS-Bench-201 data file ${resultsPath} is corrupt: line ${line}, column ${h}: "${cells[i]}" is not a number`);
        values.get(h)!.push(v);
      }
    });
  });
  const rows = archStrings.length;
  // Every architecture of the space has a row; fewer means a truncated file (said here, not as a bad index in the next file).
  if (rows !== NB201_ARCHS) throw new UserError(`NAS-Bench-201 data file ${resultsPath} is corrupt: it has ${rows} rows, expected ${NB201_ARCHS} (one per architecture; truncated?)`);
  const columns = new Map<string, Float64Array>([...values].map(([k, v]) => [k, Float64Array.from(v)]));

  const latencyPath = join(dir, "nb201_latency.csv.gz");
  const latText = readGz(latencyPath);
  const latHeader = latText.slice(0, latText.indexOf("\n")).trim().split(",");
  const lat = latHeader.map(() => new Float64Array(rows).fill(NaN));
  parseCsv(latencyPath, latText, (cells) => {
    const index = Number(cells[0]);
    if (!(index >= 0 && index < rows)) throw new UserError(`NAS-Bench-201 data file ${latencyPath} is corrupt: bad index ${cells[0]}`);
    cells.forEach((c, i) => {
      const v = c === "" ? NaN : Number(c);
      if (c !== "" && !Number.isFinite(v)) throw new UserError(`NAS-Bench-201 data file ${latencyPath} is corrupt: index ${index}, column ${latHeader[i]}: "${c}" is not a number`);
      lat[i][index] = v;
    });
  });
  const latencyDevices: string[] = [];
  latHeader.forEach((h, i) => {
    if (h.startsWith("lat_ms_")) {
      columns.set(h, lat[i]);
      latencyDevices.push(h.slice("lat_ms_".length));
    }
  });

  const seedsPath = join(dir, "nb201_nats_seeds.jsonl.gz");
  const seeds = new Map<string, number[][]>();
  const seedLines = readGz(seedsPath).split("\n");
  for (let i = 0; i < seedLines.length; i++) {
    if (!seedLines[i]) continue;
    let rec: Record<string, number | number[]>;
    try {
      rec = JSON.parse(seedLines[i]);
    } catch {
      throw new UserError(`NAS-Bench-201 data file ${seedsPath} is corrupt: line ${i + 1} is not JSON`);
    }
    const index = rec.index as number;
    for (const [k, v] of Object.entries(rec)) {
      if (k === "index") continue;
      if (!seeds.has(k)) seeds.set(k, Array.from({ length: rows }, () => []));
      seeds.get(k)![index] = v as number[];
    }
  }

  const table: Nb201Table = {
    rows,
    archStrings,
    indexOf: new Map(archStrings.map((s, i) => [s, i])),
    columns,
    latencyDevices,
    seeds,
    column(name: string) {
      const c = columns.get(name);
      if (!c) throw new Error(`NAS-Bench-201 table has no column ${name}`);
      return c;
    },
  };
  cached = { dir, table };
  return table;
}
