import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, cliAsync } from "./cli-util.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { experimentArtifacts, defaultArtifactDir } from "../src/core/artifacts.js";
import { engineAvailable } from "../src/engine/native.js";
import { parseArchString } from "../src/benchmarks/nb201.js";

// In CI the engine must be there (ARCHSEARCH_REQUIRE_ENGINE=1): these tests fail rather than skip.
const skip = engineAvailable() || process.env.ARCHSEARCH_REQUIRE_ENGINE === "1" ? false : "libtorch binding not built";

/** A DARTS-family search at tiny size on 256 MNIST digits: a few seconds per run. */
function config(dir: string, name: string, strategy: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  const s = { dataset: "mnist", max_train: 256, channels: 4, cells_per_stage: 1, epochs: 4, batch_size: 32, derive: 2, ...strategy };
  writeFileSync(
    file,
    [
      `name: ${name}`,
      "seed: 7",
      `storage: ${join(dir, `${name}.db`)}`,
      "space: { name: nb201 }",
      `strategy: ${JSON.stringify(s)}`,
      "evaluator: { name: nb201, dataset: cifar10 }",
      "budget: { trials: 2 }",
    ].join("\n"),
  );
  return file;
}

async function trialsOf(db: string, name: string) {
  const store = new SqliteStore(db);
  try {
    const exp = (await store.getExperiment(name))!;
    return { trials: await store.getTrials(exp.id), status: exp.status };
  } finally {
    await store.close();
  }
}

test("darts / gdas / beta_darts / drnas run as strategies: epochs reported, the derived cells become evaluated trials, the architecture per epoch is kept", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-darts-"));
  try {
    for (const method of ["darts", "gdas", "beta_darts", "drnas"]) {
      const r = cli(["run", config(dir, method, { name: method })]);
      assert.equal(r.code, 0, r.stderr);
      for (let e = 1; e <= 4; e++) assert.match(r.stderr, new RegExp(`${method} epoch ${e}: train_loss=[0-9.]+ .*entropy=`));
      const { trials, status } = await trialsOf(join(dir, `${method}.db`), method);
      assert.equal(status, "done");
      assert.equal(trials.length, 2, "the two derived cells");
      assert.ok(trials.every((t) => t.status === "finished" && typeof t.metrics?.valid_acc === "number" && parseArchString(String(t.point))));
      const store = new SqliteStore(join(dir, `${method}.db`));
      const artifacts = await experimentArtifacts(store, defaultArtifactDir(join(dir, `${method}.db`)), method);
      const alphas = JSON.parse(new TextDecoder().decode(await artifacts.get(null, "searcher/alphas.json"))) as { epochs: { epoch: number; alphas: number[][] }[] };
      assert.deepEqual(alphas.epochs.map((e) => e.epoch), [1, 2, 3, 4]);
      assert.ok(alphas.epochs.every((e) => e.alphas.length === 6 && e.alphas.every((row) => row.length === 5)));
      assert.notDeepEqual(alphas.epochs[0].alphas, alphas.epochs[3].alphas, "the architecture parameters moved");
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("darts killed with SIGKILL after an epoch resumes from its checkpoint and derives the cell of an uninterrupted run", { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-darts-kill-"));
  try {
    const plain = cli(["run", config(dir, "plain", { name: "darts", epochs: 5 })]);
    assert.equal(plain.code, 0, plain.stderr);
    const killedCfg = config(dir, "killed", { name: "darts", epochs: 5 });
    // Killed once epoch 2 is reported (its checkpoint may or may not be stored yet).
    await new Promise<void>((resolve, reject) => {
      const p = cliAsync(["run", killedCfg]);
      let err = "";
      p.stderr.on("data", (d: Buffer) => {
        err += d.toString();
        if (/darts epoch 2:/.test(err)) p.kill("SIGKILL");
      });
      p.on("error", reject);
      p.on("close", (_code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`not killed: ${err}`))));
    });
    const resumed = cli(["run", killedCfg]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /darts epoch [23] \(resumed from its checkpoint\)/);
    assert.doesNotMatch(resumed.stderr, /darts epoch 1:/, "epoch 1 is not trained again");
    const a = await trialsOf(join(dir, "plain.db"), "plain");
    const b = await trialsOf(join(dir, "killed.db"), "killed");
    assert.deepEqual(b.trials.map((t) => t.point), a.trials.map((t) => t.point), "the same derived cells");
    assert.deepEqual(b.trials.map((t) => t.metrics), a.trials.map((t) => t.metrics));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad input is refused before any training: a space without a supernet, a dataset that is not IDX, a supernet too big for memory", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-darts-bad-"));
  try {
    const fbnet = join(dir, "fbnet.yaml");
    writeFileSync(fbnet, ["name: f", `storage: ${join(dir, "f.db")}`, "space: { name: fbnet }", "strategy: { name: darts }", "evaluator: { name: hwnas_fbnet }", "budget: { trials: 1 }"].join("\n"));
    const r1 = cli(["run", fbnet]);
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /darts searches the NB201 supernet; space "fbnet" has a "fbnet" supernet/);

    const notIdx = join(dir, "not-idx");
    writeFileSync(join(dir, "garbage"), "x");
    rmSync(notIdx, { recursive: true, force: true });
    const { mkdirSync } = await import("node:fs");
    mkdirSync(notIdx);
    writeFileSync(join(notIdx, "train-images-idx3-ubyte"), "this is not an IDX file");
    writeFileSync(join(notIdx, "train-labels-idx1-ubyte"), "nor this");
    const r2 = cli(["run", config(dir, "idx", { name: "darts", dataset: `idx:${notIdx}` })]);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /train-images-idx3-ubyte is not an IDX file/);
    assert.doesNotMatch(r2.stderr, /darts epoch/);

    const r3 = cli(["run", config(dir, "big", { name: "darts", channels: 64, cells_per_stage: 5, batch_size: 512, memory_limit_mb: 256 })]);
    assert.notEqual(r3.code, 0);
    assert.match(r3.stderr, /needs about \d+ MB, more than the 256 MB available; lower channels, cells_per_stage or batch_size/);
    assert.doesNotMatch(r3.stderr, /darts epoch/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
