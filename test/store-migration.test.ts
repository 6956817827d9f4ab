import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Store, TrialRecord } from "../src/core/store.js";
import { SqliteStore, SQLITE_SCHEMA_VERSION } from "../src/stores/sqlite.js";
import { PostgresStore, POSTGRES_SCHEMA_VERSION } from "../src/stores/postgres/index.js";
import { ROOT } from "./cli-util.js";
import { inPgSchema, nb201Experiment, trialDigest } from "./helpers.js";

/**
 * Databases written by archsearch 0.1.0 (schema version 3 of both stores), kept as they are in
 * the field: the NB201 + REA experiment of test/helpers.ts, seed 7, stopped after 15 trials of
 * its 30. The current store must move them forward and resume the search exactly where the old
 * release left it. Never regenerate these files with a newer archsearch.
 */
const FIXTURES = join(ROOT, "test/fixtures");
const SQLITE_FIXTURE = join(FIXTURES, "release-0.1-rea.sqlite");
const PG_FIXTURE = join(FIXTURES, "release-0.1-rea.pg.sql");
const RELEASE_SCHEMA_VERSION = 3;
const NAME = "nb201-rea";
const SEED = 7;
const DONE = 15;
const BUDGET = 30;

/** What the old release stored of each trial, which a migration must keep as it was. */
interface OldTrial {
  id: number;
  number: number;
  status: string;
  created_at: number;
  finished_at: number | null;
}

/** What the old release stored: its trials, their intermediate values (metric values per trial id), its search state. */
interface OldData {
  trials: OldTrial[];
  values: Map<number, number>;
  state: unknown;
}

const rowOf = (t: TrialRecord): OldTrial => ({ id: t.id, number: t.number, status: t.status, created_at: t.createdAt, finished_at: t.finishedAt });

/** Intermediate values of a trial, counted (one per metric and step) as the old tables held them. */
async function valuesOf(store: Store, trialId: number): Promise<number> {
  return (await store.getIntermediate(trialId)).reduce((n, v) => n + Object.keys(v.metrics).length, 0);
}

/** The same search run in one go (budget 30) in a fresh store. */
let reference: Promise<{ digest: Awaited<ReturnType<typeof trialDigest>>; state: unknown }> | undefined;
function uninterrupted() {
  reference ??= (async () => {
    const store = new SqliteStore(":memory:");
    const summary = await nb201Experiment("rea", SEED, BUDGET, store).run();
    assert.equal(summary.trials, BUDGET);
    const result = { digest: await trialDigest(store, NAME), state: await store.loadSearchState(1) };
    await store.close();
    return result;
  })();
  return reference;
}

/** Checks a migrated store holding the old release's data, resumes it to the full budget, and compares with an uninterrupted run. */
async function resumeAndCompare(store: Store, data: OldData): Promise<void> {
  const old = data.trials;
  assert.equal(old.length, DONE, "the fixture holds the old release's 15 trials");
  const exp = (await store.getExperiment(NAME))!;
  assert.ok(exp, "the old experiment is there");
  const before = await store.getTrials(exp.id);
  assert.deepEqual(before.map(rowOf), old, "the old trials are kept as they were");
  assert.ok([...data.values.values()].every((n) => n > 0), "the fixture holds intermediate values");
  for (const t of before) assert.equal(await valuesOf(store, t.id), data.values.get(t.id), `the intermediate values of trial ${t.number} are kept`);
  assert.deepEqual(await store.loadSearchState(exp.id), data.state, "the search state is kept");
  // Every old trial got an update sequence number, below the experiment's and below whatever comes next.
  const changes = await store.changedSince(exp.id, 0);
  assert.deepEqual(changes.trials.map((t) => t.number).sort((a, b) => a - b), old.map((t) => t.number));
  assert.equal(new Set(changes.trials.map((t) => t.seq)).size, DONE, "distinct sequence numbers");
  assert.ok(changes.trials.every((t) => Number.isInteger(t.seq) && t.seq > 0));
  assert.ok(exp.seq !== undefined && exp.seq > changes.seq, "the experiment's sequence number is store-wide too");

  const summary = await nb201Experiment("rea", SEED, BUDGET, store).run();
  assert.equal(summary.trials, BUDGET);
  const ref = await uninterrupted();
  assert.deepEqual(await trialDigest(store, NAME), ref.digest, "the resumed search is the uninterrupted one");
  assert.deepEqual(await store.loadSearchState(exp.id), ref.state);

  const after = await store.getTrials(exp.id);
  assert.deepEqual(after.slice(0, DONE).map(rowOf), old, "the old trials were not run again");
  // The sequence goes on above the numbers the migration gave: the new trials are what changed since.
  const since = await store.changedSince(exp.id, changes.seq);
  assert.deepEqual(since.trials.map((t) => t.number), Array.from({ length: BUDGET - DONE }, (_, i) => DONE + i));
  assert.equal((await store.getExperiment(NAME))!.status, "done");
}

