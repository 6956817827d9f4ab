import { test } from "node:test";
import assert from "node:assert/strict";
import { Nb201Space } from "../src/spaces/nb201.js";
import { archString, loadNb201 } from "../src/benchmarks/nb201.js";
import { Rng } from "../src/core/rng.js";
import { UserError } from "../src/core/errors.js";
import { AdjacencyEncoding, graphBatch, normalizeAdjacency, PathEncoding } from "../src/predictors/encodings.js";
import { predictors } from "../src/predictors/registry.js";
import { kendallTau, spearman } from "../src/proxies/rank.js";
import { engineAvailable } from "../src/engine/native.js";

const space = new Nb201Space();
const cell = (...ops: string[]) => archString(ops);
const all = (op: string) => cell(op, op, op, op, op, op);

test("path encoding on NB201: sizes, paths of full and empty cells, none cuts paths", () => {
  const enc = PathEncoding.forSpace(space);
  assert.deepEqual(enc.ops, ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]);
  assert.equal(enc.maxLength, 3); // 0->1->2->3
  assert.equal(enc.length, 4 + 16 + 64);

  const empty = space.graph(all("none"));
  assert.deepEqual(enc.paths(empty), []);
  assert.ok(enc.encode(empty).every((v) => v === 0));

  const full = space.graph(all("nor_conv_3x3"));
  const paths = enc.paths(full);
  assert.equal(paths.length, 4); // 0->3, 0->1->3, 0->2->3, 0->1->2->3
  assert.deepEqual(paths.map((p) => p.length).sort(), [1, 2, 2, 3]);
  assert.equal(enc.encode(full).reduce((a, b) => a + b, 0), 3); // the two length-2 paths are the same op sequence
  const counts = PathEncoding.forSpace(space, { mode: "count" }).encode(full);
  assert.equal(counts.reduce((a, b) => a + b, 0), 4);
  assert.equal(counts[enc.index(["nor_conv_3x3", "nor_conv_3x3"])], 2);

  // Edge 1->2 cut: three paths; a conv reachable from the input but not reaching the output: no path.
  assert.equal(enc.paths(space.graph(cell("nor_conv_3x3", "nor_conv_3x3", "none", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3"))).length, 3);
  assert.deepEqual(enc.paths(space.graph(cell("nor_conv_3x3", "none", "none", "none", "none", "none"))), []);
  // Path ops in order along the path.
  const chain = space.graph(cell("skip_connect", "none", "nor_conv_1x1", "none", "none", "avg_pool_3x3"));
  assert.deepEqual(enc.paths(chain), [["skip_connect", "nor_conv_1x1", "avg_pool_3x3"]]);

  for (let i = 0; i < enc.length; i++) assert.equal(enc.index(enc.pathAt(i)), i);
  const short = PathEncoding.forSpace(space, { truncate: 4 });
  assert.equal(short.length, 4);
  assert.deepEqual(short.encode(full), [0, 0, 1, 0]);
  assert.throws(() => PathEncoding.forSpace(space, { truncate: 0 }), UserError);
});

test("adjacency encoding and graph tensors for GNNs", () => {
  const adj = AdjacencyEncoding.forSpace(space);
  assert.equal(adj.maxNodes, 8);
  assert.equal(adj.length, 28 + 8 * 7);
  const g = space.graph(cell("nor_conv_3x3", "none", "skip_connect", "none", "none", "avg_pool_3x3"));
  const v = adj.encode(g);
  assert.equal(v.slice(28).reduce((a, b) => a + b, 0), 8); // one op per node

  const batch = graphBatch([g], { vocabulary: g.vocabulary, maxNodes: 8 });
  assert.equal(batch.nodes.reduce((a, b) => a + b, 0), 8);
  // Node 2 (edge 0->2) is none: no edges in or out; node 1 (edge 0->1) keeps input -> 1 and 1 -> 3 (edge 1->2).
  const a = (i: number, j: number) => batch.adjacency[i * 8 + j];
  assert.equal(a(0, 2), 0);
  assert.equal(a(0, 1), 1);
  assert.equal(a(1, 3), 1);
  const row = normalizeAdjacency(batch, { direction: "forward", norm: "row" });
  for (let j = 0; j < 8; j++) {
    const s = row.slice(j * 8, j * 8 + 8).reduce((x, y) => x + y, 0);
    assert.ok(Math.abs(s - 1) < 1e-6, `row ${j} sums to ${s}`);
  }
  const rev = normalizeAdjacency(batch, { direction: "reverse", selfLoops: false, norm: "none" });
  // Reverse flow: node 1 receives from its successor 3 (edge 1->2), forward: node 3 receives from 1.
  assert.equal(rev[1 * 8 + 3], 1);
  const fwd = normalizeAdjacency(batch, { direction: "forward", selfLoops: false, norm: "none" });
  assert.equal(fwd[3 * 8 + 1], 1);
  assert.equal(fwd[1 * 8 + 3], 0);
});

test("neural predictor factories validate options without the engine", () => {
  for (const name of ["mlp", "gcn", "gin", "fr_gnn"]) {
    assert.ok(predictors[name], name);
    assert.throws(() => predictors[name].create({ space, seed: 0 }, { hiden: 3 }), /unknown key "hiden"; did you mean "hidden"/);
  }
  assert.throws(() => predictors.ensemble.create({ space, seed: 0 }, { predictor: "nope" }), /unknown member predictor "nope"/);
});

// In CI the engine must be there (ARCHSEARCH_REQUIRE_ENGINE=1): these tests fail rather than skip.
const skip = engineAvailable() || process.env.ARCHSEARCH_REQUIRE_ENGINE === "1" ? false : "libtorch binding not built";

function nb201Split(nTrain: number, nTest: number, seed: number) {
  const table = loadNb201();
  const col = table.column("c10v_valid_acc");
  const idx = new Rng(seed).sampleIndices(table.rows, nTrain + nTest);
  const pick = (ids: number[]) => ids.map((i) => ({ point: table.archStrings[i], value: col[i] }));
  return { train: pick(idx.slice(0, nTrain)), test: pick(idx.slice(nTrain)) };
}

test("neural predictors rank held-out NB201 architectures, deterministically", { skip }, async () => {
  const { train, test: held } = nb201Split(80, 300, 7);
  const truth = held.map((d) => d.value);
  const results: Record<string, number> = {};
  for (const [name, opts] of [
    ["mlp", { epochs: 40 }],
    ["gcn", { epochs: 60 }],
    ["gin", { epochs: 60 }],
    ["fr_gnn", { epochs: 60 }],
  ] as const) {
    const p = predictors[name].create({ space, seed: 3 }, opts);
    await p.fit(train);
    const pred = await p.predict(held.map((d) => d.point));
    assert.equal(pred.length, held.length);
    const rho = spearman(truth, pred.map((q) => q.mean));
    results[name] = kendallTau(truth, pred.map((q) => q.mean));
    assert.ok(rho > 0.6, `${name}: Spearman ${rho}`);
    // Predictions are in metric units (accuracy in percent).
    const mean = pred.reduce((a, q) => a + q.mean, 0) / pred.length;
    assert.ok(mean > 50 && mean < 100, `${name}: mean prediction ${mean}`);
    // Same seed, same data: same model.
    const again = predictors[name].create({ space, seed: 3 }, opts);
    await again.fit(train);
    assert.deepEqual(await again.predict(held.slice(0, 20).map((d) => d.point)), pred.slice(0, 20));
    p.dispose?.();
    again.dispose?.();
  }
  assert.ok(results.fr_gnn > results.gcn, `forward + reverse GNN tau ${results.fr_gnn} vs GCN ${results.gcn}`);
});

test("ensembles give an uncertainty; predict before fit and missing capabilities are clear errors", { skip }, async () => {
  const { train, test: held } = nb201Split(40, 50, 11);
  const mlp = predictors.mlp.create({ space, seed: 1 }, { members: 4, epochs: 30 });
  await mlp.fit(train);
  const a = await mlp.predict(held.map((d) => d.point));
  assert.ok(a.every((q) => q.std > 0 && Number.isFinite(q.mean)));
  mlp.dispose?.();

  const ens = predictors.ensemble.create({ space, seed: 1 }, { predictor: "gin", members: 2, options: { epochs: 20 } });
  await ens.fit(train);
  const b = await ens.predict(held.map((d) => d.point));
  assert.ok(b.every((q) => q.std > 0));
  ens.dispose?.();

  // update = refit on everything so far.
  const u = predictors.mlp.create({ space, seed: 1 }, { epochs: 10 });
  await u.fit(train.slice(0, 20));
  await u.update!(train.slice(20));
  const f = predictors.mlp.create({ space, seed: 1 }, { epochs: 10 });
  await f.fit(train);
  assert.deepEqual(await u.predict(held.map((d) => d.point)), await f.predict(held.map((d) => d.point)));
  u.dispose?.();
  f.dispose?.();

  const unfitted = predictors.gcn.create({ space, seed: 1 }, {});
  await assert.rejects(async () => unfitted.predict([held[0].point]), /predict before fit/);
  const noGraph = { ...space, name: "plain", graph: undefined, sample: space.sample.bind(space) } as unknown as Nb201Space;
  await assert.rejects(async () => predictors.gin.create({ space: noGraph, seed: 0 }, {}).fit(train), /capability "graph"/);
  await assert.rejects(async () => predictors.mlp.create({ space, seed: 0 }, {}).fit(train.slice(0, 1)), /at least 2 labelled points/);
});

test("extra features are concatenated before the head", { skip }, async () => {
  const { train, test: held } = nb201Split(60, 100, 5);
  const table = loadNb201();
  const params = table.column("calc_params_mb_c10");
  const features = { names: ["params"], features: (p: unknown) => [params[table.indexOf.get(p as string)!]] };
  const p = predictors.fr_gnn.create({ space, seed: 2, features }, { epochs: 40 });
  await p.fit(train);
  const pred = await p.predict(held.map((d) => d.point));
  assert.ok(spearman(held.map((d) => d.value), pred.map((q) => q.mean)) > 0.6);
  p.dispose?.();
});
