import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Rng } from "../src/core/rng.js";
import { UserError } from "../src/core/errors.js";
import { capabilitiesOf } from "../src/core/space.js";
import type { Json } from "../src/core/json.js";
import { buildParts, createExperiment } from "../src/config/build.js";
import { ConfigError } from "../src/core/errors.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { engineAvailable } from "../src/engine/native.js";
import { registry } from "../src/registry.js";
import { loadTransNas, TNB_TASKS, TNB_TASK_INFO } from "../src/benchmarks/transnas.js";
import { TransNasMicroSpace } from "../src/spaces/transnas-micro.js";
import { TransNasMacroSpace } from "../src/spaces/transnas-macro.js";
import { TransNasSimulator, transNasObjective } from "../src/evaluators/transnas-simulator.js";
import { cli } from "./cli-util.js";

const micro = new TransNasMicroSpace();
const macro = new TransNasMacroSpace();
const ctx = { report: () => "continue" as const, signal: new AbortController().signal };
const spec = (arch: Json) => ({ experiment: "t", number: 0, point: arch, arch, hp: {}, fidelity: {}, seed: 0 });

test("the bundled tables: 4,096 micro cells and 725 macro skeletons per task, the data README's example row", () => {
  for (const task of TNB_TASKS) {
    const t = loadTransNas(task);
    assert.equal(t.kind.filter((k) => k === "micro").length, 4096, task);
    assert.equal(t.kind.filter((k) => k === "macro").length, 725, task);
  }
  const scene = loadTransNas("class_scene");
  const i = scene.indexOf.get("64-4111-basic")!;
  assert.equal(scene.column("valid_top1")[i], 53.025478);
  assert.equal(scene.column("test_top1")[i], 62.096935);
  assert.equal(micro.size(), 4096);
  assert.equal(macro.size(), 725);
});

for (const space of [micro, macro]) {
  test(`${space.name}: every capability the strategies use, and moves that stay in the space`, () => {
    assert.deepEqual(capabilitiesOf(space), ["sample", "mutate", "crossover", "neighbours", "encode", "graph", "dimensions"]);
    const rng = new Rng(3);
    for (let k = 0; k < 200; k++) {
      const p = space.sample(rng);
      const q = space.sample(rng);
      const m = space.mutate(p, rng);
      assert.notEqual(space.validate(m), p);
      space.validate(space.crossover(p, q, rng));
      for (const n of space.neighbours(p)) assert.notEqual(space.validate(n), p);
      assert.equal(space.fromValues(space.toValues(p)), p);
      assert.equal(space.encode(p).length, space.encodingLength);
      const g = space.graph(p);
      assert.equal(g.adjacency.length, g.ops.length);
      for (const op of g.ops) assert.ok(g.vocabulary.includes(op));
    }
  });
}

test("transnas-micro: 18 neighbours, NB201's canonical form (dead edges zeroized)", () => {
  assert.equal(micro.neighbours("64-41414-3_33_333").length, 18);
  // 0->1 zeroized leaves node 1 unreachable: its outgoing edges do not matter.
  assert.equal(micro.canonical("64-41414-0_32_313"), micro.canonical("64-41414-0_30_303"));
  assert.notEqual(micro.canonical("64-41414-3_33_333"), micro.canonical("64-41414-3_33_332"));
});

test("transnas-macro: decision values naming an unknown skeleton map to the nearest known one", () => {
  const values = macro.toValues("64-4111-basic");
  assert.deepEqual(values, ["double_stride2", "plain", "plain", "plain", "none", null]);
  // 1111 has no stride-2 module: not a benchmark skeleton.
  const p = macro.fromValues(["plain", "plain", "plain", "plain", "none", null]);
  macro.validate(p);
  assert.throws(() => macro.validate("64-1111-basic"), /not one of the 725/);
});

test("simulator: each task's metrics, its primary metric's direction, cost and zero-cost proxies", async () => {
  const cell = "64-41414-1_00_223"; // NASLib scored this cell on every task
  for (const task of TNB_TASKS) {
    const ev = new TransNasSimulator({ task });
    const r = await ev.run(spec(cell), ctx);
    const info = TNB_TASK_INFO[task];
    for (const m of info.metrics) {
      assert.ok(Number.isFinite(r.metrics[`valid_${m}`]), `${task} valid_${m}`);
      assert.ok(Number.isFinite(r.hidden![`test_${m}`]), `${task} test_${m}`);
      assert.equal(r.metrics[`test_${m}`], undefined, "test metrics stay hidden");
    }
    assert.ok(r.costSeconds! > 0);
    assert.equal(r.metrics.train_time_s, r.costSeconds);
    assert.ok(Number.isFinite(r.metrics.zc_nwot) && Number.isFinite(r.metrics.params_m), task);
    for (const m of Object.keys(r.metrics)) assert.ok(ev.metrics.includes(m), `${m} is declared`);
  }
  assert.deepEqual(transNasObjective("room_layout"), { metric: "valid_loss", direction: "min", test: "test_loss" });
  assert.equal(transNasObjective("segmentsemantic").metric, "valid_mIoU");
  assert.equal(transNasObjective("autoencoder").direction, "max");
  // A cell NASLib did not score has no proxies (no invented values).
  const unscored = loadTransNas("jigsaw").archStrings.find((a) => a.startsWith("64-41414") && Object.keys(new TransNasSimulator({ task: "jigsaw" }).cheapMetrics({ arch: a })!).length === 0);
  assert.ok(unscored);
  assert.equal((await new TransNasSimulator({ task: "jigsaw" }).run(spec(unscored!), ctx)).metrics.zc_nwot, undefined);
});

