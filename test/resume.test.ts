import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { SqliteStore } from "../src/stores/sqlite.js";
import { Rng } from "../src/core/rng.js";
import { cli, cliAsync, ROOT } from "./cli-util.js";
import { trialDigest } from "./helpers.js";

const BUDGET = 150;

function config(dir: string, storage: string) {
  const file = join(dir, `${storage}.yaml`);
  writeFileSync(
    file,
    [
      "name: resume-me",
      "seed: 3",
      `storage: ${join(dir, storage + ".db")}`,
      "space: { name: nb201 }",
      "strategy: { name: rea, population_size: 10, sample_size: 3 }",
      `evaluator: { name: module, path: ${join(ROOT, "test/fixtures/slow-nb201.mjs")} }`,
      `budget: { trials: ${BUDGET}, concurrency: 2 }`,
    ].join("\n"),
  );
  return file;
}

test("kill -9 at random moments, then resume: exactly the result of an uninterrupted run", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-resume-"));
  try {
    const ref = cli(["run", config(dir, "ref"), "--json"]);
    assert.equal(ref.code, 0, ref.stderr);

    const file = config(dir, "killed");
    const rng = new Rng(2024);
    const doneAtKill: number[] = [];
    for (let k = 0; k < 4; k++) {
      const child = cliAsync(["run", file]);
      const exited = once(child, "exit");
      // Wait until trials are finishing (a progress line), then let it run a random while before the kill.
      await new Promise<void>((resolve) => {
        child.stderr.on("data", (d: Buffer) => {
          if (/\[\d+\/\d+\]/.test(d.toString())) resolve();
        });
        child.on("exit", () => resolve());
      });
      await new Promise((r) => setTimeout(r, rng.intBetween(20, 250)));
      child.kill("SIGKILL");
      await exited;
      const store = new SqliteStore(join(dir, "killed.db"));
      const exp = await store.getExperiment("resume-me");
      const counts = exp ? await store.countTrials(exp.id) : undefined;
      doneAtKill.push(counts ? counts.finished + counts.failed : 0);
      await store.close();
    }
    const midRun = doneAtKill.filter((n) => n > 0 && n < BUDGET).length;
    assert.ok(midRun >= 2, `kills should land mid-run; finished trials at each kill: ${doneAtKill}`);

    const last = cli(["run", file, "--json"]);
    assert.equal(last.code, 0, last.stderr);
    const a = JSON.parse(ref.stdout.trim().split("\n").pop()!);
    const b = JSON.parse(last.stdout.trim().split("\n").pop()!);
    assert.equal(b.trials, BUDGET);
    assert.deepEqual(b.best, a.best);

    const refStore = new SqliteStore(join(dir, "ref.db"));
    const killedStore = new SqliteStore(join(dir, "killed.db"));
    const killed = await trialDigest(killedStore, "resume-me");
    assert.deepEqual(killed.map((t) => t.n), Array.from({ length: BUDGET }, (_, i) => i), "no trial lost or duplicated");
    assert.deepEqual(killed, await trialDigest(refStore, "resume-me"));
    assert.deepEqual(await killedStore.loadSearchState(1), await refStore.loadSearchState(1));
    await refStore.close();
    await killedStore.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
