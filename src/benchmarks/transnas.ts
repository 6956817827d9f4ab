/**
 * TransNAS-Bench-101 (Duan et al., CVPR 2021): 4,096 micro cells and 3,256 macro skeletons, each
 * trained on 7 Taskonomy tasks. The bundled tables (data/transnas-bench-101/) hold, per task, the
 * best-over-epochs train / valid / test value of each metric and the training time; the macro rows
 * whose architecture could be identified (725) carry their arch string, the others cannot be
 * looked up. A second table holds NASLib's zero-cost proxies for a subset of architectures.
 */
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { dataDir } from "./data-dir.js";
import { readGzCsv } from "./gz-csv.js";

export const TNB_TASKS = ["class_scene", "class_object", "jigsaw", "room_layout", "segmentsemantic", "normal", "autoencoder"] as const;
export type TnbTask = (typeof TNB_TASKS)[number];

/** Micro-cell operations by code (0..3), as in the arch strings. */
export const TNB_MICRO_OPS = ["zeroize", "skip", "conv1x1", "conv3x3"] as const;
export type TnbMicroOp = (typeof TNB_MICRO_OPS)[number];

/** Macro module types by digit (1..4): plain, channels doubled, stride 2, both. */
export const TNB_MACRO_MODULES = ["plain", "double", "stride2", "double_stride2"] as const;

/**
 * Each task's metrics (table columns without the train_ / valid_ / test_ prefix) and the one it is
 * judged by with its direction (the TransNAS-Bench-101 paper's: top-1 accuracy, mIoU, SSIM; room
 * layout's L2 loss is minimised). Note: room layout's `neg_loss` column is not the negation of
 * `loss` in the data (each is the best over epochs of a different quantity; Spearman 0.20 on the
 * micro cells); NASLib ranks room layout by `neg_loss`, which stays available as a metric.
 */
export const TNB_TASK_INFO: Record<TnbTask, { metrics: readonly string[]; primary: string; direction: "max" | "min" }> = {
  class_scene: { metrics: ["top1", "top5", "loss"], primary: "top1", direction: "max" },
  class_object: { metrics: ["top1", "top5", "loss"], primary: "top1", direction: "max" },
  jigsaw: { metrics: ["top1", "top5", "loss"], primary: "top1", direction: "max" },
  room_layout: { metrics: ["loss", "neg_loss"], primary: "loss", direction: "min" },
  segmentsemantic: { metrics: ["mIoU", "acc", "loss"], primary: "mIoU", direction: "max" },
  normal: { metrics: ["ssim", "l1_loss"], primary: "ssim", direction: "max" },
  autoencoder: { metrics: ["ssim", "l1_loss"], primary: "ssim", direction: "max" },
};

/** NASLib's zero-cost proxies in the bundled subset (flops and params are counts in millions). */
export const TNB_ZC_PROXIES = ["flops", "params", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "nwot", "epe_nas", "jacov", "snip"] as const;

export function checkTnbTask(task: string): TnbTask {
  if (!(TNB_TASKS as readonly string[]).includes(task)) throw new UserError(`TransNAS-Bench-101 has no task "${task}"; its tasks are ${TNB_TASKS.join(", ")}`);
  return task as TnbTask;
}

export type TnbSpaceKind = "micro" | "macro";

/** One task's table: rows with a known architecture, by arch string. */
export interface TnbTaskTable {
  task: TnbTask;
  /** Row per arch string (micro: all 4,096; macro: the 725 identified). */
  indexOf: Map<string, number>;
  archStrings: string[];
  kind: TnbSpaceKind[];
  /** `valid_<m>`, `test_<m>`, `train_<m>` for each metric, and `time_elapsed`; NaN where empty. */
  columns: Map<string, Float64Array>;
  column(name: string): Float64Array;
}

const tables = new Map<string, TnbTaskTable>();

export function transNasDir(): string {
  return join(dataDir(), "transnas-bench-101");
}

