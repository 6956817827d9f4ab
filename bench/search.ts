/**
 * Search quality on the NAS-Bench-201 simulator: for each seed, a full experiment (real loop,
 * in-memory SQLite store) of `queries` trials; at each checkpoint the test accuracy of the
 * best-by-validation architecture so far. Reports mean and std over seeds, the strategy's own
 * time per trial (ask + tell), and, as the harness check, random search's exact expectation
 * from the table.
 *
 *   npm run bench -- search --strategy rea --dataset cifar10 --queries 100 --seeds 100
 *
 * With `--strategies all` (or a comma-separated list) every strategy runs on the same seeds, and
 * Optuna 3.1's TPE (bench/peers/optuna_search.py, /usr/bin/python3) runs the same protocol on the
 * same table (`--no-optuna` to leave it out): a table of mean / std at the checkpoints, a CSV of
 * the anytime curves, an SVG plot of them, and one JSON line
 * `{"dataset","queries","seeds","results":{"<strategy>":{"mean_at_100","std_at_100"},...}}`.
 *
 *   npm run bench -- search --strategies all --dataset cifar10 --queries 150 --seeds 100 [--out bench-results]
 */
import { performance } from "node:perf_hooks";
import { Experiment } from "../src/core/experiment.js";
import { Objectives } from "../src/core/objectives.js";
import type { Strategy } from "../src/core/strategy.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";
import { loadNb201, NB201_COLUMNS, NB201_DATASETS, type Nb201Dataset } from "../src/benchmarks/nb201.js";
import { registry } from "../src/registry.js";
import { check } from "../src/config/validate.js";
import { benchArgs, intList, meanStd } from "./args.js";
import { exactRandomSearch } from "./random-expectation.js";
import { compareStrategies } from "./search-compare.js";
import { requirePeer } from "./peers.js";

/** Wraps a strategy to time its own work (ask + tell), excluding the loop, store and evaluator. */
function timed(inner: Strategy, clock: { ms: number }): Strategy {
  return {
    name: inner.name,
    ask(n, ctx) {
      const t0 = performance.now();
      const r = inner.ask(n, ctx) as ReturnType<Strategy["ask"]>;
      clock.ms += performance.now() - t0;
      return r;
    },
    tell(o) {
      const t0 = performance.now();
      inner.tell(o);
      clock.ms += performance.now() - t0;
    },
    state: () => inner.state(),
    restore: (s) => inner.restore(s),
  };
}

/** Per seed, the test accuracy of the best-by-validation architecture after each query (1..queries). */
export interface StrategyRun {
  curves: Float64Array[];
  /** The strategy's own time (ask + tell), ms per trial. */
  overheadMs: number;
  /** The whole loop (store, simulator), ms per trial. */
  loopMs: number;
  cacheHits: number;
}

/** Runs `seeds` full experiments (seeds 0..seeds-1) of one strategy on the NB201 simulator. */
export async function runStrategy(
  strategyName: string,
  options: unknown,
  dataset: Nb201Dataset,
  queries: number,
  seeds: number,
  noise: boolean,
): Promise<StrategyRun> {
  const component = registry.strategies[strategyName];
  if (!component) throw new Error(`unknown strategy ${strategyName}; known: ${Object.keys(registry.strategies).join(", ")}`);
  const table = loadNb201();
  const space = new Nb201Space();
  const objectives = new Objectives([{ metric: "valid_acc", direction: "max" }]);
  const evaluator = new Nb201Simulator({ dataset, noise }, table);
  const clock = { ms: 0 };
  let loopMs = 0;
  let cacheHits = 0;
  const curves: Float64Array[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const store = new SqliteStore(":memory:");
    const strategy = timed(component.create(options, { space, objectives, seed }), clock);
    let bestValid = -Infinity;
    let bestTest = NaN;
    const curve = new Float64Array(queries).fill(NaN);
    let last = 0;
    const t0 = performance.now();
    await new Experiment({
      name: `bench-${seed}`,
      seed,
      space,
      strategy,
      scheduler: new FifoScheduler({ fidelity: evaluator.fidelity, seed }),
      evaluator,
      objectives,
      store,
      budget: { trials: queries },
      onEvent: (e) => {
        if (e.type !== "trial") return;
        const t = e.trial;
        if (t.cachedFrom !== null) cacheHits++;
        const v = t.metrics?.valid_acc ?? -Infinity;
        if (t.status === "finished" && v > bestValid) {
          bestValid = v;
          bestTest = t.hidden?.test_acc ?? NaN;
        }
        const done = e.progress.done;
        if (done >= 1 && done <= queries) {
          curve[done - 1] = bestTest;
          last = Math.max(last, done);
        }
      },
    }).run();
    loopMs += performance.now() - t0;
    await store.close();
    // A search that stopped early (space exhausted) keeps its best for the remaining queries.
    for (let q = last; q < queries; q++) curve[q] = q > 0 ? curve[q - 1] : NaN;
    curves.push(curve);
  }
  return { curves, overheadMs: clock.ms / (queries * seeds), loopMs: loopMs / (queries * seeds), cacheHits };
}