test("store migration: a SQLite store written by release 0.1 opens, is migrated to the latest schema, and resumes exactly", { timeout: 120_000 }, async () => {
  const fixture = new Database(SQLITE_FIXTURE, { readonly: true, fileMustExist: true });
  let old: OldData;
  try {
    assert.equal(fixture.pragma("user_version", { simple: true }), RELEASE_SCHEMA_VERSION, "the fixture is at the release's schema version");
    const values = fixture.prepare("SELECT trial_id AS id, count(*) AS n FROM trial_values GROUP BY trial_id").all() as { id: number; n: number }[];
    const state = fixture.prepare("SELECT search_state FROM experiments WHERE name = ?").get(NAME) as { search_state: string };
    old = {
      trials: fixture.prepare("SELECT id, number, status, created_at, finished_at FROM trials ORDER BY number").all() as OldTrial[],
      values: new Map(values.map((v) => [v.id, v.n])),
      state: JSON.parse(state.search_state),
    };
  } finally {
    fixture.close();
  }
  const dir = mkdtempSync(join(tmpdir(), "archsearch-migration-"));
  try {
    const path = join(dir, "old.db");
    copyFileSync(SQLITE_FIXTURE, path);
    const store = new SqliteStore(path);
    try {
      assert.equal(store.schemaVersion(), SQLITE_SCHEMA_VERSION);
      await resumeAndCompare(store, old);
    } finally {
      await store.close();
    }
    // Reopening applies nothing more.
    const again = new SqliteStore(path);
    assert.equal(again.schemaVersion(), SQLITE_SCHEMA_VERSION);
    assert.equal((await again.getTrials(1)).length, BUDGET);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("store migration: a PostgreSQL store written by release 0.1 opens, is migrated to the latest schema, and resumes exactly", { timeout: 120_000 }, () =>
  inPgSchema("mig", async (url, { schema, admin }) => {
    // The dump names its schema __SCHEMA__; it is loaded as one multi-statement query, as pg_dump wrote it.
    await admin.query(readFileSync(PG_FIXTURE, "utf8").replaceAll("__SCHEMA__", schema));
    const versions = await admin.query<{ v: number }>(`SELECT max(version) AS v FROM "${schema}".schema_version`);
    assert.equal(versions.rows[0].v, RELEASE_SCHEMA_VERSION, "the fixture is at the release's schema version");
    const s = `"${schema}"`;
    const values = await admin.query<{ id: number; n: number }>(`SELECT trial_id AS id, count(*)::int AS n FROM ${s}.trial_values GROUP BY trial_id`);
    const state = await admin.query<{ search_state: unknown }>(`SELECT search_state FROM ${s}.experiments WHERE name = $1`, [NAME]);
    const old: OldData = {
      trials: (
        await admin.query<OldTrial>(`SELECT id, number, status, created_at::float8 AS created_at, finished_at::float8 AS finished_at FROM ${s}.trials ORDER BY number`)
      ).rows,
      values: new Map(values.rows.map((v) => [v.id, v.n])),
      state: state.rows[0].search_state,
    };
    const store = await PostgresStore.connect(url);
    try {
      assert.equal(await store.schemaVersion(), POSTGRES_SCHEMA_VERSION);
      const applied = await admin.query<{ version: number }>(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
      assert.deepEqual(applied.rows.map((r) => r.version), Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
      await resumeAndCompare(store, old);
    } finally {
      await store.close();
    }
  }),
);
