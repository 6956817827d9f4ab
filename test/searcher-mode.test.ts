import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SqliteStore } from "../src/stores/sqlite.js";
import { experimentArtifacts } from "../src/core/artifacts.js";
import { SEARCHER_ARTIFACTS } from "../src/core/searcher-strategy.js";
import { runToyJob, TOY_JOB } from "./fixtures/searcher-job.js";

const JOB = fileURLToPath(new URL("./fixtures/searcher-job.js", import.meta.url));

interface Line {
  type: "progress" | "done";
  step?: number;
  resumed?: boolean;
  trials?: number;
  best?: string | null;
  complete?: boolean;
}

/** Runs the job in a child process; `killAfterStep` sends SIGKILL once that progress step is printed. */
function child(db: string, root: string, delayMs: number, killAfterStep?: number): Promise<{ lines: Line[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [JOB, db, root, String(delayMs)], { stdio: ["ignore", "pipe", "pipe"] });
    const lines: Line[] = [];
    let buf = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Line;
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (killAfterStep !== undefined && line.type === "progress" && line.step === killAfterStep) p.kill("SIGKILL");
      }
    });
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code, signal) => (code === 0 || signal === "SIGKILL" ? resolve({ lines, signal }) : reject(new Error(`job exited ${code}: ${err}`))));
  });
}

test("searcher mode: the job trains, checkpoints and reports; its derived cells become ordinary trials; after kill -9 it resumes from its last checkpoint and ends as the uninterrupted run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-searcher-"));
  try {
    // Uninterrupted, in this process.
    const plain: Line[] = [];
    await runToyJob(join(dir, "plain.db"), join(dir, "plain-artifacts"), 0, (l) => plain.push(JSON.parse(l) as Line));
    const steps = plain.filter((l) => l.type === "progress").map((l) => l.step);
    assert.deepEqual(steps, Array.from({ length: TOY_JOB.epochs }, (_, i) => i + 1));
    const done = plain.find((l) => l.type === "done")!;
    assert.equal(done.trials, TOY_JOB.top, "one trial per derived cell; then the searcher has nothing more");
    assert.equal(done.complete, true);
    const store = new SqliteStore(join(dir, "plain.db"));
    const exp = (await store.getExperiment("toy-searcher"))!;
    const trials = await store.getTrials(exp.id);
    assert.equal(trials.length, TOY_JOB.top);
    assert.ok(trials.every((t) => t.status === "finished" && typeof t.metrics?.valid_acc === "number"), "evaluated by the experiment's evaluator");
    const artifacts = await experimentArtifacts(store, join(dir, "plain-artifacts"), "toy-searcher");
    const derived = JSON.parse(new TextDecoder().decode((await artifacts.get(null, SEARCHER_ARTIFACTS.derived))!)) as string[];
    assert.deepEqual(trials.map((t) => t.point), derived, "the trials are the derived cells, in order");
    assert.ok(await artifacts.get(null, "searcher/logits.json"), "the job's own artifact is kept");
    const progress = JSON.parse(new TextDecoder().decode((await artifacts.get(null, SEARCHER_ARTIFACTS.progress))!)) as { step: number; metrics: { mean_reward: number } }[];
    assert.equal(progress.length, TOY_JOB.epochs);
    assert.ok(progress[progress.length - 1].metrics.mean_reward > progress[0].metrics.mean_reward, "the policy learnt: later epochs sample better cells");
    await store.close();

    // In a child process killed with SIGKILL after epoch 3, then run again.
    const db = join(dir, "killed.db");
    const root = join(dir, "killed-artifacts");
    const first = await child(db, root, 150, 3);
    assert.equal(first.signal, "SIGKILL");
    assert.ok(!first.lines.some((l) => l.type === "done"));
    // The last checkpoint stored before the kill: epoch 2 or 3 (the kill may land before epoch 3's checkpoint is written).
    const killedStore = new SqliteStore(db);
    const saved = await (await experimentArtifacts(killedStore, root, "toy-searcher")).get(null, SEARCHER_ARTIFACTS.checkpoint);
    await killedStore.close();
    const savedStep = (JSON.parse(new TextDecoder().decode(saved!.subarray(0, saved!.indexOf(10)))) as { step: number }).step;
    assert.ok(savedStep === 2 || savedStep === 3, `checkpoint at epoch ${savedStep}`);
    const second = await child(db, root, 0);
    const resumedSteps = second.lines.filter((l) => l.type === "progress");
    assert.equal(resumedSteps[0].resumed, true);
    assert.equal(resumedSteps[0].step, savedStep + 1, "continues right after its last checkpoint");
    assert.equal(resumedSteps[resumedSteps.length - 1].step, TOY_JOB.epochs);
    const end = second.lines.find((l) => l.type === "done")!;
    assert.deepEqual({ trials: end.trials, best: end.best, complete: end.complete }, { trials: done.trials, best: done.best, complete: true }, "the same result as the uninterrupted run");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
