import { st } from "./state-write.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore, SQLITE_SCHEMA_VERSION } from "../src/stores/sqlite.js";
import { openStore } from "../src/stores/open.js";
import { PostgresStore } from "../src/stores/postgres/index.js";
import { changedSinceContractTests, storeContractTests, trial, type StoreFixture } from "./store-contract.js";

// The behaviour shared with every store, on a SQLite file per test (opened once per client).
const sqliteFile = async (): Promise<StoreFixture> => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-store-"));
  const path = join(dir, "x.db");
  return {
    open: async () => new SqliteStore(path),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
};
storeContractTests("sqlite", sqliteFile);
changedSinceContractTests("sqlite", sqliteFile);

test("sqlite: an in-memory store works through the contract's lifecycle", async () => {
  const s = openStore(":memory:");
  const { experiment } = await s.openExperiment("e", {}, "h");
  const [t] = await s.addTrials(experiment.id, [trial(0)], st({ n: 1 }));
  await s.reportIntermediate(t.id, 1, { acc: 1 });
  await s.completeTrial(t.id, { status: "finished", metrics: { acc: 1 } }, st({ n: 2 }));
  assert.deepEqual(await s.loadSearchState(experiment.id), { n: 2 });
  await s.close();
});

test("schema is migrated, data survives reopening, WAL mode on a file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-store-"));
  try {
    const path = join(dir, "sub", "x.db");
    const s1 = new SqliteStore(path);
    assert.equal(s1.schemaVersion(), SQLITE_SCHEMA_VERSION);
    const { experiment, created } = await s1.openExperiment("e", { a: 1 }, "hash");
    assert.ok(created);
    await s1.addTrials(experiment.id, [trial(0), trial(1)], st({ step: 1 }));
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

test("unknown storage schemes and unopenable paths are clear errors", async () => {
  assert.throws(() => openStore("redis://localhost"), /unknown storage "redis:\/\/localhost"/);
  assert.throws(() => openStore("redis://u:secret@localhost"), (e: Error) => /unknown storage "redis:\/\/u:\*\*\*@localhost"/.test(e.message) && !e.message.includes("secret"));
  // postgres:// and postgresql:// URLs open the PostgreSQL store (connecting in the background).
  for (const url of ["postgres://u:secret@127.0.0.1:1/db?schema=s1", "postgresql://u:secret@127.0.0.1:1/db?schema=s1"]) {
    const pg = openStore(url);
    assert.ok(pg instanceof PostgresStore);
    assert.equal(pg.schema, "s1");
    await pg.close();
  }
  assert.throws(() => openStore("postgres://u:secret@h/db?schema=bad-name"), (e: Error) => /invalid schema "bad-name"/.test(e.message) && !e.message.includes("secret"));
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
