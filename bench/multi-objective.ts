/**
 * Multi-objective search quality on NAS-Bench-201 (CIFAR-10): validation accuracy (max) vs
 * latency on a device (min), `--evaluations` evaluations per run, seeds 0..seeds-1, for nsga2,
 * mo_rea, mo_local_search, parego and random, and Optuna 3.1's NSGAIISampler (bench/peers/optuna_mo.py, run with
 * /usr/bin/python3 on the same table; `--no-optuna` leaves it out).
 *
 * Score: the hypervolume of the evaluated architectures as a fraction of the hypervolume of the
 * true Pareto front of all 15,625 cells (computed exactly from the table). Both objectives are
 * normalised to [0, 1] over the whole table (accuracy (a - min) / (max - min), latency
 * (max - l) / (max - min)) and the reference point is (0, 0), the table's nadir (worst accuracy,
 * worst latency). A second figure, `hv_fraction_front_nadir`, uses the nadir of the true front as
 * reference (points beyond it add nothing): it ignores the easy region and is stricter.
 *
 * Each run is the strategy's ask/tell protocol one trial at a time, as the experiment loop runs
 * with concurrency 1: `seen` is true for a point whose canonical cell was already asked, so
 * strategies can skip repeats; every ask counts as an evaluation.
 *
 *   npm run bench -- multi-objective [--evaluations 200] [--seeds 30] [--devices pixel3,raspi4,eyeriss,fpga,titanx_1]
 *                                    [--strategies nsga2,mo_rea,mo_local_search,parego,random] [--parego-seeds N] [--no-optuna]
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Json } from "../src/core/json.js";
import { Objectives } from "../src/core/objectives.js";
import { pointHash } from "../src/core/space.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { loadNb201, NB201_COLUMNS, type Nb201Table } from "../src/benchmarks/nb201.js";
import { dataDir } from "../src/benchmarks/data-dir.js";
import { registry } from "../src/registry.js";
import { hypervolume } from "../src/objectives/hypervolume.js";
import { paretoFront } from "../src/objectives/pareto.js";
import { benchArgs, meanStd } from "./args.js";
import { peerPython, peerScript, requirePeer, type PeerUse } from "./peers.js";

const VALID = NB201_COLUMNS.cifar10.valid;

/** Normalised (larger is better) vectors of every cell for a device, and the true front's hypervolumes. */
export class MoProblem {
  readonly vec: [number, number][];
  readonly trueHv: number;
  readonly frontNadir: [number, number];
  readonly trueHvFrontNadir: number;
  readonly frontSize: number;

  constructor(
    readonly table: Nb201Table,
    readonly device: string,
  ) {
    const acc = table.column(VALID);
    const lat = table.column(`lat_ms_${device}`);
    let [amin, amax, lmin, lmax] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < table.rows; i++) {
      if (!Number.isFinite(acc[i]) || !Number.isFinite(lat[i])) continue;
      amin = Math.min(amin, acc[i]);
      amax = Math.max(amax, acc[i]);
      lmin = Math.min(lmin, lat[i]);
      lmax = Math.max(lmax, lat[i]);
    }
    this.vec = Array.from({ length: table.rows }, (_, i) =>
      Number.isFinite(acc[i]) && Number.isFinite(lat[i]) ? [(acc[i] - amin) / (amax - amin), (lmax - lat[i]) / (lmax - lmin)] : [-Infinity, -Infinity],
    );
    const front = paretoFront(this.vec).map((i) => this.vec[i]);
    this.frontSize = front.length;
    this.trueHv = hypervolume(front, [0, 0]);
    this.frontNadir = [Math.min(...front.map((v) => v[0])), Math.min(...front.map((v) => v[1]))];
    // Slightly below the nadir so the front's extreme points still count.
    const ref: [number, number] = [this.frontNadir[0] - 1e-3, this.frontNadir[1] - 1e-3];
    this.trueHvFrontNadir = hypervolume(front, ref);
  }

  fraction(rows: readonly number[]): { table: number; front: number } {
    const pts = rows.map((i) => this.vec[i]);
    const ref: [number, number] = [this.frontNadir[0] - 1e-3, this.frontNadir[1] - 1e-3];
    return { table: hypervolume(pts, [0, 0]) / this.trueHv, front: hypervolume(pts, ref) / this.trueHvFrontNadir };
  }
}

/** One search: the rows (NB201 indices) of the architectures evaluated, in order. */
export function runMo(strategyName: string, options: unknown, problem: MoProblem, seed: number, evaluations: number): { rows: number[]; ms: number } {
  const component = registry.strategies[strategyName];
  if (!component) throw new Error(`unknown strategy ${strategyName}`);
  const table = problem.table;
  const space = new Nb201Space();
  const objectives = new Objectives([
    { metric: "valid_acc", direction: "max" },
    { metric: `latency_ms_${problem.device}`, direction: "min", cheap: true },
  ]);
  const strategy = component.create(component.options.parse(options ?? {}), { space, objectives, seed });
  const acc = table.column(VALID);
  const lat = table.column(`lat_ms_${problem.device}`);
  const seen = new Set<string>();
  const rows: number[] = [];
  const t0 = performance.now();
  for (let n = 0; n < evaluations; n++) {
    const [point] = strategy.ask(1, { pending: [], seen: (p: Json) => seen.has(pointHash(space, p)) }) as Json[];
    seen.add(pointHash(space, point));
    const i = table.indexOf.get(point as string)!;
    rows.push(i);
    const metrics = { valid_acc: acc[i], [`latency_ms_${problem.device}`]: lat[i] };
    strategy.tell({ number: n, point, status: "finished", metrics, score: objectives.score(metrics) });
  }
  return { rows, ms: performance.now() - t0 };
}

