import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/rng.js";
import { pointHash, capabilitiesOf } from "../src/core/space.js";
import { Nb201Space, canonicalNb201 } from "../src/spaces/nb201.js";
import { loadNb201, parseArchString, archString, NB201_OPS } from "../src/benchmarks/nb201.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";
import type { Decision } from "../src/core/scheduler.js";
import type { Metrics } from "../src/core/evaluator.js";

const space = new Nb201Space();
const RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|";
const BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

test("nb201 space has every capability and 15625 points", () => {
  assert.deepEqual(capabilitiesOf(space), ["sample", "mutate", "crossover", "neighbours", "encode", "graph", "dimensions", "supernet"]);
  assert.equal(space.size(), 15625);
});

test("samples, mutations and crossovers are valid table architectures", () => {
  const table = loadNb201();
  const rng = new Rng(7);
  for (let i = 0; i < 500; i++) {
    const a = space.sample(rng);
    const b = space.sample(rng);
    assert.ok(table.indexOf.has(a), a);
    const m = space.mutate(a, rng);
    assert.ok(table.indexOf.has(m));
    const diff = parseArchString(a)!.filter((op, k) => op !== parseArchString(m)![k]).length;
    assert.equal(diff, 1, "a mutation changes exactly one edge");
    const c = space.crossover(a, b, rng);
    const ops = parseArchString(c)!;
    ops.forEach((op, k) => assert.ok(op === parseArchString(a)![k] || op === parseArchString(b)![k]));
  }
});

test("neighbours: 24 distinct one-edge changes; encoding is a one-hot per edge", () => {
  const n = space.neighbours(RESNET);
  assert.equal(n.length, 24);
  assert.equal(new Set(n).size, 24);
  assert.ok(!n.includes(RESNET));
  const e = space.encode(RESNET);
  assert.equal(e.length, space.encodingLength);
  assert.equal(e.reduce((a, b) => a + b, 0), 6);
  const g = space.graph(RESNET);
  assert.equal(g.ops.length, 8);
  assert.equal(g.adjacency[0][1], 1, "input feeds edge 0->1");
  assert.equal(g.adjacency[1][5], 1, "edge 0->1 feeds edge 1->3");
  assert.equal(g.adjacency[6][7], 1, "edge 2->3 feeds output");
  assert.equal(g.adjacency[5][6], 0);
});

test("canonical hash ignores edges cut off by none and the node 1/2 swap", () => {
  // Edge 1->3 is dead when nothing reaches node 1.
  const a = "|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|";
  const b = "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
  assert.equal(pointHash(space, a), pointHash(space, b));
  // Output unreachable: all such cells are the same (zero) function.
  const z1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|";
  const z2 = "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|";
  assert.equal(pointHash(space, z1), pointHash(space, z2));
  // With edge 1->2 absent, nodes 1 and 2 can be swapped.
  const s1 = "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|";
  const s2 = "|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
  assert.equal(pointHash(space, s1), pointHash(space, s2));
  // Different functions differ.
  assert.notEqual(pointHash(space, RESNET), pointHash(space, BEST_C10));
  assert.notEqual(pointHash(space, s1), pointHash(space, "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"));
});

test("canonical form is idempotent and every class is consistent with the table", () => {
  const table = loadNb201();
  const classes = new Map<string, number[]>();
  for (let i = 0; i < table.rows; i++) {
    const c = space.canonical(table.archStrings[i]);
    assert.equal(space.canonical(c), c);
    classes.set(c, [...(classes.get(c) ?? []), i]);
  }
  assert.equal(classes.size, 8765);
  // The class of cells whose output is cut from the input computes nothing: none of them
  // learns more than chance (10 % on CIFAR-10), which checks the reachability rule on real data.
  const dead = classes.get(archString(["none", "none", "none", "none", "none", "none"]))!;
  assert.ok(dead.length > 100);
  const valid = table.column("c10v_valid_acc");
  for (const i of dead) assert.ok(valid[i] < 11, `${table.archStrings[i]} has ${valid[i]}`);
  assert.deepEqual(canonicalNb201(parseArchString(RESNET)!), parseArchString(RESNET), "ResNet cell is already canonical");
  assert.equal(NB201_OPS.length, 5);
});

test("simulator returns table values; test accuracy is hidden", async () => {
  const sim = new Nb201Simulator({ dataset: "cifar10", noise: false });
  const reports: [number, Metrics][] = [];
  const ctx = { report: (s: number, m: Metrics): Decision => (reports.push([s, m]), "continue"), signal: new AbortController().signal };
  const r = await sim.run({ experiment: "t", number: 0, point: RESNET, arch: RESNET, hp: {}, fidelity: { epochs: 200 }, seed: 1 }, ctx);
  assert.ok(Math.abs(r.metrics.valid_acc - 90.86) < 0.01, `valid ${r.metrics.valid_acc}`);
  assert.ok(Math.abs(r.hidden!.test_acc - 93.91) < 0.01);
  assert.equal(r.metrics.test_acc, undefined);
  assert.deepEqual(reports.map(([s]) => s), [12, 200]);
  assert.ok(r.metrics.latency_ms_pixel3 > 0 && r.metrics.latency_ms_raspi4 > 0);
  assert.ok(Math.abs(r.costSeconds! - loadNb201().column("nats_train_time_s_c10v")[11472]) < 1e-6);
  assert.equal(loadNb201().indexOf.get(RESNET), 11472);

  const best = await sim.run({ experiment: "t", number: 0, point: BEST_C10, arch: BEST_C10, hp: {}, fidelity: { epochs: 200 }, seed: 1 }, ctx);
  assert.ok(Math.abs(best.hidden!.test_acc - 94.3733) < 1e-3);
  assert.ok(Math.abs(best.metrics.valid_acc - 91.6067) < 1e-3);
});

