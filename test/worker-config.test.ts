import { st } from "./state-write.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { buildParts, loadParts, searchHash } from "../src/config/build.js";
import { workerSettings } from "../src/config/workers.js";
import type { JsonObject } from "../src/core/json.js";
import { openStore } from "../src/stores/open.js";
import { Rng } from "../src/core/rng.js";
import { pointHash, splitPoint } from "../src/core/space.js";
import { cli } from "./cli-util.js";
import { configProblems } from "./config-problems.js";

const base = {
  name: "wc",
  space: { name: "nb201" },
  strategy: { name: "random" },
  evaluator: { name: "nb201" },
  budget: { trials: 3 },
};


test("workers: section: given keys are kept, missing keys take the defaults, absent section gives the defaults", () => {
  const parts = buildParts({ ...base, workers: { heartbeat_seconds: 0.5, max_retries: 0, scheduler_sync_ms: 200 } });
  assert.deepEqual(parts.config.workers, { heartbeat_seconds: 0.5, grace_seconds: 30, max_retries: 0, poll_ms: 250, scheduler_sync_ms: 200 });
  assert.deepEqual(workerSettings(parts.config.workers), { heartbeatSeconds: 0.5, graceSeconds: 30, maxRetries: 0, pollMs: 250, schedulerSyncMs: 200 });
  const none = buildParts(base);
  assert.equal(none.config.workers, undefined);
  assert.deepEqual(workerSettings(none.config.workers), { heartbeatSeconds: 2, graceSeconds: 30, maxRetries: 2, pollMs: 250, schedulerSyncMs: 500 });
});

test("workers: bad values are config errors naming the key", () => {
  const p = configProblems({ ...base, workers: { heartbeat_seconds: 0, grace_seconds: -1, max_retries: 1.5, poll_ms: "fast", scheduler_sync_ms: 0 } });
  assert.ok(p.some((x) => /^workers\.heartbeat_seconds: .*>0/.test(x)), p.join("\n"));
  assert.ok(p.some((x) => /^workers\.grace_seconds: .*>0/.test(x)), p.join("\n"));
  assert.ok(p.some((x) => /^workers\.max_retries: .*int/i.test(x)), p.join("\n"));
  assert.ok(p.some((x) => /^workers\.poll_ms: .*expected number/.test(x)), p.join("\n"));
  assert.ok(p.some((x) => /^workers\.scheduler_sync_ms: .*>=1/.test(x)), p.join("\n"));
  const q = configProblems({ ...base, workers: { heartbeat_seconds: 5, grace_seconds: 5 } });
  assert.deepEqual(q, ["workers.grace_seconds: must be longer than heartbeat_seconds (5), got 5: a trial would be reclaimed between two heartbeats"]);
  const r = configProblems({ ...base, workers: { grace: 10 } });
  assert.ok(r.some((x) => x.startsWith('workers.grace: unknown key "grace"; did you mean "grace_seconds"?')), r.join("\n"));
});

test("workers: CLI flags override the config; a combination that breaks the rule names where each value came from", () => {
  const section = { heartbeat_seconds: 1, grace_seconds: 4, max_retries: 3, poll_ms: 100, scheduler_sync_ms: 300 };
  assert.deepEqual(workerSettings(section, { grace: 9, maxRetries: 0 }), { heartbeatSeconds: 1, graceSeconds: 9, maxRetries: 0, pollMs: 100, schedulerSyncMs: 300 });
  assert.deepEqual(workerSettings(undefined, { heartbeat: 0.1 }), { heartbeatSeconds: 0.1, graceSeconds: 30, maxRetries: 2, pollMs: 250, schedulerSyncMs: 500 });
  assert.throws(
    () => workerSettings(section, { heartbeat: 5 }),
    /worker grace period 4 s \(workers\.grace_seconds in the config\) must be longer than the heartbeat interval 5 s \(--heartbeat\)/,
  );
  assert.throws(() => workerSettings(undefined, { grace: 1 }), /grace period 1 s \(--grace\) must be longer than the heartbeat interval 2 s \(default\)/);
  assert.throws(() => workerSettings(undefined, { maxRetries: -1 }), /max retries must be an integer >= 0, got -1 \(--max-retries\)/);
});

