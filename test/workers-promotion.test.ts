/**
 * Promotion schedulers (ASHA with type: promotion, synchronous Hyperband) in worker mode:
 * several workers share one experiment; the scheduler's state is the store's, every decision to
 * continue or end a paused trial is taken under the driver lease and written with it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Scheduler, SchedulerContext } from "../src/core/scheduler.js";
import type { Store, TrialRecord } from "../src/core/store.js";
import { asha } from "../src/schedulers/asha.js";
import { hyperband } from "../src/schedulers/hyperband.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { PostgresStore } from "../src/stores/postgres/index.js";
import { inPgSchema, nb201Experiment, objectives, simulator, sleepySimulator } from "./helpers.js";

const ctx: SchedulerContext = { seed: 2, fidelity: simulator.fidelity, objectives };

const slowSim = sleepySimulator(15);

async function workers(open: () => Store, makeScheduler: () => Scheduler, budget: number): Promise<{ trials: TrialRecord[]; state: Record<string, unknown> }> {
  const stores = [open(), open(), open()];
  try {
    const summaries = await Promise.all(
      stores.map((s, i) =>
        nb201Experiment("rea", 6, budget, s, { worker: `w${i}`, evaluator: slowSim, scheduler: makeScheduler(), cache: false, budget: { trials: budget } }).runWorker({
          heartbeatSeconds: 0.2,
          graceSeconds: 5,
          pollMs: 20,
        }),
      ),
    );
    for (const s of summaries) assert.equal(s.complete, true);
    const exp = (await stores[0].getExperiment("nb201-rea"))!;
    assert.equal(exp.status, "done");
    const trials = await stores[0].getTrials(exp.id);
    // Which trials the strategy was told is on the trial rows (toldSeq), no longer a list in the state.
    const told = trials.filter((t) => t.toldSeq != null).map((t) => t.number);
    return { trials, state: { ...((await stores[0].loadSearchState(exp.id)) as Record<string, unknown>), told } };
  } finally {
    for (const s of stores) await s.close();
  }
}

/** What every promotion run must satisfy, whatever the interleaving. */
function checkAsha(trials: TrialRecord[], state: Record<string, unknown>, budget: number, eta: number, o: { shared: boolean } = { shared: true }) {
  assert.deepEqual(trials.map((t) => t.number), Array.from({ length: budget }, (_, i) => i), "exactly the budget, numbers never repeated");
  if (o.shared) assert.ok(new Set(trials.map((t) => t.worker)).size >= 2, "the work was shared");
  const full = trials.filter((t) => t.status === "finished" && t.fidelity?.epochs === 200);
  const paused = trials.filter((t) => t.status === "paused");
  assert.equal(full.length + paused.length, budget, `every trial either paused at 12 epochs or was continued to 200 (${trials.map((t) => `${t.number}:${t.status}@${t.fidelity?.epochs}`).join(" ")})`);
  assert.ok(paused.every((t) => t.fidelity?.epochs === 12));
  // ASHA promotes whatever is in the top 1/eta of its rung when a slot frees up, so early
  // promotions can fall out of it later; but once the search ends (nothing runs, the scheduler
  // continues nothing more), every trial in the final top floor(n/eta) at 12 epochs was continued.
  const at12 = (t: TrialRecord) => simulator.run({ experiment: "x", number: t.number, point: t.point, arch: t.arch, hp: t.hp, fidelity: { epochs: 12 }, seed: 0 }, { signal: new AbortController().signal, report: () => "continue" });
  return Promise.all(trials.map(at12)).then((results) => {
    const acc = new Map(trials.map((t, i) => [t.number, results[i].metrics.valid_acc]));
    // In the top whatever the order among equal values: fewer than the quota at least as good.
    const quota = Math.floor(budget / eta);
    const top = [...acc.entries()].filter(([n, a]) => [...acc.entries()].filter(([m, b]) => m !== n && b >= a).length < quota).map(([n]) => n);
    const continued = new Set(full.map((t) => t.number));
    assert.ok(top.every((n) => continued.has(n)), `the final top ${top.length} at 12 epochs (${top.join(", ")}) were all continued (continued: ${[...continued].join(", ")})`);
    assert.ok(full.length < budget, "not everything was continued");
    const sched = state.scheduler as { records: [number, unknown][][]; paused: number[] };
    assert.deepEqual(sched.records[0].map(([n]) => n).sort((a, b) => a - b), trials.map((t) => t.number), "the stored rung holds every trial once, whichever worker ran it");
    assert.deepEqual([...sched.paused].sort((a, b) => a - b), paused.map((t) => t.number), "the stored scheduler knows exactly the paused trials");
    const told = state.told as number[];
    assert.deepEqual([...told].sort((a, b) => a - b), full.map((t) => t.number), "the strategy was told each trial that ended for good, once");
  });
}

