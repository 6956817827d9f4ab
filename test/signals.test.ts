import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { CLI, ROOT, cli } from "./cli-util.js";
import { childrenOf, running, sleep, until } from "./process-util.js";

/** A config of `trials` trials of the abortable module evaluator, in `dir`. */
function config(dir: string, name: string, trials: number): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [`name: ${name}`, `storage: ${join(dir, "s.db")}`, "space: { name: nb201 }", "strategy: { name: random }", `evaluator: { name: module, path: ${join(ROOT, "test/fixtures/abortable-trial.mjs")} }`, `budget: { trials: ${trials} }`].join("\n"),
  );
  return file;
}

function trials(dir: string, name: string): { number: number; status: string }[] {
  const db = new Database(join(dir, "s.db"), { readonly: true });
  try {
    return db.prepare("SELECT t.number, t.status FROM trials t JOIN experiments e ON e.id = t.experiment_id WHERE e.name = ? ORDER BY t.number").all(name) as { number: number; status: string }[];
  } finally {
    db.close();
  }
}

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("close", (code, signal) => r({ code, signal })));
  return { child, exit, stderr: () => stderr };
}

/** The resumed experiment has every trial number once, all finished. */
function assertCompleteOnce(dir: string, name: string, budget: number) {
  const rows = trials(dir, name);
  assert.deepEqual(rows.map((r) => r.number), Array.from({ length: budget }, (_, i) => i), "every trial number once");
  assert.ok(rows.every((r) => r.status === "finished"), JSON.stringify(rows.filter((r) => r.status !== "finished")));
}

test("SIGTERM to run: the trial in flight goes back to pending, exit 143, the resume completes with every trial once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-sig-"));
  try {
    const file = config(dir, "term", 12);
    const r = start(["run", file], { TRIAL_MS: "400" });
    await until("a few trials", 20_000, () => / trial 2 /.test(r.stderr()) || /\[3\//.test(r.stderr()));
    r.child.kill("SIGTERM");
    const { code } = await r.exit;
    assert.equal(code, 143, r.stderr());
    assert.match(r.stderr(), /SIGTERM: stopping now; the trials in flight are put back for the resume/);
    const after = trials(dir, "term");
    assert.ok(after.length < 12, "stopped before the end");
    assert.deepEqual(after.filter((t) => t.status === "running"), [], "no trial stays running");
    assert.ok(after.some((t) => t.status === "pending"), "the trial in flight was put back");
    const again = cli(["run", file, "--quiet"]);
    assert.equal(again.code, 0, again.stderr);
    assertCompleteOnce(dir, "term", 12);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("kill -9 of the parent of run --workers 4: no worker left after one heartbeat, no trial running, the resume completes once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-sig-"));
  try {
    const file = config(dir, "orphans", 40);
    const heartbeat = 1;
    const r = start(["run", file, "--workers", "4", "--heartbeat", String(heartbeat), "--grace", "5"], { TRIAL_MS: "300" });
    let workers: number[] = [];
    await until("4 workers with trials done", 30_000, () => {
      workers = childrenOf(r.child.pid!);
      return workers.length === 4 && /trials [1-9]\d*\/40 done/.test(r.stderr());
    });
    r.child.kill("SIGKILL");
    await r.exit;
    await sleep(heartbeat * 1000);
    assert.deepEqual(workers.filter(running), [], "every worker is gone one heartbeat after its parent");
    const after = trials(dir, "orphans");
    assert.deepEqual(after.filter((t) => t.status === "running"), [], "no trial stays running");
    const again = cli(["run", file, "--workers", "2", "--quiet"]);
    assert.equal(again.code, 0, again.stderr);
    assertCompleteOnce(dir, "orphans", 40);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a worker that dies is reported by the parent with its exit status; the others finish the experiment", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-sig-"));
  try {
    const file = config(dir, "dying", 30);
    const r = start(["run", file, "--workers", "3", "--heartbeat", "0.5", "--grace", "2"], { TRIAL_MS: "200" });
    let workers: number[] = [];
    await until("3 workers", 30_000, () => (workers = childrenOf(r.child.pid!)).length === 3 && /trials [1-9]\d*\/30 done/.test(r.stderr()));
    process.kill(workers[1], "SIGKILL");
    const { code } = await r.exit;
    assert.equal(code, 0, r.stderr());
    assert.match(r.stderr(), new RegExp(`worker w\\d \\(pid ${workers[1]}\\) died: killed by SIGKILL \\(2 of 3 workers left\\)`));
    assertCompleteOnce(dir, "dying", 30);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("SIGTERM to the parent of run --workers: forwarded, the workers put their trials back, exit 143", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-sig-"));
  try {
    const file = config(dir, "termw", 40);
    const r = start(["run", file, "--workers", "2"], { TRIAL_MS: "400" });
    let workers: number[] = [];
    await until("2 workers", 30_000, () => (workers = childrenOf(r.child.pid!)).length === 2 && /trials [1-9]\d*\/40 done/.test(r.stderr()));
    r.child.kill("SIGTERM");
    const { code } = await r.exit;
    assert.equal(code, 143, r.stderr());
    assert.deepEqual(workers.filter(running), []);
    assert.deepEqual(trials(dir, "termw").filter((t) => t.status === "running"), []);
    assert.doesNotMatch(r.stderr(), /died/, "workers stopped on purpose are not reported as dead");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
