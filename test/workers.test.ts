import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stableStringify } from "../src/core/json.js";
import type { Store } from "../src/core/store.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { PostgresStore } from "../src/stores/postgres/index.js";
import { inPgSchema, nb201Experiment, sleepySimulator } from "./helpers.js";

const slowSim = sleepySimulator(15);

const BUDGET = 30;

/** Three workers (each its own store connection, as separate processes would have) share one experiment. */
async function threeWorkers(open: () => Store) {
  const stores = [open(), open(), open()];
  try {
    const summaries = await Promise.all(
      stores.map((s, i) =>
        nb201Experiment("rea", 5, BUDGET, s, { worker: `w${i}`, evaluator: slowSim, budget: { trials: BUDGET, concurrency: 2 } }).runWorker({ heartbeatSeconds: 0.2, graceSeconds: 5, pollMs: 20 }),
      ),
    );
    for (const s of summaries) {
      assert.equal(s.complete, true);
      assert.equal(s.trials, BUDGET, "each worker reports the experiment's totals, read from the store");
    }
    const exp = (await stores[0].getExperiment("nb201-rea"))!;
    assert.equal(exp.status, "done");
    const trials = await stores[0].getTrials(exp.id);
    assert.deepEqual(trials.map((t) => t.number), Array.from({ length: BUDGET }, (_, i) => i), "exactly the budget, numbers never repeated");
    assert.ok(trials.every((t) => t.status === "finished" && t.metrics && typeof t.metrics.valid_acc === "number"));
    assert.equal(new Set(trials.map((t) => stableStringify(t.point))).size, BUDGET, "no suggestion handed out twice");
    const workers = new Set(trials.map((t) => t.worker));
    assert.ok(workers.size >= 2, `the work was shared (workers: ${[...workers].join(", ")})`);
    // Which trials the strategy was told, and in what order, is on the trial rows (toldSeq).
    const told = trials.filter((t) => t.toldSeq != null).map((t) => t.toldSeq!);
    assert.ok(told.length >= BUDGET - 6, "the strategy was told the finished trials (all but the last asks' worth)");
    assert.deepEqual([...told].sort((a, b) => a - b), Array.from({ length: told.length }, (_, i) => i + 1), "no trial told twice: one place in the order each");
  } finally {
    for (const s of stores) await s.close();
  }
}

test("workers: three workers on one SQLite file finish exactly the budget, no duplicate suggestion", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-workers-"));
  try {
    await threeWorkers(() => new SqliteStore(join(dir, "w.db")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("workers: three workers on one PostgreSQL schema finish exactly the budget, no duplicate suggestion", { timeout: 120_000 }, () =>
  inPgSchema("w", (url) => threeWorkers(() => new PostgresStore(url, { poolSize: 3 }))),
);

test("workers: a store without worker support is refused clearly; bad settings are refused", async () => {
  const s = new SqliteStore(":memory:");
  const bare: Store = { ...Object.fromEntries(Object.getOwnPropertyNames(SqliteStore.prototype).map((k) => [k, (s as never)[k]])) } as never;
  delete (bare as Partial<Store>).claimTrial;
  await assert.rejects(nb201Experiment("random", 1, 3, bare).runWorker(), /this store cannot run workers/);
  await assert.rejects(nb201Experiment("random", 1, 3, s).runWorker({ heartbeatSeconds: 5, graceSeconds: 5 }), /grace period \(5 s\) must be longer than the heartbeat interval \(5 s\)/);
  await s.close();
});

test("run() and workers take turns on one experiment: the strategy hears of every ended trial exactly once", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-mix-"));
  const file = join(dir, "mix.db");
  /** Random suggestions; its state lists every trial it was told, in order. */
  const counting = () => {
    let told: number[] = [];
    let i = 0;
    return {
      name: "counting",
      ask: (n: number) =>
        Array.from({ length: n }, () => {
          const ops = [0, 1, 2, 3, 4, 5].map((k) => ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"][Math.floor(i / 5 ** k) % 5]);
          i++;
          return `|${ops[0]}~0|+|${ops[1]}~0|${ops[2]}~1|+|${ops[3]}~0|${ops[4]}~1|${ops[5]}~2|`;
        }),
      tell: (o: { number: number }) => void told.push(o.number),
      state: () => ({ told, i }),
      restore: (s: unknown) => {
        ({ told, i } = s as { told: number[]; i: number });
      },
    };
  };
  const exp = (trials: number) => nb201Experiment("random", 1, trials, new SqliteStore(file), { strategy: counting(), cache: false, budget: { trials } });
  try {
    await exp(6).runWorker({ heartbeatSeconds: 0.2, graceSeconds: 5, pollMs: 20 });
    await exp(12).run();
    await exp(18).runWorker({ heartbeatSeconds: 0.2, graceSeconds: 5, pollMs: 20 });
    await exp(24).run();
    const store = new SqliteStore(file);
    const state = (await store.loadSearchState(1)) as { strategy: { told: number[] } };
    const ended = (await store.getTrials(1)).filter((t) => t.status === "finished").map((t) => t.number);
    await store.close();
    assert.equal(ended.length, 24);
    assert.deepEqual([...state.strategy.told].sort((a, b) => a - b), ended, "each ended trial told once");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("workers suggest ahead: a lone busy worker has its next trial created before the running one ends", { timeout: 120_000 }, async () => {
  // With one worker nobody else drives: without suggesting ahead, each trial would be created only
  // after the previous one ended. Trials of 600 ms; the worker wakes 60 ms before the typical end
  // (known after its first trial; the store needs 3 finished trials for its estimate).
  const slow = sleepySimulator(600);
  const store = new SqliteStore(":memory:");
  try {
    const budget = 10;
    const summary = await nb201Experiment("rea", 3, budget, store, { worker: "solo", evaluator: slow, cache: false }).runWorker({ heartbeatSeconds: 0.5, graceSeconds: 5, pollMs: 20 });
    assert.equal(summary.complete, true);
    const trials = await store.getTrials((await store.getExperiment("nb201-rea"))!.id);
    assert.deepEqual(trials.map((t) => [t.number, t.status]), Array.from({ length: budget }, (_, i) => [i, "finished"]), "exactly the budget, all finished");
    const early = trials.filter((t, i) => i > 0 && t.createdAt < trials[i - 1].finishedAt!).map((t) => t.number);
    assert.ok(early.length >= 1, `a trial was suggested while its predecessor still ran (early: ${early.join(", ") || "none"})`);
    assert.ok(early.every((n) => n >= 4), `only once the store knows a typical duration (3 finished trials): ${early.join(", ")}`);
    const told = (await store.getTrials(1)).filter((t) => t.toldSeq != null).sort((a, b) => a.toldSeq! - b.toldSeq!);
    assert.deepEqual(told.map((t) => t.number).sort((a, b) => a - b), trials.map((t) => t.number), "every trial told once, the last ones too");
    assert.deepEqual(told.map((t) => t.toldSeq), Array.from({ length: budget }, (_, i) => i + 1), "each in its own place of the order told");
  } finally {
    await store.close();
  }
});