test("workers run ASHA with promotion on SQLite: paused trials are continued by any worker, the best ones only, nothing twice", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-wprom-"));
  try {
    const eta = 3;
    const { trials, state } = await workers(() => new SqliteStore(join(dir, "p.db")), () => asha.create(asha.options.parse({ type: "promotion", eta }), ctx), 24);
    await checkAsha(trials, state, 24, eta);
    // A continued run costs only its extra epochs: its recorded cost is above the 12-epoch one of the same cell.
    for (const t of trials.filter((x) => x.status === "finished")) assert.ok((t.costSeconds ?? 0) > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("workers run ASHA with promotion on PostgreSQL", { timeout: 120_000 }, () =>
  inPgSchema("wp", async (url) => {
    const eta = 3;
    const { trials, state } = await workers(() => new PostgresStore(url, { poolSize: 3 }), () => asha.create(asha.options.parse({ type: "promotion", eta }), ctx), 24);
    await checkAsha(trials, state, 24, eta);
  }),
);

test("workers run synchronous Hyperband: each bracket's stage is closed once all its trials ended, the best continue, the rest end", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-whb-"));
  try {
    const budget = 20;
    const { trials, state } = await workers(() => new SqliteStore(join(dir, "h.db")), () => hyperband.create(hyperband.options.parse({ type: "promotion", eta: 3 }), ctx), budget);
    assert.deepEqual(trials.map((t) => t.number), Array.from({ length: budget }, (_, i) => i));
    // NB201 has two levels (12, 200): brackets of s = 1 start at 12 and continue the best third; s = 0 runs 200 at once.
    for (const t of trials) {
      assert.ok(["finished", "pruned", "paused"].includes(t.status), `trial ${t.number}: ${t.status}`);
      if (t.status === "pruned") assert.equal(t.fidelity?.epochs, 12, "an ended paused trial stays at its rung");
    }
    const brackets = (state.scheduler as { brackets: { s: number; members: number[]; done: boolean }[] }).brackets;
    assert.ok(brackets.length >= 2, `several brackets opened (${brackets.length})`);
    const pruned = trials.filter((t) => t.status === "pruned").length;
    const continued = trials.filter((t) => t.status === "finished" && t.fidelity?.epochs === 200).length;
    assert.ok(pruned >= 1 && continued >= 1, `a stage was closed: ${continued} at 200 epochs, ${pruned} ended at 12`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("workers with ASHA promotion stopped mid-search, then `archsearch run` finishes it: the runs that ended after the last driver step are heard too", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-wprun-"));
  const file = join(dir, "m.db");
  const eta = 3;
  const make = () => asha.create(asha.options.parse({ type: "promotion", eta }), ctx);
  try {
    const abort = new AbortController();
    const stores = [0, 1, 2].map(() => new SqliteStore(file));
    const watcher = new SqliteStore(file);
    const watching = (async () => {
      for (;;) {
        const exp = await watcher.getExperiment("nb201-rea");
        const ended = exp ? (await watcher.getTrials(exp.id)).filter((t) => t.status === "paused" || t.status === "finished").length : 0;
        if (ended >= 9) return abort.abort();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const summaries = await Promise.all(
      stores.map((s, i) =>
        nb201Experiment("rea", 6, 24, s, { worker: `w${i}`, evaluator: sleepySimulator(30), scheduler: make(), cache: false, signal: abort.signal }).runWorker({ heartbeatSeconds: 0.2, graceSeconds: 5, pollMs: 20 }),
      ),
    );
    await watching;
    assert.ok(summaries.every((x) => !x.complete), "stopped before the end");
    for (const s of stores) await s.close();
    const mid = await watcher.getTrials(1);
    // The runs the scheduler heard are on the trial rows (heard), no longer a list in the state.
    const heard = new Set(mid.filter((t) => t.heard != null).map((t) => t.number));
    const unheard = mid.filter((t) => (t.status === "paused" || t.status === "finished") && !heard.has(t.number)).map((t) => t.number);
    await watcher.close();

    const store = new SqliteStore(file);
    try {
      const summary = await nb201Experiment("rea", 6, 24, store, { evaluator: simulator, scheduler: make(), cache: false }).run();
      assert.equal(summary.complete, true);
      const trials = await store.getTrials(1);
      const final = (await store.loadSearchState(1)) as Record<string, unknown>;
      await checkAsha(trials, { ...final, told: trials.filter((t) => t.status === "finished").map((t) => t.number) }, 24, eta, { shared: false });
      for (const n of unheard) {
        const t = trials.find((x) => x.number === n)!;
        assert.ok(t.status === "paused" || t.status === "finished", `trial ${n}, ended after the workers' last driver step, is known: ${t.status}`);
      }
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
