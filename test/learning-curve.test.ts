import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { Rng } from "../src/core/rng.js";
import { UserError } from "../src/core/errors.js";
import { loadNb201 } from "../src/benchmarks/nb201.js";
import { dataDir } from "../src/benchmarks/data-dir.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { CurveExtrapolator, EarlyToFinalModel, HybridCurvePredictor } from "../src/predictors/learning-curve.js";
import { spearman } from "../src/proxies/rank.js";

const steps = (k: number) => Array.from({ length: k }, (_, i) => i + 1);

test("curve extrapolation recovers noise-free pow3 and exp3 curves", () => {
  const ex = new CurveExtrapolator();
  const pow3 = (x: number) => 90 - 60 * x ** -0.7;
  const p = ex.predictFinal({ steps: steps(30), values: steps(30).map(pow3), targetStep: 200 });
  assert.ok(Math.abs(p.mean - pow3(200)) < 0.3, `pow3: ${p.mean} vs ${pow3(200)}`);
  const exp3 = (x: number) => 85 - 50 * Math.exp(-0.05 * x);
  const e = ex.predictFinal({ steps: steps(40), values: steps(40).map(exp3), targetStep: 200 });
  assert.ok(Math.abs(e.mean - exp3(200)) < 0.5, `exp3: ${e.mean} vs ${exp3(200)}`);
  // noisy data: the std reflects the noise and the extrapolation distance
  const rng = new Rng(1);
  const noisy = steps(30).map((x) => pow3(x) + rng.normal(0, 2));
  const n = ex.predictFinal({ steps: steps(30), values: noisy, targetStep: 200 });
  assert.ok(n.std > 1, `std ${n.std}`);
  assert.ok(Math.abs(n.mean - pow3(200)) < 3 * n.std, `noisy: ${n.mean} ± ${n.std} vs ${pow3(200)}`);
});

test("curve extrapolation on the real NAS-Bench-201 200-epoch curves beats the last seen value", () => {
  // Bundled with the package (data/nas-bench-201/README.md): NATS-Bench's full records of 3 architectures.
  const file = join(dataDir(), "nas-bench-201", "nb201_curves_sample.json.gz");
  assert.ok(existsSync(file), `${file} is missing: it ships in data/nas-bench-201/ (see its README.md)`);
  const records = JSON.parse(gunzipSync(readFileSync(file)).toString("utf8")) as { hp_epochs: number; eval: Record<string, { acc: number[] }> }[];
  const curves = records.filter((r) => r.hp_epochs === 200 && r.eval["x-valid"]?.acc.length === 200).map((r) => r.eval["x-valid"].acc);
  assert.ok(curves.length >= 6);
  const ex = new CurveExtrapolator({ bounds: [0, 100] });
  let errFit = 0;
  let errLast = 0;
  let covered = 0;
  let count = 0;
  for (const acc of curves) {
    for (const k of [50, 100, 150]) {
      const p = ex.predictFinal({ steps: steps(k), values: acc.slice(0, k), targetStep: 200 });
      errFit += Math.abs(p.mean - acc[199]);
      errLast += Math.abs(acc[k - 1] - acc[199]);
      if (Math.abs(p.mean - acc[199]) <= 2 * p.std) covered++;
      count++;
    }
  }
  assert.ok(errFit < 0.7 * errLast, `extrapolation error ${errFit / count} vs last value ${errLast / count}`);
  assert.ok(covered / count >= 0.8, `only ${covered}/${count} finals within 2 std`);
});

test("early-to-final model on the table's 12/200-epoch pairs ranks finals better than the 12-epoch accuracy alone", () => {
  const table = loadNb201();
  const space = new Nb201Space();
  const held = new Rng(5).sampleIndices(table.rows, 1000);
  const model = EarlyToFinalModel.fromNb201Table(space, { dataset: "cifar10", trainSize: 500, seed: 0, exclude: new Set(held), table });
  const early = table.column("c10v_valid_acc_12ep");
  const final = table.column("c10v_valid_acc");
  const usable = held.filter((i) => Number.isFinite(early[i]));
  const pred = usable.map((i) => model.predictFinal({ point: table.archStrings[i], steps: [12], values: [early[i]], targetStep: 200 }).mean);
  const truth = usable.map((i) => final[i]);
  const rModel = spearman(pred, truth);
  const rEarly = spearman(usable.map((i) => early[i]), truth);
  assert.ok(rModel > rEarly + 0.01, `model ${rModel} vs 12-epoch accuracy ${rEarly}`);
  const mae = usable.reduce((s, i, k) => s + Math.abs(pred[k] - final[i]), 0) / usable.length;
  assert.ok(mae < 2.5, `mean abs error ${mae}`);
  // the hybrid uses the model at step 12 and the extrapolator otherwise
  const hybrid = new HybridCurvePredictor(model);
  const i = usable[0];
  assert.equal(hybrid.predictFinal({ point: table.archStrings[i], steps: [12], values: [early[i]], targetStep: 200 }).mean, pred[0]);
  const viaCurve = hybrid.predictFinal({ steps: [1, 2, 3, 4, 5], values: [30, 40, 46, 50, 53], targetStep: 200 });
  assert.ok(viaCurve.mean > 53 && viaCurve.mean <= 100);
});

test("learning-curve queries are checked with clear errors", () => {
  const ex = new CurveExtrapolator();
  assert.throws(() => ex.predictFinal({ steps: [], values: [], targetStep: 10 }), UserError);
  assert.throws(() => ex.predictFinal({ steps: [1, 2], values: [1], targetStep: 10 }), UserError);
  assert.throws(() => ex.predictFinal({ steps: [2, 1], values: [1, 2], targetStep: 10 }), UserError);
  assert.throws(() => ex.predictFinal({ steps: [1, 2], values: [1, NaN], targetStep: 10 }), UserError);
  assert.throws(() => new CurveExtrapolator({ families: ["pow4"] }), (e: Error) => e instanceof UserError && /pow3/.test(e.message));
  // two points: the last value, with a wide std
  const two = ex.predictFinal({ steps: [1, 2], values: [10, 20], targetStep: 100 });
  assert.equal(two.mean, 20);
  assert.ok(two.std > 0);
});