test("workers: the section is not part of the search definition (changing it resumes the same experiment)", () => {
  const a = buildParts(base).config;
  const b = buildParts({ ...base, workers: { grace_seconds: 7 } }).config;
  assert.equal(searchHash(a), searchHash(b));
  assert.notEqual(searchHash(a), searchHash(buildParts({ ...base, seed: 9 }).config), "the hash does see real changes");
});

/**
 * A stale trial left running by a worker that died (claimed, never beating), then one real
 * `archsearch worker` run: with `workers: {grace_seconds: 1, max_retries: 0}` from the config it
 * fails the trial within about a second; `--max-retries 1` overrides the config and retries it.
 */
async function staleTrialRun(dir: string, extraArgs: string[]) {
  const db = join(dir, `s${extraArgs.length}.db`);
  const file = join(dir, "c.yaml");
  writeFileSync(
    file,
    [
      "name: wc",
      "seed: 3",
      `storage: ${db}`,
      "space: { name: nb201 }",
      "strategy: { name: random }",
      "evaluator: { name: nb201 }",
      "budget: { trials: 3 }",
      "workers: { heartbeat_seconds: 0.2, grace_seconds: 1, max_retries: 0, poll_ms: 50 }",
    ].join("\n"),
  );
  const parts = loadParts(file);
  const store = openStore(db);
  try {
    const { experiment } = await store.openExperiment("wc", parts.config as unknown as JsonObject, searchHash(parts.config));
    const point = parts.space.sample(new Rng(1));
    await store.addTrials(experiment.id, [{ point, ...splitPoint(parts.space, point), archHash: pointHash(parts.space, point) }], st(null));
    const claim = await store.claimTrial!(experiment.id, "ghost-worker");
    assert.equal(claim?.trial.number, 0);
  } finally {
    await store.close();
  }
  const started = Date.now();
  const r = cli(["worker", file, "--quiet", "--json", ...extraArgs]);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split("\n").pop()!).trials, 3);
  const raw = new Database(db, { readonly: true });
  try {
    const row = raw.prepare("SELECT status, error, retries, worker FROM trials WHERE number = 0").get() as { status: string; error: string | null; retries: number; worker: string };
    return { row, seconds };
  } finally {
    raw.close();
  }
}

test("archsearch worker uses the config's workers: section, and flags override it", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-wconfig-"));
  try {
    const fromConfig = await staleTrialRun(dir, []);
    assert.equal(fromConfig.row.status, "failed", "max_retries: 0 from the config fails the stale trial");
    assert.match(fromConfig.row.error!, /worker ghost-worker stopped beating during trial 0; retried 0 times/);
    assert.ok(fromConfig.seconds < 20, `grace_seconds: 1 from the config (the default 30 s would take longer): ${fromConfig.seconds.toFixed(1)} s`);
    const overridden = await staleTrialRun(dir, ["--max-retries", "1"]);
    assert.equal(overridden.row.status, "finished", "--max-retries 1 overrides the config: the stale trial is retried");
    assert.equal(overridden.row.retries, 1);
    assert.notEqual(overridden.row.worker, "ghost-worker");

    const bad = cli(["worker", join(dir, "c.yaml"), "--heartbeat", "3"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /worker grace period 1 s \(workers\.grace_seconds in the config\) must be longer than the heartbeat interval 3 s \(--heartbeat\)/);
    const badRun = cli(["run", join(dir, "c.yaml"), "--workers", "2", "--grace", "0.1"]);
    assert.equal(badRun.code, 2, "run --workers refuses before starting any worker");
    assert.match(badRun.stderr, /grace period 0\.1 s \(--grace\) must be longer than the heartbeat interval 0\.2 s \(workers\.heartbeat_seconds in the config\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