test("bad input: an unknown task, a point outside the space, a macro skeleton without results", async () => {
  assert.throws(() => new TransNasSimulator({ task: "depth" }), (e: Error) => e instanceof UserError && /no task "depth"/.test(e.message) && /room_layout/.test(e.message));
  const ev = new TransNasSimulator({ task: "jigsaw" });
  await assert.rejects(ev.run(spec("64-41414-4_00_223"), ctx), /not a TransNAS-Bench-101 architecture: "64-41414-4_00_223"/);
  await assert.rejects(ev.run(spec("64-1111-basic"), ctx), /64-1111-basic has no results/);
  assert.throws(() => micro.validate("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), /not a TransNAS-Bench-101 micro architecture/);
  assert.throws(
    () => buildParts({ name: "x", space: { name: "transnas-micro" }, strategy: { name: "random" }, evaluator: { name: "transnas", task: "class_sceen" }, objectives: [{ metric: "valid_top1", direction: "max" }], budget: { trials: 5 } }),
    (e: Error) => e instanceof ConfigError && /evaluator\.task/.test(e.message) && /class_scene/.test(e.message),
  );
});

/** Runs a config on an in-memory store; returns every trial. */
async function runConfig(raw: Record<string, unknown>) {
  const parts = buildParts({ storage: ":memory:", seed: 1, ...raw });
  const store = new SqliteStore(":memory:");
  const { experiment } = createExperiment(parts, { store });
  const summary = await experiment.run();
  const exp = await store.getExperiment(raw.name as string);
  const trials = await store.getTrials(exp!.id);
  await store.close();
  return { summary, trials };
}

const engine = engineAvailable();
const MO = new Set(["nsga2", "mo_rea", "parego", "mo_local_search"]);
const blackBox = Object.keys(registry.strategies).filter((n) => !registry.strategies[n].requires.includes("supernet"));

for (const space of ["transnas-micro", "transnas-macro"]) {
  test(`${space}: every black-box strategy runs 12 trials end to end`, async () => {
    for (const name of blackBox) {
      if ((name === "bananas" || name === "rl_controller") && !engine) continue;
      const objectives = MO.has(name)
        ? [{ metric: "valid_ssim", direction: "max" }, { metric: "train_time_s", direction: "min" }]
        : [{ metric: "valid_ssim", direction: "max" }];
      const { trials } = await runConfig({ name: `${space}-${name}`, space: { name: space }, strategy: { name }, evaluator: { name: "transnas", task: "autoencoder" }, objectives, budget: { trials: 12 } });
      assert.equal(trials.filter((t) => t.status === "finished").length, 12, `${name} on ${space}`);
      for (const t of trials) assert.ok(Number.isFinite(t.metrics!.valid_ssim) && t.hidden!.test_ssim > 0, name);
    }
  });
}

test("room layout is minimised: rea's best is the lowest validation loss it saw", async () => {
  const { summary, trials } = await runConfig({
    name: "room",
    space: { name: "transnas-micro" },
    strategy: { name: "rea", population_size: 10, sample_size: 3 },
    evaluator: { name: "transnas", task: "room_layout" },
    objectives: [{ metric: "valid_loss", direction: "min" }],
    budget: { trials: 40 },
  });
  const losses = trials.map((t) => t.metrics!.valid_loss);
  assert.equal(summary.best!.metrics!.valid_loss, Math.min(...losses));
  assert.ok(Math.min(...losses) < Math.max(...losses));
});

test("schedulers: median_stop runs; ASHA refuses, naming what is missing (the tables have no learning curves)", async () => {
  const base = { space: { name: "transnas-micro" }, strategy: { name: "random" }, evaluator: { name: "transnas", task: "jigsaw" }, objectives: [{ metric: "valid_top1", direction: "max" }], budget: { trials: 10 } };
  const { trials } = await runConfig({ name: "median", ...base, scheduler: { name: "median_stop" } });
  assert.equal(trials.length, 10);
  assert.throws(() => buildParts({ storage: ":memory:", name: "asha", ...base, scheduler: { name: "asha" } }), /fidelity/);
});

test("CLI: tpe on the macro space, class_object, --json", () => {
  const dir = mkdtempSync(join(tmpdir(), "tnb-"));
  const file = join(dir, "exp.yaml");
  writeFileSync(
    file,
    ["name: tnb-macro", "seed: 2", `storage: ${join(dir, "s.db")}`, "space: { name: transnas-macro }", "strategy: { name: tpe }", "evaluator: { name: transnas, task: class_object }", "objectives: [{ metric: valid_top1, direction: max }]", "budget: { trials: 30 }", ""].join("\n"),
  );
  const r = cli(["run", file, "--json", "-q"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(out.trials, 30);
  assert.match(out.best.arch, /^64-[1-4]{4,6}-basic$/);
  const t = loadTransNas("class_object");
  assert.equal(out.best.metrics.valid_top1, t.column("valid_top1")[t.indexOf.get(out.best.arch)!]);
});
