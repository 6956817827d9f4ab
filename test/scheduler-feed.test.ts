/**
 * Worker mode with a stopping scheduler: each worker's scheduler hears the other workers'
 * reports through the store (SchedulerFeed), so ASHA's rungs span every worker.
 */
import { st } from "./state-write.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SchedulerFeed } from "../src/core/scheduler-feed.js";
import type { Metrics } from "../src/core/evaluator.js";
import type { Scheduler } from "../src/core/scheduler.js";
import type { Store } from "../src/core/store.js";
import { AshaScheduler } from "../src/schedulers/asha.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { nb201Experiment, objectives, simulator, sleepySimulator } from "./helpers.js";
import { trial } from "./store-contract.js";

type FeedStore = Store & Required<Pick<Store, "getProgress">>;

/** Trials 0..n-1 of another worker: claimed, reported at the given steps, some completed. */
async function otherWorker(store: Store, experimentId: number, reports: { acc: number; steps: number[]; end: boolean }[]) {
  const added = await store.addTrials(experimentId, reports.map((_, i) => trial(i)), st(null));
  for (const [i, r] of reports.entries()) {
    const claim = (await store.claimTrial!(experimentId, "other"))!;
    assert.equal(claim.trial.number, i);
    for (const step of r.steps) await store.reportIntermediate(added[i].id, step, { acc: r.acc }, claim.attempt);
    if (r.end) await store.completeTrial(added[i].id, { status: "finished", metrics: { acc: r.acc } }, undefined, claim.attempt);
  }
  return added;
}

test("scheduler feed: ASHA in one worker stops a trial that the other workers' results rank low at its rung", async () => {
  const store = new SqliteStore(":memory:");
  try {
    const { experiment } = await store.openExperiment("e", {}, "h");
    await otherWorker(store, experiment.id, [0.9, 0.85, 0.8, 0.7, 0.6, 0.5].map((acc) => ({ acc, steps: [1, 3, 9], end: true })));
    const make = () => new AshaScheduler({ seed: 0, fidelity: { resource: "epochs", min: 1, max: 9 } }, { metric: "acc", mode: "max", eta: 3 });
    const alone = make();
    assert.equal(alone.onReport({ number: 6 }, 1, { acc: 0.55 }), "continue", "alone, the first value at a rung always goes on");

    const shared = make();
    const feed = new SchedulerFeed(store as FeedStore, experiment.id, shared);
    await feed.sync();
    await feed.sync(); // nothing new: nothing fed twice
    const rungs = (shared.state() as { records: [number, number[]][][] }).records;
    assert.deepEqual(rungs.map((r) => r.length), [6, 6], "rungs 1 and 3 hold the six other trials once each");
    assert.equal(shared.onReport({ number: 6 }, 1, { acc: 0.55 }), "stop", "six better at rung 1: 0.55 is not in the top third of seven");
    assert.equal(make().onReport({ number: 7 }, 1, { acc: 0.95 }), "continue");
  } finally {
    await store.close();
  }
});

test("scheduler feed: each report once, in step order, ends once, its own trials skipped, and the read window moves past ended trials", async () => {
  const store = new SqliteStore(":memory:");
  try {
    const { experiment } = await store.openExperiment("e", {}, "h");
    const calls: string[] = [];
    const spy: Scheduler = {
      name: "spy",
      onStart: () => ({}),
      onReport: (t, step, m: Metrics) => {
        calls.push(`report ${t.number}@${step}=${m.acc}`);
        return "continue";
      },
      onEnd: (t) => void calls.push(`end ${t.number} ${t.status}`),
    };
    const reads: [number, number[]][] = [];
    const watched: FeedStore = Object.assign(Object.create(store) as FeedStore, {
      getProgress: (id: number, from: number, skip: readonly number[]) => {
        reads.push([from, [...skip]]);
        return store.getProgress(id, from, skip);
      },
    });
    const added = await otherWorker(store, experiment.id, [
      { acc: 0.1, steps: [1, 2], end: true },
      { acc: 0.2, steps: [1], end: false }, // still running
      { acc: 0.3, steps: [1], end: true },
    ]);
    const feed = new SchedulerFeed(watched, experiment.id, spy);
    feed.markLocal(3); // this process's own trial: its reports reach the scheduler directly
    await store.addTrials(experiment.id, [trial(3)], st(null));
    const mine = (await store.claimTrial!(experiment.id, "me"))!;
    await store.reportIntermediate(mine.trial.id, 1, { acc: 0.9 }, mine.attempt);

    await feed.sync();
    assert.deepEqual(calls, ["report 0@1=0.1", "report 0@2=0.1", "end 0 finished", "report 1@1=0.2", "report 2@1=0.3", "end 2 finished"]);
    calls.length = 0;
    await store.reportIntermediate(added[1].id, 2, { acc: 0.25 }, 1);
    await store.completeTrial(added[1].id, { status: "pruned", metrics: { acc: 0.25 } }, undefined, 1);
    await feed.sync();
    assert.deepEqual(calls, ["report 1@2=0.25", "end 1 pruned"], "only what is new");
    await feed.sync();
    assert.deepEqual(reads, [
      [0, []],
      [1, [2]], // 0 ended: the window starts at 1, and 2 (ended) is skipped
      [3, []], // 1 and 2 ended: from 3 on
    ]);
  } finally {
    await store.close();
  }
});

test("workers with ASHA share their rungs: the saved rung holds every worker's trials once", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-feed-"));
  const budget = 24;
  const stores = [0, 1, 2].map(() => new SqliteStore(join(dir, "w.db")));
  try {
    const slow = sleepySimulator(40);
    await Promise.all(
      stores.map((s, i) =>
        nb201Experiment("random", 4, budget, s, {
          worker: `w${i}`,
          evaluator: slow,
          cache: false,
          scheduler: new AshaScheduler({ seed: 4, fidelity: simulator.fidelity, objectives }, { eta: 3 }),
        }).runWorker({ heartbeatSeconds: 0.2, graceSeconds: 5, pollMs: 20, schedulerSyncMs: 20 }),
      ),
    );
    const trials = await stores[0].getTrials(1);
    assert.equal(trials.length, budget);
    assert.ok(new Set(trials.map((t) => t.worker)).size >= 2, "the work was shared");
    const state = (await stores[0].loadSearchState(1)) as { scheduler: { records: [number, number[]][][] } };
    const rung = state.scheduler.records[0].map(([n]) => n).sort((a, b) => a - b);
    assert.deepEqual(rung, trials.map((t) => t.number), "rung 12 of the last worker's scheduler holds every trial of every worker, once");
    const stopped = trials.filter((t) => t.status === "pruned").length;
    assert.ok(stopped >= budget / 3, `ASHA stopped trials at the rung (${stopped} of ${budget})`);
  } finally {
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
