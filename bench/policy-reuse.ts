/**
 * Policy reuse on the NAS-Bench-201 simulator: for each seed, an rl_controller search on the
 * source dataset, then two searches on the target dataset with the same seed, one from a fresh
 * policy and one starting from the source search's policy (`policy_from`), optionally also one
 * warm-started with the source's best architectures (`warm_start.top_k`). Reports the test
 * accuracy of the best-by-validation architecture after each checkpoint, mean over seeds, and the
 * paired difference with its standard error.
 *
 *   npm run bench -- policy-reuse --source cifar10 --target cifar100 --queries 100 --seeds 20
 */
import { Experiment, type WarmStart } from "../src/core/experiment.js";
import { Objectives } from "../src/core/objectives.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";
import { loadNb201, NB201_DATASETS, type Nb201Dataset } from "../src/benchmarks/nb201.js";
import { registry } from "../src/registry.js";
import { check } from "../src/config/validate.js";
import type { Store } from "../src/core/store.js";
import { benchArgs, intList, meanStd } from "./args.js";

export async function policyReuseBench(argv: string[]) {
  const { values } = benchArgs(argv, {
    source: { type: "string", default: "cifar10" },
    target: { type: "string", default: "cifar100" },
    queries: { type: "string", default: "100" },
    "source-queries": { type: "string" },
    seeds: { type: "string", default: "20" },
    options: { type: "string", default: "{}" },
    "top-k": { type: "string", default: "0" },
  });
  const source = String(values.source) as Nb201Dataset;
  const target = String(values.target) as Nb201Dataset;
  for (const d of [source, target]) if (!NB201_DATASETS.includes(d)) throw new Error(`datasets must be among ${NB201_DATASETS.join(", ")}`);
  const queries = intList(String(values.queries))[0];
  const sourceQueries = values["source-queries"] ? intList(String(values["source-queries"]))[0] : queries;
  const seeds = intList(String(values.seeds))[0];
  const topK = intList(String(values["top-k"]))[0];
  const checkpoints = [10, 25, 50, 100, 150].filter((c) => c < queries).concat([queries]);
  const component = registry.strategies.rl_controller;
  const base = JSON.parse(String(values.options)) as Record<string, unknown>;

  const table = loadNb201();
  const space = new Nb201Space();
  const objectives = new Objectives([{ metric: "valid_acc", direction: "max" }]);
  const evaluators = { source: new Nb201Simulator({ dataset: source, noise: false }, table), target: new Nb201Simulator({ dataset: target, noise: false }, table) };

  const run = async (store: Store, name: string, seed: number, dataset: "source" | "target", trials: number, extra: Record<string, unknown>, warmStart?: WarmStart) => {
    const opts = check(component.options, { ...base, ...extra });
    if (!opts.value) throw new Error(`bad --options: ${opts.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
    const curve = new Map<number, number>();
    let bestValid = -Infinity;
    let bestTest = NaN;
    await new Experiment({
      name,
      seed,
      space,
      strategy: component.create(opts.value, { space, objectives, seed }),
      scheduler: new FifoScheduler({ fidelity: evaluators[dataset].fidelity, seed }),
      evaluator: evaluators[dataset],
      objectives,
      store,
      budget: { trials },
      warmStart,
      onEvent: (e) => {
        if (e.type !== "trial") return;
        const t = e.trial;
        const v = t.metrics?.valid_acc ?? -Infinity;
        if (t.status === "finished" && v > bestValid) {
          bestValid = v;
          bestTest = t.hidden?.test_acc ?? NaN;
        }
        curve.set(e.progress.done, bestTest);
      },
    }).run();
    return curve;
  };

  const arms = ["cold", "policy_from", ...(topK > 0 ? ["top_k", "policy_from+top_k"] : [])];
  const results = new Map<string, Map<number, number[]>>(arms.map((a) => [a, new Map(checkpoints.map((c) => [c, []]))]));
  for (let seed = 0; seed < seeds; seed++) {
    const store = new SqliteStore(":memory:");
    // The source search uses another seed stream than the target searches.
    await run(store, "source", seed + 100_000, "source", sourceQueries, {});
    const curves: Record<string, Map<number, number>> = {
      cold: await run(store, "cold", seed, "target", queries, {}),
      policy_from: await run(store, "reuse", seed, "target", queries, { policy_from: "source" }),
    };
    if (topK > 0) {
      curves.top_k = await run(store, "topk", seed, "target", queries, {}, { experiments: ["source"], topK });
      curves["policy_from+top_k"] = await run(store, "both", seed, "target", queries, { policy_from: "source" }, { experiments: ["source"], topK });
    }
    for (const a of arms) for (const c of checkpoints) results.get(a)!.get(c)!.push(curves[a].get(c)!);
    await store.close();
  }

  console.log(`policy reuse, rl_controller on NAS-Bench-201: ${source} (${sourceQueries} queries) -> ${target}, ${seeds} seeds x ${queries} queries (options ${JSON.stringify(base)})`);
  console.log("test accuracy of the best-by-validation architecture so far; diff = arm - cold, paired over seeds (mean +- standard error)");
  console.log(["queries", ...arms.flatMap((a) => (a === "cold" ? [a] : [a, "diff"]))].map((h) => h.padEnd(20)).join(""));
  const summary: Record<string, Record<string, number>> = {};
  for (const c of checkpoints) {
    const cold = results.get("cold")!.get(c)!;
    const row = [String(c)];
    for (const a of arms) {
      const xs = results.get(a)!.get(c)!;
      const s = meanStd(xs);
      row.push(s.mean.toFixed(3));
      (summary[a] ??= {})[`mean_at_${c}`] = Number(s.mean.toFixed(4));
      if (a !== "cold") {
        const d = meanStd(xs.map((x, i) => x - cold[i]));
        row.push(`${d.mean >= 0 ? "+" : ""}${d.mean.toFixed(3)} +- ${(d.std / Math.sqrt(seeds)).toFixed(3)}`);
        summary[a][`diff_at_${c}`] = Number(d.mean.toFixed(4));
      }
    }
    console.log(row.map((x) => x.padEnd(20)).join(""));
  }
  console.log(JSON.stringify({ source, target, queries, seeds, results: summary }));
}
