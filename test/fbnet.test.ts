import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Rng } from "../src/core/rng.js";
import { UserError } from "../src/core/errors.js";
import { FbnetSpace } from "../src/spaces/fbnet.js";
import { HwnasFbnet } from "../src/evaluators/hwnas-fbnet.js";
import { loadFbnetLut } from "../src/benchmarks/hwnas.js";
import { dataDir } from "../src/benchmarks/data-dir.js";
import { registry } from "../src/registry.js";
import { Objectives } from "../src/core/objectives.js";
import type { Json } from "../src/core/json.js";

const here = new URL("../../test/fixtures/", import.meta.url);
const published = JSON.parse(readFileSync(join(dataDir(), "hw-nas-bench", "hwnasbench_published_examples.json"), "utf8")) as {
  search_space: string;
  arch: number[];
  dataset: string;
  metrics: Record<string, number>;
}[];

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

test("hwnas_fbnet reproduces every FBNet value HW-NAS-Bench publishes (8 metrics, CIFAR-100 and ImageNet)", async () => {
  const fbnet = published.filter((r) => r.search_space === "fbnet");
  assert.equal(fbnet.length, 6);
  let checked = 0;
  for (const r of fbnet) {
    const ev = new HwnasFbnet({ dataset: r.dataset === "ImageNet" ? "imagenet" : "cifar100" });
    const { metrics } = await ev.run({ experiment: "t", number: 0, point: r.arch, arch: r.arch, hp: {}, fidelity: {}, seed: 0 }, { report: () => "continue", signal: new AbortController().signal });
    for (const [k, v] of Object.entries(r.metrics)) {
      if (k === "average_hw_metric") continue;
      const [dev, kind] = k.split("_");
      const ours = metrics[kind === "latency" ? `latency_ms_${dev}` : `energy_mj_${dev}`];
      assert.ok(close(ours, v), `${JSON.stringify(r.arch)} ${r.dataset} ${k}: ${ours} vs published ${v}`);
      checked++;
    }
  }
  assert.equal(checked, 48);
});

test("hwnas_fbnet matches HELP's latencies of 20 sampled FBNet architectures (4 HW-NAS-Bench devices)", () => {
  const sample = JSON.parse(readFileSync(new URL("fbnet_help_sample.json", here), "utf8")) as { archs: { ops: number[]; latency_ms: Record<string, number> }[] };
  const ev = new HwnasFbnet({ dataset: "cifar100" });
  for (const a of sample.archs) {
    const m = ev.cheapMetrics({ arch: a.ops, hp: {} })!;
    for (const [d, v] of Object.entries(a.latency_ms)) assert.ok(close(m[`latency_ms_${d}`], v), `${d}: ${m[`latency_ms_${d}`]} vs ${v}`);
  }
  assert.equal(ev.cheapMetrics({ arch: [1, 2], hp: {} }), undefined);
});

test("fbnet space: sample, mutate, crossover, neighbours, encode, dimensions are consistent", () => {
  const space = new FbnetSpace();
  const rng = new Rng(5);
  for (let i = 0; i < 50; i++) {
    const a = space.sample(rng);
    const b = space.sample(rng);
    assert.deepEqual(space.validate(a), a);
    const m = space.mutate(a, rng);
    assert.equal(m.filter((op, l) => op !== a[l]).length, 1);
    const c = space.crossover(a, b, rng);
    assert.ok(c.every((op, l) => op === a[l] || op === b[l]));
    const e = space.encode(a);
    assert.equal(e.length, 198);
    assert.equal(e.reduce((s, x) => s + x, 0), 22);
    assert.deepEqual(space.fromValues(space.toValues(a)), a);
  }
  const nb = space.neighbours(new Array(22).fill(8));
  assert.equal(nb.length, 176);
  assert.equal(new Set(nb.map((p) => p.join())).size, 176);
  assert.equal(space.dimensions().length, 22);
  assert.throws(() => space.validate([0, 1]), UserError);
  assert.throws(() => space.validate(new Array(22).fill(9)), UserError);
  // Determinism: same seed, same samples.
  assert.deepEqual(space.sample(new Rng(1)), space.sample(new Rng(1)));
});

test("a corrupt lookup table is a UserError naming the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "fbnet-"));
  const lut = JSON.parse(readFileSync(join(dataDir(), "hw-nas-bench", "fbnet_lut.json"), "utf8"));
  delete lut.blocks["Skip_H32_W32_Cin16_Cout16_stride1"];
  writeFileSync(join(dir, "missing.json"), JSON.stringify(lut));
  assert.throws(() => loadFbnetLut(join(dir, "missing.json")), (e: unknown) => e instanceof UserError && /block Skip_H32_W32_Cin16_Cout16_stride1 is missing/.test((e as Error).message));
  writeFileSync(join(dir, "bad.json"), "{not json");
  assert.throws(() => loadFbnetLut(join(dir, "bad.json")), UserError);
});

test("multi-objective search on fbnet: nsga2 on Pixel 3 latency vs FPGA energy runs from the registry", () => {
  const ev = new HwnasFbnet({ dataset: "cifar100" });
  const space = new FbnetSpace();
  const objectives = new Objectives([
    { metric: "latency_ms_pixel3", direction: "min", cheap: true },
    { metric: "energy_mj_fpga", direction: "min", cheap: true },
  ]);
  const c = registry.strategies.nsga2;
  const s = c.create(c.options.parse({ population_size: 10 }), { space, objectives, seed: 0 });
  let best = Infinity;
  let first = Infinity;
  for (let n = 0; n < 80; n++) {
    const [p] = s.ask(1, { pending: [], seen: () => false }) as Json[];
    const metrics = ev.cost(p);
    if (n < 10) first = Math.min(first, metrics.latency_ms_pixel3);
    best = Math.min(best, metrics.latency_ms_pixel3);
    s.tell({ number: n, point: p, status: "finished", metrics, score: objectives.score(metrics) });
  }
  assert.ok(best < first, `evolution finds faster architectures than the random start: ${best} < ${first}`);
});

