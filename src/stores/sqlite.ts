import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Json, JsonObject } from "../core/json.js";
import { stableStringify } from "../core/json.js";
import type { Metrics } from "../core/evaluator.js";
import type { Fidelity } from "../core/scheduler.js";
import type {
  ExperimentRecord,
  IntermediateValue,
  NewTrial,
  Store,
  TrialChanges,
  TrialCompletion,
  TrialRecord,
  TrialStatus,
  ChangedTrial,
} from "../core/store.js";
import { StaleAttemptError, TRIAL_STATUSES } from "../core/store.js";
import type { ArtifactRecord, ClaimedTrial, DriverLease, DriverStep, LeaseResult, ReclaimResult, StateWrite, StoredState, TrialProgress } from "../core/store.js";
import { runKey } from "../core/search-state.js";
import { UserError } from "../core/errors.js";
import { cacheKey, checkLimit, groupValues } from "./common.js";
import { type ArtifactRow, type ClaimedTrialRow, type ExperimentRow, type TrialRow, EXPERIMENT_LEVEL, int, metricsText, toArtifact, toExperiment as experimentFromRow, toTrial as trialFromRow } from "./rows.js";
import { checkSqliteReadable, migrateSqlite, refuseForeignTables, sqliteSchemaVersion } from "./sqlite/migrations.js";

export { SQLITE_SCHEMA_VERSION } from "./sqlite/migrations.js";

/** How long a SQLite driver lease lasts without being released (its holder died). */
export const SQLITE_DRIVER_LEASE_MS = 30_000;


/** The trials table's columns a TrialRecord is made of (allTrials reads them by position). */
const TRIAL_COLUMNS = ["id", "experiment_id", "number", "status", "point", "arch", "hp", "arch_hash", "fidelity", "metrics", "hidden", "cost_s", "cached_from", "cached_from_experiment", "error", "worker", "created_at", "started_at", "finished_at", "seq", "told_seq", "heard", "data_version"] as const;

