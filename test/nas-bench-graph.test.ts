import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/rng.js";
import { capabilitiesOf } from "../src/core/space.js";
import type { Json } from "../src/core/json.js";
import { buildParts, createExperiment } from "../src/config/build.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { loadNbg, NBG_DATASETS } from "../src/benchmarks/nas-bench-graph.js";
import { NasBenchGraphSpace } from "../src/spaces/nas-bench-graph.js";
import { NasBenchGraphSimulator } from "../src/evaluators/nas-bench-graph-simulator.js";
import { dominates } from "../src/objectives/pareto.js";

const space = new NasBenchGraphSpace();
const ctx = { report: () => "continue" as const, signal: new AbortController().signal };
const spec = (arch: Json) => ({ experiment: "t", number: 0, point: arch, arch, hp: {}, fidelity: {}, seed: 0 });

test("tables: 26,206 architectures (proteins 2,021); the 2-layer GCN anchor's figures from the data README", async () => {
  for (const d of NBG_DATASETS) assert.equal(loadNbg(d).keys.length, d === "proteins" ? 2021 : 26206, d);
  const anchor = "0123:skip,skip,gcn,gcn";
  assert.equal(space.key(anchor), 88811);
  const expected: Record<string, [number, number]> = { cora: [79.1333, 80.1667], citeseer: [70.2667, 68.9667], pubmed: [77.4667, 77.7667] };
  for (const [d, [v, t]] of Object.entries(expected)) {
    const r = await new NasBenchGraphSimulator({ dataset: d }).run(spec(anchor), ctx);
    assert.ok(Math.abs(r.metrics.valid_acc - v) < 1e-3 && Math.abs(r.hidden!.test_acc - t) < 1e-3, `${d}: ${JSON.stringify(r)}`);
    assert.ok(r.metrics.latency > 0 && r.metrics.params_m > 0);
  }
});

test("space: capabilities, moves inside the space, canonical form = the benchmark's key", () => {
  assert.deepEqual(capabilitiesOf(space), ["sample", "mutate", "crossover", "neighbours", "encode", "graph", "dimensions"]);
  assert.equal(space.size(), 9 * (9 ** 4 - 1));
  const rng = new Rng(4);
  const keys = new Set(loadNbg("cora").keys);
  for (let k = 0; k < 300; k++) {
    const p = space.sample(rng);
    assert.ok(keys.has(space.canonical(p)), p);
    const m = space.mutate(p, rng);
    assert.notEqual(space.validate(m), p);
    space.validate(space.crossover(p, space.sample(rng), rng));
    assert.equal(space.fromValues(space.toValues(p)), p);
    assert.equal(space.encode(p).length, space.encodingLength);
  }
  // Four parallel branches: the order of the ops does not matter.
  assert.equal(space.canonical("0000:gcn,gat,sage,fc"), space.canonical("0000:fc,sage,gat,gcn"));
  assert.notEqual(space.canonical("0123:gcn,gat,sage,fc"), space.canonical("0123:fc,sage,gat,gcn"));
  // A chain's leaf feeds the output; in pattern 0112, nodes 3 and 4 are the leaves.
  const g = space.graph("0112:gcn,gin,fc,cheb");
  assert.deepEqual(g.adjacency.map((r) => r[5]), [0, 0, 0, 1, 1, 0]);
  // 4 op nodes x 8 other ops + 8 other link patterns.
  assert.equal(space.neighbours("0123:gcn,gcn,gcn,gcn").length, 40);
});

test("bad input: unknown data set, op, link pattern, all-skip network; proteins outside its 5 ops", async () => {
  assert.throws(() => new NasBenchGraphSimulator({ dataset: "reddit" }), /no data set "reddit"/);
  assert.throws(() => space.validate("0123:gcn,gcn,gcn,transformer"), /operation "transformer"/);
  assert.throws(() => space.validate("0121:gcn,gcn,gcn,gcn"), /links one of/);
  assert.throws(() => space.validate("0123:skip,skip,skip,skip"), /all-skip/);
  assert.equal(space.fromValues(["0123", "skip", "skip", "skip", "skip"]), "0123:skip,skip,skip,gat");
  await assert.rejects(new NasBenchGraphSimulator({ dataset: "proteins" }).run(spec("0123:gat,gcn,gcn,gcn"), ctx), /proteins was run with gcn, sage, arma, fc, skip/);
  const small = new NasBenchGraphSpace({ ops: ["gcn", "sage", "arma", "fc", "skip"] });
  const rng = new Rng(1);
  const ev = new NasBenchGraphSimulator({ dataset: "proteins" });
  for (let k = 0; k < 50; k++) await ev.run(spec(small.sample(rng)), ctx);
});

async function run(raw: Record<string, unknown>) {
  const store = new SqliteStore(":memory:");
  const { experiment } = createExperiment(buildParts({ storage: ":memory:", seed: 3, ...raw }), { store });
  await experiment.run();
  const trials = await store.getTrials((await store.getExperiment(raw.name as string))!.id);
  await store.close();
  return trials;
}

test("single-objective search: rea beats its own first 10 random trials on citeseer", async () => {
  const trials = await run({ name: "so", space: { name: "nas-bench-graph" }, strategy: { name: "rea", population_size: 10, sample_size: 3 }, evaluator: { name: "nas_bench_graph", dataset: "citeseer" }, objectives: [{ metric: "valid_acc", direction: "max" }], budget: { trials: 60 } });
  assert.equal(trials.length, 60);
  const first = Math.max(...trials.slice(0, 10).map((t) => t.metrics!.valid_acc));
  assert.ok(Math.max(...trials.map((t) => t.metrics!.valid_acc)) > first);
});

test("multi-objective search: NSGA-II on accuracy and latency (cora) returns a front of non-dominated trials", async () => {
  const objectives = [{ metric: "valid_acc", direction: "max" as const }, { metric: "latency", direction: "min" as const }];
  const trials = await run({ name: "mo", space: { name: "nas-bench-graph" }, strategy: { name: "nsga2", population_size: 12 }, evaluator: { name: "nas_bench_graph", dataset: "cora" }, objectives, budget: { trials: 60 } });
  assert.equal(trials.filter((t) => t.status === "finished").length, 60);
  const vec = (t: (typeof trials)[number]) => [t.metrics!.valid_acc, -t.metrics!.latency]; // larger is better
  const front = trials.filter((t) => !trials.some((u) => dominates(vec(u), vec(t))));
  assert.ok(front.length >= 2, `front of ${front.length}`);
  // The later half of the search improves on the first generation's front (hypervolume-free check: some late trial is on the front).
  assert.ok(front.some((t) => t.number > 12));
});