export async function searchBench(argv: string[]) {
  const { values } = benchArgs(argv, {
    strategy: { type: "string", default: "rea" },
    strategies: { type: "string" },
    dataset: { type: "string", default: "cifar10" },
    queries: { type: "string", default: "100" },
    seeds: { type: "string", default: "100" },
    checkpoints: { type: "string" },
    options: { type: "string", default: "{}" },
    noise: { type: "boolean", default: false },
    "no-optuna": { type: "boolean", default: false },
    out: { type: "string", default: "bench-results" },
  });
  const strategyName = String(values.strategy);
  const dataset = String(values.dataset) as Nb201Dataset;
  if (!NB201_DATASETS.includes(dataset)) throw new Error(`--dataset must be one of ${NB201_DATASETS.join(", ")}`);
  const queries = intList(String(values.queries))[0];
  const seeds = intList(String(values.seeds))[0];
  const checkpoints = values.checkpoints ? intList(String(values.checkpoints)) : [10, 25, 50, 100, 150].filter((c) => c <= queries);
  if (!checkpoints.includes(queries)) checkpoints.push(queries);
  if (values.strategies !== undefined) {
    await compareStrategies({
      strategies: String(values.strategies),
      dataset,
      queries,
      seeds,
      checkpoints,
      noise: Boolean(values.noise),
      optuna: requirePeer("optuna", values, "search"),
      out: String(values.out),
    });
    return;
  }
  const component = registry.strategies[strategyName];
  if (!component) throw new Error(`unknown strategy ${strategyName}; known: ${Object.keys(registry.strategies).join(", ")}`);
  const opts = check(component.options, JSON.parse(String(values.options)));
  if (!opts.value) throw new Error(`bad --options: ${opts.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);

  const table = loadNb201();
  const cols = NB201_COLUMNS[dataset];
  const run = await runStrategy(strategyName, opts.value, dataset, queries, seeds, Boolean(values.noise));

  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  const valid = table.column(cols.valid);
  const test = table.column(cols.test);
  const rows: string[][] = [];
  for (const c of checkpoints) {
    const s = meanStd(run.curves.map((curve) => curve[c - 1]));
    mean[c] = Number(s.mean.toFixed(4));
    std[c] = Number(s.std.toFixed(4));
    const exact = exactRandomSearch(valid, test, c);
    const se = s.std / Math.sqrt(seeds);
    rows.push([String(c), s.mean.toFixed(3), s.std.toFixed(3), exact.toFixed(3), ((s.mean - exact) / (se || Infinity)).toFixed(2)]);
  }
  const overhead = run.overheadMs;
  console.log(`strategy ${strategyName} on NAS-Bench-201 ${dataset}: ${seeds} seeds x ${queries} queries (options ${JSON.stringify(opts.value)})`);
  console.log("test accuracy of the best-by-validation architecture so far");
  console.log(["queries", "mean", "std", "random (exact)", "z vs random"].map((h) => h.padEnd(15)).join(""));
  for (const r of rows) console.log(r.map((x) => x.padEnd(15)).join(""));
  console.log(`strategy overhead (ask + tell): ${overhead.toFixed(4)} ms/trial; whole loop incl. SQLite store and simulator: ${run.loopMs.toFixed(3)} ms/trial; cache hits ${run.cacheHits}`);
  console.log(
    JSON.stringify({ strategy: strategyName, dataset, queries, seeds, mean, std, overhead_ms_per_trial: Number(overhead.toFixed(5)), random_exact: Object.fromEntries(checkpoints.map((c) => [c, Number(exactRandomSearch(valid, test, c).toFixed(4))])) }),
  );
}