/** A raw row of TRIAL_COLUMNS as a TrialRow (one object literal: one shape for every row, which the JIT keeps fast). */
function rawTrialRow(c: unknown[]): TrialRow {
  return {
    id: c[0], experiment_id: c[1], number: c[2], status: c[3], point: c[4], arch: c[5], hp: c[6], arch_hash: c[7], fidelity: c[8], metrics: c[9], hidden: c[10],
    cost_s: c[11], cached_from: c[12], cached_from_experiment: c[13], error: c[14], worker: c[15], created_at: c[16], started_at: c[17], finished_at: c[18],
    seq: c[19], told_seq: c[20], heard: c[21], data_version: c[22],
  } as TrialRow;
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export { cacheKey };

const toTrial = (r: TrialRow) => trialFromRow(r, "sqlite");
const toExperiment = (r: ExperimentRow) => experimentFromRow(r, "sqlite");
const metricsJson = (m: Metrics | null | undefined) => metricsText(m, "sqlite");

/**
 * The embedded store: one SQLite file in WAL mode (or ":memory:" for tests). Several processes
 * may open the same file; writes are short IMMEDIATE transactions with a busy timeout.
 */
export class SqliteStore implements Store {
  readonly path: string;
  private readonly db: Database.Database;
  /** The update sequence's bump (prepared once: every write runs it). */
  private bumpSeq?: Database.Statement;

  /**
   * `readOnly`: opens an existing file for reading only (SQLite refuses every write on the
   * connection) and runs no migration: a file that is not an archsearch store of this version
   * is refused with what to do, rather than moved forward.
   */
  constructor(path: string, opts: { readOnly?: boolean } = {}) {
    this.path = path;
    try {
      if (opts.readOnly) {
        this.db = new Database(path, { readonly: true, fileMustExist: true, timeout: 30_000 });
        checkSqliteReadable(this.db);
        return;
      }
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path, { timeout: 30_000 });
      refuseForeignTables(this.db); // before anything changes the file (its journal mode included)
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.pragma("foreign_keys = ON");
      migrateSqlite(this.db);
    } catch (e) {
      throw new UserError(`Cannot open SQLite store "${path}": ${(e as Error).message}`);
    }
  }

  /** Applied schema version (number of migrations run). */
  schemaVersion(): number {
    return sqliteSchemaVersion(this.db);
  }

  /**
   * The next value of the store-wide update sequence (see StoreReader.changedSince). Called inside
   * the write transaction that uses it: SQLite runs one write transaction at a time, so sequence
   * order is commit order.
   */
  private nextSeq(): number {
    this.bumpSeq ??= this.db.prepare("UPDATE seq_counter SET value = value + 1 WHERE id = 0 RETURNING value");
    return (this.bumpSeq.get() as { value: number }).value;
  }

  async openExperiment(name: string, config: JsonObject, configHash: string) {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT * FROM experiments WHERE name = ?").get(name) as ExperimentRow | undefined;
      if (row) return { experiment: toExperiment(row), created: false };
      const now = Date.now();
      this.db
        .prepare("INSERT INTO experiments (name, config, config_hash, created_at, updated_at, seq) VALUES (?, ?, ?, ?, ?, ?)")
        .run(name, JSON.stringify(config), configHash, now, now, this.nextSeq());
      const created = this.db.prepare("SELECT * FROM experiments WHERE name = ?").get(name) as ExperimentRow;
      return { experiment: toExperiment(created), created: true };
    }).immediate();
  }

  async getExperiment(name: string) {
    const row = this.db.prepare("SELECT * FROM experiments WHERE name = ?").get(name) as ExperimentRow | undefined;
    return row ? toExperiment(row) : undefined;
  }

  async listExperiments() {
    return (this.db.prepare("SELECT * FROM experiments ORDER BY id").all() as ExperimentRow[]).map(toExperiment);
  }

  async deleteExperiment(experimentId: number) {
    // trials, trial_values and artifacts go with it (ON DELETE CASCADE)
    this.db.prepare("DELETE FROM experiments WHERE id = ?").run(experimentId);
  }

  async setExperimentStatus(experimentId: number, status: ExperimentRecord["status"]) {
    this.db.transaction(() => {
      this.db.prepare("UPDATE experiments SET status = ?, updated_at = ?, seq = ? WHERE id = ?").run(status, Date.now(), this.nextSeq(), experimentId);
    }).immediate();
  }

  async loadSearchState(experimentId: number) {
    return (await this.loadVersionedState(experimentId))?.state;
  }

  async loadVersionedState(experimentId: number): Promise<StoredState | undefined> {
    const row = this.db.prepare("SELECT search_state, state_version FROM experiments WHERE id = ?").get(experimentId) as
      | { search_state: string | null; state_version: number }
      | undefined;
    return row?.search_state ? { state: JSON.parse(row.search_state) as Json, version: row.state_version } : undefined;
  }

  /**
   * Saves the search state, one version on, with its marks: the trials told since the last write
   * get the next told numbers in order, the trials heard get the key of their run as it stands
   * (inside the caller's transaction, after the trial rows' own changes).
   */
  private saveState(experimentId: number, w: StateWrite): void {
    this.db
      .prepare("UPDATE experiments SET search_state = ?, state_version = state_version + 1, updated_at = ?, seq = ? WHERE id = ?")
      .run(JSON.stringify(w.state), Date.now(), this.nextSeq(), experimentId);
    if (w.told.length > 0) {
      let next = (this.db.prepare("SELECT COALESCE(MAX(told_seq), 0) AS m FROM trials WHERE experiment_id = ?").get(experimentId) as { m: number }).m;
      const mark = this.db.prepare("UPDATE trials SET told_seq = ? WHERE experiment_id = ? AND number = ? AND told_seq IS NULL");
      for (const n of w.told) if (mark.run(next + 1, experimentId, n).changes === 1) next++;
    }
    if (w.heard.length > 0) {
      const read = this.db.prepare("SELECT status, fidelity FROM trials WHERE experiment_id = ? AND number = ?");
      const mark = this.db.prepare("UPDATE trials SET heard = ? WHERE experiment_id = ? AND number = ?");
      for (const n of w.heard) {
        const r = read.get(experimentId, n) as { status: string; fidelity: string | null } | undefined;
        if (r) mark.run(runKey({ status: r.status, fidelity: parse<Fidelity>(r.fidelity) }), experimentId, n);
      }
    }
  }

  async addTrials(experimentId: number, trials: NewTrial[], searchState: StateWrite, expectedCount?: number, expectedVersion?: number) {
    return this.db.transaction(() => {
      if (expectedCount !== undefined && this.nextNumber(experimentId) !== expectedCount) return []; // the experiment moved on since the caller looked
      if (expectedVersion !== undefined && this.stateVersion(experimentId) !== expectedVersion) return []; // another driver wrote a state since
      const added = this.insertTrials(experimentId, trials);
      this.saveState(experimentId, searchState);
      return added;
    }).immediate();
  }

  async commitDriverStep(experimentId: number, step: DriverStep): Promise<TrialRecord[] | undefined> {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT state_version AS v FROM experiments WHERE id = ?").get(experimentId) as { v: number } | undefined;
      if (!row) throw new Error(`no experiment with id ${experimentId}`);
      if (row.v !== step.stateVersion) return undefined; // another driver moved on
      const added = this.insertTrials(experimentId, step.add);
      const now = Date.now();
      const resume = this.db.prepare("UPDATE trials SET status = 'pending', worker = NULL, heartbeat_at = NULL, seq = ? WHERE experiment_id = ? AND number = ? AND status = 'paused'");
      const end = this.db.prepare("UPDATE trials SET status = 'pruned', finished_at = ?, seq = ? WHERE experiment_id = ? AND number = ? AND status = 'paused'");
      for (const n of step.resume) if (resume.run(this.nextSeq(), experimentId, n).changes !== 1) throw new Error(`driver step: trial ${n} is not paused (cannot continue it)`);
      for (const n of step.end) if (end.run(now, this.nextSeq(), experimentId, n).changes !== 1) throw new Error(`driver step: trial ${n} is not paused (cannot end it)`);
      this.saveState(experimentId, step.state);
      return added;
    }).immediate();
  }

  private stateVersion(experimentId: number): number {
    const r = this.db.prepare("SELECT state_version AS v FROM experiments WHERE id = ?").get(experimentId) as { v: number } | undefined;
    if (!r) throw new Error(`no experiment with id ${experimentId}`);
    return r.v;
  }

  /** The experiment's next trial number. */
  private nextNumber(experimentId: number): number {
    return (this.db.prepare("SELECT COALESCE(MAX(number) + 1, 0) AS next FROM trials WHERE experiment_id = ?").get(experimentId) as { next: number }).next;
  }

  /** Inserts pending trials under the next numbers (inside the caller's transaction). */
  private insertTrials(experimentId: number, trials: readonly NewTrial[]): TrialRecord[] {
    const next = this.nextNumber(experimentId);
    const insert = this.db.prepare(
      "INSERT INTO trials (experiment_id, number, status, point, arch, hp, arch_hash, created_at, seq) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?) RETURNING *",
    );
    const now = Date.now();
    return trials.map((t, i) =>
      toTrial(insert.get(experimentId, next + i, JSON.stringify(t.point), JSON.stringify(t.arch), JSON.stringify(t.hp), t.archHash, now, this.nextSeq()) as TrialRow),
    );
  }

  async startTrial(trialId: number, fidelity: Fidelity, worker: string, attempt?: number, dataVersion: string | null = null) {
    const row = this.db.prepare("SELECT arch_hash, hp FROM trials WHERE id = ?").get(trialId) as { arch_hash: string; hp: string } | undefined;
    if (!row) throw new Error(`no trial with id ${trialId}`);
    const now = Date.now();
    const fence = attempt === undefined ? "" : " AND attempt = ? AND status = 'running'";
    const key = cacheKey(row.arch_hash, JSON.parse(row.hp) as JsonObject, fidelity, dataVersion);
    this.db.transaction(() => {
      const changed = this.db
        .prepare(`UPDATE trials SET status = 'running', fidelity = ?, cache_key = ?, data_version = ?, worker = ?, started_at = ?, heartbeat_at = ?, seq = ? WHERE id = ?${fence}`)
        .run(stableStringify(fidelity), key, dataVersion, worker, now, now, this.nextSeq(), trialId, ...(attempt === undefined ? [] : [attempt])).changes;
      if (changed === 0) throw new StaleAttemptError(trialId, attempt!, "the trial was reclaimed"); // (the sequence's bump is rolled back)
    }).immediate();
  }

  /** Whether `attempt` still holds a running trial. */
  private holds(trialId: number, attempt: number): boolean {
    return this.db.prepare("SELECT 1 FROM trials WHERE id = ? AND attempt = ? AND status = 'running'").get(trialId, attempt) !== undefined;
  }

  async reportIntermediate(trialId: number, step: number, metrics: Metrics, attempt?: number) {
    const upsert = this.db.prepare(
      "INSERT INTO trial_values (trial_id, step, name, value) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, step, name) DO UPDATE SET value = excluded.value",
    );
    this.db.transaction(() => {
      if (attempt !== undefined && !this.holds(trialId, attempt)) return; // a late report of a reclaimed attempt
      for (const [name, value] of Object.entries(metrics)) upsert.run(trialId, step, name, Number.isNaN(value) ? null : value);
      this.db.prepare("UPDATE trials SET heartbeat_at = ? WHERE id = ?").run(Date.now(), trialId);
    }).immediate();
  }

  async completeTrial(trialId: number, c: TrialCompletion, searchState: StateWrite | undefined, attempt?: number) {
    this.db.transaction(() => {
      const row = this.db.prepare("SELECT experiment_id, arch_hash, hp, fidelity, status, attempt, data_version FROM trials WHERE id = ?").get(trialId) as
        | { experiment_id: number; arch_hash: string; hp: string; fidelity: string | null; status: TrialStatus; attempt: number; data_version: string | null }
        | undefined;
      if (!row) throw new Error(`no trial with id ${trialId}`);
      if (attempt !== undefined) {
        if (row.attempt !== attempt) throw new StaleAttemptError(trialId, attempt, `the trial was reclaimed (now attempt ${row.attempt}, ${row.status})`);
        if (row.status !== "running") {
          if (["finished", "failed", "pruned", "paused"].includes(row.status)) return; // this attempt's result is stored already
          throw new StaleAttemptError(trialId, attempt, `the trial is ${row.status}`);
        }
      }
      const source = c.cachedFromExperiment != null ? this.experimentIdOf(c.cachedFromExperiment) : row.experiment_id;
      // The cache key stays the granted fidelity; the fidelity recorded is the one the run reached (what the strategy was told).
      const granted = c.cachedFrom != null ? this.fidelityOf(source, c.cachedFrom) : (parse<Fidelity>(row.fidelity) ?? c.fidelity ?? null);
      const fidelity = c.cachedFrom != null ? granted : (c.fidelity ?? granted);
      const dataVersion = c.dataVersion !== undefined ? c.dataVersion : row.data_version;
      this.db
        .prepare(
          `UPDATE trials SET status = ?, metrics = ?, hidden = ?, cost_s = ?, error = ?, cached_from = ?, cached_from_experiment = ?,
             fidelity = ?, cache_key = ?, data_version = ?, finished_at = ?, seq = ? WHERE id = ?`,
        )
        .run(
          c.status,
          metricsJson(c.metrics),
          metricsJson(c.hidden),
          c.costSeconds ?? null,
          c.error ?? null,
          c.cachedFrom ?? null,
          c.cachedFromExperiment ?? null,
          fidelity ? stableStringify(fidelity) : null,
          granted ? cacheKey(row.arch_hash, JSON.parse(row.hp) as JsonObject, granted, dataVersion) : null,
          dataVersion,
          Date.now(),
          this.nextSeq(),
          trialId,
        );
      if (searchState !== undefined) this.saveState(row.experiment_id, searchState);
    }).immediate();
  }

  async claimTrial(experimentId: number, worker: string): Promise<ClaimedTrial | undefined> {
    return this.db.transaction(() => {
      const now = Date.now();
      // Inside the write transaction: the pending trial found is still pending when it is taken.
      const pending = this.db.prepare("SELECT id FROM trials WHERE experiment_id = ? AND status = 'pending' ORDER BY number LIMIT 1").get(experimentId) as { id: number } | undefined;
      if (!pending) return undefined;
      const r = this.db
        .prepare("UPDATE trials SET status = 'running', attempt = attempt + 1, worker = ?, started_at = ?, heartbeat_at = ?, seq = ? WHERE id = ? RETURNING *")
        .get(worker, now, now, this.nextSeq(), pending.id) as ClaimedTrialRow;
      return { trial: toTrial(r), attempt: int(r.attempt) };
    }).immediate();
  }

  async releaseTrial(trialId: number, attempt?: number): Promise<void> {
    this.db.transaction(() => {
      const fence = attempt === undefined ? "" : " AND attempt = ?";
      const args = attempt === undefined ? [trialId] : [trialId, attempt];
      const held = this.db.prepare(`SELECT 1 FROM trials WHERE id = ? AND status = 'running'${fence}`).get(...args);
      if (!held) return;
      this.db.prepare("DELETE FROM trial_values WHERE trial_id = ?").run(trialId);
      this.db.prepare("UPDATE trials SET status = 'pending', worker = NULL, heartbeat_at = NULL, started_at = NULL, seq = ? WHERE id = ?").run(this.nextSeq(), trialId);
    }).immediate();
  }

  async heartbeat(trialId: number, attempt: number): Promise<boolean> {
    return (
      this.db.prepare("UPDATE trials SET heartbeat_at = ? WHERE id = ? AND attempt = ? AND status = 'running'").run(Date.now(), trialId, attempt).changes > 0
    );
  }

  async reclaimStale(experimentId: number, graceMs: number, maxRetries: number): Promise<ReclaimResult> {
    return this.db.transaction(() => {
      const now = Date.now();
      const stale = this.db
        .prepare(
          `SELECT id, number, worker, retries FROM trials WHERE experiment_id = ? AND status = 'running'
             AND COALESCE(heartbeat_at, started_at, created_at) < ? ORDER BY number`,
        )
        .all(experimentId, now - graceMs) as { id: number; number: number; worker: string | null; retries: number }[];
      const out: ReclaimResult = { retried: [], failed: [] };
      for (const t of stale) {
        const error = `worker ${t.worker ?? "(unknown)"} stopped beating during trial ${t.number}; retried ${t.retries} times`;
        if (t.retries < maxRetries) {
          this.db.prepare("DELETE FROM trial_values WHERE trial_id = ?").run(t.id);
          this.db
            .prepare("UPDATE trials SET status = 'pending', retries = retries + 1, worker = NULL, error = ?, heartbeat_at = NULL, seq = ? WHERE id = ?")
            .run(error, this.nextSeq(), t.id);
          out.retried.push(t.number);
        } else {
          this.db.prepare("UPDATE trials SET status = 'failed', error = ?, finished_at = ?, seq = ? WHERE id = ?").run(error, now, this.nextSeq(), t.id);
          out.failed.push(t.number);
        }
      }
      return out;
    }).immediate();
  }

  /** A lease row on the experiment. Waiting (`waitMs`) looks every 20 ms whether it was let go; SQLite cannot tell who waits. */
  async withDriverLease<T>(experimentId: number, owner: string, fn: (lease: DriverLease) => Promise<T>, waitMs = 0): Promise<LeaseResult<T>> {
    const now = Date.now();
    const got = this.db
      .prepare("UPDATE experiments SET driver = ?, driver_until = ? WHERE id = ? AND (driver IS NULL OR driver_until < ? OR driver = ?)")
      .run(owner, now + SQLITE_DRIVER_LEASE_MS, experimentId, now, owner).changes;
    if (got === 0) {
      const until = now + waitMs;
      const held = this.db.prepare("SELECT 1 FROM experiments WHERE id = ? AND driver IS NOT NULL AND driver_until >= ?");
      while (Date.now() < until && this.db.open && held.get(experimentId, Date.now())) {
        await new Promise((r) => setTimeout(r, Math.min(20, until - Date.now())));
      }
      return { acquired: false };
    }
    try {
      return { acquired: true, value: await fn({ waiting: async () => 0, now: () => Date.now() }) };
    } finally {
      if (this.db.open) this.db.prepare("UPDATE experiments SET driver = NULL, driver_until = NULL WHERE id = ? AND driver = ?").run(experimentId, owner);
    }
  }

  private experimentIdOf(name: string): number {
    const r = this.db.prepare("SELECT id FROM experiments WHERE name = ?").get(name) as { id: number } | undefined;
    if (!r) throw new Error(`no experiment "${name}" in the store (cache source)`);
    return r.id;
  }

  private fidelityOf(experimentId: number, number: number): Fidelity | null {
    const r = this.db.prepare("SELECT fidelity FROM trials WHERE experiment_id = ? AND number = ?").get(experimentId, number) as
      | { fidelity: string | null }
      | undefined;
    return parse<Fidelity>(r?.fidelity ?? null);
  }

  async getTrials(experimentId: number, opts: { status?: readonly TrialStatus[]; from?: number } = {}) {
    const statuses = opts.status && opts.status.length > 0 ? opts.status : undefined;
    const rows = this.db
      .prepare(`SELECT * FROM trials WHERE experiment_id = ? AND number >= ?${statuses ? ` AND status IN (${statuses.map(() => "?").join(",")})` : ""} ORDER BY number`)
      .all(experimentId, opts.from ?? 0, ...(statuses ?? [])) as TrialRow[];
    return rows.map(toTrial);
  }

  async changedSince(experimentId: number, seq: number, limit?: number): Promise<TrialChanges> {
    // One statement, so one snapshot: every change up to the last one given is committed, and none below it can commit later.
    const rows = this.db
      .prepare("SELECT * FROM trials WHERE experiment_id = ? AND seq > ? ORDER BY seq LIMIT ?")
      .all(experimentId, seq, checkLimit(limit) ?? -1) as TrialRow[];
    const trials = rows.map(toTrial) as ChangedTrial[];
    return { trials, seq: trials.length > 0 ? trials[trials.length - 1].seq : seq };
  }

  /**
   * Every trial of the experiment with its sequence, in sequence order, as changedSince(id, 0)
   * gives them, in one statement (one snapshot) read in raw mode: about three times faster for
   * a large experiment (building an object per row with named columns is what costs).
   */
  async allTrials(experimentId: number): Promise<TrialChanges> {
    const trials: ChangedTrial[] = [];
    let seq = 0;
    for (const c of this.db.prepare(`SELECT ${TRIAL_COLUMNS.join(", ")} FROM trials WHERE experiment_id = ? ORDER BY seq`).raw().iterate(experimentId) as Iterable<unknown[]>) {
      const t = toTrial(rawTrialRow(c)) as ChangedTrial;
      trials.push(t);
      seq = t.seq;
    }
    return { trials, seq };
  }

  async getTrial(experimentId: number, number: number) {
    const r = this.db.prepare("SELECT * FROM trials WHERE experiment_id = ? AND number = ?").get(experimentId, number) as TrialRow | undefined;
    return r ? toTrial(r) : undefined;
  }

  async getIntermediate(trialId: number): Promise<IntermediateValue[]> {
    const rows = this.db.prepare("SELECT step, name, value FROM trial_values WHERE trial_id = ? ORDER BY step, name").all(trialId) as {
      step: number;
      name: string;
      value: number | null;
    }[];
    return groupValues(rows);
  }

  async getProgress(experimentId: number, from: number, skip: readonly number[]): Promise<TrialProgress[]> {
    const skipped = new Set(skip);
    const rows = (this.db.prepare("SELECT * FROM trials WHERE experiment_id = ? AND number >= ? AND status <> 'pending' ORDER BY number").all(experimentId, from) as TrialRow[]).filter(
      (r) => !skipped.has(int(r.number)),
    );
    const values = this.db.prepare("SELECT step, name, value FROM trial_values WHERE trial_id = ? ORDER BY step, name");
    return rows.map((r) => ({ trial: toTrial(r), values: groupValues(values.all(r.id) as { step: number; name: string; value: number | null }[]) }));
  }

  async countTrials(experimentId: number) {
    const counts = Object.fromEntries(TRIAL_STATUSES.map((s) => [s, 0])) as Record<TrialStatus, number>;
    const rows = this.db.prepare("SELECT status, COUNT(*) AS n FROM trials WHERE experiment_id = ? GROUP BY status").all(experimentId) as {
      status: TrialStatus;
      n: number;
    }[];
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async findFinished(experimentId: number, archHash: string, hp: JsonObject, fidelity: Fidelity, dataVersion: string | null = null) {
    const r = this.db
      .prepare("SELECT * FROM trials WHERE experiment_id = ? AND cache_key = ? AND status = 'finished' ORDER BY number LIMIT 1")
      .get(experimentId, cacheKey(archHash, hp, fidelity, dataVersion)) as TrialRow | undefined;
    return r ? toTrial(r) : undefined;
  }

  async recordArtifact(experimentId: number, a: ArtifactRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO artifacts (experiment_id, trial, name, path, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (experiment_id, trial, name) DO UPDATE SET path = excluded.path, bytes = excluded.bytes, sha256 = excluded.sha256, created_at = excluded.created_at`,
      )
      .run(experimentId, a.trial ?? EXPERIMENT_LEVEL, a.name, a.path, a.bytes, a.sha256, a.createdAt);
  }

  async getArtifact(experimentId: number, trial: number | null, name: string): Promise<ArtifactRecord | undefined> {
    const r = this.db.prepare("SELECT * FROM artifacts WHERE experiment_id = ? AND trial = ? AND name = ?").get(experimentId, trial ?? EXPERIMENT_LEVEL, name) as ArtifactRow | undefined;
    return r ? toArtifact(r) : undefined;
  }

  async listArtifacts(experimentId: number, trial?: number | null): Promise<ArtifactRecord[]> {
    const rows = (
      trial === undefined
        ? this.db.prepare("SELECT * FROM artifacts WHERE experiment_id = ? ORDER BY trial, name").all(experimentId)
        : this.db.prepare("SELECT * FROM artifacts WHERE experiment_id = ? AND trial = ? ORDER BY name").all(experimentId, trial ?? EXPERIMENT_LEVEL)
    ) as ArtifactRow[];
    return rows.map(toArtifact);
  }

  async close() {
    if (this.db.open) this.db.close();
  }
}
