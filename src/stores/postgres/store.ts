import pg from "pg";
import { randomUUID } from "node:crypto";
import type { Json, JsonObject } from "../../core/json.js";
import type { Metrics } from "../../core/evaluator.js";
import type { Fidelity } from "../../core/scheduler.js";
import type {
  ChangedTrial,
  ClaimedTrial,
  DriverLease,
  DriverStep,
  ExperimentRecord,
  IntermediateValue,
  LeaseResult,
  NewTrial,
  ReclaimResult,
  Store,
  TrialChanges,
  TrialCompletion,
  TrialProgress,
  TrialRecord,
  TrialStatus,
} from "../../core/store.js";
import { StaleAttemptError, TRIAL_STATUSES } from "../../core/store.js";
import type { ArtifactRecord, StateWrite, StoredState } from "../../core/store.js";
import { runKey } from "../../core/search-state.js";
import { UserError } from "../../core/errors.js";
import { cacheKey, checkLimit, groupValues } from "../common.js";
import { type ArtifactRow, type ClaimedTrialRow, type ExperimentRow, type TrialRow, EXPERIMENT_LEVEL, int, jsonOrNull, toArtifact, metricsText, toExperiment as experimentFromRow, toTrial as trialFromRow } from "../rows.js";
import { NOW_MS, PgDb } from "./db.js";
import { withDriverLease } from "./lease.js";
import { checkPostgresReadable, migratePostgres } from "./migrations.js";
import { DEFAULT_RETRY, type RetryOptions } from "./retry.js";
import { beginReadingChanges, beginWriting, nextSeqSql } from "./sequence.js";
import { type PostgresStoreOptions, SCHEMA_NAME, definedOnly, parsePostgresUrl, redactUrl } from "./url.js";

const toTrial = (r: TrialRow) => trialFromRow(r, "postgres");
const toExperiment = (r: ExperimentRow) => experimentFromRow(r, "postgres");
const metricsJson = (m: Metrics | null | undefined) => metricsText(m, "postgres");

/** New trials as one JSON array parameter (inserted with jsonb_array_elements). */
function trialsPayload(trials: readonly NewTrial[]): string {
  return JSON.stringify(trials.map((t) => ({ point: t.point, arch: t.arch, hp: t.hp, archHash: t.archHash })));
}

/**
 * The shared store: PostgreSQL through a connection pool. Experiments are identified by name
 * within a schema (`?schema=name` in the URL; `public` by default). Every operation retries
 * transient errors with exponential backoff; a transaction is retried as a whole, and
 * `addTrials` carries a request id so that a retry after a commit whose answer was lost returns
 * the trials already added instead of adding them twice.
 *
 * The constructor does not wait: the first connection and the migrations run in the
 * background and every method waits for them (`ready()` waits explicitly).
 */
export class PostgresStore implements Store {
  readonly url: string;
  readonly schema: string;
  readonly applicationName: string;
  readonly retry: RetryOptions;
  private readonly db: PgDb;
  private readonly poolSize: number;
  /** The quoted schema name. */
  private readonly s: string;
  /** SQL expression drawing the next update sequence number (see sequence.ts). */
  private readonly nextSeq: string;
  private readonly opened: Promise<void>;
  /** arch_hash and hp of trials this process claimed (they never change), so that startTrial needs no read first. */
  private readonly claimed = new Map<number, { arch_hash: string; hp: JsonObject }>();

  /** `url`: postgres://user[:password]@host[:port]/database[?schema=...&retry_attempts=...]. */
  constructor(url: string, options: PostgresStoreOptions = {}) {
    const parsed = parsePostgresUrl(url);
    const o: PostgresStoreOptions = { ...parsed.options, ...definedOnly(options), retry: { ...definedOnly(parsed.options.retry ?? {}), ...definedOnly(options.retry ?? {}) } };
    this.url = redactUrl(url);
    this.schema = o.schema ?? "public";
    if (!SCHEMA_NAME.test(this.schema)) {
      throw new UserError(`invalid schema "${this.schema}" in storage ${this.url}: use letters, digits and '_' (at most 63, not starting with a digit)`);
    }
    this.s = `"${this.schema}"`;
    this.nextSeq = nextSeqSql(this.schema);
    this.applicationName = o.applicationName ?? "archsearch";
    this.retry = { ...DEFAULT_RETRY, ...definedOnly(o.retry ?? {}) };
    this.poolSize = o.poolSize ?? 10;
    this.db = new PgDb({
      connectionString: parsed.connectionString,
      url: this.url,
      schema: this.schema,
      applicationName: this.applicationName,
      poolSize: this.poolSize,
      connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
      retry: this.retry,
      onRetry: o.onRetry,
    });
    this.opened = this.open(o.readOnly);
    this.opened.catch(() => undefined); // reported by every method that waits for it
  }

