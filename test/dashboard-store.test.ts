import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { SqliteStore } from "../src/stores/sqlite.js";
import { ExperimentCache } from "../src/server/experiment-cache.js";
import { startDashboard } from "../src/server/index.js";
import { run } from "./dashboard-util.js";

/** A store made by a real run (each trial changed several times: added, started, ended). */
function madeByRun(): string {
  const db = join(mkdtempSync(join(tmpdir(), "archsearch-dash-store-")), "s.db");
  run(["run", "examples/nb201-rea.yaml", "--storage", db, "--trials", "30", "-q"]);
  return db;
}

test("allTrials (the dashboard's first load) gives what changedSince(0) gives, in the same order, with the same watermark", async () => {
  const db = madeByRun();
  const store = new SqliteStore(db, { readOnly: true });
  try {
    const [e] = await store.listExperiments();
    const slow = await store.changedSince(e.id, 0);
    const fast = await store.allTrials(e.id);
    assert.equal(fast.trials.length, 30);
    assert.deepEqual(fast, slow);
    // the cache loaded by it matches one loaded slice by slice
    const a = new ExperimentCache(store, e);
    await a.refresh();
    const b = new ExperimentCache({ ...bind(store), allTrials: undefined }, e);
    await b.refresh();
    assert.equal(a.seq, b.seq);
    assert.deepEqual([...a.trials.values()].map((t) => [t.rec.number, t.seq, t.cols]), [...b.trials.values()].map((t) => [t.rec.number, t.seq, t.cols]));
    assert.deepEqual(a.best, b.best);
  } finally {
    await store.close();
  }
});

test("the server reads every experiment's trials when it starts, before any page asks", async () => {
  const db = madeByRun();
  const d = await startDashboard({ storage: db, port: 0, log: () => {} });
  try {
    assert.equal(d.hub.loaded("nb201-rea-cifar10"), undefined); // nothing read yet when it starts listening
    await d.preloaded;
    assert.equal(d.hub.loaded("nb201-rea-cifar10")?.trials.size, 30);
  } finally {
    await d.close();
  }
});

/** The store's reader methods bound to it, so that one can be left out. */
function bind(store: SqliteStore) {
  return {
    getExperiment: store.getExperiment.bind(store),
    listExperiments: store.listExperiments.bind(store),
    loadSearchState: store.loadSearchState.bind(store),
    loadVersionedState: store.loadVersionedState.bind(store),
    getTrials: store.getTrials.bind(store),
    getTrial: store.getTrial.bind(store),
    getIntermediate: store.getIntermediate.bind(store),
    countTrials: store.countTrials.bind(store),
    findFinished: store.findFinished.bind(store),
    getArtifact: store.getArtifact.bind(store),
    listArtifacts: store.listArtifacts.bind(store),
    changedSince: store.changedSince.bind(store),
  };
}
