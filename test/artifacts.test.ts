import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Json } from "../src/core/json.js";
import type { Strategy } from "../src/core/strategy.js";
import { Experiment } from "../src/core/experiment.js";
import { experimentArtifacts } from "../src/core/artifacts.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { FunctionEvaluator } from "../src/evaluators/function.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { objectives, space } from "./helpers.js";

const POINTS = [
  "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
  "|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|",
  "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|",
  "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|skip_connect~2|",
];

/** Hands out POINTS in order; its state is how many it handed out. */
function listStrategy(): Strategy {
  let asked = 0;
  return { name: "list", ask: (n) => POINTS.slice(asked, (asked += n)), tell() {}, state: () => asked, restore: (s) => void (asked = s as number) };
}

/** Each trial leaves a binary "weights" file (its number repeated) and a JSON summary in a subfolder. */
const evaluator = new FunctionEvaluator("with-artifacts", (spec) => ({
  metrics: { valid_acc: 50 + spec.number },
  artifacts: { "weights.bin": new Uint8Array(64).fill(spec.number + 1), "notes/summary.json": JSON.stringify({ trial: spec.number, point: spec.point as Json }) },
}));

function experiment(store: SqliteStore, root: string, trials: number) {
  return new Experiment({ name: "art", seed: 0, space, strategy: listStrategy(), scheduler: new FifoScheduler({ seed: 0 }), evaluator, objectives, store, budget: { trials }, artifactDir: root, config: {}, configHash: "h" });
}

test("a trial's artifacts are kept as files with checksums in the store, found again after a resume, and a damaged or missing file is a clear error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-artifacts-"));
  const db = join(dir, "a.db");
  const root = join(dir, "artifacts");
  try {
    let store = new SqliteStore(db);
    await experiment(store, root, 2).run();
    await store.close();

    // Resumed in a new store object (another process would do the same), with more budget.
    store = new SqliteStore(db);
    await experiment(store, root, 4).run();
    const artifacts = await experimentArtifacts(store, root, "art");
    const records = await artifacts.list();
    assert.deepEqual(
      records.map((r) => [r.trial, r.name]),
      [0, 1, 2, 3].flatMap((n) => [[n, "notes/summary.json"], [n, "weights.bin"]]),
      "every trial's two files, before and after the resume",
    );
    for (const r of records) {
      const bytes = readFileSync(artifacts.fileOf(r));
      assert.equal(r.bytes, bytes.length);
      assert.equal(r.sha256, createHash("sha256").update(bytes).digest("hex"), `${r.path}: the recorded checksum is the file's`);
    }
    assert.deepEqual(await artifacts.get(0, "weights.bin"), new Uint8Array(64).fill(1), "found again from the first run");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(await artifacts.get(3, "notes/summary.json"))), { trial: 3, point: POINTS[3] });
    assert.equal(await artifacts.get(0, "nothing.bin"), undefined, "an artifact never written is undefined");

    // Experiment-level artifacts (a searcher's checkpoint), replaced by a later write of the same name.
    await artifacts.put(null, "searcher/checkpoint.bin", "first");
    await artifacts.put(null, "searcher/checkpoint.bin", "second");
    assert.equal(new TextDecoder().decode(await artifacts.get(null, "searcher/checkpoint.bin")), "second");
    assert.deepEqual((await artifacts.list(null)).map((r) => r.name), ["searcher/checkpoint.bin"]);

    // Damage and loss are errors naming the file, never wrong bytes.
    const weights = artifacts.fileOf((await store.getArtifact(1, 1, "weights.bin"))!);
    writeFileSync(weights, new Uint8Array(64).fill(9));
    await assert.rejects(artifacts.get(1, "weights.bin"), (e: Error) => /damaged/.test(e.message) && e.message.includes(weights));
    unlinkSync(weights);
    await assert.rejects(artifacts.get(1, "weights.bin"), /cannot be read/);
    await assert.rejects(artifacts.put(2, "../escape.bin", "x"), /not a relative path/);
    await assert.rejects(artifacts.put(2, "/abs.bin", "x"), /not a relative path/);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an evaluator whose artifact cannot be written fails its trial with the reason, and the experiment goes on", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-artifacts-"));
  try {
    const bad = new FunctionEvaluator("bad-artifact", (spec) => ({ metrics: { valid_acc: 1 }, artifacts: (spec.number === 0 ? { "../../out.bin": "x" } : { "ok.bin": "y" }) as Record<string, string> }));
    const store = new SqliteStore(":memory:");
    await new Experiment({ name: "bad", seed: 0, space, strategy: listStrategy(), scheduler: new FifoScheduler({ seed: 0 }), evaluator: bad, objectives, store, budget: { trials: 2 }, artifactDir: dir }).run();
    const [t0, t1] = await store.getTrials(1);
    assert.equal(t0.status, "failed");
    assert.match(t0.error!, /artifact name "..\/..\/out.bin"/);
    assert.equal(t1.status, "finished");
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
