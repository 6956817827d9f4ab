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
  TrialCompletion,
  TrialRecord,
  TrialStatus,
} from "../core/store.js";
import { StaleAttemptError, TRIAL_STATUSES } from "../core/store.js";
import type { ClaimedTrial, DriverLease, DriverStep, LeaseResult, ReclaimResult, TrialProgress } from "../core/store.js";
import { UserError } from "../core/errors.js";
import { cacheKey, groupValues } from "./common.js";

/** Schema migrations, applied in order; the applied version is kept in `schema_version`. */
const MIGRATIONS: string[] = [
  `CREATE TABLE experiments (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     config TEXT NOT NULL,
     config_hash TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'running',
     search_state TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE trials (
     id INTEGER PRIMARY KEY,
     experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
     number INTEGER NOT NULL,
     status TEXT NOT NULL,
     point TEXT NOT NULL,
     arch TEXT NOT NULL,
     hp TEXT NOT NULL,
     arch_hash TEXT NOT NULL,
     cache_key TEXT,
     fidelity TEXT,
     metrics TEXT,
     hidden TEXT,
     cost_s REAL,
     cached_from INTEGER,
     error TEXT,
     worker TEXT,
     created_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER,
     heartbeat_at INTEGER,
     UNIQUE (experiment_id, number)
   );
   CREATE INDEX trials_by_status ON trials (experiment_id, status);
   CREATE INDEX trials_by_cache_key ON trials (experiment_id, cache_key) WHERE status = 'finished';
   CREATE TABLE trial_values (
     trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
     step REAL NOT NULL,
     name TEXT NOT NULL,
     value REAL,
     PRIMARY KEY (trial_id, step, name)
   );`,
  // Workers: an attempt counter (fencing token) and retry count per trial, a driver lease per experiment.
  `ALTER TABLE trials ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE trials ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE experiments ADD COLUMN driver TEXT;
   ALTER TABLE experiments ADD COLUMN driver_until INTEGER;`,
  // Cache hits from another experiment of the store (cache: shared) name it.
  `ALTER TABLE trials ADD COLUMN cached_from_experiment TEXT;`,
];

/** How long a SQLite driver lease lasts without being released (its holder died). */
export const SQLITE_DRIVER_LEASE_MS = 30_000;

