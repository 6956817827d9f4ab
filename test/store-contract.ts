import { st } from "./state-write.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NewTrial, Store, TrialRecord } from "../src/core/store.js";
import { StaleAttemptError } from "../src/core/store.js";
import type { JsonObject } from "../src/core/json.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One isolated place to keep data (a SQLite file, a PostgreSQL schema) that several stores can open. */
export interface StoreFixture {
  /** A new store (its own connection or pool) on this fixture's data. */
  open(): Promise<Store>;
  /** Removes the data (the stores opened are closed by the tests). */
  dispose(): Promise<void>;
}

export const trial = (i: number): NewTrial => ({ point: `p${i}`, arch: `p${i}`, hp: { lr: i / 10 }, archHash: `h${i % 3}` });

/**
 * The behaviour every Store must have, registered as tests for one implementation: `fresh`
 * makes an empty fixture per test.
 */
export function storeContractTests(kind: string, fresh: () => Promise<StoreFixture>): void {
  /** Runs `fn` with a fresh fixture and closes every store it opened, then removes the fixture. */
  const withFixture = async (fn: (open: () => Promise<Store>) => Promise<void>) => {
    const fixture = await fresh();
    const opened: Store[] = [];
    try {
      await fn(async () => {
        const s = await fixture.open();
        opened.push(s);
        return s;
      });
    } finally {
      for (const s of opened) await s.close();
      await fixture.dispose();
    }
  };

  test(`${kind}: data survives reopening; an existing experiment keeps its first config`, () =>
    withFixture(async (open) => {
      const s1 = await open();
      const { experiment, created } = await s1.openExperiment("e", { a: 1, nested: { list: [1, "two", null] } }, "hash");
      assert.ok(created);
      assert.equal(experiment.name, "e");
      assert.equal(experiment.status, "running");
      await s1.addTrials(experiment.id, [trial(0), trial(1)], st({ step: 1 }));
      await s1.close();
      const s2 = await open();
      const again = await s2.openExperiment("e", { a: 2 }, "other");
      assert.equal(again.created, false);
      assert.equal(again.experiment.id, experiment.id);
      assert.deepEqual(again.experiment.config, { a: 1, nested: { list: [1, "two", null] } });
      assert.equal(again.experiment.configHash, "hash");
      assert.deepEqual(await s2.loadSearchState(experiment.id), { step: 1 });
      assert.deepEqual((await s2.getTrials(experiment.id)).map((t) => [t.number, t.point, t.hp]), [
        [0, "p0", { lr: 0 }],
        [1, "p1", { lr: 0.1 }],
      ]);
      assert.equal((await s2.getExperiment("e"))!.id, experiment.id);
      assert.equal(await s2.getExperiment("missing"), undefined);
    }));

  test(`${kind}: trial numbers are consecutive across batches and connections`, () =>
    withFixture(async (open) => {
      const a = await open();
      const b = await open();
      const { experiment } = await a.openExperiment("e", {}, "h");
      const first = await a.addTrials(experiment.id, [trial(0), trial(1)], st(null));
      assert.deepEqual(first.map((t) => [t.number, t.point, t.status]), [
        [0, "p0", "pending"],
        [1, "p1", "pending"],
      ]);
      await b.addTrials(experiment.id, [trial(2)], st(null));
      await a.addTrials(experiment.id, [trial(3)], st(null));
      assert.deepEqual((await b.getTrials(experiment.id)).map((t) => t.number), [0, 1, 2, 3]);
      assert.deepEqual((await b.getTrials(experiment.id)).map((t) => t.point), ["p0", "p1", "p2", "p3"]);
    }));

  test(`${kind}: lifecycle: start, per-step per-metric values, completion with state, counts, cache lookup`, () =>
    withFixture(async (open) => {
      const s = await open();
      const { experiment } = await s.openExperiment("e", {}, "h");
      const [t0, t1, t2] = await s.addTrials(experiment.id, [trial(0), trial(1), trial(3)], st({ asked: 3 }));
      assert.equal(t0.status, "pending");
      await s.startTrial(t0.id, { epochs: 200 }, "w1");
      assert.equal((await s.getTrial(experiment.id, 0))!.status, "running");
      await s.reportIntermediate(t0.id, 12, { valid_acc: 80, loss: 0.5 });
      await s.reportIntermediate(t0.id, 12, { valid_acc: 81 }); // a repeated report overwrites, never duplicates
      await s.reportIntermediate(t0.id, 200, { valid_acc: 90, loss: NaN });
      await s.completeTrial(t0.id, { status: "finished", metrics: { valid_acc: 90, worst: -Infinity }, hidden: { test_acc: 93 }, costSeconds: 12.5 }, st({ told: 1 }));
      const steps = await s.getIntermediate(t0.id);
      assert.equal(steps.length, 2);
      assert.deepEqual(steps[0], { step: 12, metrics: { loss: 0.5, valid_acc: 81 } });
      assert.equal(steps[1].step, 200);
      assert.equal(steps[1].metrics.valid_acc, 90);
      assert.ok(Number.isNaN(steps[1].metrics.loss));
      const got = (await s.getTrial(experiment.id, 0))!;
      assert.equal(got.status, "finished");
      assert.deepEqual(got.fidelity, { epochs: 200 });
      assert.equal(got.metrics!.valid_acc, 90);
      assert.equal(got.metrics!.worst, -Infinity);
      assert.deepEqual(got.hidden, { test_acc: 93 });
      assert.equal(got.costSeconds, 12.5);
      assert.equal(got.worker, "w1");
      assert.ok(got.startedAt! >= got.createdAt && got.finishedAt! >= got.startedAt!, "timestamps in order");
      assert.deepEqual(await s.loadSearchState(experiment.id), { told: 1 });

      await s.startTrial(t1.id, { epochs: 200 }, "w1");
      await s.completeTrial(t1.id, { status: "failed", metrics: null, error: "boom" }, st({ told: 2 }));
      const counts = await s.countTrials(experiment.id);
      assert.deepEqual(counts, { pending: 1, running: 0, paused: 0, finished: 1, failed: 1, pruned: 0 });
      assert.deepEqual((await s.getTrials(experiment.id, { status: ["failed"] })).map((t) => t.error), ["boom"]);
      assert.deepEqual((await s.getTrials(experiment.id, { status: ["failed", "pending"] })).map((t) => t.number), [1, 2]);
      assert.equal((await s.getTrials(experiment.id, { status: [] })).length, 3, "an empty status filter is no filter");

      // t2 shares t0's arch hash (h0) but not its hp (0.3 vs 0): no cache hit.
      assert.equal(await s.findFinished(experiment.id, t2.archHash, t2.hp, { epochs: 200 }), undefined);
      assert.equal((await s.findFinished(experiment.id, "h0", { lr: 0 }, { epochs: 200 }))!.number, 0);
      assert.equal(await s.findFinished(experiment.id, "h0", { lr: 0 }, { epochs: 12 }), undefined, "fidelity is part of the key");
      assert.equal(await s.findFinished(experiment.id, "h1", { lr: 0.1 }, { epochs: 200 }), undefined, "a failed trial is no cache entry");
    }));

  test(`${kind}: reportIntermediate is idempotent, from one client or two`, () =>
    withFixture(async (open) => {
      const a = await open();
      const b = await open();
      const { experiment } = await a.openExperiment("e", {}, "h");
      const [t] = await a.addTrials(experiment.id, [trial(0)], st(null));
      await a.startTrial(t.id, { epochs: 3 }, "w");
      for (let i = 0; i < 2; i++) {
        await a.reportIntermediate(t.id, 1, { acc: 10, loss: 2 });
        await b.reportIntermediate(t.id, 1, { acc: 10, loss: 2 });
        await Promise.all([a.reportIntermediate(t.id, 2, { acc: 20, loss: Infinity }), b.reportIntermediate(t.id, 2, { acc: 20, loss: Infinity })]);
      }
      await b.reportIntermediate(t.id, 0.5, { acc: 5 });
      assert.deepEqual(await a.getIntermediate(t.id), [
        { step: 0.5, metrics: { acc: 5 } },
        { step: 1, metrics: { acc: 10, loss: 2 } },
        { step: 2, metrics: { acc: 20, loss: Infinity } },
      ]);
    }));

  test(`${kind}: experiments are independent (numbers, counts, status, list)`, () =>
    withFixture(async (open) => {
      const s = await open();
      const x = (await s.openExperiment("x", { v: "x" }, "hx")).experiment;
      const y = (await s.openExperiment("y", { v: "y" }, "hy")).experiment;
      assert.notEqual(x.id, y.id);
      await s.addTrials(x.id, [trial(0), trial(1)], st("sx"));
      await s.addTrials(y.id, [trial(5)], st("sy"));
      await s.addTrials(x.id, [trial(2)], st("sx2"));
      assert.deepEqual((await s.getTrials(x.id)).map((t) => t.number), [0, 1, 2]);
      assert.deepEqual((await s.getTrials(y.id)).map((t) => [t.number, t.point]), [[0, "p5"]]);
      assert.equal(await s.loadSearchState(x.id), "sx2");
      assert.equal(await s.loadSearchState(y.id), "sy");
      assert.equal((await s.countTrials(y.id)).pending, 1);
      assert.equal((await s.getTrial(y.id, 1)), undefined);
      await s.setExperimentStatus(x.id, "done");
      const list = await s.listExperiments();
      assert.deepEqual(list.map((e) => [e.name, e.status, e.configHash]), [
        ["x", "done", "hx"],
        ["y", "running", "hy"],
      ]);
    }));

  test(`${kind}: a cache hit records its source and takes the source's fidelity`, () =>
    withFixture(async (open) => {
      const s = await open();
      const { experiment } = await s.openExperiment("e", {}, "h");
      const [a, b] = await s.addTrials(experiment.id, [trial(0), trial(3)], st(null));
      await s.startTrial(a.id, { epochs: 12 }, "w");
      await s.completeTrial(a.id, { status: "finished", metrics: { acc: 1 } }, st(null));
      await s.completeTrial(b.id, { status: "finished", metrics: { acc: 1 }, costSeconds: 0, cachedFrom: 0 }, st(null));
      const got = (await s.getTrial(experiment.id, 1))!;
      assert.equal(got.cachedFrom, 0);
      assert.deepEqual(got.fidelity, { epochs: 12 });
      assert.equal(got.costSeconds, 0);
      assert.equal(got.startedAt, null, "a cache hit never ran");
    }));

  test(`${kind}: a cache hit from another experiment names it and takes that trial's fidelity`, () =>
    withFixture(async (open) => {
      const s = await open();
      const src = (await s.openExperiment("source", {}, "h")).experiment;
      const dst = (await s.openExperiment("reuser", {}, "h")).experiment;
      const [a] = await s.addTrials(src.id, [trial(0)], st(null));
      await s.startTrial(a.id, { epochs: 200 }, "w");
      await s.completeTrial(a.id, { status: "finished", metrics: { acc: 0.9 } }, st(null));
      const hit = await s.findFinished(src.id, a.archHash, a.hp, { epochs: 200 });
      assert.equal(hit?.number, 0);
      const [b] = await s.addTrials(dst.id, [trial(3)], st(null));
      await s.completeTrial(b.id, { status: "finished", metrics: { acc: 0.9 }, costSeconds: 0, cachedFrom: 0, cachedFromExperiment: "source" }, st(null));
      const got = (await s.getTrial(dst.id, 0))!;
      assert.equal(got.cachedFrom, 0);
      assert.equal(got.cachedFromExperiment, "source");
      assert.deepEqual(got.fidelity, { epochs: 200 });
      assert.equal((await s.getTrial(src.id, 0))!.cachedFromExperiment, null);
    }));

  test(`${kind}: JSON values round-trip (nested points, unicode, extreme numbers, state)`, () =>
    withFixture(async (open) => {
      const s = await open();
      const { experiment } = await s.openExperiment("ünïcode ✓", { space: { blocks: [{ op: "conv", k: 3 }] } }, "h");
      const arch: JsonObject = { blocks: [{ op: "conv3x3", width: 64 }, { op: "skip" }], cell: "|a~0|" };
      const hp: JsonObject = { lr: 1e-7, momentum: 0.9, opt: "sgd ✓" };
      const point: JsonObject = { arch, hp };
      const state = { rng: [1, 4294967295, 0], population: [point, point], big: 2 ** 53 - 1, tiny: 5e-324, neg: -0.1 };
      const [t] = await s.addTrials(experiment.id, [{ point, arch, hp, archHash: "x" }], st(state));
      assert.deepEqual(t.point, point);
      const got = (await s.getTrial(experiment.id, 0))!;
      assert.deepEqual(got.point, point);
      assert.deepEqual(got.arch, arch);
      assert.deepEqual(got.hp, hp);
      assert.deepEqual(await s.loadSearchState(experiment.id), state);
      assert.equal((await s.getExperiment("ünïcode ✓"))!.id, experiment.id);
    }));

  test(`${kind}: many concurrent clients adding trials to one experiment get unique consecutive numbers`, { timeout: 60_000 }, () =>
    withFixture(async (open) => {
      const clients = await Promise.all(Array.from({ length: 6 }, () => open()));
      const { experiment } = await clients[0].openExperiment("e", {}, "h");
      // Every client opens the same experiment at the same time: one creates it, all get its id.
      const opened = await Promise.all(clients.map((c) => c.openExperiment("e", {}, "h")));
      assert.ok(opened.every((o) => o.experiment.id === experiment.id && !o.created));
      const batches: TrialRecord[][] = [];
      let label = 0;
      await Promise.all(
        clients.map(async (c, ci) => {
          for (let k = 0; k < 8; k++) {
            const size = 1 + ((ci + k) % 3);
            const trials = Array.from({ length: size }, () => trial(label++));
            batches.push(await c.addTrials(experiment.id, trials, st({ client: ci, batch: k })));
          }
        }),
      );
      const total = batches.reduce((n, b) => n + b.length, 0);
      const all = await clients[0].getTrials(experiment.id);
      assert.equal(all.length, total);
      assert.deepEqual(all.map((t) => t.number), Array.from({ length: total }, (_, i) => i), "no number missing or repeated");
      for (const b of batches) {
        // A batch gets consecutive numbers, and what was returned is what is stored.
        assert.deepEqual(b.map((t) => t.number), Array.from({ length: b.length }, (_, i) => b[0].number + i));
        for (const t of b) assert.equal(all[t.number].point, t.point);
      }
      assert.equal(new Set(all.map((t) => t.point)).size, total, "every added trial stored once");
    }));

  test(`${kind}: concurrent completions from several clients are all recorded`, { timeout: 60_000 }, () =>
    withFixture(async (open) => {
      const clients = await Promise.all(Array.from({ length: 4 }, () => open()));
      const { experiment } = await clients[0].openExperiment("e", {}, "h");
      const trials = await clients[0].addTrials(experiment.id, Array.from({ length: 24 }, (_, i) => trial(i)), st(null));
      await Promise.all(
        trials.map(async (t, i) => {
          const c = clients[i % clients.length];
          await c.startTrial(t.id, { epochs: 1 }, `w${i % clients.length}`);
          await c.reportIntermediate(t.id, 1, { acc: i });
          await c.completeTrial(t.id, { status: i % 5 === 0 ? "failed" : "finished", metrics: { acc: i } }, st({ last: i }));
        }),
      );
      const all = await clients[1].getTrials(experiment.id);
      assert.deepEqual(all.map((t) => t.metrics!.acc), Array.from({ length: 24 }, (_, i) => i));
      assert.deepEqual(all.map((t) => t.worker), all.map((_, i) => `w${i % clients.length}`));
      assert.deepEqual(await clients[2].countTrials(experiment.id), { pending: 0, running: 0, paused: 0, finished: 19, failed: 5, pruned: 0 });
      const state = (await clients[3].loadSearchState(experiment.id)) as { last: number };
      assert.ok(state.last >= 0 && state.last < 24);
    }));

  test(`${kind}: operations on a trial that does not exist fail clearly`, () =>
    withFixture(async (open) => {
      const s = await open();
      await s.openExperiment("e", {}, "h");
      await assert.rejects(s.completeTrial(999_999, { status: "finished", metrics: {} }, st(null)), /no trial with id 999999/);
      assert.equal(await s.getTrial(1, 0), undefined);
      assert.deepEqual(await s.getIntermediate(999_999), []);
    }));

  test(`${kind}: workers claim distinct pending trials atomically, lowest number first`, { timeout: 60_000 }, () =>
    withFixture(async (open) => {
      const clients = await Promise.all(Array.from({ length: 3 }, () => open()));
      const { experiment } = await clients[0].openExperiment("e", {}, "h");
      await clients[0].addTrials(experiment.id, Array.from({ length: 7 }, (_, i) => trial(i)), st(null));
      const claims = (
        await Promise.all(clients.flatMap((c, ci) => [0, 1, 2].map(() => c.claimTrial!(experiment.id, `w${ci}`))))
      ).filter((x) => x !== undefined);
      assert.equal(claims.length, 7, "every pending trial claimed once, the extra claims get nothing");
      assert.deepEqual(claims.map((c) => c!.trial.number).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
      assert.ok(claims.every((c) => c!.attempt === 1 && c!.trial.status === "running" && c!.trial.worker!.startsWith("w")));
      assert.equal(await clients[1].claimTrial!(experiment.id, "late"), undefined);
      assert.deepEqual((await clients[0].countTrials(experiment.id)).running, 7);
    }));

  test(`${kind}: a reclaimed attempt is fenced off: its heartbeat, reports, start and completion are rejected`, { timeout: 60_000 }, () =>
    withFixture(async (open) => {
      const s = await open();
      const other = await open();
      const { experiment } = await s.openExperiment("e", {}, "h");
      const [t] = await s.addTrials(experiment.id, [trial(0)], st({ v: 1 }));
      const first = (await s.claimTrial!(experiment.id, "w1"))!;
      assert.equal(first.trial.id, t.id);
      await s.startTrial(t.id, { epochs: 1 }, "w1", first.attempt);
      await s.reportIntermediate(t.id, 1, { acc: 1 }, first.attempt);
      assert.equal(await s.heartbeat!(t.id, first.attempt), true);
      assert.deepEqual(await other.reclaimStale!(experiment.id, 60_000, 2), { retried: [], failed: [] }, "a beating trial is not reclaimed");
      await sleep(60);
      assert.deepEqual(await other.reclaimStale!(experiment.id, 20, 2), { retried: [0], failed: [] });
      const requeued = (await s.getTrial(experiment.id, 0))!;
      assert.equal(requeued.status, "pending");
      assert.match(requeued.error!, /worker w1 stopped beating during trial 0; retried 0 times/);
      assert.deepEqual(await s.getIntermediate(t.id), [], "the dead attempt's values are dropped");

      const second = (await other.claimTrial!(experiment.id, "w2"))!;
      assert.equal(second.trial.number, 0, "a retry keeps its trial number");
      assert.equal(second.attempt, 2);
      // The first worker wakes up late: every write of its attempt is refused or ignored.
      assert.equal(await s.heartbeat!(t.id, first.attempt), false);
      await s.reportIntermediate(t.id, 5, { acc: 5 }, first.attempt);
      await assert.rejects(s.startTrial(t.id, { epochs: 1 }, "w1", first.attempt), StaleAttemptError);
      await assert.rejects(s.completeTrial(t.id, { status: "finished", metrics: { acc: 99 } }, undefined, first.attempt), /stale attempt 1 of trial/);
      assert.deepEqual(await s.getIntermediate(t.id), []);

      await other.reportIntermediate(t.id, 1, { acc: 2 }, second.attempt);
      await other.completeTrial(t.id, { status: "finished", metrics: { acc: 3 } }, undefined, second.attempt);
      await other.completeTrial(t.id, { status: "finished", metrics: { acc: 3 } }, undefined, second.attempt); // a repeated report: no-op
      await assert.rejects(s.completeTrial(t.id, { status: "failed", metrics: null, error: "late" }, undefined, first.attempt), StaleAttemptError);
      const done = (await s.getTrial(experiment.id, 0))!;
      assert.equal(done.status, "finished");
      assert.deepEqual(done.metrics, { acc: 3 });
      assert.equal(done.worker, "w2");
      assert.equal(done.error, null);
      assert.deepEqual(await s.getIntermediate(t.id), [{ step: 1, metrics: { acc: 2 } }]);
      assert.deepEqual(await s.loadSearchState(experiment.id), { v: 1 }, "a worker's completion leaves the search state alone");
      assert.deepEqual((await s.getTrials(experiment.id)).map((x) => x.number), [0], "no second trial appeared");
    }));

  test(`${kind}: a trial whose worker keeps dying fails after the retry limit with a clear error`, { timeout: 60_000 }, () =>
    withFixture(async (open) => {
      const s = await open();
      const { experiment } = await s.openExperiment("e", {}, "h");
      await s.addTrials(experiment.id, [trial(0), trial(1)], st(null));
      await s.claimTrial!(experiment.id, "w1");
      await sleep(60);
      assert.deepEqual(await s.reclaimStale!(experiment.id, 20, 1), { retried: [0], failed: [] });
      const again = (await s.claimTrial!(experiment.id, "w2"))!;
      assert.equal(again.trial.number, 0);
      await sleep(60);
      assert.deepEqual(await s.reclaimStale!(experiment.id, 20, 1), { retried: [], failed: [0] });
      const t = (await s.getTrial(experiment.id, 0))!;
      assert.equal(t.status, "failed");
      assert.equal(t.error, "worker w2 stopped beating during trial 0; retried 1 times");
      assert.ok(t.finishedAt !== null);
      assert.equal((await s.claimTrial!(experiment.id, "w3"))!.trial.number, 1, "a failed trial is never claimed again");
      assert.equal(await s.claimTrial!(experiment.id, "w3"), undefined);
    }));

  test(`${kind}: one driver lease holder at a time, released when it is done`, { timeout: 60_000 }, () =>
    withFixture(async (open) => {
      const a = await open();
      const b = await open();
      const { experiment } = await a.openExperiment("e", {}, "h");
      let inside = false;
      const held = await a.withDriverLease!(experiment.id, "a", async () => {
        inside = true;
        const tryB = await b.withDriverLease!(experiment.id, "b", async () => "b ran");
        assert.deepEqual(tryB, { acquired: false });
        return "a ran";
      });
      assert.ok(inside);
      assert.deepEqual(held, { acquired: true, value: "a ran" });
      assert.deepEqual(await b.withDriverLease!(experiment.id, "b", async () => 7), { acquired: true, value: 7 });
      await assert.rejects(a.withDriverLease!(experiment.id, "a", async () => { throw new Error("driver failed"); }), /driver failed/);
      assert.deepEqual(await b.withDriverLease!(experiment.id, "b", async () => 8), { acquired: true, value: 8 }, "released after an error");
    }));

  test(`${kind}: progress of started trials from a number up, skipping given ones, with their values (NaN and infinities kept)`, { timeout: 60_000 }, () =>
    withFixture(async (open) => {
      const a = await open();
      const { experiment } = await a.openExperiment("e", {}, "h");
      const added = await a.addTrials(experiment.id, [trial(0), trial(1), trial(2), trial(3)], st(null));
      for (const n of [0, 1, 2]) await a.claimTrial!(experiment.id, `w${n}`);
      await a.reportIntermediate(added[0].id, 1, { acc: 0.5, loss: NaN });
      await a.reportIntermediate(added[0].id, 3, { acc: 0.75, loss: -Infinity }, 1);
      await a.completeTrial(added[0].id, { status: "finished", metrics: { acc: 0.8 } }, undefined, 1);
      await a.reportIntermediate(added[2].id, 1, { acc: 0.25 }, 1);
      const all = await a.getProgress!(experiment.id, 0, []);
      assert.deepEqual(
        all.map((p) => [p.trial.number, p.trial.status, p.values]),
        [
          [0, "finished", [{ step: 1, metrics: { acc: 0.5, loss: NaN } }, { step: 3, metrics: { acc: 0.75, loss: -Infinity } }]],
          [1, "running", []],
          [2, "running", [{ step: 1, metrics: { acc: 0.25 } }]],
        ],
        "started trials only (3 is pending), values grouped by step",
      );
      assert.deepEqual(all[0].trial.metrics, { acc: 0.8 });
      assert.deepEqual((await a.getProgress!(experiment.id, 1, [])).map((p) => p.trial.number), [1, 2], "from a number up");
      assert.deepEqual((await a.getProgress!(experiment.id, 0, [0, 2])).map((p) => p.trial.number), [1], "skipping the given numbers");
    }));

  test(`${kind}: trials from a number up, with or without a status filter`, () =>
    withFixture(async (open) => {
      const a = await open();
      const { experiment } = await a.openExperiment("e", {}, "h");
      const added = await a.addTrials(experiment.id, [0, 1, 2, 3, 4].map(trial), st(null));
      await a.completeTrial(added[3].id, { status: "finished", metrics: { acc: 1 } }, undefined);
      assert.deepEqual((await a.getTrials(experiment.id, { from: 2 })).map((t) => t.number), [2, 3, 4]);
      assert.deepEqual((await a.getTrials(experiment.id, { from: 2, status: ["pending"] })).map((t) => t.number), [2, 4]);
      assert.deepEqual((await a.getTrials(experiment.id, { from: 9 })).map((t) => t.number), []);
    }));
}

/**
 * The update sequence (StoreReader.changedSince), registered as tests for one implementation:
 * after each kind of write the trials it changed show up, in the order of their changes, and
 * the others do not.
 */
export function changedSinceContractTests(kind: string, fresh: () => Promise<StoreFixture>): void {
  const withStore = async (fn: (s: Store, open: () => Promise<Store>) => Promise<void>) => {
    const fixture = await fresh();
    const opened: Store[] = [];
    const open = async () => {
      const s = await fixture.open();
      opened.push(s);
      return s;
    };
    try {
      await fn(await open(), open);
    } finally {
      for (const s of opened) await s.close();
      await fixture.dispose();
    }
  };

  test(`${kind}: changedSince: every kind of write shows the trials it changed, and only those; heartbeats and reports are no change`, { timeout: 60_000 }, () =>
    withStore(async (s) => {
      const { experiment } = await s.openExperiment("e", {}, "h");
      const other = (await s.openExperiment("other", {}, "h")).experiment;
      assert.deepEqual(await s.changedSince(experiment.id, 0), { trials: [], seq: 0 }, "nothing yet");
      let watermark = 0;
      /** The trials changed since the last look: exactly `numbers`, in that order, as they are now. */
      const changed = async (what: string, numbers: number[]) => {
        const c = await s.changedSince(experiment.id, watermark);
        assert.deepEqual(c.trials.map((t) => t.number), numbers, what);
        let last = watermark;
        for (const t of c.trials) {
          assert.ok(Number.isInteger(t.seq) && t.seq > last, `${what}: sequence numbers increase (${t.seq} after ${last})`);
          last = t.seq;
          assert.deepEqual(t, await s.getTrial(experiment.id, t.number), `${what}: trial ${t.number} as it is now`);
        }
        assert.equal(c.seq, last, `${what}: the watermark is the last sequence number given`);
        watermark = c.seq;
        return c.trials;
      };

      const added = await s.addTrials(experiment.id, [trial(0), trial(1), trial(2), trial(3)], st({ n: 1 }));
      assert.ok(added.every((t) => typeof t.seq === "number"), "records carry their sequence number");
      await changed("added", [0, 1, 2, 3]);
      await changed("nothing since", []);

      // The experiment loop: start, report, pause, complete.
      await s.startTrial(added[0].id, { epochs: 12 }, "local");
      await changed("started", [0]);
      await s.reportIntermediate(added[0].id, 1, { acc: 0.5 });
      await s.reportIntermediate(added[0].id, 1, { acc: 0.6 });
      await changed("an intermediate report is no change", []);
      await s.completeTrial(added[0].id, { status: "paused", metrics: { acc: 0.6 } }, st({ n: 2 }));
      const [paused] = await changed("paused", [0]);
      assert.equal(paused.status, "paused");
      await s.startTrial(added[1].id, { epochs: 12 }, "local");
      await s.completeTrial(added[1].id, { status: "finished", metrics: { acc: 0.7 } }, st({ n: 3 }));
      const [finished] = await changed("started then finished: once, as it is now", [1]);
      assert.equal(finished.status, "finished");

      // Another experiment's trials are not this one's, and the sequence is store-wide.
      const [elsewhere] = await s.addTrials(other.id, [trial(9)], st(null));
      await changed("another experiment's writes", []);
      assert.ok(elsewhere.seq! > watermark, "one sequence for the whole store");
      assert.deepEqual((await s.changedSince(other.id, 0)).trials.map((t) => t.number), [0]);

      // Workers: claim, heartbeat, report, start, complete (fenced).
      const claim = (await s.claimTrial!(experiment.id, "w1"))!;
      assert.equal(claim.trial.number, 2);
      await changed("claimed", [2]);
      assert.equal(await s.heartbeat!(claim.trial.id, claim.attempt), true);
      await s.reportIntermediate(claim.trial.id, 1, { acc: 0.1 }, claim.attempt);
      await changed("a heartbeat and a worker's report are no change", []);
      await s.startTrial(claim.trial.id, { epochs: 12 }, "w1", claim.attempt);
      await changed("started by its worker", [2]);
      await s.completeTrial(claim.trial.id, { status: "finished", metrics: { acc: 0.8 } }, undefined, claim.attempt);
      await changed("completed by its worker", [2]);
      await s.completeTrial(claim.trial.id, { status: "finished", metrics: { acc: 0.8 } }, undefined, claim.attempt);
      await changed("a repeated completion is no change", []);

      // Reclaiming a dead worker's trial: back to pending, then failed.
      const dying = (await s.claimTrial!(experiment.id, "w2"))!;
      assert.equal(dying.trial.number, 3);
      await changed("claimed", [3]);
      await sleep(60);
      assert.deepEqual(await s.reclaimStale!(experiment.id, 20, 1), { retried: [3], failed: [] });
      const [requeued] = await changed("reclaimed for a retry", [3]);
      assert.equal(requeued.status, "pending");
      assert.equal(await s.heartbeat!(dying.trial.id, dying.attempt), false);
      await assert.rejects(s.completeTrial(dying.trial.id, { status: "finished", metrics: { acc: 1 } }, undefined, dying.attempt), StaleAttemptError);
      await changed("a stale attempt's writes are no change", []);
      await s.claimTrial!(experiment.id, "w3");
      await sleep(60);
      assert.deepEqual(await s.reclaimStale!(experiment.id, 20, 1), { retried: [], failed: [3] });
      const [failed] = await changed("claimed again, then failed after the retry limit", [3]);
      assert.equal(failed.status, "failed");
      assert.deepEqual(await s.reclaimStale!(experiment.id, 20, 1), { retried: [], failed: [] });
      await changed("a reclaim that finds nothing", []);

      // A promotion driver's step: new trials, then the continued one; then one ended for good.
      const v0 = (await s.loadVersionedState(experiment.id))!.version;
      const step = await s.commitDriverStep!(experiment.id, { add: [trial(4)], resume: [0], end: [], state: st({ v: 1 }), stateVersion: v0 });
      assert.deepEqual(step!.map((t) => t.number), [4]);
      const resumed = await changed("a driver step: the new trial, then the continued one", [4, 0]);
      assert.equal(resumed[1].status, "pending");
      const again = (await s.claimTrial!(experiment.id, "w4"))!;
      assert.equal(again.trial.number, 0);
      await s.completeTrial(again.trial.id, { status: "paused", metrics: { acc: 0.65 } }, undefined, again.attempt);
      await changed("claimed and paused again", [0]);
      assert.equal(await s.commitDriverStep!(experiment.id, { add: [], resume: [], end: [0], state: st({ v: 1 }), stateVersion: v0 }), undefined);
      await changed("a fenced-off driver step is no change", []);
      await s.commitDriverStep!(experiment.id, { add: [], resume: [], end: [0], state: st({ v: 2 }), stateVersion: v0 + 1 });
      const [ended] = await changed("a driver step that ends a paused trial", [0]);
      assert.equal(ended.status, "pruned");

      // A cache hit's completion (never started).
      await s.completeTrial(step![0].id, { status: "finished", metrics: { acc: 0.7 }, costSeconds: 0, cachedFrom: 1 }, st({ n: 4 }));
      await changed("a cache hit", [4]);

      // Everything, from the start, in pages: each trial once, at its latest change.
      const all = await s.changedSince(experiment.id, 0);
      assert.deepEqual(all.trials.map((t) => t.number), [1, 2, 3, 0, 4]);
      assert.equal(all.seq, watermark);
      const pages: number[][] = [];
      for (let from = 0; ; ) {
        const page = await s.changedSince(experiment.id, from, 2);
        if (page.trials.length === 0) break;
        pages.push(page.trials.map((t) => t.number));
        from = page.seq;
      }
      assert.deepEqual(pages, [[1, 2], [3, 0], [4]]);
      await assert.rejects(s.changedSince(experiment.id, 0, 0), RangeError);
      await assert.rejects(s.changedSince(experiment.id, 0, 1.5), RangeError);
    }));

  test(`${kind}: changedSince: an experiment's own sequence number moves with its status and search state only`, () =>
    withStore(async (s) => {
      const { experiment } = await s.openExperiment("e", {}, "h");
      const seqOf = async () => (await s.getExperiment("e"))!.seq!;
      const created = await seqOf();
      assert.ok(Number.isInteger(created) && created > 0);
      assert.equal(experiment.seq, created);
      const [t] = await s.addTrials(experiment.id, [trial(0)], st({ n: 1 }));
      const withState = await seqOf();
      assert.ok(withState > created, "a new search state");
      assert.ok(withState !== t.seq, "one sequence for trials and experiments");
      const claimed = (await s.claimTrial!(experiment.id, "w"))!;
      await s.heartbeat!(t.id, claimed.attempt);
      await s.reportIntermediate(t.id, 1, { acc: 1 }, claimed.attempt);
      await s.completeTrial(t.id, { status: "finished", metrics: { acc: 1 } }, undefined, claimed.attempt);
      assert.equal(await seqOf(), withState, "trial writes that leave the state alone do not change the experiment");
      await s.setExperimentStatus(experiment.id, "done");
      const done = await seqOf();
      assert.ok(done > withState, "a new status");
      assert.ok(done > (await s.getTrial(experiment.id, 0))!.seq!);
      assert.equal((await s.listExperiments())[0].seq, done);
    }));

  test(`${kind}: changedSince: a reader polling while several clients write ends with every trial's latest state`, { timeout: 60_000 }, () =>
    withStore(async (s, open) => {
      const writers = await Promise.all(Array.from({ length: 4 }, () => open()));
      const { experiment } = await s.openExperiment("e", {}, "h");
      const seen = new Map<number, TrialRecord>();
      let watermark = 0;
      const poll = async () => {
        const c = await s.changedSince(experiment.id, watermark);
        for (const t of c.trials) {
          assert.ok(t.seq > watermark);
          seen.set(t.number, t);
        }
        watermark = c.seq;
      };
      let writing = true;
      const reader = (async () => {
        while (writing) {
          await poll();
          await sleep(1);
        }
      })();
      await Promise.all(
        writers.map(async (w, wi) => {
          for (let k = 0; k < 6; k++) {
            const [t] = await w.addTrials(experiment.id, [trial(wi * 10 + k)], st({ w: wi, k }));
            await w.startTrial(t.id, { epochs: 1 }, `w${wi}`);
            await w.reportIntermediate(t.id, 1, { acc: k });
            await w.completeTrial(t.id, { status: k % 3 === 0 ? "failed" : "finished", metrics: { acc: k } }, k % 2 === 0 ? st({ w: wi, k }) : undefined);
          }
        }),
      );
      writing = false;
      await reader;
      await poll();
      const now = await s.getTrials(experiment.id);
      assert.equal(now.length, 24);
      assert.deepEqual(
        [...seen.values()].sort((a, b) => a.number - b.number).map((t) => [t.number, t.status, t.seq, t.metrics]),
        now.map((t) => [t.number, t.status, t.seq, t.metrics]),
        "the reader missed no change",
      );
    }));
}