export async function multiObjectiveBench(argv: string[]): Promise<void> {
  const { values } = benchArgs(argv, {
    evaluations: { type: "string", default: "200" },
    seeds: { type: "string", default: "30" },
    devices: { type: "string", default: "pixel3,raspi4,eyeriss,fpga,titanx_1" },
    strategies: { type: "string", default: "nsga2,mo_rea,mo_local_search,parego,random" },
    "parego-seeds": { type: "string" },
    "no-optuna": { type: "boolean", default: false },
    "optuna-file": { type: "string" },
  });
  const evaluations = Number(values.evaluations);
  const seeds = Number(values.seeds);
  const paregoSeeds = values["parego-seeds"] ? Number(values["parego-seeds"]) : seeds;
  const devices = String(values.devices).split(",");
  const strategies = String(values.strategies).split(",");
  const table = loadNb201();
  for (const d of devices) if (!table.latencyDevices.includes(d)) throw new Error(`unknown device ${d}; known: ${table.latencyDevices.join(", ")}`);

  // Optuna first (a separate process on the same table). Its saved output (--optuna-file) needs no Python.
  const optunaRows = new Map<string, number[][]>();
  const optuna: PeerUse = values["optuna-file"] && !values["no-optuna"] ? { use: true, version: "from --optuna-file" } : requirePeer("optuna", values, "multi-objective");
  if (optuna.use) {
    let text: string;
    if (values["optuna-file"]) text = (await import("node:fs")).readFileSync(String(values["optuna-file"]), "utf8");
    else {
      const dir = join(dataDir(), "nas-bench-201");
      const r = spawnSync(
        peerPython(),
        [peerScript("optuna_mo.py"), join(dir, "nb201_results.csv.gz"), join(dir, "nb201_latency.csv.gz"), VALID, String(evaluations), String(seeds), devices.join(",")],
        { encoding: "utf8", maxBuffer: 1 << 28 },
      );
      if (r.status !== 0) throw new Error(`optuna peer failed: ${r.stderr}`);
      text = r.stdout;
    }
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const o = JSON.parse(line) as { device: string; seed: number; rows: number[] };
      if (o.seed >= seeds || !devices.includes(o.device)) continue;
      if (!optunaRows.has(o.device)) optunaRows.set(o.device, []);
      optunaRows.get(o.device)!.push(o.rows.slice(0, evaluations));
    }
  }

  const result: Record<string, Record<string, number>> = {};
  const strict: Record<string, Record<string, number>> = {};
  console.log(`multi-objective NB201 CIFAR-10: ${VALID} (max) vs latency (min), ${evaluations} evaluations, ${seeds} seeds (parego ${Math.min(paregoSeeds, seeds)})`);
  console.log("hv_fraction: reference = table nadir after [0,1] normalisation over all 15,625 cells; front-nadir: reference = nadir of the true front");
  for (const device of devices) {
    const problem = new MoProblem(table, device);
    result[device] = {};
    strict[device] = {};
    console.log(`\n${device}: true front ${problem.frontSize} cells`);
    console.log(`${"strategy".padEnd(14)} ${"hv_fraction".padStart(18)} ${"front-nadir".padStart(18)} ${"ms/run".padStart(9)} seeds`);
    const report = (name: string, runs: { rows: number[]; ms: number }[]) => {
      const f = runs.map((r) => problem.fraction(r.rows));
      const a = meanStd(f.map((x) => x.table));
      const b = meanStd(f.map((x) => x.front));
      const ms = runs.reduce((s, r) => s + r.ms, 0) / runs.length;
      result[device][name] = Number(a.mean.toFixed(4));
      strict[device][name] = Number(b.mean.toFixed(4));
      console.log(`${name.padEnd(14)} ${`${a.mean.toFixed(4)} ± ${a.std.toFixed(4)}`.padStart(18)} ${`${b.mean.toFixed(4)} ± ${b.std.toFixed(4)}`.padStart(18)} ${(Number.isNaN(ms) ? "-" : ms.toFixed(0)).padStart(9)} ${runs.length}`);
    };
    for (const s of strategies) {
      const n = s === "parego" ? Math.min(paregoSeeds, seeds) : seeds;
      const runs = Array.from({ length: n }, (_, seed) => runMo(s, {}, problem, seed, evaluations));
      report(s, runs);
    }
    const opt = optunaRows.get(device);
    if (opt && opt.length > 0) report("optuna_nsga2", opt.map((rows) => ({ rows, ms: NaN })));
    else if (!optuna.use) console.log(`${"optuna_nsga2".padEnd(14)} ${optuna.note}`);
  }
  console.log(JSON.stringify({ evaluations, seeds, hv_fraction: result, hv_fraction_front_nadir: strict }));
}
