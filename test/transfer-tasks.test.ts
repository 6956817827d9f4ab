import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/rng.js";
import { UserError } from "../src/core/errors.js";
import type { Json } from "../src/core/json.js";
import type { SearchSpace } from "../src/core/space.js";
import { predictors } from "../src/predictors/registry.js";
import { spearman } from "../src/proxies/rank.js";
import { taskTables } from "../src/benchmarks/task-tables.js";
import { tableFeatures } from "../src/predictors/features.js";
import { TransNasMicroSpace } from "../src/spaces/transnas-micro.js";
import { NasBenchGraphSpace } from "../src/spaces/nas-bench-graph.js";

/** Spearman of a predictor's predictions on 400 held-out points after fitting `n` points of `task`. */
async function rho(space: SearchSpace, task: string, name: string, n: number, opts: Record<string, unknown>, seed: number): Promise<number> {
  const { points, values } = taskTables(space.name).labelled(task);
  const order = new Rng(seed).sampleIndices(points.length, n + 400);
  const train = order.slice(0, n).map((i) => ({ point: points[i] as Json, value: values[i] }));
  const held = order.slice(n);
  const p = predictors[name].create({ space, seed }, opts);
  await p.fit(train);
  const pred = await p.predict(held.map((i) => points[i]));
  return spearman(pred.map((q) => q.mean), held.map((i) => values[i]));
}

test("transfer across TransNAS-Bench-101 tasks: pre-trained on the 6 other tasks, it ranks class_scene cells better than a GP on 20 samples", async () => {
  const space = new TransNasMicroSpace();
  let gain = 0;
  for (const seed of [0, 1, 2]) {
    const scratch = await rho(space, "class_scene", "gp", 20, {}, seed);
    const transfer = await rho(space, "class_scene", "transfer", 20, { target: "class_scene", source_samples: 300 }, seed);
    assert.ok(transfer > scratch, `seed ${seed}: transfer ${transfer} vs scratch ${scratch}`);
    gain += (transfer - scratch) / 3;
  }
  // Measured: 0.80 / 0.83 / 0.76 against 0.75 / 0.70 / 0.71.
  assert.ok(gain > 0.04, `mean gain ${gain}`);
});

test("transfer names the problem: a task the benchmark lacks, a target among the sources, a space of another benchmark", () => {
  const space = new TransNasMicroSpace();
  assert.throws(() => predictors.transfer.create({ space, seed: 0 }, { target: "cifar10" }), (e: Error) => e instanceof UserError && /no task "cifar10"/.test(e.message) && /class_scene/.test(e.message));
  assert.throws(() => predictors.transfer.create({ space, seed: 0 }, { target: "jigsaw", sources: ["jigsaw"] }), /cannot also be a source/);
  assert.throws(() => predictors.transfer.create({ space, seed: 0 }, { benchmark: "nb201" }), /space is "nb201"/);
});

test("transfer on NAS-Bench-Graph: sources citeseer and pubmed, target cora", async () => {
  const space = new NasBenchGraphSpace();
  const r = await rho(space, "cora", "transfer", 20, { target: "cora", sources: ["citeseer", "pubmed"], source_samples: 200 }, 0);
  // Measured 0.21: weak (cora's ranking differs from citeseer's and pubmed's), but it learns and predicts on GNN graphs.
  assert.ok(r > 0.1, `spearman ${r}`);
});

test("table features of any benchmark: TransNAS zero-cost proxies (NaN where unscored), NAS-Bench-Graph params and latency", () => {
  const f = tableFeatures("transnas-micro", "jigsaw", ["nwot", "params"]);
  const [nwot, params] = f.features("64-41414-1_00_223");
  assert.ok(Number.isFinite(nwot) && params > 0);
  const g = tableFeatures("nas-bench-graph", "cora");
  const [logParams, latency] = g.features("0123:skip,skip,gcn,gcn");
  assert.ok(Math.abs(logParams - Math.log10(0.502535)) < 1e-9 && latency > 0);
  assert.throws(() => tableFeatures("transnas-micro", "depth"), /no task "depth"/);
  assert.throws(() => tableFeatures("nas-bench-graph", "cora", ["naswot"]), /no table feature "naswot"/);
});
