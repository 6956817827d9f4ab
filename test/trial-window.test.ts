import { st } from "./state-write.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { TrialWindow } from "../src/core/trial-window.js";
import type { Store } from "../src/core/store.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { trial } from "./store-contract.js";

test("trial window: each read fetches only from the first trial not ended for good, and gives the same as a full read", async () => {
  const store = new SqliteStore(":memory:");
  try {
    const { experiment } = await store.openExperiment("e", {}, "h");
    const froms: number[] = [];
    const watched = Object.assign(Object.create(store) as Store, {
      getTrials: (id: number, opts?: { from?: number }) => {
        froms.push(opts?.from ?? 0);
        return store.getTrials(id, opts);
      },
    });
    const window = new TrialWindow(watched, experiment.id);
    const same = async () => assert.deepEqual(await window.read(), await store.getTrials(experiment.id));
    const added = await store.addTrials(experiment.id, [0, 1, 2, 3, 4].map(trial), st(null));
    await same();
    // Ended and told (a driver step heard it): kept from then on. A trial a worker completed is
    // not told yet: a later driver step tells it, so the window reads it again until then.
    const end = (i: number, status: "finished" | "failed" | "pruned" | "paused", told = true) =>
      store.completeTrial(added[i].id, { status, metrics: { acc: i } }, told && status !== "paused" ? { state: null, told: [i], heard: [] } : undefined);
    await end(4, "finished", false);
    await same();
    assert.equal((await store.getTrial(experiment.id, 4))!.toldSeq, null);
    froms.length = 0;
    await same();
    await end(0, "finished");
    await end(1, "failed");
    await end(3, "pruned");
    await same(); // 0 and 1 kept from now on; 2 is pending
    await end(2, "paused"); // paused may still go on: not kept
    await same();
    await store.addTrials(experiment.id, [trial(5)], st(null));
    await same();
    assert.deepEqual(froms, [0, 0, 2, 2]);
  } finally {
    await store.close();
  }
});