  /** Opens and migrates a store, waiting until it is usable. */
  static async connect(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(url, options);
    try {
      await store.ready();
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  /** Retries done so far (every operation together). */
  get retries(): number {
    return this.db.retries;
  }

  /** Errors of idle pooled connections (for example terminated by the server); they are replaced. */
  get idleErrors(): number {
    return this.db.idleErrors;
  }

  /** Resolves once connected and migrated; rejects with the reason it cannot be. */
  ready(): Promise<void> {
    return this.opened;
  }

  private table(name: "experiments" | "trials" | "trial_values" | "schema_version" | "artifacts"): string {
    return `${this.s}.${name}`;
  }

  private async open(readOnly?: boolean): Promise<void> {
    await this.db.withRetry("connect", async () => (await this.db.checkout()).done(false));
    if (readOnly) return checkPostgresReadable((sql, params) => this.db.query("open", sql, params), this);
    await migratePostgres((operation, fn) => this.db.transaction(operation, fn), this);
  }

  private async query<R extends pg.QueryResultRow>(operation: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    await this.opened;
    return this.db.query<R>(operation, sql, params);
  }

  /** A transaction of several writes: it holds the update sequence's writers' lock from its start (see sequence.ts). */
  private async writing<T>(operation: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.opened;
    return this.db.transaction(operation, fn, beginWriting(this.schema));
  }

  /** Applied schema version (number of migrations run). */
  async schemaVersion(): Promise<number> {
    const { rows } = await this.query<{ v: number }>("schemaVersion", `SELECT COALESCE(MAX(version), 0) AS v FROM ${this.table("schema_version")}`);
    return rows[0].v;
  }

  async openExperiment(name: string, config: JsonObject, configHash: string) {
    await this.opened;
    return this.db.withRetry("openExperiment", async () => {
      const inserted = await this.db.pool.query<ExperimentRow>(
        `INSERT INTO ${this.table("experiments")} (name, config, config_hash, created_at, updated_at, seq)
         VALUES ($1, $2::jsonb, $3, ${NOW_MS}, ${NOW_MS}, ${this.nextSeq}) ON CONFLICT (name) DO NOTHING RETURNING *`,
        [name, JSON.stringify(config), configHash],
      );
      if (inserted.rows.length > 0) return { experiment: toExperiment(inserted.rows[0]), created: true };
      const { rows } = await this.db.pool.query<ExperimentRow>(`SELECT * FROM ${this.table("experiments")} WHERE name = $1`, [name]);
      return { experiment: toExperiment(rows[0]), created: false };
    });
  }

  async getExperiment(name: string) {
    const { rows } = await this.query<ExperimentRow>("getExperiment", `SELECT * FROM ${this.table("experiments")} WHERE name = $1`, [name]);
    return rows.length ? toExperiment(rows[0]) : undefined;
  }

  async listExperiments() {
    const { rows } = await this.query<ExperimentRow>("listExperiments", `SELECT * FROM ${this.table("experiments")} ORDER BY id`);
    return rows.map(toExperiment);
  }

  async deleteExperiment(experimentId: number) {
    // trials, trial_values and artifacts go with it (ON DELETE CASCADE)
    await this.writing("deleteExperiment", (c) => c.query(`DELETE FROM ${this.table("experiments")} WHERE id = $1`, [experimentId]).then(() => undefined));
  }

  async setExperimentStatus(experimentId: number, status: ExperimentRecord["status"]) {
    await this.query(
      "setExperimentStatus",
      `UPDATE ${this.table("experiments")} SET status = $2, updated_at = ${NOW_MS}, seq = ${this.nextSeq} WHERE id = $1`,
      [experimentId, status],
    );
  }

  async loadSearchState(experimentId: number) {
    return (await this.loadVersionedState(experimentId))?.state;
  }

  async loadVersionedState(experimentId: number): Promise<StoredState | undefined> {
    const { rows } = await this.query<{ search_state: Json | null; state_version: number | string }>(
      "loadSearchState",
      `SELECT search_state, state_version FROM ${this.table("experiments")} WHERE id = $1`,
      [experimentId],
    );
    const r = rows[0];
    // A state written as null (a throwaway run) still has its version; none written at all is undefined.
    return r && (r.search_state !== null || Number(r.state_version) > 0) ? { state: r.search_state, version: Number(r.state_version) } : undefined;
  }

  /**
   * The marks written with a state (inside the caller's transaction, after the trial rows' own
   * changes): the trials told since the last write get the next told numbers in order; the trials
   * heard get the key of their run as it stands.
   */
  private async writeMarks(c: pg.PoolClient, experimentId: number, w: StateWrite): Promise<void> {
    const trials = this.table("trials");
    if (w.told.length > 0) {
      await c.query(
        `WITH base AS (SELECT COALESCE(MAX(told_seq), 0) AS m FROM ${trials} WHERE experiment_id = $1),
              todo AS (SELECT t.id, ROW_NUMBER() OVER (ORDER BY x.ord) AS r
                         FROM unnest($2::integer[]) WITH ORDINALITY AS x(n, ord)
                         JOIN ${trials} t ON t.experiment_id = $1 AND t.number = x.n AND t.told_seq IS NULL)
         UPDATE ${trials} t SET told_seq = base.m + todo.r FROM base, todo WHERE t.id = todo.id`,
        [experimentId, [...w.told]],
      );
    }
    if (w.heard.length > 0) {
      const { rows } = await c.query<{ number: number; status: string; fidelity: Fidelity | null }>(
        `SELECT number, status, fidelity FROM ${trials} WHERE experiment_id = $1 AND number = ANY($2::integer[])`,
        [experimentId, [...w.heard]],
      );
      await c.query(
        `UPDATE ${trials} t SET heard = x.k FROM unnest($2::integer[], $3::text[]) AS x(n, k) WHERE t.experiment_id = $1 AND t.number = x.n`,
        [experimentId, rows.map((r) => r.number), rows.map((r) => runKey(r))],
      );
    }
  }

  async addTrials(experimentId: number, trials: NewTrial[], searchState: StateWrite, expectedCount?: number, expectedVersion?: number) {
    const requestId = randomUUID();
    const payload = trialsPayload(trials);
    const fenced = expectedCount !== undefined;
    // The second fence: the state this driver restored is still the stored one (another driver may have told trials since).
    const versioned = expectedVersion === undefined ? "" : ` AND state_version = ${Math.trunc(expectedVersion)}`;
    let retry = false;
    return this.writing("addTrials", async (c) => {
      // A retry after a commit whose answer was lost: the trials are there already. (A first try cannot have committed.)
      if (retry) {
        const prior = await c.query<TrialRow>(`SELECT * FROM ${this.table("trials")} WHERE request_id = $1 ORDER BY number`, [requestId]);
        if (prior.rows.length > 0) return prior.rows.map(toTrial);
      }
      retry = true;
      if (trials.length > 0) {
        // One statement: the counter's bump and the inserts. It adds nothing when the bump matches no row
        // (the experiment moved on, or is gone); the statements below then tell which.
        const { rows } = await c.query<TrialRow>(
          `WITH bump AS (
             UPDATE ${this.table("experiments")} SET next_number = next_number + $2::integer, search_state = $3::json, state_version = state_version + 1, updated_at = ${NOW_MS}, seq = ${this.nextSeq}
             WHERE id = $1 ${fenced ? "AND next_number = $6::integer" : ""}${versioned} RETURNING next_number - $2::integer AS first
           )
           INSERT INTO ${this.table("trials")} (experiment_id, number, status, point, arch, hp, arch_hash, request_id, created_at, seq)
           SELECT $1, bump.first + x.ord::integer - 1, 'pending', x.e->'point', x.e->'arch', x.e->'hp', x.e->>'archHash', $5::uuid, ${NOW_MS}, ${this.nextSeq}
           FROM bump, jsonb_array_elements($4::jsonb) WITH ORDINALITY AS x(e, ord)
           RETURNING *`,
          [experimentId, trials.length, JSON.stringify(searchState.state), payload, requestId, ...(fenced ? [expectedCount] : [])],
        );
        if (rows.length > 0) {
          await this.writeMarks(c, experimentId, searchState);
          return rows.map(toTrial).sort((a, b) => a.number - b.number);
        }
      }
      // The experiment row is the counter: its row lock orders concurrent adders, so numbers never repeat.
      const bump = await c.query<{ first: number }>(
        `UPDATE ${this.table("experiments")} SET next_number = next_number + $2, search_state = $3::json, state_version = state_version + 1,
           updated_at = ${NOW_MS}, seq = ${this.nextSeq}
         WHERE id = $1 ${fenced ? "AND next_number = $4" : ""}${versioned} RETURNING next_number - $2 AS first`,
        [experimentId, trials.length, JSON.stringify(searchState.state), ...(fenced ? [expectedCount] : [])],
      );
      if (bump.rows.length === 0) {
        const exists = await c.query(`SELECT 1 FROM ${this.table("experiments")} WHERE id = $1`, [experimentId]);
        if (exists.rowCount === 0) throw new Error(`no experiment with id ${experimentId}`);
        return []; // the experiment moved on since the caller looked (expectedCount, expectedVersion)
      }
      const added = await this.insertTrials(c, experimentId, bump.rows[0].first, trials, requestId);
      await this.writeMarks(c, experimentId, searchState);
      return added;
    });
  }

  /** Inserts pending trials numbered from `first`, inside the caller's transaction. */
  private async insertTrials(c: pg.PoolClient, experimentId: number, first: number, trials: readonly NewTrial[], requestId: string | null): Promise<TrialRecord[]> {
    if (trials.length === 0) return [];
    const { rows } = await c.query<TrialRow>(
      `INSERT INTO ${this.table("trials")} (experiment_id, number, status, point, arch, hp, arch_hash, request_id, created_at, seq)
       SELECT $1, $2::integer + x.ord::integer - 1, 'pending', x.e->'point', x.e->'arch', x.e->'hp', x.e->>'archHash', $4::uuid, ${NOW_MS}, ${this.nextSeq}
       FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS x(e, ord)
       RETURNING *`,
      [experimentId, first, trialsPayload(trials), requestId],
    );
    return rows.map(toTrial).sort((a, b) => a.number - b.number);
  }

  async commitDriverStep(experimentId: number, step: DriverStep): Promise<TrialRecord[] | undefined> {
    return this.writing("commitDriverStep", async (c) => {
      // The experiment row orders drivers (its row lock) and carries the fence (the state's version).
      const bump = await c.query<{ first: number }>(
        `UPDATE ${this.table("experiments")} SET next_number = next_number + $2, search_state = $3::json, state_version = state_version + 1,
           updated_at = ${NOW_MS}, seq = ${this.nextSeq}
         WHERE id = $1 AND state_version = $4 RETURNING next_number - $2 AS first`,
        [experimentId, step.add.length, JSON.stringify(step.state.state), step.stateVersion],
      );
      if (bump.rows.length === 0) {
        const exists = await c.query(`SELECT 1 FROM ${this.table("experiments")} WHERE id = $1`, [experimentId]);
        if (exists.rowCount === 0) throw new Error(`no experiment with id ${experimentId}`);
        return undefined; // another driver moved on (or a retry after a commit whose answer was lost)
      }
      const added = await this.insertTrials(c, experimentId, bump.rows[0].first, step.add, null);
      for (const [numbers, set, what] of [
        [step.resume, "status = 'pending', worker = NULL, heartbeat_at = NULL", "continue"],
        [step.end, `status = 'pruned', finished_at = ${NOW_MS}`, "end"],
      ] as const) {
        if (numbers.length === 0) continue;
        const res = await c.query(
          `UPDATE ${this.table("trials")} SET ${set}, seq = ${this.nextSeq} WHERE experiment_id = $1 AND number = ANY($2::integer[]) AND status = 'paused'`,
          [experimentId, [...numbers]],
        );
        if (res.rowCount !== numbers.length) throw new Error(`driver step: not every trial of ${numbers.join(", ")} is paused (cannot ${what} them)`);
      }
      await this.writeMarks(c, experimentId, step.state);
      return added;
    });
  }

  async startTrial(trialId: number, fidelity: Fidelity, worker: string, attempt?: number, dataVersion: string | null = null) {
    await this.opened;
    const fenced = attempt !== undefined;
    // A fenced start of a trial claimed here knows its (immutable) arch_hash and hp already: one statement.
    const known = fenced ? this.claimed.get(trialId) : undefined;
    this.claimed.delete(trialId);
    await this.db.withRetry("startTrial", async () => {
      let rows: { arch_hash: string; hp: JsonObject }[];
      if (known) rows = [known];
      else {
        rows = (await this.db.pool.query<{ arch_hash: string; hp: JsonObject }>(`SELECT arch_hash, hp FROM ${this.table("trials")} WHERE id = $1`, [trialId])).rows;
        if (rows.length === 0) throw new Error(`no trial with id ${trialId}`);
      }
      const res = await this.db.pool.query(
        `UPDATE ${this.table("trials")} SET status = 'running', fidelity = $2::jsonb, cache_key = $3, worker = $4, started_at = ${NOW_MS}, heartbeat_at = ${NOW_MS},
           data_version = $5, seq = ${this.nextSeq}
         WHERE id = $1 ${fenced ? "AND attempt = $6 AND status = 'running'" : ""}`,
        [trialId, JSON.stringify(fidelity), cacheKey(rows[0].arch_hash, rows[0].hp, fidelity, dataVersion), worker, dataVersion, ...(fenced ? [attempt] : [])],
      );
      if (res.rowCount === 0) throw new StaleAttemptError(trialId, attempt!, "the trial was reclaimed");
    });
  }

  async claimTrial(experimentId: number, worker: string): Promise<ClaimedTrial | undefined> {
    // SKIP LOCKED: concurrent claimers each take a different pending trial without waiting on each other.
    const { rows } = await this.query<ClaimedTrialRow & { hp: JsonObject }>(
      "claimTrial",
      `UPDATE ${this.table("trials")} SET status = 'running', attempt = attempt + 1, worker = $2, started_at = ${NOW_MS}, heartbeat_at = ${NOW_MS},
         seq = ${this.nextSeq}
       WHERE id = (SELECT id FROM ${this.table("trials")} WHERE experiment_id = $1 AND status = 'pending' ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [experimentId, worker],
    );
    if (rows.length === 0) return undefined;
    if (this.claimed.size > 10_000) this.claimed.clear(); // claimed and never started nor completed (bounded)
    this.claimed.set(int(rows[0].id), { arch_hash: rows[0].arch_hash, hp: rows[0].hp });
    return { trial: toTrial(rows[0]), attempt: int(rows[0].attempt) };
  }

  async releaseTrial(trialId: number, attempt?: number): Promise<void> {
    await this.writing("releaseTrial", async (c) => {
      const fence = attempt === undefined ? "" : " AND attempt = $2";
      const { rows } = await c.query(`SELECT id FROM ${this.table("trials")} WHERE id = $1 AND status = 'running'${fence} FOR UPDATE`, attempt === undefined ? [trialId] : [trialId, attempt]);
      if (rows.length === 0) return;
      await c.query(`DELETE FROM ${this.table("trial_values")} WHERE trial_id = $1`, [trialId]);
      await c.query(
        `UPDATE ${this.table("trials")} SET status = 'pending', worker = NULL, heartbeat_at = NULL, started_at = NULL, seq = ${this.nextSeq} WHERE id = $1`,
        [trialId],
      );
    });
  }

  async heartbeat(trialId: number, attempt: number): Promise<boolean> {
    // Not a change of the trial (no new update sequence number).
    const res = await this.query(
      "heartbeat",
      `UPDATE ${this.table("trials")} SET heartbeat_at = ${NOW_MS} WHERE id = $1 AND attempt = $2 AND status = 'running'`,
      [trialId, attempt],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async reclaimStale(experimentId: number, graceMs: number, maxRetries: number): Promise<ReclaimResult> {
    // Usually nothing is stale: one plain read instead of a transaction (which checks again under its locks).
    const stale = await this.query<{ any: boolean }>(
      "reclaimStale",
      `SELECT EXISTS (SELECT 1 FROM ${this.table("trials")} WHERE experiment_id = $1 AND status = 'running'
         AND COALESCE(heartbeat_at, started_at, created_at) < ${NOW_MS} - $2) AS any`,
      [experimentId, graceMs],
    );
    if (!stale.rows[0].any) return { retried: [], failed: [] };
    return this.writing("reclaimStale", async (c) => {
      const { rows } = await c.query<{ id: number; number: number; worker: string | null; retries: number }>(
        `SELECT id, number, worker, retries FROM ${this.table("trials")} WHERE experiment_id = $1 AND status = 'running'
           AND COALESCE(heartbeat_at, started_at, created_at) < ${NOW_MS} - $2 ORDER BY number FOR UPDATE SKIP LOCKED`,
        [experimentId, graceMs],
      );
      const out: ReclaimResult = { retried: [], failed: [] };
      for (const t of rows) {
        const error = `worker ${t.worker ?? "(unknown)"} stopped beating during trial ${t.number}; retried ${t.retries} times`;
        if (t.retries < maxRetries) {
          await c.query(`DELETE FROM ${this.table("trial_values")} WHERE trial_id = $1`, [t.id]);
          await c.query(
            `UPDATE ${this.table("trials")} SET status = 'pending', retries = retries + 1, worker = NULL, error = $2, heartbeat_at = NULL, seq = ${this.nextSeq} WHERE id = $1`,
            [t.id, error],
          );
          out.retried.push(t.number);
        } else {
          await c.query(`UPDATE ${this.table("trials")} SET status = 'failed', error = $2, finished_at = ${NOW_MS}, seq = ${this.nextSeq} WHERE id = $1`, [t.id, error]);
          out.failed.push(t.number);
        }
      }
      return out;
    });
  }

  /** See lease.ts. */
  async withDriverLease<T>(experimentId: number, _owner: string, fn: (lease: DriverLease) => Promise<T>, waitMs = 0): Promise<LeaseResult<T>> {
    await this.opened;
    return withDriverLease(this.db, { url: this.url, schema: this.schema, poolSize: this.poolSize }, experimentId, fn, waitMs);
  }

  async reportIntermediate(trialId: number, step: number, metrics: Metrics, attempt?: number) {
    const names = Object.keys(metrics);
    // One statement: the values (NaN and infinities kept as such) and the heartbeat, idempotent per (trial, step, metric).
    // Not a change of the trial row (no new update sequence number).
    await this.query(
      "reportIntermediate",
      `WITH up AS (
         INSERT INTO ${this.table("trial_values")} (trial_id, step, name, value)
         SELECT $1, $2, u.name, u.value FROM unnest($3::text[], $4::float8[]) AS u(name, value)
         ${attempt === undefined ? "" : `WHERE EXISTS (SELECT 1 FROM ${this.table("trials")} WHERE id = $1 AND attempt = $5::integer AND status = 'running')`}
         ON CONFLICT (trial_id, step, name) DO UPDATE SET value = EXCLUDED.value
         RETURNING 1
       )
       UPDATE ${this.table("trials")} SET heartbeat_at = ${NOW_MS} WHERE id = $1 ${attempt === undefined ? "" : "AND attempt = $5::integer AND status = 'running'"}`,
      [trialId, step, names, names.map((n) => String(metrics[n])), ...(attempt === undefined ? [] : [attempt])],
    );
  }

  async completeTrial(trialId: number, c: TrialCompletion, searchState: StateWrite | undefined, attempt?: number) {
    this.claimed.delete(trialId);
    if (attempt !== undefined && c.cachedFrom == null && c.cachedFromExperiment == null && searchState === undefined) {
      // The common case of a worker: one fenced statement. The trial keeps its fidelity (and the cache key
      // startTrial derived from it). When no row matches (reclaimed, or a retried commit that went through),
      // the transaction below decides between StaleAttemptError and an idempotent success.
      const res = await this.query(
        "completeTrial",
        `UPDATE ${this.table("trials")} SET status = $3, metrics = $4::jsonb, hidden = $5::jsonb, cost_s = $6, error = $7, cached_from = NULL,
           cache_key = CASE WHEN fidelity IS NULL THEN NULL ELSE cache_key END, cached_from_experiment = NULL, finished_at = ${NOW_MS}, seq = ${this.nextSeq},
           fidelity = COALESCE($9::jsonb, fidelity)
         WHERE id = $1 AND attempt = $2 AND status = 'running' AND data_version IS NOT DISTINCT FROM $8`,
        [trialId, attempt, c.status, metricsJson(c.metrics), metricsJson(c.hidden), c.costSeconds ?? null, c.error ?? null, c.dataVersion ?? null, jsonOrNull(c.fidelity)],
      );
      if ((res.rowCount ?? 0) > 0) return;
    }
    await this.writing("completeTrial", async (db) => {
      const { rows } = await db.query<{
        experiment_id: number;
        arch_hash: string;
        hp: JsonObject;
        fidelity: Fidelity | null;
        status: TrialStatus;
        attempt: number;
        data_version: string | null;
      }>(`SELECT experiment_id, arch_hash, hp, fidelity, status, attempt, data_version FROM ${this.table("trials")} WHERE id = $1 FOR UPDATE`,
        [trialId],
      );
      if (rows.length === 0) throw new Error(`no trial with id ${trialId}`);
      const row = rows[0];
      if (attempt !== undefined) {
        if (row.attempt !== attempt) throw new StaleAttemptError(trialId, attempt, `the trial was reclaimed (now attempt ${row.attempt}, ${row.status})`);
        if (row.status !== "running") {
          if (["finished", "failed", "pruned", "paused"].includes(row.status)) return; // this attempt's result is stored already (a retried commit)
          throw new StaleAttemptError(trialId, attempt, `the trial is ${row.status}`);
        }
      }
      // The cache key stays the granted fidelity; the fidelity recorded is the one the run reached (what the strategy was told).
      let fidelity = row.fidelity ?? c.fidelity ?? null;
      if (c.cachedFrom != null) {
        const src =
          c.cachedFromExperiment != null
            ? await db.query<{ fidelity: Fidelity | null }>(
                `SELECT t.fidelity FROM ${this.table("trials")} t JOIN ${this.table("experiments")} e ON e.id = t.experiment_id WHERE e.name = $1 AND t.number = $2`,
                [c.cachedFromExperiment, c.cachedFrom],
              )
            : await db.query<{ fidelity: Fidelity | null }>(`SELECT fidelity FROM ${this.table("trials")} WHERE experiment_id = $1 AND number = $2`, [
                row.experiment_id,
                c.cachedFrom,
              ]);
        fidelity = src.rows[0]?.fidelity ?? null;
      }
      const dataVersion = c.dataVersion !== undefined ? c.dataVersion : row.data_version;
      await db.query(
        `UPDATE ${this.table("trials")} SET status = $2, metrics = $3::jsonb, hidden = $4::jsonb, cost_s = $5, error = $6, cached_from = $7,
           fidelity = $8::jsonb, cache_key = $9, cached_from_experiment = $10, data_version = $11, finished_at = ${NOW_MS}, seq = ${this.nextSeq} WHERE id = $1`,
        [
          trialId,
          c.status,
          metricsJson(c.metrics),
          metricsJson(c.hidden),
          c.costSeconds ?? null,
          c.error ?? null,
          c.cachedFrom ?? null,
          jsonOrNull(c.cachedFrom == null ? (c.fidelity ?? fidelity) : fidelity),
          fidelity ? cacheKey(row.arch_hash, row.hp, fidelity, dataVersion) : null,
          c.cachedFromExperiment ?? null,
          dataVersion,
        ],
      );
      if (searchState === undefined) return;
      await db.query(
        `UPDATE ${this.table("experiments")} SET search_state = $2::json, state_version = state_version + 1, updated_at = ${NOW_MS}, seq = ${this.nextSeq} WHERE id = $1`,
        [row.experiment_id, JSON.stringify(searchState.state)],
      );
      await this.writeMarks(db, row.experiment_id, searchState);
    });
  }

  async getTrials(experimentId: number, opts: { status?: readonly TrialStatus[]; from?: number } = {}) {
    const filtered = opts.status && opts.status.length > 0;
    const { rows } = await this.query<TrialRow>(
      "getTrials",
      `SELECT * FROM ${this.table("trials")} WHERE experiment_id = $1 AND number >= $2 ${filtered ? "AND status = ANY($3::text[])" : ""} ORDER BY number`,
      filtered ? [experimentId, opts.from ?? 0, [...opts.status!]] : [experimentId, opts.from ?? 0],
    );
    return rows.map(toTrial);
  }

  async changedSince(experimentId: number, seq: number, limit?: number): Promise<TrialChanges> {
    const max = checkLimit(limit);
    await this.opened;
    // Under the readers' lock (see sequence.ts): no write holding a number at or below the last one read is still in flight.
    const rows = await this.db.transaction(
      "changedSince",
      async (c) =>
        (
          await c.query<TrialRow>(`SELECT * FROM ${this.table("trials")} WHERE experiment_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
            experimentId,
            seq,
            max ?? null,
          ])
        ).rows,
      beginReadingChanges(this.schema),
    );
    const trials = rows.map(toTrial) as ChangedTrial[];
    return { trials, seq: trials.length > 0 ? trials[trials.length - 1].seq : seq };
  }

  async getProgress(experimentId: number, from: number, skip: readonly number[]): Promise<TrialProgress[]> {
    // One round trip: each trial row carries its values as a JSON array of [step, name, value].
    const { rows } = await this.query<TrialRow & { progress_values: [number, string, number | string | null][] | null }>(
      "getProgress",
      `SELECT t.*, (SELECT json_agg(json_build_array(v.step, v.name, v.value) ORDER BY v.step, v.name COLLATE "C")
                    FROM ${this.table("trial_values")} v WHERE v.trial_id = t.id) AS progress_values
       FROM ${this.table("trials")} t
       WHERE t.experiment_id = $1 AND t.number >= $2 AND t.status <> 'pending' AND NOT (t.number = ANY($3::integer[]))
       ORDER BY t.number`,
      [experimentId, from, [...skip]],
    );
    return rows.map((r) => ({ trial: toTrial(r), values: groupValues((r.progress_values ?? []).map(([step, name, value]) => ({ step, name, value: value === null ? NaN : Number(value) }))) }));
  }

  async getTrial(experimentId: number, number: number) {
    const { rows } = await this.query<TrialRow>("getTrial", `SELECT * FROM ${this.table("trials")} WHERE experiment_id = $1 AND number = $2`, [experimentId, number]);
    return rows.length ? toTrial(rows[0]) : undefined;
  }

  async getIntermediate(trialId: number): Promise<IntermediateValue[]> {
    const { rows } = await this.query<{ step: number; name: string; value: number | null }>(
      "getIntermediate",
      `SELECT step, name, value FROM ${this.table("trial_values")} WHERE trial_id = $1 ORDER BY step, name COLLATE "C"`,
      [trialId],
    );
    return groupValues(rows);
  }

  async countTrials(experimentId: number) {
    const counts = Object.fromEntries(TRIAL_STATUSES.map((s) => [s, 0])) as Record<TrialStatus, number>;
    const { rows } = await this.query<{ status: TrialStatus; n: number }>(
      "countTrials",
      `SELECT status, COUNT(*)::integer AS n FROM ${this.table("trials")} WHERE experiment_id = $1 GROUP BY status`,
      [experimentId],
    );
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async findFinished(experimentId: number, archHash: string, hp: JsonObject, fidelity: Fidelity, dataVersion: string | null = null) {
    const { rows } = await this.query<TrialRow>(
      "findFinished",
      `SELECT * FROM ${this.table("trials")} WHERE experiment_id = $1 AND cache_key = $2 AND status = 'finished' ORDER BY number LIMIT 1`,
      [experimentId, cacheKey(archHash, hp, fidelity, dataVersion)],
    );
    return rows.length ? toTrial(rows[0]) : undefined;
  }

  async recordArtifact(experimentId: number, a: ArtifactRecord): Promise<void> {
    await this.query(
      "recordArtifact",
      `INSERT INTO ${this.table("artifacts")} (experiment_id, trial, name, path, bytes, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (experiment_id, trial, name) DO UPDATE SET path = excluded.path, bytes = excluded.bytes, sha256 = excluded.sha256, created_at = excluded.created_at`,
      [experimentId, a.trial ?? EXPERIMENT_LEVEL, a.name, a.path, a.bytes, a.sha256, a.createdAt],
    );
  }

  async getArtifact(experimentId: number, trial: number | null, name: string): Promise<ArtifactRecord | undefined> {
    const { rows } = await this.query<ArtifactRow>(
      "getArtifact",
      `SELECT * FROM ${this.table("artifacts")} WHERE experiment_id = $1 AND trial = $2 AND name = $3`,
      [experimentId, trial ?? EXPERIMENT_LEVEL, name],
    );
    return rows.length ? toArtifact(rows[0]) : undefined;
  }

  async listArtifacts(experimentId: number, trial?: number | null): Promise<ArtifactRecord[]> {
    const table = this.table("artifacts");
    const { rows } =
      trial === undefined
        ? await this.query<ArtifactRow>("listArtifacts", `SELECT * FROM ${table} WHERE experiment_id = $1 ORDER BY trial, name`, [experimentId])
        : await this.query<ArtifactRow>("listArtifacts", `SELECT * FROM ${table} WHERE experiment_id = $1 AND trial = $2 ORDER BY name`, [experimentId, trial ?? EXPERIMENT_LEVEL]);
    return rows.map(toArtifact);
  }

  async close() {
    if (this.db.closed) return;
    this.db.closed = true;
    await this.opened.catch(() => undefined);
    await this.db.pool.end();
  }
}

