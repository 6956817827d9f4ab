import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/rng.js";
import { UserError } from "../src/core/errors.js";
import { loadNb201 } from "../src/benchmarks/nb201.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { DeclarativeSpace, categorical } from "../src/spaces/dsl.js";
import { predictors } from "../src/predictors/registry.js";
import type { LabelledPoint, PredictorContext } from "../src/predictors/predictor.js";
import { combineFeatures, nb201TableFeatures } from "../src/predictors/features.js";
import { fitTree, predictTree, RandomForest, GradientBoosting } from "../src/predictors/trees.js";
import { spearman } from "../src/proxies/rank.js";

const space = new Nb201Space();
const table = loadNb201();
const valid = table.column("c10v_valid_acc");

/** Held-out cells and a training pool, disjoint, fixed by the seed. */
function split(seed: number, n: number, test = 500): { train: LabelledPoint[]; testPoints: string[]; truth: number[] } {
  const order = new Rng(seed).shuffle(Array.from({ length: table.rows }, (_, i) => i));
  const held = order.slice(0, test);
  return {
    train: order.slice(test, test + n).map((i) => ({ point: table.archStrings[i], value: valid[i] })),
    testPoints: held.map((i) => table.archStrings[i]),
    truth: held.map((i) => valid[i]),
  };
}

async function rho(name: string, n: number, ctx: Partial<PredictorContext> = {}, options?: Record<string, unknown>, seed = 0): Promise<number> {
  const { train, testPoints, truth } = split(seed, n);
  const p = predictors[name].create({ space, seed, ...ctx }, options);
  await p.fit(train);
  const pred = await p.predict(testPoints);
  return spearman(pred.map((x) => x.mean), truth);
}

test("regression tree: recovers a step function exactly; forest and boosting approximate a smooth one", () => {
  const rng = new Rng(1);
  const X = Array.from({ length: 200 }, () => Float64Array.from([rng.next(), rng.next()]));
  const step = X.map((x) => (x[0] > 0.5 ? 3 : -1));
  const tree = fitTree(X, step, X.map((_, i) => i), { maxDepth: 3, minLeaf: 1, mtry: 2 }, rng);
  assert.equal(predictTree(tree, [0.9, 0.1]), 3);
  assert.equal(predictTree(tree, [0.1, 0.9]), -1);
  const smooth = X.map((x) => Math.sin(3 * x[0]) + x[1]);
  const forest = RandomForest.fit(X, smooth, { trees: 50, maxDepth: 12, minLeaf: 2, maxFeatures: 1, bootstrap: true }, new Rng(2));
  const gbt = GradientBoosting.fit(X, smooth, { rounds: 200, learningRate: 0.1, maxDepth: 3, minLeaf: 2, subsample: 0.8, colsample: 1 }, new Rng(3));
  for (const [a, b] of [[0.2, 0.3], [0.7, 0.8], [0.5, 0.5]]) {
    const truth = Math.sin(3 * a) + b;
    assert.ok(Math.abs(forest.predict([a, b]).mean - truth) < 0.2, `forest at ${a},${b}`);
    assert.ok(Math.abs(gbt.predict([a, b]) - truth) < 0.2, `gbt at ${a},${b}`);
  }
  // quantile boosting brackets the data
  const q16 = GradientBoosting.fit(X, smooth.map((v, i) => v + (i % 2 ? 0.5 : -0.5)), { rounds: 200, learningRate: 0.1, maxDepth: 3, minLeaf: 5, subsample: 1, colsample: 1, quantile: 0.16 }, new Rng(4));
  const q84 = GradientBoosting.fit(X, smooth.map((v, i) => v + (i % 2 ? 0.5 : -0.5)), { rounds: 200, learningRate: 0.1, maxDepth: 3, minLeaf: 5, subsample: 1, colsample: 1, quantile: 0.84 }, new Rng(4));
  assert.ok(q84.predict([0.5, 0.5]) - q16.predict([0.5, 0.5]) > 0.5);
});

test("GP (WL kernel) ranks held-out NB201 cells: Spearman > 0.85 from 100 training cells", async () => {
  const r = await rho("gp", 100);
  assert.ok(r > 0.85, `spearman ${r}`);
});

test("cheap table features (params, FLOPs, NASWOT) improve the random forest and boosted trees with 30 training cells", async () => {
  const features = nb201TableFeatures();
  for (const name of ["random_forest", "gbt"]) {
    const plain = await rho(name, 30);
    const withFeatures = await rho(name, 30, { features });
    assert.ok(withFeatures > plain + 0.1, `${name}: ${withFeatures} vs ${plain}`);
  }
});