test("simulator fidelity: 12 epochs costs 12/200 of the time; stop after 12 ends early", async () => {
  const sim = new Nb201Simulator({ dataset: "cifar100", noise: false });
  const stopCtx = { report: (): Decision => "stop", signal: new AbortController().signal };
  const spec = { experiment: "t", number: 0, point: RESNET, arch: RESNET, hp: {}, fidelity: { epochs: 200 }, seed: 1 };
  const early = await sim.run(spec, stopCtx);
  const t = loadNb201();
  assert.equal(early.metrics.epochs, 12);
  assert.equal(early.metrics.valid_acc, t.column("c100_valid_acc_12ep")[11472]);
  assert.ok(Math.abs(early.costSeconds! - (t.column("nats_train_time_s_c100")[11472] * 12) / 200) < 1e-9);
  await assert.rejects(sim.run({ ...spec, fidelity: { epochs: 50 } }, stopCtx), /12 and 200 epochs/);
  await assert.rejects(sim.run({ ...spec, arch: "resnet", point: "resnet" }, stopCtx), /not a NAS-Bench-201 architecture/);
});

test("noise draws per-seed results deterministically from the trial seed, mean preserved", async () => {
  const sim = new Nb201Simulator({ dataset: "cifar10", noise: true });
  const ctx = { report: (): Decision => "continue", signal: new AbortController().signal };
  const run = (seed: number) => sim.run({ experiment: "t", number: 0, point: RESNET, arch: RESNET, hp: {}, fidelity: { epochs: 200 }, seed }, ctx);
  const values = new Set<number>();
  for (let s = 0; s < 40; s++) values.add((await run(s)).metrics.valid_acc);
  assert.ok(values.size >= 2, "noise gives several values");
  assert.equal((await run(3)).metrics.valid_acc, (await run(3)).metrics.valid_acc);
  const seeds = loadNb201().seeds.get("c10v_valid_acc")![11472];
  const mean = loadNb201().column("c10v_valid_acc")[11472];
  const seedMean = seeds.reduce((a, b) => a + b, 0) / seeds.length;
  for (const v of values) assert.ok(seeds.some((s) => Math.abs(mean + s - seedMean - v) < 1e-9));
});

test("rng: same seed same stream, state round trip, distinct derived streams", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  const saved = a.state();
  const after = Array.from({ length: 5 }, () => a.next());
  const c = new Rng(saved);
  assert.deepEqual(after, Array.from({ length: 5 }, () => c.next()));
  assert.notEqual(Rng.derive(1, "x").next(), Rng.derive(1, "y").next());
  const counts = new Array(5).fill(0);
  const r = new Rng(3);
  for (let i = 0; i < 50000; i++) counts[r.int(5)]++;
  for (const n of counts) assert.ok(Math.abs(n - 10000) < 400, `uniformity ${counts}`);
  const idx = new Rng(9).sampleIndices(10, 4);
  assert.equal(new Set(idx).size, 4);
});

test("a missing or corrupt data file is a clear error naming the file", async () => {
  const { mkdtempSync, copyFileSync, writeFileSync, rmSync } = await import("node:fs");
  const { gzipSync } = await import("node:zlib");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { dataDir } = await import("../src/benchmarks/data-dir.js");
  const src = join(dataDir(), "nas-bench-201");
  const dir = mkdtempSync(join(tmpdir(), "archsearch-data-"));
  try {
    for (const f of ["nb201_results.csv.gz", "nb201_latency.csv.gz", "nb201_nats_seeds.jsonl.gz"]) copyFileSync(join(src, f), join(dir, f));
    writeFileSync(join(dir, "nb201_latency.csv.gz"), "not gzip at all");
    assert.throws(() => loadNb201(dir), /nb201_latency\.csv\.gz is corrupt \(gunzip failed/);
    writeFileSync(join(dir, "nb201_latency.csv.gz"), gzipSync("index,lat_ms_x\n0,1.5\n1,2,3\n"));
    assert.throws(() => loadNb201(dir), /nb201_latency\.csv\.gz is corrupt: line 3 has 3 fields, expected 2/);
    rmSync(join(dir, "nb201_results.csv.gz"));
    assert.throws(() => loadNb201(dir), /Cannot read NAS-Bench-201 data file .*nb201_results\.csv\.gz/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
