import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./cli-util.js";
import { openStore } from "../src/stores/open.js";

function config(dir: string, name: string, cache: string, dataset = "cifar10") {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [`name: ${name}`, "seed: 3", "space: { name: nb201 }", "strategy: { name: random }", `evaluator: { name: nb201, dataset: ${dataset} }`, `cache: ${cache}`, "budget: { trials: 150 }"].join("\n"),
  );
  return file;
}

test("cache: shared reuses results of other experiments with the same space and evaluator, and records where each came from", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-cache-"));
  const db = join(dir, "s.db");
  try {
    for (const [name, cache, dataset] of [
      ["first", "true", "cifar10"],
      ["other-dataset", "true", "cifar100"],
      ["second", "shared", "cifar10"],
      ["private", "true", "cifar10"],
    ]) {
      const r = cli(["run", config(dir, name, cache, dataset), "--storage", db, "--json", "--quiet"]);
      assert.equal(r.code, 0, r.stderr);
    }
    const store = openStore(db);
    try {
      const trials = async (name: string) => store.getTrials((await store.getExperiment(name))!.id);
      const first = await trials("first");
      const second = await trials("second");
      // Same seed and strategy: the second experiment asks for the same points and gets them from the first.
      const fromFirst = second.filter((t) => t.cachedFromExperiment === "first");
      assert.ok(fromFirst.length >= 100, `${fromFirst.length} of 150 reused`);
      for (const t of fromFirst) {
        const src = first[t.cachedFrom!];
        assert.equal(src.archHash, t.archHash);
        assert.deepEqual(t.metrics, src.metrics);
        assert.equal(t.costSeconds, 0);
      }
      assert.ok(!second.some((t) => t.cachedFromExperiment === "other-dataset"), "another evaluator's results are never reused");
      assert.ok((await trials("private")).every((t) => t.cachedFromExperiment == null), "without cache: shared nothing crosses experiments");
    } finally {
      await store.close();
    }
    const csv = cli(["trials", "second", "--storage", db]);
    assert.match(csv.stdout, /first#\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