/** Loads (once per process) one task's table. */
export function loadTransNas(taskName: string, dir = transNasDir()): TnbTaskTable {
  const task = checkTnbTask(taskName);
  const key = `${dir}|${task}`;
  const hit = tables.get(key);
  if (hit) return hit;
  const path = join(dir, `tnb101_${task}.csv.gz`);
  const csv = readGzCsv(path, "TransNAS-Bench-101");
  const cSpace = csv.col("space");
  const cArch = csv.col("arch_str");
  const numeric = csv.header.filter((h) => h !== "row" && h !== "space" && h !== "arch_str");
  const named = csv.rows.filter((r) => r[cArch] !== "");
  const columns = new Map<string, Float64Array>(numeric.map((h) => {
    const k = csv.col(h);
    return [h, Float64Array.from(named, (r) => (r[k] === "" ? NaN : Number(r[k])))];
  }));
  const archStrings = named.map((r) => r[cArch]);
  const table: TnbTaskTable = {
    task,
    indexOf: new Map(archStrings.map((a, i) => [a, i])),
    archStrings,
    kind: named.map((r) => (r[cSpace] === "micro" ? "micro" : "macro")),
    columns,
    column(name: string) {
      const c = columns.get(name);
      if (!c) throw new UserError(`TransNAS-Bench-101 task ${task} has no column "${name}"; it has ${[...columns.keys()].join(", ")}`);
      return c;
    },
  };
  for (const m of TNB_TASK_INFO[task].metrics) for (const split of ["valid", "test"]) table.column(`${split}_${m}`);
  tables.set(key, table);
  return table;
}

/** Zero-cost proxies per task, per arch string (only the architectures NASLib scored). */
export type TnbZeroCost = Map<TnbTask, Map<string, Record<string, number>>>;

let zcCache: { dir: string; zc: TnbZeroCost } | undefined;

export function loadTransNasZeroCost(dir = transNasDir()): TnbZeroCost {
  if (zcCache && zcCache.dir === dir) return zcCache.zc;
  const csv = readGzCsv(join(dir, "tnb101_zc_naslib_subset.csv.gz"), "TransNAS-Bench-101 zero-cost");
  const cTask = csv.col("task");
  const cArch = csv.col("arch_str");
  const cols = TNB_ZC_PROXIES.map((p) => csv.col(p));
  const zc: TnbZeroCost = new Map(TNB_TASKS.map((t) => [t, new Map()]));
  for (const r of csv.rows) {
    const byArch = zc.get(r[cTask] as TnbTask);
    if (!byArch || r[cArch] === "") continue;
    const rec: Record<string, number> = {};
    TNB_ZC_PROXIES.forEach((p, j) => {
      const v = Number(r[cols[j]]);
      // -1e8 is NASLib's placeholder for a proxy that does not apply (epe_nas on most tasks).
      if (r[cols[j]] !== "" && Number.isFinite(v) && v !== -1e8) rec[p] = v;
    });
    byArch.set(r[cArch], rec);
  }
  zcCache = { dir, zc };
  return zc;
}

// ---------------------------------------------------------------------------------------------
// Arch strings.

const MICRO_RE = /^64-41414-([0-3])_([0-3])([0-3])_([0-3])([0-3])([0-3])$/;
const MACRO_RE = /^64-([1-4]{4,6})-basic$/;

/** The 6 micro-cell op codes (edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3) of a micro arch string, or undefined. */
export function parseMicro(arch: string): number[] | undefined {
  const m = MICRO_RE.exec(arch);
  return m ? m.slice(1).map(Number) : undefined;
}

export function microString(codes: readonly number[]): string {
  const c = codes;
  return `64-41414-${c[0]}_${c[1]}${c[2]}_${c[3]}${c[4]}${c[5]}`;
}

/** The module digits (1..4, 4 to 6 of them) of a macro arch string, or undefined. */
export function parseMacro(arch: string): number[] | undefined {
  const m = MACRO_RE.exec(arch);
  return m ? [...m[1]].map(Number) : undefined;
}

export function macroString(digits: readonly number[]): string {
  return `64-${digits.join("")}-basic`;
}

export function tnbKindOf(arch: unknown): TnbSpaceKind | undefined {
  if (typeof arch !== "string") return undefined;
  return parseMicro(arch) ? "micro" : parseMacro(arch) ? "macro" : undefined;
}

/**
 * The macro arch strings with results (the 725 identified skeletons; the same in every task's
 * table), in table order.
 */
export function transNasMacroArchs(dir = transNasDir()): string[] {
  const t = loadTransNas("class_scene", dir);
  return t.archStrings.filter((_, i) => t.kind[i] === "macro");
}
