import { test } from "node:test";
import assert from "node:assert/strict";
import type { Strategy } from "../src/core/strategy.js";
import { Experiment } from "../src/core/experiment.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { FunctionEvaluator } from "../src/evaluators/function.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import type { Store } from "../src/core/store.js";
import { objectives, space } from "./helpers.js";
import { configProblems } from "./config-problems.js";
import { buildParts, searchHash } from "../src/config/build.js";

const A = "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|";
const B = "|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|";
// A, B, then A and B again (cache hits on the same data), then A and B once more after the data changed.
const POINTS = [A, B, A, B, A, B];

function listStrategy(): Strategy {
  let asked = 0;
  return { name: "list", ask: (n) => POINTS.slice(asked, (asked += n)), tell() {}, state: () => asked, restore: (s) => void (asked = s as number) };
}

let evaluations = 0;
const evaluator = new FunctionEvaluator("count", () => ({ valid_acc: ++evaluations }));

function run(store: Store, trials: number, dataVersion: string | undefined) {
  return new Experiment({ name: "dv", seed: 0, space, strategy: listStrategy(), scheduler: new FifoScheduler({ seed: 0 }), evaluator, objectives, store, budget: { trials }, dataVersion, config: {}, configHash: "h" }).run();
}

test("a data version is recorded on every trial and is part of the cache key: results are reused within a version, never across", async () => {
  evaluations = 0;
  const store = new SqliteStore(":memory:");
  await run(store, 4, "2026-12-01");
  assert.equal(evaluations, 2, "A and B evaluated once each; their repeats are cache hits");
  await run(store, 6, "2026-12-07"); // the data changed: the same experiment goes on, with a fresh cache
  assert.equal(evaluations, 4, "A and B evaluated again on the new data");
  const trials = await store.getTrials(1);
  assert.deepEqual(
    trials.map((t) => [t.dataVersion, t.cachedFrom, t.metrics!.valid_acc]),
    [
      ["2026-12-01", null, 1],
      ["2026-12-01", null, 2],
      ["2026-12-01", 0, 1],
      ["2026-12-01", 1, 2],
      ["2026-12-07", null, 3],
      ["2026-12-07", null, 4],
    ],
  );
  assert.equal(await store.findFinished(1, trials[0].archHash, {}, trials[0].fidelity!, "2026-12-07").then((t) => t?.number), 4);
  assert.equal(await store.findFinished(1, trials[0].archHash, {}, trials[0].fidelity!, "another"), undefined);
  assert.equal(await store.findFinished(1, trials[0].archHash, {}, trials[0].fidelity!), undefined, "a result with a version is not one without");
  await store.close();
});

test("without a data version the cache keys are those of earlier releases; the evaluator's own version applies when the config names none", async () => {
  evaluations = 0;
  const store = new SqliteStore(":memory:");
  await run(store, 3, undefined);
  assert.equal(evaluations, 2);
  const trials = await store.getTrials(1);
  assert.deepEqual(trials.map((t) => t.dataVersion), [null, null, null]);
  assert.equal((await store.findFinished(1, trials[0].archHash, {}, trials[0].fidelity!))?.number, 0);
  await store.close();

  const versioned = Object.assign(new FunctionEvaluator("v", () => ({ valid_acc: 1 })), { dataVersion: "sha256:abc" });
  const s2 = new SqliteStore(":memory:");
  await new Experiment({ name: "ev", seed: 0, space, strategy: listStrategy(), scheduler: new FifoScheduler({ seed: 0 }), evaluator: versioned, objectives, store: s2, budget: { trials: 1 } }).run();
  assert.equal((await s2.getTrials(1))[0].dataVersion, "sha256:abc");
  await s2.close();
});

test("config: data_version and artifact_dir are run settings (changing them resumes the same experiment), and must be non-empty strings", () => {
  const base = {
    name: "x",
    space: { name: "nb201" },
    strategy: { name: "random" },
    evaluator: { name: "nb201" },
    budget: { trials: 3 },
  };
  const parts = buildParts({ ...base, data_version: "v1", artifact_dir: "/tmp/a" }, { file: "x.yaml" });
  assert.equal(parts.config.data_version, "v1");
  assert.ok(configProblems({ ...base, data_version: "" }).some((p) => p.includes("data_version")));
  assert.ok(configProblems({ ...base, artifact_dir: 3 }).some((p) => p.includes("artifact_dir")));
  const hash = (extra: object) => searchHash({ ...base, ...extra } as never);
  assert.equal(hash({ data_version: "v1", artifact_dir: "a" }), hash({ data_version: "v2", artifact_dir: "b" }));
  assert.equal(hash({ data_version: "v1" }), hash({}));
});