test("transfer from CIFAR-100 / ImageNet16-120 beats training from scratch with 20 CIFAR-10 samples", async () => {
  for (const seed of [0, 1]) {
    const scratch = await rho("gp", 20, {}, undefined, seed);
    const transfer = await rho("transfer", 20, {}, { target: "cifar10", source_samples: 300 }, seed);
    assert.ok(transfer > scratch + 0.05, `seed ${seed}: transfer ${transfer} vs scratch ${scratch}`);
  }
  assert.throws(() => predictors.transfer.create({ space, seed: 0 }, { target: "cifar10", sources: ["cifar10"] }), UserError);
});

test("predictors are deterministic per seed, give uncertainties, and update adds data", async () => {
  const { train, testPoints } = split(3, 60, 50);
  for (const [name, options] of [["gp", {}], ["random_forest", { trees: 30 }], ["gbt", { rounds: 50, uncertainty: "quantile" }]] as const) {
    const a = predictors[name].create({ space, seed: 7 }, options);
    const b = predictors[name].create({ space, seed: 7 }, options);
    await a.fit(train);
    await b.fit(train);
    const pa = await a.predict(testPoints);
    assert.deepEqual(await b.predict(testPoints), pa, name);
    assert.ok(pa.every((p) => Number.isFinite(p.mean) && p.std >= 0), name);
    assert.ok(pa.some((p) => p.std > 0), `${name} gives some uncertainty`);
    // update = fit on everything so far
    const c = predictors[name].create({ space, seed: 7 }, options);
    await c.fit(train.slice(0, 30));
    await c.update!(train.slice(30));
    assert.deepEqual(await c.predict(testPoints), pa, `${name} update`);
  }
});

test("GP predictions stay in the targets' units (rank warp mapped back) and interpolate training points", async () => {
  const { train } = split(4, 50, 10);
  const p = predictors.gp.create({ space, seed: 0 });
  await p.fit(train);
  const pred = await p.predict(train.map((t) => t.point));
  const err = pred.reduce((s, q, i) => s + Math.abs(q.mean - train[i].value), 0) / train.length;
  assert.ok(err < 3, `mean abs error on training points ${err}`);
});

test("table features: log params, log FLOPs and NASWOT of known cells; missing NASWOT is NaN", () => {
  const f = nb201TableFeatures({ dataset: "cifar10" });
  assert.deepEqual(f.names, ["log10_params", "log10_flops", "naswot"]);
  const v = f.features(table.archStrings[0]);
  assert.ok(Math.abs(v[0] - Math.log10(0.129306)) < 1e-9);
  assert.ok(Math.abs(v[1] - Math.log10(15.64737)) < 1e-9);
  assert.ok(Math.abs(v[2] - -776.4429) < 1e-6);
  const naswot = table.column("naswot_v1_score_c10");
  const missing = naswot.findIndex((x) => Number.isNaN(x));
  assert.ok(missing >= 0 && Number.isNaN(f.features(table.archStrings[missing])[2]));
  assert.throws(() => f.features("not a cell"), UserError);
  assert.throws(() => nb201TableFeatures({ features: ["latency" as never] }), UserError);
  const both = combineFeatures(nb201TableFeatures({ features: ["params"] }), nb201TableFeatures({ dataset: "cifar100", features: ["flops"] }));
  assert.deepEqual(both.names, ["log10_params", "log10_flops"]);
  assert.equal(both.features(table.archStrings[0]).length, 2);
});

test("predictor options and data are checked with clear errors; spaces without an encoding are refused", async () => {
  assert.throws(() => predictors.random_forest.create({ space, seed: 0 }, { tres: 10 }), (e: Error) => e instanceof UserError && /did you mean "trees"/.test(e.message));
  assert.throws(() => predictors.gbt.create({ space, seed: 0 }, { learning_rate: 2 }), (e: Error) => e instanceof UserError && /learning_rate/.test(e.message));
  const p = predictors.gp.create({ space, seed: 0 });
  assert.throws(() => p.fit([{ point: table.archStrings[0], value: NaN }, { point: table.archStrings[1], value: 1 }]), (e: Error) => e instanceof UserError && /non-finite/.test(e.message));
  assert.throws(() => p.fit([]), UserError);
  const dsl = new DeclarativeSpace("toy", [categorical("a", ["x", "y"])]);
  const noEncode = { ...dsl, name: "bare", sample: dsl.sample.bind(dsl), canonical: dsl.canonical.bind(dsl), validate: dsl.validate.bind(dsl), describe: dsl.describe.bind(dsl) };
  assert.throws(() => predictors.gp.create({ space: noEncode as never, seed: 0 }), UserError);
  assert.throws(() => predictors.random_forest.create({ space: noEncode as never, seed: 0 }), UserError);
});
