import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/rng.js";
import { UserError } from "../src/core/errors.js";
import { loadNb201, NB201_OPS, parseArchString } from "../src/benchmarks/nb201.js";
import { LatencyFeatures, RidgeLatencyModel, spearman } from "../src/predictors/latency.js";

test("spearman: perfect, reversed, ties", () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 1, 2, 3], [1, 2, 3, 4]) - 0.9486832980505138) < 1e-12);
});

test("ridge recovers an exact log-linear latency law from few points", () => {
  const rng = new Rng(0);
  const w = [0.5, -0.2, 0.1, 0.3];
  const xs = Array.from({ length: 200 }, () => w.map(() => rng.int(2)));
  const lat = xs.map((x) => Math.exp(1 + x.reduce((s, v, j) => s + v * w[j], 0)));
  const model = new RidgeLatencyModel({ lambdas: [1e-8] }).fit(xs.slice(0, 12), lat.slice(0, 12));
  for (let i = 12; i < 200; i++) assert.ok(Math.abs(model.predict(xs[i]) / lat[i] - 1) < 1e-4);
  assert.throws(() => new RidgeLatencyModel().fit([[1]], [1]), UserError);
  assert.throws(() => new RidgeLatencyModel().fit([[1], [2]], [1, -1]), UserError);
});

test("held-out NB201 device: 20 measurements rank latencies well, transfer from other devices beats ops alone", () => {
  const table = loadNb201();
  const device = "pixel3";
  const truth = table.column(`lat_ms_${device}`);
  const onehot = table.archStrings.map((a) => {
    const ops = parseArchString(a)!;
    const v = new Float64Array(30);
    ops.forEach((op, k) => (v[k * 5 + NB201_OPS.indexOf(op)] = 1));
    return v;
  });
  // Reference tables: devices of other families only (no other Pixel / phone-of-the-same-name).
  const refs = ["eyeriss", "fpga", "raspi4", "1080ti_1", "gold_6226"].map((d) => table.column(`lat_ms_${d}`));
  const sets = { ops: new LatencyFeatures((i) => onehot[i]), transfer: new LatencyFeatures((i) => onehot[i], refs) };
  const rng = new Rng(4);
  const evalRows = rng.sampleIndices(table.rows, 3000);
  const score: Record<string, number> = {};
  for (const [name, f] of Object.entries(sets)) {
    let total = 0;
    for (let seed = 0; seed < 3; seed++) {
      const pick = new Rng(seed).sampleIndices(table.rows, 20);
      const model = new RidgeLatencyModel().fit(pick.map((i) => f.of(i)), pick.map((i) => truth[i]));
      const rows = evalRows.filter((i) => !pick.includes(i));
      total += spearman(rows.map((i) => model.predict(f.of(i))), rows.map((i) => truth[i])) / 3;
    }
    score[name] = total;
  }
  assert.ok(score.ops > 0.3, `ops: ${score.ops}`);
  assert.ok(score.transfer > 0.8, `transfer: ${score.transfer}`);
  assert.ok(score.transfer > score.ops, JSON.stringify(score));
});
