import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineAvailable } from "../src/engine/native.js";
import type { Decision, Fidelity } from "../src/core/scheduler.js";
import { checkpointDirFor } from "../src/config/build.js";

// In CI the engine must be there (ARCHSEARCH_REQUIRE_ENGINE=1): these tests fail rather than skip.
const skip = !engineAvailable() && process.env.ARCHSEARCH_REQUIRE_ENGINE !== "1" ? "libtorch binding not built" : false;
const ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

test("train evaluator: a trial paused at a rung keeps a checkpoint and continues from it when promoted", { skip, timeout: 300_000 }, async () => {
  const { TrainingEvaluator, trainingEvaluator } = await import("../src/evaluators/train.js");
  const ev = new TrainingEvaluator(trainingEvaluator.options.parse({ channels: 8, cells_per_stage: 1, epochs: 3, max_train: 1000, threads: 2 }));
  const dir = mkdtempSync(join(tmpdir(), "archsearch-ckpt-"));
  const spec = (fidelity: Fidelity, resumeFrom?: Fidelity) => ({ experiment: "e", number: 0, point: ARCH, arch: ARCH, hp: {}, fidelity, seed: 5, checkpointDir: dir, ...(resumeFrom ? { resumeFrom } : {}) });
  const run = async (s: ReturnType<typeof spec>, answer: (step: number) => Decision) => {
    const steps: number[] = [];
    const r = await ev.run(s, { signal: new AbortController().signal, report: (step) => (steps.push(step), answer(step)) });
    return { r, steps };
  };
  try {
    const whole = await run(spec({ epochs: 3 }), () => "continue");
    assert.deepEqual(whole.steps, [1, 2, 3]);
    const first = await run(spec({ epochs: 1 }), () => "pause");
    assert.deepEqual(first.steps, [1]);
    assert.ok(existsSync(join(dir, "weights.bin")) && existsSync(join(dir, "checkpoint.json")), "pausing saves a checkpoint");
    const rest = await run(spec({ epochs: 3 }, { epochs: 1 }), () => "continue");
    assert.deepEqual(rest.steps, [2, 3], "the continued run starts after the checkpoint's epoch");
    assert.equal(rest.r.metrics.epochs, 3);
    assert.ok(rest.r.metrics.valid_acc > 30, `continued training learns (valid ${rest.r.metrics.valid_acc})`);
    // A checkpoint of another pause (epoch 1, asked to continue from 2) is not trusted: training starts over.
    const other = await run(spec({ epochs: 3 }, { epochs: 2 }), () => "continue");
    assert.deepEqual(other.steps, [1, 2, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("checkpoints live beside a SQLite file, else in a per-process temporary directory", () => {
  assert.equal(checkpointDirFor("/data/x.db"), "/data/x.db.checkpoints");
  assert.equal(checkpointDirFor("sqlite:/data/y.db"), "/data/y.db.checkpoints");
  assert.ok(checkpointDirFor(":memory:").startsWith(tmpdir()) && checkpointDirFor(":memory:").endsWith(String(process.pid)));
  assert.ok(checkpointDirFor("postgres://root@127.0.0.1/test").startsWith(tmpdir()));
  assert.equal(checkpointDirFor("postgres://root@127.0.0.1/test"), checkpointDirFor("postgres://root@127.0.0.1/test"), "the same folder for every worker of a machine");
  assert.notEqual(checkpointDirFor("postgres://root@127.0.0.1/test"), checkpointDirFor("postgres://root@127.0.0.1/test?schema=b"));
  assert.equal(checkpointDirFor("postgres://root@127.0.0.1/test", "/shared/ckpt"), "/shared/ckpt", "checkpoint_dir wins");
});
