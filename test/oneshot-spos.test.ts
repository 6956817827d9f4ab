import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./cli-util.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { engineAvailable } from "../src/engine/native.js";
import { registry } from "../src/registry.js";
import type { EvalContext } from "../src/core/evaluator.js";

const skip = engineAvailable() || process.env.ARCHSEARCH_REQUIRE_ENGINE === "1" ? false : "libtorch binding not built";

const TINY = { dataset: "mnist", max_train: 384, channels: 4, cells_per_stage: 1, epochs: 2, batch_size: 32, eval_images: 128, bn_batches: 2 };
const CELLS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"];
const ctx: EvalContext = { report: () => "continue", signal: new AbortController().signal };
const spec = (arch: string, n: number) => ({ experiment: "x", number: n, point: arch, arch, hp: {}, fidelity: {}, seed: n });

test("supernet evaluator: trains the supernet once (kept in its cache), scores cells with inherited weights, the same score every time, NB201 figures hidden", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-spos-"));
  try {
    for (const sampling of ["uniform", "fair"] as const) {
      const make = () => registry.evaluators.supernet.create(registry.evaluators.supernet.options.parse({ ...TINY, sampling, cache_dir: dir }), { configDir: dir, seed: 1 });
      const first = make();
      const a = await first.run(spec(CELLS[0], 0), ctx);
      const b = await first.run(spec(CELLS[1], 1), ctx);
      assert.ok(a.metrics.valid_acc >= 0 && a.metrics.valid_acc <= 100);
      assert.ok(a.metrics.valid_acc > b.metrics.valid_acc, `a cell of convolutions (${a.metrics.valid_acc}) beats the empty cell (${b.metrics.valid_acc}) with inherited weights`);
      assert.equal(typeof a.hidden?.nb201_cifar10_test, "number");
      assert.equal((await first.run(spec(CELLS[0], 2), ctx)).metrics.valid_acc, a.metrics.valid_acc, "recalibrated afresh: the same score again");
      // A new evaluator (another process) finds the trained supernet in the cache: the same scores.
      assert.deepEqual((await make().run(spec(CELLS[0], 0), ctx)).metrics, a.metrics);
    }
    assert.equal(readdirSync(dir).filter((f) => f.endsWith(".bin")).length, 2, "one cached supernet per training setting");

    // Few-shot: the uniform supernet above, then one sub-supernet per operation of edge 2, each fine-tuned with it fixed.
    const fewShot = () =>
      registry.evaluators.supernet.create(registry.evaluators.supernet.options.parse({ ...TINY, few_shot: { edge: 2, epochs: 1 }, cache_dir: dir }), { configDir: dir, seed: 1 });
    const f = await fewShot().run(spec(CELLS[0], 0), ctx);
    assert.equal(readdirSync(dir).filter((x) => x.endsWith(".bin")).length, 2 + 5, "five sub-supernets beside the one-shot supernets (the uniform one reused)");
    assert.deepEqual((await fewShot().run(spec(CELLS[0], 0), ctx)).metrics, f.metrics, "sub-supernets found again in the cache");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("SPOS as a product: rea over the supernet evaluator from a config; random search over it is RS-WS", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-spos-cli-"));
  try {
    for (const strategy of ["{ name: rea, population_size: 4, sample_size: 2 }", "{ name: random }"]) {
      const file = join(dir, "spos.yaml");
      writeFileSync(
        file,
        [
          `name: s${strategy.includes("rea") ? "rea" : "rand"}`,
          `storage: ${join(dir, "s.db")}`,
          "space: { name: nb201 }",
          `strategy: ${strategy}`,
          `evaluator: ${JSON.stringify({ name: "supernet", ...TINY, cache_dir: join(dir, "cache") })}`,
          "budget: { trials: 6 }",
        ].join("\n"),
      );
      const r = cli(["run", file]);
      assert.equal(r.code, 0, r.stderr);
    }
    const store = new SqliteStore(join(dir, "s.db"));
    for (const name of ["srea", "srand"]) {
      const trials = await store.getTrials((await store.getExperiment(name))!.id);
      assert.equal(trials.length, 6);
      assert.ok(trials.every((t) => t.status === "finished" && typeof t.metrics!.valid_acc === "number"));
    }
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("supernet evaluator, block-wise distillation: a teacher trained first (cached), cells rated by their distillation error and by accuracy through the teacher's head", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-dna-"));
  try {
    const make = (extra = {}) => registry.evaluators.supernet.create(registry.evaluators.supernet.options.parse({ ...TINY, max_train: 1000, epochs: 3, distill: { teacher_epochs: 3 }, cache_dir: dir, ...extra }), { configDir: dir, seed: 1 });
    const ev = make();
    assert.deepEqual(ev.metrics, ["valid_acc", "valid_loss", "distill_loss"]);
    const conv = await ev.run(spec(CELLS[0], 0), ctx);
    const empty = await ev.run(spec(CELLS[1], 1), ctx);
    // A cell of convolutions (like the teacher's) reproduces its features better than the empty cell, whose stages output little (relative error about 1 each).
    assert.ok(conv.metrics.distill_loss < empty.metrics.distill_loss, `teacher's cell ${conv.metrics.distill_loss} < empty cell ${empty.metrics.distill_loss}`);
    assert.ok(Math.abs(empty.metrics.distill_loss - 3) < 0.5, `the empty cell's relative error is about 1 per stage: ${empty.metrics.distill_loss}`);
    assert.ok(conv.metrics.valid_acc >= 0 && conv.metrics.valid_acc <= 100);
    const files = readdirSync(dir);
    assert.equal(files.filter((f) => f.startsWith("nb201-teacher-")).length, 1, "the teacher is kept in the cache");
    assert.deepEqual((await make().run(spec(CELLS[0], 0), ctx)).metrics, conv.metrics, "teacher and supernet found again: the same scores");
    // Bad input: a teacher that is no NB201 cell, distillation with few-shot.
    assert.throws(() => registry.evaluators.supernet.options.parse({ ...TINY, distill: { teacher: "conv" } }), /not an NB201 cell/);
    assert.throws(() => registry.evaluators.supernet.options.parse({ ...TINY, distill: {}, few_shot: {} }), /cannot be combined/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
