import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../src/stores/sqlite.js";
import { openStore } from "../src/stores/open.js";

const trial = (i: number) => ({ point: `p${i}`, arch: `p${i}`, hp: { lr: i / 10 }, archHash: `h${i % 3}` });

test("schema is migrated, data survives reopening, WAL mode on a file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-store-"));
  try {
    const path = join(dir, "sub", "x.db");
    const s1 = new SqliteStore(path);
    assert.equal(s1.schemaVersion(), 1);
    const { experiment, created } = await s1.openExperiment("e", { a: 1 }, "hash");
    assert.ok(created);
    await s1.addTrials(experiment.id, [trial(0), trial(1)], { step: 1 });
    await s1.close();
    const s2 = openStore(`sqlite:${path}`) as SqliteStore;
    const again = await s2.openExperiment("e", { a: 2 }, "other");
    assert.equal(again.created, false);
    assert.deepEqual(again.experiment.config, { a: 1 });
    assert.equal(again.experiment.configHash, "hash");
    assert.deepEqual(await s2.loadSearchState(experiment.id), { step: 1 });
    assert.equal((await s2.getTrials(experiment.id)).length, 2);
    await s2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("trial numbers are consecutive across batches and connections", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-store-"));
  try {
    const a = new SqliteStore(join(dir, "x.db"));
    const b = new SqliteStore(join(dir, "x.db"));
    const { experiment } = await a.openExperiment("e", {}, "h");
    await a.addTrials(experiment.id, [trial(0), trial(1)], null);
    await b.addTrials(experiment.id, [trial(2)], null);
    await a.addTrials(experiment.id, [trial(3)], null);
    assert.deepEqual((await b.getTrials(experiment.id)).map((t) => t.number), [0, 1, 2, 3]);
    await a.close();
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lifecycle: start, per-step per-metric values, completion with state, counts, cache lookup", async () => {
  const s = new SqliteStore(":memory:");
  const { experiment } = await s.openExperiment("e", {}, "h");
  const [t0, t1, t2] = await s.addTrials(experiment.id, [trial(0), trial(1), trial(3)], { asked: 3 });
  assert.equal(t0.status, "pending");
  await s.startTrial(t0.id, { epochs: 200 }, "w1");
  await s.reportIntermediate(t0.id, 12, { valid_acc: 80, loss: 0.5 });
  await s.reportIntermediate(t0.id, 12, { valid_acc: 81 }); // a repeated report overwrites, never duplicates
  await s.reportIntermediate(t0.id, 200, { valid_acc: 90, loss: NaN });
  await s.completeTrial(t0.id, { status: "finished", metrics: { valid_acc: 90, worst: -Infinity }, hidden: { test_acc: 93 }, costSeconds: 12.5 }, { told: 1 });
  const steps = await s.getIntermediate(t0.id);
  assert.deepEqual(steps[0], { step: 12, metrics: { loss: 0.5, valid_acc: 81 } });
  assert.equal(steps[1].metrics.valid_acc, 90);
  assert.ok(Number.isNaN(steps[1].metrics.loss));
  const got = (await s.getTrial(experiment.id, 0))!;
  assert.equal(got.status, "finished");
  assert.deepEqual(got.fidelity, { epochs: 200 });
  assert.equal(got.metrics!.worst, -Infinity);
  assert.deepEqual(got.hidden, { test_acc: 93 });
  assert.equal(got.costSeconds, 12.5);
  assert.equal(got.worker, "w1");
  assert.deepEqual(await s.loadSearchState(experiment.id), { told: 1 });

  await s.startTrial(t1.id, { epochs: 200 }, "w1");
  await s.completeTrial(t1.id, { status: "failed", metrics: null, error: "boom" }, { told: 2 });
  const counts = await s.countTrials(experiment.id);
  assert.deepEqual(counts, { pending: 1, running: 0, paused: 0, finished: 1, failed: 1, pruned: 0 });
  assert.deepEqual((await s.getTrials(experiment.id, { status: ["failed"] })).map((t) => t.error), ["boom"]);

  // t2 shares t0's arch hash (h0) and hp? No: hp differs (0.3 vs 0), so no cache hit.
  assert.equal(await s.findFinished(experiment.id, t2.archHash, t2.hp, { epochs: 200 }), undefined);
  assert.equal((await s.findFinished(experiment.id, "h0", { lr: 0 }, { epochs: 200 }))!.number, 0);
  assert.equal(await s.findFinished(experiment.id, "h0", { lr: 0 }, { epochs: 12 }), undefined, "fidelity is part of the key");
  await s.close();
});

test("unknown storage schemes and unopenable paths are clear errors", () => {
  assert.throws(() => openStore("redis://localhost"), /unknown storage "redis:\/\/localhost"/);
  assert.throws(() => openStore("postgres://u:secret@h/db"), (e: Error) => /PostgreSQL storage/.test(e.message) && !e.message.includes("secret"));
  const dir = mkdtempSync(join(tmpdir(), "archsearch-store-"));
  try {
    const file = join(dir, "plain-file");
    writeFileSync(file, "not a folder");
    assert.throws(() => new SqliteStore(join(file, "x.db")), /Cannot open SQLite store ".*plain-file\/x\.db": .*(ENOTDIR|EEXIST)/);
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, "this is not a database, just text ".repeat(200));
    assert.throws(() => new SqliteStore(garbage), /Cannot open SQLite store ".*garbage\.db": file is not a database/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
