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
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { registry } from "../src/registry.js";
import { check } from "../src/config/validate.js";
import { benchArgs, intList, meanStd } from "./args.js";
import { exactRandomSearch } from "./random-expectation.js";
import { compareStrategies } from "./search-compare.js";
import { requirePeer } from "./peers.js";
import { searchTarget, type SearchTarget } from "./search-targets.js";

/** Random search's exact expectation on the target's population, for either direction. */
export function exactRandomFor(target: SearchTarget, n: number, pop = target.population()): number {
  if (target.direction === "max") return exactRandomSearch(pop.valid, pop.test, n);
  return -exactRandomSearch(pop.valid.map((v) => -v), pop.test.map((v) => -v), n);
}

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

/** Runs `seeds` full experiments (seeds 0..seeds-1) of one strategy on the target's simulator. */
export async function runStrategy(strategyName: string, options: unknown, target: SearchTarget, queries: number, seeds: number): Promise<StrategyRun> {
  const component = registry.strategies[strategyName];
  if (!component) throw new Error(`unknown strategy ${strategyName}; known: ${Object.keys(registry.strategies).join(", ")}`);
  const { space, evaluator } = target;
  const objectives = new Objectives([{ metric: target.metric, direction: target.direction }]);
  const sign = target.direction === "max" ? 1 : -1;
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
        const v = sign * (t.metrics?.[target.metric] ?? NaN);
        if (t.status === "finished" && v > bestValid) {
          bestValid = v;
          bestTest = t.hidden?.[target.test] ?? NaN;
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
    benchmark: { type: "string", default: "nb201" },
    dataset: { type: "string" },
    task: { type: "string" },
    queries: { type: "string", default: "100" },
    seeds: { type: "string", default: "100" },
    checkpoints: { type: "string" },
    options: { type: "string", default: "{}" },
    noise: { type: "boolean", default: false },
    "no-optuna": { type: "boolean", default: false },
    out: { type: "string", default: "bench-results" },
  });
  const strategyName = String(values.strategy);
  const task = (values.task ?? values.dataset) as string | undefined;
  const target = searchTarget(String(values.benchmark), task, Boolean(values.noise));
  const queries = intList(String(values.queries))[0];
  const seeds = intList(String(values.seeds))[0];
  const checkpoints = values.checkpoints ? intList(String(values.checkpoints)) : [10, 25, 50, 100, 150].filter((c) => c <= queries);
  if (!checkpoints.includes(queries)) checkpoints.push(queries);
  if (values.strategies !== undefined) {
    await compareStrategies({
      strategies: String(values.strategies),
      target,
      queries,
      seeds,
      checkpoints,
      optuna: requirePeer("optuna", values, "search"),
      out: String(values.out),
    });
    return;
  }
  const component = registry.strategies[strategyName];
  if (!component) throw new Error(`unknown strategy ${strategyName}; known: ${Object.keys(registry.strategies).join(", ")}`);
  const opts = check(component.options, JSON.parse(String(values.options)));
  if (!opts.value) throw new Error(`bad --options: ${opts.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);

  const run = await runStrategy(strategyName, opts.value, target, queries, seeds);
  const pop = target.population();

  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  const rows: string[][] = [];
  for (const c of checkpoints) {
    const s = meanStd(run.curves.map((curve) => curve[c - 1]));
    mean[c] = Number(s.mean.toFixed(4));
    std[c] = Number(s.std.toFixed(4));
    const exact = exactRandomFor(target, c, pop);
    const se = s.std / Math.sqrt(seeds);
    rows.push([String(c), s.mean.toFixed(3), s.std.toFixed(3), exact.toFixed(3), ((s.mean - exact) / (se || Infinity)).toFixed(2)]);
  }
  const overhead = run.overheadMs;
  console.log(`strategy ${strategyName} on ${target.label}: ${seeds} seeds x ${queries} queries (options ${JSON.stringify(opts.value)})`);
  console.log(`${target.test} of the best-by-validation architecture so far (${target.metric}, ${target.direction})`);
  console.log(["queries", "mean", "std", "random (exact)", "z vs random"].map((h) => h.padEnd(15)).join(""));
  for (const r of rows) console.log(r.map((x) => x.padEnd(15)).join(""));
  console.log(`strategy overhead (ask + tell): ${overhead.toFixed(4)} ms/trial; whole loop incl. SQLite store and simulator: ${run.loopMs.toFixed(3)} ms/trial; cache hits ${run.cacheHits}`);
  console.log(
    JSON.stringify({ strategy: strategyName, benchmark: target.benchmark, dataset: target.task, metric: target.test, direction: target.direction, queries, seeds, mean, std, overhead_ms_per_trial: Number(overhead.toFixed(5)), random_exact: Object.fromEntries(checkpoints.map((c) => [c, Number(exactRandomFor(target, c, pop).toFixed(4))])) }),
  );
}
