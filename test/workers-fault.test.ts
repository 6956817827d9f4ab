import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import Database from "better-sqlite3";
import { openStore } from "../src/stores/open.js";
import { cli, cliAsync, ROOT } from "./cli-util.js";
import { inPgSchema } from "./helpers.js";

const BUDGET = 12;
const GRACE_S = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function config(dir: string) {
  const file = join(dir, "workers.yaml");
  writeFileSync(
    file,
    [
      "name: shared",
      "seed: 11",
      `storage: ${join(dir, "unused.db")}`,
      "space: { name: nb201 }",
      "strategy: { name: random }",
      `evaluator: { name: module, path: ${join(ROOT, "test/fixtures/sleepy-nb201.mjs")} }`,
      `budget: { trials: ${BUDGET} }`,
    ].join("\n"),
  );
  return file;
}

const exited = (c: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    let stderr = "";
    c.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    c.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });

/** Raw rows, with the columns the store does not expose (attempt, retries). */
type Row = { number: number; status: string; worker: string | null; attempt: number; retries: number; started_at: number; metrics: unknown };

/**
 * Three worker processes share one experiment; the first worker seen running a trial is killed with SIGKILL while it runs
 * a trial. Its trial must be retried by another worker within one grace period, and the
 * experiment must end with exactly BUDGET finished trials, each number once.
 */
async function killOneWorker(storage: string, rows: () => Promise<Row[]>) {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-wfault-"));
  const file = config(dir);
  const args = (id: string) => ["worker", file, "--storage", storage, "--id", id, "--quiet", "--json", "--heartbeat", "0.2", "--grace", String(GRACE_S)];
  const store = openStore(storage);
  try {
    const workers = ["w0", "w1", "w2"].map((id) => {
      const child = cliAsync(args(id));
      return { id, child, exit: exited(child) };
    });
    // Wait until some worker is in the middle of a trial, then kill that worker.
    let victimTrial: number | undefined;
    let victimId: string | undefined;
    for (let i = 0; i < 600 && victimTrial === undefined; i++) {
      await sleep(50);
      const exp = await store.getExperiment("shared");
      if (!exp) continue;
      const running = (await store.getTrials(exp.id, { status: ["running"] })).find((t) => t.startedAt !== null && t.worker !== null);
      victimTrial = running?.number;
      victimId = running?.worker ?? undefined;
    }
    assert.notEqual(victimTrial, undefined, "no worker ever ran a trial");
    const victim = workers.find((w) => w.id === victimId)!;
    await sleep(100); // inside the evaluator's sleep
    const killedAt = Date.now();
    victim.child.kill("SIGKILL");
    assert.equal((await victim.exit).signal, "SIGKILL");
    const others = await Promise.all(workers.filter((w) => w !== victim).map((w) => w.exit));
    for (const o of others) {
      assert.equal(o.code, 0, `a surviving worker failed: ${o.stderr}`);
    }

    const all = await rows();
    assert.deepEqual(all.map((r) => r.number), Array.from({ length: BUDGET }, (_, i) => i), "exactly the budget, no number lost or repeated");
    assert.ok(all.every((r) => r.status === "finished" && r.metrics !== null), JSON.stringify(all.map((r) => [r.number, r.status])));
    const retried = all.find((r) => r.number === victimTrial)!;
    assert.equal(retried.retries, 1, "the killed worker's trial was retried once");
    assert.equal(retried.attempt, 2);
    assert.notEqual(retried.worker, victimId, "and finished by another worker");
    const delay = (retried.started_at - killedAt) / 1000;
    assert.ok(delay <= GRACE_S + 2.5, `retried ${delay.toFixed(1)} s after the kill (grace ${GRACE_S} s)`);
    assert.ok(all.filter((r) => r.number !== victimTrial).every((r) => r.retries === 0 && r.attempt === 1), "no other trial ran twice");
    const exp = (await store.getExperiment("shared"))!;
    assert.equal(exp.status, "done");
    const values = new Set((await store.getTrials(exp.id)).map((t) => JSON.stringify(t.point)));
    assert.equal(values.size, BUDGET, "no suggestion handed out twice");
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("kill -9 of a worker mid-trial on SQLite: retried within a grace period, nothing lost or duplicated", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-wfault-db-"));
  const path = join(dir, "shared.db");
  try {
    await killOneWorker(path, async () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare("SELECT number, status, worker, attempt, retries, started_at, metrics FROM trials ORDER BY number").all() as Row[];
      } finally {
        db.close();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("kill -9 of a worker mid-trial on PostgreSQL: retried within a grace period, nothing lost or duplicated", { timeout: 120_000 }, () =>
  inPgSchema("wf", (url, { schema, admin }) =>
    killOneWorker(url, async () =>
      (await admin.query<Row>(`SELECT number, status, worker, attempt, retries, started_at::float8 AS started_at, metrics FROM "${schema}".trials ORDER BY number`)).rows,
    ),
  ),
);

test("run --workers N: local worker processes finish the experiment and print its summary", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-wrun-"));
  try {
    const file = config(dir);
    const r = cli(["run", file, "--workers", "2", "--storage", join(dir, "run.db"), "--trials", "6", "--json", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(summary.experiment, "shared");
    assert.equal(summary.trials, 6);
    assert.equal(summary.complete, true);
    assert.equal(typeof summary.best.metrics.valid_acc, "number");
    const bad = cli(["run", file, "--workers", "2", "--storage", ":memory:"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--workers needs a store the worker processes share/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("run --workers N with a promotion search (examples/nb201-bohb.yaml: BOHB on synchronous Hyperband): continued and ended trials, complete", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-wbohb-"));
  try {
    const db = join(dir, "bohb.db");
    const r = cli(["run", join(ROOT, "examples/nb201-bohb.yaml"), "--workers", "3", "--storage", db, "--trials", "60", "--json", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(summary.complete, true);
    const rows = new Database(db, { readonly: true });
    try {
      const trials = rows.prepare("SELECT number, status, fidelity, worker, error FROM trials ORDER BY number").all() as { number: number; status: string; fidelity: string | null; worker: string; error: string | null }[];
      assert.deepEqual(trials.map((t) => t.number), Array.from({ length: 60 }, (_, i) => i));
      const kinds = new Set(trials.map((t) => `${t.status}@${t.fidelity === null ? "-" : JSON.parse(t.fidelity).epochs}`));
      assert.ok(kinds.has("finished@200"), `some trials ran to 200 epochs (${[...kinds].join(", ")})`);
      assert.ok(kinds.has("pruned@12"), `some paused trials were ended at their rung (${[...kinds].join(", ")})`);
      for (const k of kinds) assert.ok(["finished@200", "pruned@12", "paused@12", "pruned@-"].includes(k), `unexpected ${k}`);
      // pruned@- : rejected by the latency constraint before evaluation (a cheap metric)
      for (const t of trials.filter((x) => x.status === "pruned" && x.fidelity === null)) assert.match(t.error ?? "", /infeasible before evaluation: latency_ms_pixel3/);
      assert.ok(new Set(trials.map((t) => t.worker)).size >= 2, "the work was shared");
    } finally {
      rows.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