interface TrialRow {
  id: number;
  experiment_id: number;
  number: number;
  status: TrialStatus;
  point: string;
  arch: string;
  hp: string;
  arch_hash: string;
  fidelity: string | null;
  metrics: string | null;
  hidden: string | null;
  cost_s: number | null;
  cached_from: number | null;
  cached_from_experiment?: string | null;
  error: string | null;
  worker: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

interface ExperimentRow {
  id: number;
  name: string;
  config: string;
  config_hash: string;
  status: "running" | "done";
  created_at: number;
  updated_at: number;
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

/** JSON for metrics: NaN and infinities become strings so they survive the round trip. */
function metricsJson(m: Metrics | null | undefined): string | null {
  if (!m) return null;
  return JSON.stringify(m, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}
function parseMetrics(text: string | null): Metrics | null {
  if (text === null) return null;
  const raw = JSON.parse(text) as Record<string, number | string>;
  const out: Metrics = {};
  for (const [k, v] of Object.entries(raw)) out[k] = typeof v === "string" ? Number(v) : v;
  return out;
}

export { cacheKey };

function toTrial(r: TrialRow): TrialRecord {
  return {
    id: r.id,
    experimentId: r.experiment_id,
    number: r.number,
    status: r.status,
    point: JSON.parse(r.point) as Json,
    arch: JSON.parse(r.arch) as Json,
    hp: JSON.parse(r.hp) as JsonObject,
    archHash: r.arch_hash,
    fidelity: parse<Fidelity>(r.fidelity),
    metrics: parseMetrics(r.metrics),
    hidden: parseMetrics(r.hidden),
    costSeconds: r.cost_s,
    cachedFrom: r.cached_from,
    cachedFromExperiment: r.cached_from_experiment ?? null,
    error: r.error,
    worker: r.worker,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

function toExperiment(r: ExperimentRow): ExperimentRecord {
  return {
    id: r.id,
    name: r.name,
    config: JSON.parse(r.config) as JsonObject,
    configHash: r.config_hash,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * The embedded store: one SQLite file in WAL mode (or ":memory:" for tests). Several processes
 * may open the same file; writes are short IMMEDIATE transactions with a busy timeout.
 */
export class SqliteStore implements Store {
  readonly path: string;
  private readonly db: Database.Database;

  constructor(path: string) {
    this.path = path;
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path, { timeout: 30_000 });
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.pragma("foreign_keys = ON");
      this.migrate();
    } catch (e) {
      throw new UserError(`Cannot open SQLite store "${path}": ${(e as Error).message}`);
    }
  }

  /** Applied schema version (number of migrations run). */
  schemaVersion(): number {
    return (this.db.pragma("user_version", { simple: true }) as number) ?? 0;
  }

  private migrate(): void {
    const current = this.schemaVersion();
    if (current > MIGRATIONS.length) {
      throw new Error(`its schema version ${current} is newer than this archsearch knows (${MIGRATIONS.length}); upgrade archsearch`);
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  async openExperiment(name: string, config: JsonObject, configHash: string) {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT * FROM experiments WHERE name = ?").get(name) as ExperimentRow | undefined;
      if (row) return { experiment: toExperiment(row), created: false };
      const now = Date.now();
      this.db
        .prepare("INSERT INTO experiments (name, config, config_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
        .run(name, JSON.stringify(config), configHash, now, now);
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

  async setExperimentStatus(experimentId: number, status: ExperimentRecord["status"]) {
    this.db.prepare("UPDATE experiments SET status = ?, updated_at = ? WHERE id = ?").run(status, Date.now(), experimentId);
  }

  async loadSearchState(experimentId: number) {
    const row = this.db.prepare("SELECT search_state FROM experiments WHERE id = ?").get(experimentId) as { search_state: string | null } | undefined;
    return row?.search_state ? (JSON.parse(row.search_state) as Json) : undefined;
  }

  private saveState(experimentId: number, state: Json): void {
    this.db.prepare("UPDATE experiments SET search_state = ?, updated_at = ? WHERE id = ?").run(JSON.stringify(state), Date.now(), experimentId);
  }

  async addTrials(experimentId: number, trials: NewTrial[], searchState: Json, expectedCount?: number) {
    return this.db.transaction(() => {
      if (expectedCount !== undefined && this.nextNumber(experimentId) !== expectedCount) return []; // the experiment moved on since the caller looked
      const added = this.insertTrials(experimentId, trials);
      this.saveState(experimentId, searchState);
      return added;
    }).immediate();
  }

  async commitDriverStep(experimentId: number, step: DriverStep): Promise<TrialRecord[] | undefined> {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT COALESCE(json_extract(search_state, '$.v'), 0) AS v FROM experiments WHERE id = ?").get(experimentId) as { v: number } | undefined;
      if (!row) throw new Error(`no experiment with id ${experimentId}`);
      if (row.v !== step.stateVersion) return undefined; // another driver moved on
      const added = this.insertTrials(experimentId, step.add);
      const now = Date.now();
      const resume = this.db.prepare("UPDATE trials SET status = 'pending', worker = NULL, heartbeat_at = NULL WHERE experiment_id = ? AND number = ? AND status = 'paused'");
      const end = this.db.prepare("UPDATE trials SET status = 'pruned', finished_at = ? WHERE experiment_id = ? AND number = ? AND status = 'paused'");
      for (const n of step.resume) if (resume.run(experimentId, n).changes !== 1) throw new Error(`driver step: trial ${n} is not paused (cannot continue it)`);
      for (const n of step.end) if (end.run(now, experimentId, n).changes !== 1) throw new Error(`driver step: trial ${n} is not paused (cannot end it)`);
      this.saveState(experimentId, step.state);
      return added;
    }).immediate();
  }

  /** The experiment's next trial number. */
  private nextNumber(experimentId: number): number {
    return (this.db.prepare("SELECT COALESCE(MAX(number) + 1, 0) AS next FROM trials WHERE experiment_id = ?").get(experimentId) as { next: number }).next;
  }

  /** Inserts pending trials under the next numbers (inside the caller's transaction). */
  private insertTrials(experimentId: number, trials: readonly NewTrial[]): TrialRecord[] {
    const next = this.nextNumber(experimentId);
    const insert = this.db.prepare(
      "INSERT INTO trials (experiment_id, number, status, point, arch, hp, arch_hash, created_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?) RETURNING *",
    );
    const now = Date.now();
    return trials.map((t, i) => toTrial(insert.get(experimentId, next + i, JSON.stringify(t.point), JSON.stringify(t.arch), JSON.stringify(t.hp), t.archHash, now) as TrialRow));
  }

  async startTrial(trialId: number, fidelity: Fidelity, worker: string, attempt?: number) {
    const row = this.db.prepare("SELECT arch_hash, hp FROM trials WHERE id = ?").get(trialId) as { arch_hash: string; hp: string } | undefined;
    if (!row) throw new Error(`no trial with id ${trialId}`);
    const now = Date.now();
    const fence = attempt === undefined ? "" : " AND attempt = ? AND status = 'running'";
    const changed = this.db
      .prepare(`UPDATE trials SET status = 'running', fidelity = ?, cache_key = ?, worker = ?, started_at = ?, heartbeat_at = ? WHERE id = ?${fence}`)
      .run(stableStringify(fidelity), cacheKey(row.arch_hash, JSON.parse(row.hp) as JsonObject, fidelity), worker, now, now, trialId, ...(attempt === undefined ? [] : [attempt])).changes;
    if (changed === 0) throw new StaleAttemptError(trialId, attempt!, "the trial was reclaimed");
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

  async completeTrial(trialId: number, c: TrialCompletion, searchState: Json | undefined, attempt?: number) {
    this.db.transaction(() => {
      const row = this.db.prepare("SELECT experiment_id, arch_hash, hp, fidelity, status, attempt FROM trials WHERE id = ?").get(trialId) as
        | { experiment_id: number; arch_hash: string; hp: string; fidelity: string | null; status: TrialStatus; attempt: number }
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
      const fidelity = c.cachedFrom != null ? this.fidelityOf(source, c.cachedFrom) : parse<Fidelity>(row.fidelity);
      this.db
        .prepare(
          `UPDATE trials SET status = ?, metrics = ?, hidden = ?, cost_s = ?, error = ?, cached_from = ?, cached_from_experiment = ?,
             fidelity = ?, cache_key = ?, finished_at = ? WHERE id = ?`,
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
          fidelity ? cacheKey(row.arch_hash, JSON.parse(row.hp) as JsonObject, fidelity) : null,
          Date.now(),
          trialId,
        );
      if (searchState !== undefined) this.saveState(row.experiment_id, searchState);
    }).immediate();
  }

  async claimTrial(experimentId: number, worker: string): Promise<ClaimedTrial | undefined> {
    return this.db.transaction(() => {
      const now = Date.now();
      const r = this.db
        .prepare(
          `UPDATE trials SET status = 'running', attempt = attempt + 1, worker = ?, started_at = ?, heartbeat_at = ?
           WHERE id = (SELECT id FROM trials WHERE experiment_id = ? AND status = 'pending' ORDER BY number LIMIT 1) RETURNING *`,
        )
        .get(worker, now, now, experimentId) as (TrialRow & { attempt: number }) | undefined;
      return r ? { trial: toTrial(r), attempt: r.attempt } : undefined;
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
          this.db.prepare("UPDATE trials SET status = 'pending', retries = retries + 1, worker = NULL, error = ?, heartbeat_at = NULL WHERE id = ?").run(error, t.id);
          out.retried.push(t.number);
        } else {
          this.db.prepare("UPDATE trials SET status = 'failed', error = ?, finished_at = ? WHERE id = ?").run(error, now, t.id);
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
      (r) => !skipped.has(r.number),
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

  async findFinished(experimentId: number, archHash: string, hp: JsonObject, fidelity: Fidelity) {
    const r = this.db
      .prepare("SELECT * FROM trials WHERE experiment_id = ? AND cache_key = ? AND status = 'finished' ORDER BY number LIMIT 1")
      .get(experimentId, cacheKey(archHash, hp, fidelity)) as TrialRow | undefined;
    return r ? toTrial(r) : undefined;
  }

  async close() {
    if (this.db.open) this.db.close();
  }
}
