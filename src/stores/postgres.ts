import pg from "pg";
import { randomUUID } from "node:crypto";
import type { Json, JsonObject } from "../core/json.js";
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
import { cacheKey, groupValues, metricsFromJson, metricsToJson } from "./common.js";

/** How an operation that hits a transient error (lost connection, server restarting, serialization failure) is retried. */
export interface RetryOptions {
  /** Tries per operation, the first one included (also for the first connection). */
  attempts: number;
  /** Delay before the second try; it doubles at every further try (with jitter) up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RetryEvent {
  operation: string;
  /** The try that failed (1 = the first). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface PostgresStoreOptions {
  /** Schema holding archsearch's tables (created when missing). Default `public`. */
  schema?: string;
  /** `application_name` of every connection (visible in pg_stat_activity). Default `archsearch`. */
  applicationName?: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Time allowed to open one connection. Default 10 000 ms. */
  connectTimeoutMs?: number;
  retry?: Partial<RetryOptions>;
  /** Called before each retry (for logs and tests). */
  onRetry?: (event: RetryEvent) => void;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 10, baseDelayMs: 100, maxDelayMs: 5_000 };

/** Query parameters of a storage URL that archsearch reads itself (the others go to the driver). */
const URL_PARAMS = ["schema", "application_name", "pool_size", "connect_timeout_ms", "retry_attempts", "retry_base_delay_ms", "retry_max_delay_ms"] as const;

/** The URL with its password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

/**
 * Splits a `postgres://` storage URL into the driver's connection string and the store's
 * options: `schema`, `application_name`, `pool_size`, `connect_timeout_ms`, `retry_attempts`,
 * `retry_base_delay_ms`, `retry_max_delay_ms`.
 */
export function parsePostgresUrl(url: string): { connectionString: string; options: PostgresStoreOptions } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`invalid PostgreSQL storage URL "${redactUrl(url)}" (expected postgres://user[:password]@host[:port]/database[?schema=name])`);
  }
  const where = `in storage URL ${redactUrl(url)}`;
  const int = (name: string, min: number): number | undefined => {
    const raw = u.searchParams.get(name);
    if (raw === null) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UserError(`${name}=${raw} ${where}: expected an integer >= ${min}`);
    return Number(raw);
  };
  const options: PostgresStoreOptions = {
    schema: u.searchParams.get("schema") ?? undefined,
    applicationName: u.searchParams.get("application_name") ?? undefined,
    poolSize: int("pool_size", 1),
    connectTimeoutMs: int("connect_timeout_ms", 1),
    retry: {
      attempts: int("retry_attempts", 1),
      baseDelayMs: int("retry_base_delay_ms", 0),
      maxDelayMs: int("retry_max_delay_ms", 0),
    },
  };
  for (const k of URL_PARAMS) u.searchParams.delete(k);
  return { connectionString: u.toString(), options };
}

const TRANSIENT_SQLSTATES = new Set([
  "57P01", // admin_shutdown (pg_terminate_backend, server stopping)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, shutting down)
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "53300", // too_many_connections
  "08000", "08001", "08003", "08004", "08006", // connection exceptions
]);
const TRANSIENT_NET_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** Whether an error is worth retrying: the connection or the server went away, or the transaction lost a race. */
export function isTransientError(e: unknown): boolean {
  if (e === null || typeof e !== "object") return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NET_CODES.has(code))) return true;
  const errors = (e as { errors?: unknown }).errors; // AggregateError from a connection to several addresses
  if (Array.isArray(errors) && errors.length > 0 && errors.every(isTransientError)) return true;
  const message = e instanceof Error ? e.message : "";
  return /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Connection timeout/i.test(message);
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    const errors = (e as { errors?: unknown[] }).errors;
    const text = e.message || (Array.isArray(errors) ? errors.map(errorText).join("; ") : "") || code || e.name;
    return code && !text.includes(code) ? `${text} (${code})` : text;
  }
  return String(e);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The driver lease's connection was lost (so was the lock): the holder's step is abandoned. */
class LeaseLost extends Error {}

/** Exponential backoff with jitter: between half and all of base * 2^(attempt-1), capped. */
function backoffMs(attempt: number, r: RetryOptions): number {
  const full = Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(full / 2 + (Math.random() * full) / 2);
}

/** New trials as one JSON array parameter (inserted with jsonb_array_elements). */
function trialsPayload(trials: readonly NewTrial[]): string {
  return JSON.stringify(trials.map((t) => ({ point: t.point, arch: t.arch, hp: t.hp, archHash: t.archHash })));
}

/** Milliseconds since the epoch on the database server: one clock for every worker. */
const NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
/** Advisory lock class for migrations (the second key is the schema name's hash). */
const MIGRATION_LOCK = 0x61726368; // "arch"

/**
 * Schema migrations (each a function of the quoted schema name), applied in order, each in its
 * own transaction under an advisory lock; applied versions are rows of `schema_version`.
 *
 * Queryable JSON is jsonb; the search state is `json`, which keeps its text exactly (key order
 * included), so a restored strategy is the one that was saved.
 */
const MIGRATIONS: ((s: string) => string)[] = [
  (s) => `
   CREATE TABLE ${s}.experiments (
     id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
     name text NOT NULL UNIQUE,
     config jsonb NOT NULL,
     config_hash text NOT NULL,
     status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
     search_state json,
     next_number integer NOT NULL DEFAULT 0,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL
   );
   CREATE TABLE ${s}.trials (
     id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
     experiment_id integer NOT NULL REFERENCES ${s}.experiments(id) ON DELETE CASCADE,
     number integer NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'running', 'paused', 'finished', 'failed', 'pruned')),
     point jsonb NOT NULL,
     arch jsonb NOT NULL,
     hp jsonb NOT NULL,
     arch_hash text NOT NULL,
     cache_key text,
     fidelity jsonb,
     metrics jsonb,
     hidden jsonb,
     cost_s double precision,
     cached_from integer,
     error text,
     worker text,
     request_id uuid,
     created_at bigint NOT NULL,
     started_at bigint,
     finished_at bigint,
     heartbeat_at bigint,
     UNIQUE (experiment_id, number)
   );
   CREATE INDEX trials_by_status ON ${s}.trials (experiment_id, status);
   CREATE INDEX trials_by_cache_key ON ${s}.trials (experiment_id, cache_key) WHERE status = 'finished';
   CREATE INDEX trials_by_request ON ${s}.trials (request_id) WHERE request_id IS NOT NULL;
   CREATE TABLE ${s}.trial_values (
     trial_id integer NOT NULL REFERENCES ${s}.trials(id) ON DELETE CASCADE,
     step double precision NOT NULL,
     name text NOT NULL,
     value double precision,
     PRIMARY KEY (trial_id, step, name)
   );`,
  // Workers: an attempt counter (fencing token) and retry count per trial.
  (s) => `
   ALTER TABLE ${s}.trials ADD COLUMN attempt integer NOT NULL DEFAULT 0;
   ALTER TABLE ${s}.trials ADD COLUMN retries integer NOT NULL DEFAULT 0;`,
  // Cache hits from another experiment of the store (cache: shared) name it.
  (s) => `ALTER TABLE ${s}.trials ADD COLUMN cached_from_experiment text;`,
];

/** Number of migrations this version knows: the schema version of a store it creates. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

interface TrialRow {
  id: number;
  experiment_id: number;
  number: number;
  status: TrialStatus;
  point: Json;
  arch: Json;
  hp: JsonObject;
  arch_hash: string;
  fidelity: Fidelity | null;
  metrics: Record<string, number | string> | null;
  hidden: Record<string, number | string> | null;
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
  config: JsonObject;
  config_hash: string;
  status: "running" | "done";
  created_at: number;
  updated_at: number;
}

function toTrial(r: TrialRow): TrialRecord {
  return {
    id: r.id,
    experimentId: r.experiment_id,
    number: r.number,
    status: r.status,
    point: r.point,
    arch: r.arch,
    hp: r.hp,
    archHash: r.arch_hash,
    fidelity: r.fidelity,
    metrics: metricsFromJson(r.metrics),
    hidden: metricsFromJson(r.hidden),
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
    config: r.config,
    configHash: r.config_hash,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** bigint columns (timestamps in ms) as numbers; everything else as the driver parses it. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

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
  /** Retries done so far (every operation together). */
  retries = 0;
  /** Errors of idle pooled connections (for example terminated by the server); they are replaced. */
  idleErrors = 0;
  private readonly pool: pg.Pool;
  private readonly poolSize: number;
  private readonly s: string;
  private readonly onRetry?: (event: RetryEvent) => void;
  private readonly opened: Promise<void>;
  private closed = false;
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
    this.applicationName = o.applicationName ?? "archsearch";
    this.retry = { ...DEFAULT_RETRY, ...definedOnly(o.retry ?? {}) };
    this.onRetry = o.onRetry;
    this.poolSize = o.poolSize ?? 10;
    this.pool = new pg.Pool({
      connectionString: parsed.connectionString,
      application_name: this.applicationName,
      max: this.poolSize,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true, // an idle pool does not keep the process alive
      types: TYPES,
    });
    // An idle connection that the server closes emits an error; the pool drops it and opens another when needed.
    this.pool.on("error", () => {
      this.idleErrors++;
    });
    this.opened = this.open();
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

  /** Resolves once connected and migrated; rejects with the reason it cannot be. */
  ready(): Promise<void> {
    return this.opened;
  }

  private table(name: "experiments" | "trials" | "trial_values" | "schema_version"): string {
    return `${this.s}.${name}`;
  }

  private async open(): Promise<void> {
    await this.withRetry("connect", async () => (await this.checkout()).done(false));
    await this.migrate();
  }

  /** Runs `fn` again on transient errors, waiting longer each time, up to `retry.attempts` tries. */
  private async withRetry<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const transient = isTransientError(e);
        if (!transient || attempt >= this.retry.attempts || this.closed) throw this.failure(operation, e, attempt, transient);
        const delayMs = backoffMs(attempt, this.retry);
        this.retries++;
        this.onRetry?.({ operation, attempt, delayMs, error: e });
        await sleep(delayMs);
      }
    }
  }

  private failure(operation: string, e: unknown, attempts: number, transient: boolean): Error {
    if (e instanceof UserError || e instanceof StaleAttemptError) return e;
    const tries = transient ? ` after ${attempts} ${attempts === 1 ? "try" : "tries"}` : "";
    if (operation === "connect") {
      const hint = transient ? "; is the server running and reachable? (retries: retry_attempts / retry_max_delay_ms URL parameters)" : "";
      return new UserError(`cannot connect to ${this.url}${tries}: ${errorText(e)}${hint}`);
    }
    if (operation === "migrate") {
      // Almost always the setup: a user who may not create the schema or its tables.
      return new UserError(`cannot set up the archsearch tables in schema "${this.schema}" of ${this.url}${tries}: ${errorText(e)}`);
    }
    const err = new Error(`PostgreSQL store ${this.url}: ${operation} failed${tries}: ${errorText(e)}`, { cause: e });
    const code = (e as { code?: unknown })?.code;
    if (code !== undefined) (err as Error & { code?: unknown }).code = code;
    return err;
  }

  private async query<R extends pg.QueryResultRow>(operation: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    await this.opened;
    return this.withRetry(operation, () => this.pool.query<R>(sql, params));
  }

  /** Runs `fn` in a transaction on one connection; on a transient error the whole transaction is run again. */
  private async transaction<T>(operation: string, fn: (c: pg.PoolClient) => Promise<T>, waitOpen = true): Promise<T> {
    if (waitOpen) await this.opened;
    return this.withRetry(operation, async () => {
      const { client, done } = await this.checkout();
      let broken = false;
      try {
        await client.query("BEGIN");
        const result = await fn(client);
        await client.query("COMMIT");
        return result;
      } catch (e) {
        try {
          await client.query("ROLLBACK");
        } catch {
          broken = true;
        }
        throw e;
      } finally {
        done(broken);
      }
    });
  }

  /**
   * A connection from the pool, with an error listener attached before anything else can run:
   * the server may end it in the same network read that completed its startup, and an
   * unlistened error event would crash the process. (A lost connection surfaces as the error
   * of the query that needed it.) `done(true)` discards it instead of returning it to the pool.
   */
  private checkout(): Promise<{ client: pg.PoolClient; done: (broken: boolean) => void }> {
    return new Promise((resolve, reject) => {
      this.pool.connect((err, client, release) => {
        if (err || !client) return reject(err ?? new Error("the pool gave no connection"));
        const swallow = () => undefined;
        client.on("error", swallow);
        resolve({
          client,
          done: (broken) => {
            client.removeListener("error", swallow);
            release(broken);
          },
        });
      });
    });
  }

  private async migrate(): Promise<void> {
    for (;;) {
      const done = await this.transaction(
        "migrate",
        async (c) => {
          await c.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [MIGRATION_LOCK, this.schema]);
          const exists = await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [this.schema]);
          if (exists.rowCount === 0) await c.query(`CREATE SCHEMA ${this.s}`);
          await c.query(`CREATE TABLE IF NOT EXISTS ${this.table("schema_version")} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
          const { rows } = await c.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0) AS v FROM ${this.table("schema_version")}`);
          const current = rows[0].v;
          if (current > MIGRATIONS.length) {
            throw new UserError(
              `PostgreSQL store ${this.url} (schema ${this.schema}) has schema version ${current}, newer than this archsearch knows (${MIGRATIONS.length}); upgrade archsearch`,
            );
          }
          if (current === MIGRATIONS.length) return true;
          await c.query(MIGRATIONS[current](this.s));
          await c.query(`INSERT INTO ${this.table("schema_version")} (version) VALUES ($1)`, [current + 1]);
          return current + 1 === MIGRATIONS.length;
        },
        false,
      );
      if (done) return;
    }
  }

  /** Applied schema version (number of migrations run). */
  async schemaVersion(): Promise<number> {
    const { rows } = await this.query<{ v: number }>("schemaVersion", `SELECT COALESCE(MAX(version), 0) AS v FROM ${this.table("schema_version")}`);
    return rows[0].v;
  }

  async openExperiment(name: string, config: JsonObject, configHash: string) {
    await this.opened;
    return this.withRetry("openExperiment", async () => {
      const inserted = await this.pool.query<ExperimentRow>(
        `INSERT INTO ${this.table("experiments")} (name, config, config_hash, created_at, updated_at)
         VALUES ($1, $2::jsonb, $3, ${NOW_MS}, ${NOW_MS}) ON CONFLICT (name) DO NOTHING RETURNING *`,
        [name, JSON.stringify(config), configHash],
      );
      if (inserted.rows.length > 0) return { experiment: toExperiment(inserted.rows[0]), created: true };
      const { rows } = await this.pool.query<ExperimentRow>(`SELECT * FROM ${this.table("experiments")} WHERE name = $1`, [name]);
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

  async setExperimentStatus(experimentId: number, status: ExperimentRecord["status"]) {
    await this.query("setExperimentStatus", `UPDATE ${this.table("experiments")} SET status = $2, updated_at = ${NOW_MS} WHERE id = $1`, [experimentId, status]);
  }

  async loadSearchState(experimentId: number) {
    const { rows } = await this.query<{ search_state: Json | null }>(
      "loadSearchState",
      `SELECT search_state FROM ${this.table("experiments")} WHERE id = $1`,
      [experimentId],
    );
    return rows[0]?.search_state ?? undefined;
  }

  async addTrials(experimentId: number, trials: NewTrial[], searchState: Json, expectedCount?: number) {
    const requestId = randomUUID();
    const payload = trialsPayload(trials);
    const fenced = expectedCount !== undefined;
    let retry = false;
    return this.transaction("addTrials", async (c) => {
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
             UPDATE ${this.table("experiments")} SET next_number = next_number + $2::integer, search_state = $3::json, updated_at = ${NOW_MS}
             WHERE id = $1 ${fenced ? "AND next_number = $6::integer" : ""} RETURNING next_number - $2::integer AS first
           )
           INSERT INTO ${this.table("trials")} (experiment_id, number, status, point, arch, hp, arch_hash, request_id, created_at)
           SELECT $1, bump.first + x.ord::integer - 1, 'pending', x.e->'point', x.e->'arch', x.e->'hp', x.e->>'archHash', $5::uuid, ${NOW_MS}
           FROM bump, jsonb_array_elements($4::jsonb) WITH ORDINALITY AS x(e, ord)
           RETURNING *`,
          [experimentId, trials.length, JSON.stringify(searchState), payload, requestId, ...(fenced ? [expectedCount] : [])],
        );
        if (rows.length > 0) return rows.map(toTrial).sort((a, b) => a.number - b.number);
      }
      // The experiment row is the counter: its row lock orders concurrent adders, so numbers never repeat.
      const bump = await c.query<{ first: number }>(
        `UPDATE ${this.table("experiments")} SET next_number = next_number + $2, search_state = $3::json, updated_at = ${NOW_MS}
         WHERE id = $1 ${fenced ? "AND next_number = $4" : ""} RETURNING next_number - $2 AS first`,
        [experimentId, trials.length, JSON.stringify(searchState), ...(fenced ? [expectedCount] : [])],
      );
      if (bump.rows.length === 0) {
        const exists = await c.query(`SELECT 1 FROM ${this.table("experiments")} WHERE id = $1`, [experimentId]);
        if (exists.rowCount === 0) throw new Error(`no experiment with id ${experimentId}`);
        return []; // the experiment moved on since the caller looked (expectedCount)
      }
      return this.insertTrials(c, experimentId, bump.rows[0].first, trials, requestId);
    });
  }

  /** Inserts pending trials numbered from `first`, inside the caller's transaction. */
  private async insertTrials(c: pg.PoolClient, experimentId: number, first: number, trials: readonly NewTrial[], requestId: string | null): Promise<TrialRecord[]> {
    if (trials.length === 0) return [];
    const { rows } = await c.query<TrialRow>(
      `INSERT INTO ${this.table("trials")} (experiment_id, number, status, point, arch, hp, arch_hash, request_id, created_at)
       SELECT $1, $2::integer + x.ord::integer - 1, 'pending', x.e->'point', x.e->'arch', x.e->'hp', x.e->>'archHash', $4::uuid, ${NOW_MS}
       FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS x(e, ord)
       RETURNING *`,
      [experimentId, first, trialsPayload(trials), requestId],
    );
    return rows.map(toTrial).sort((a, b) => a.number - b.number);
  }

  async commitDriverStep(experimentId: number, step: DriverStep): Promise<TrialRecord[] | undefined> {
    return this.transaction("commitDriverStep", async (c) => {
      // The experiment row orders drivers (its row lock) and carries the fence (the state's version).
      const bump = await c.query<{ first: number }>(
        `UPDATE ${this.table("experiments")} SET next_number = next_number + $2, search_state = $3::json, updated_at = ${NOW_MS}
         WHERE id = $1 AND COALESCE((search_state->>'v')::bigint, 0) = $4 RETURNING next_number - $2 AS first`,
        [experimentId, step.add.length, JSON.stringify(step.state), step.stateVersion],
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
        const res = await c.query(`UPDATE ${this.table("trials")} SET ${set} WHERE experiment_id = $1 AND number = ANY($2::integer[]) AND status = 'paused'`, [experimentId, [...numbers]]);
        if (res.rowCount !== numbers.length) throw new Error(`driver step: not every trial of ${numbers.join(", ")} is paused (cannot ${what} them)`);
      }
      return added;
    });
  }

  async startTrial(trialId: number, fidelity: Fidelity, worker: string, attempt?: number) {
    await this.opened;
    const fenced = attempt !== undefined;
    // A fenced start of a trial claimed here knows its (immutable) arch_hash and hp already: one statement.
    const known = fenced ? this.claimed.get(trialId) : undefined;
    this.claimed.delete(trialId);
    await this.withRetry("startTrial", async () => {
      let rows: { arch_hash: string; hp: JsonObject }[];
      if (known) rows = [known];
      else {
        rows = (await this.pool.query<{ arch_hash: string; hp: JsonObject }>(`SELECT arch_hash, hp FROM ${this.table("trials")} WHERE id = $1`, [trialId])).rows;
        if (rows.length === 0) throw new Error(`no trial with id ${trialId}`);
      }
      const res = await this.pool.query(
        `UPDATE ${this.table("trials")} SET status = 'running', fidelity = $2::jsonb, cache_key = $3, worker = $4, started_at = ${NOW_MS}, heartbeat_at = ${NOW_MS}
         WHERE id = $1 ${fenced ? "AND attempt = $5 AND status = 'running'" : ""}`,
        [trialId, JSON.stringify(fidelity), cacheKey(rows[0].arch_hash, rows[0].hp, fidelity), worker, ...(fenced ? [attempt] : [])],
      );
      if (res.rowCount === 0) throw new StaleAttemptError(trialId, attempt!, "the trial was reclaimed");
    });
  }

  async claimTrial(experimentId: number, worker: string): Promise<ClaimedTrial | undefined> {
    // SKIP LOCKED: concurrent claimers each take a different pending trial without waiting on each other.
    const { rows } = await this.query<TrialRow & { attempt: number }>(
      "claimTrial",
      `UPDATE ${this.table("trials")} SET status = 'running', attempt = attempt + 1, worker = $2, started_at = ${NOW_MS}, heartbeat_at = ${NOW_MS}
       WHERE id = (SELECT id FROM ${this.table("trials")} WHERE experiment_id = $1 AND status = 'pending' ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [experimentId, worker],
    );
    if (rows.length === 0) return undefined;
    if (this.claimed.size > 10_000) this.claimed.clear(); // claimed and never started nor completed (bounded)
    this.claimed.set(rows[0].id, { arch_hash: rows[0].arch_hash, hp: rows[0].hp });
    return { trial: toTrial(rows[0]), attempt: rows[0].attempt };
  }

  async heartbeat(trialId: number, attempt: number): Promise<boolean> {
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
    return this.transaction("reclaimStale", async (c) => {
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
          await c.query(`UPDATE ${this.table("trials")} SET status = 'pending', retries = retries + 1, worker = NULL, error = $2, heartbeat_at = NULL WHERE id = $1`, [t.id, error]);
          out.retried.push(t.number);
        } else {
          await c.query(`UPDATE ${this.table("trials")} SET status = 'failed', error = $2, finished_at = ${NOW_MS} WHERE id = $1`, [t.id, error]);
          out.failed.push(t.number);
        }
      }
      return out;
    });
  }

  /**
   * The driver lease is a session advisory lock: the server releases it when the holder's
   * connection ends (process killed included). The holder also holds a second lock, the gate,
   * for as long as it drives. Waiting (`waitMs`) is a request for the gate in shared mode, queued
   * by the server under a lock_timeout: no polling, and every waiter is let through at once when
   * the holder opens the gate (each gives it back at once and goes to claim). The lease itself is
   * only ever tried, never waited for, so waiters passing the gate never keep a new driver out.
   * The holder counts the waiters in pg_locks. Taking the lease retries transient errors like
   * every other operation.
   */
  async withDriverLease<T>(experimentId: number, _owner: string, fn: (lease: DriverLease) => Promise<T>, waitMs = 0): Promise<LeaseResult<T>> {
    await this.opened;
    if (this.poolSize < 2) throw new UserError(`workers need pool_size >= 2 in storage ${this.url} (the driver lease holds one connection while the others work)`);
    const key = `archsearch-driver:${this.schema}:${experimentId}`;
    const gate = `archsearch-driver-gate:${this.schema}:${experimentId}`;
    const held = await this.withRetry("driverLease", async () => {
      const c = await this.checkout();
      try {
        const { rows } = await c.client.query<{ ok: boolean; now: string }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok, ${NOW_MS} AS now`, [key]);
        if (rows[0].ok) {
          const clock = { server: Number(rows[0].now), local: Date.now() };
          // Close the gate (after any waiter still passing it): the workers that wait from now on queue on it.
          await c.client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [gate]);
          return { ...c, clock };
        }
        if (waitMs > 0) await this.awaitGate(c.client, gate, waitMs);
        c.done(false);
        return undefined;
      } catch (e) {
        c.done(true); // the session ends, and any lock it took with it
        throw e;
      }
    });
    if (!held) return { acquired: false };
    const { client, done, clock } = held;
    // The server's clock, advanced by the local one since it was read (workers' clocks may differ from the server's).
    const now = () => clock.server + (Date.now() - clock.local);
    const waiting = () =>
      this.gateWaiters(client, gate).catch((e: unknown) => {
        // The lease's own connection is gone, and the server released the locks with it.
        throw isTransientError(e) ? new LeaseLost() : e;
      });
    try {
      return { acquired: true, value: await fn({ waiting, now }) };
    } catch (e) {
      if (e instanceof LeaseLost) return { acquired: false };
      throw e;
    } finally {
      // Open the gate, then let go of the lease. A lost connection has released both already; it is then discarded.
      const unlocked = await client
        .query("SELECT pg_advisory_unlock(hashtextextended($1, 0)), pg_advisory_unlock(hashtextextended($2, 0))", [gate, key])
        .then(
          () => true,
          () => false,
        );
      done(!unlocked);
    }
  }

  /** Waits up to `waitMs` until the driver opens the gate `gate` (a shared request, given back at once). */
  private async awaitGate(client: pg.PoolClient, gate: string, waitMs: number): Promise<void> {
    const { rows } = await client.query<{ old: string }>("SELECT current_setting('lock_timeout') AS old, set_config('lock_timeout', $1, false)", [`${Math.ceil(waitMs)}ms`]);
    try {
      await client.query("SELECT pg_advisory_lock_shared(hashtextextended($1, 0))", [gate]);
    } catch (e) {
      // 55P03 lock_not_available: waited waitMs. Another error ends the connection (the caller discards it).
      if ((e as { code?: unknown }).code !== "55P03") throw e;
    }
    // Given back in every case: the timeout can fire just after the lock was granted, and a session
    // lock survives the statement's error (this pooled connection would keep it for ever). The same
    // round trip puts lock_timeout back.
    await client.query("SELECT pg_advisory_unlock_shared(hashtextextended($1, 0)), set_config('lock_timeout', $2, false)", [gate, rows[0].old]);
  }

  /** Sessions waiting at the gate `gate` (a bigint key shows in pg_locks as classid = high half, objid = low half, objsubid 1). */
  private async gateWaiters(client: pg.PoolClient, gate: string): Promise<number> {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::integer AS n FROM pg_locks
       WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND classid::bigint = (hashtextextended($1, 0) >> 32) & 4294967295
         AND objid::bigint = hashtextextended($1, 0) & 4294967295`,
      [gate],
    );
    return rows[0].n;
  }

  async reportIntermediate(trialId: number, step: number, metrics: Metrics, attempt?: number) {
    const names = Object.keys(metrics);
    // One statement: the values (NaN and infinities kept as such) and the heartbeat, idempotent per (trial, step, metric).
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

  async completeTrial(trialId: number, c: TrialCompletion, searchState: Json | undefined, attempt?: number) {
    this.claimed.delete(trialId);
    if (attempt !== undefined && c.cachedFrom == null && c.cachedFromExperiment == null && searchState === undefined) {
      // The common case of a worker: one fenced statement. The trial keeps its fidelity (and the cache key
      // startTrial derived from it). When no row matches (reclaimed, or a retried commit that went through),
      // the transaction below decides between StaleAttemptError and an idempotent success.
      const res = await this.query(
        "completeTrial",
        `UPDATE ${this.table("trials")} SET status = $3, metrics = $4::jsonb, hidden = $5::jsonb, cost_s = $6, error = $7, cached_from = NULL,
           cache_key = CASE WHEN fidelity IS NULL THEN NULL ELSE cache_key END, cached_from_experiment = NULL, finished_at = ${NOW_MS}
         WHERE id = $1 AND attempt = $2 AND status = 'running'`,
        [trialId, attempt, c.status, jsonOrNull(metricsToJson(c.metrics)), jsonOrNull(metricsToJson(c.hidden)), c.costSeconds ?? null, c.error ?? null],
      );
      if ((res.rowCount ?? 0) > 0) return;
    }
    await this.transaction("completeTrial", async (db) => {
      const { rows } = await db.query<{ experiment_id: number; arch_hash: string; hp: JsonObject; fidelity: Fidelity | null; status: TrialStatus; attempt: number }>(
        `SELECT experiment_id, arch_hash, hp, fidelity, status, attempt FROM ${this.table("trials")} WHERE id = $1 FOR UPDATE`,
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
      let fidelity = row.fidelity;
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
      await db.query(
        `UPDATE ${this.table("trials")} SET status = $2, metrics = $3::jsonb, hidden = $4::jsonb, cost_s = $5, error = $6, cached_from = $7,
           fidelity = $8::jsonb, cache_key = $9, cached_from_experiment = $10, finished_at = ${NOW_MS} WHERE id = $1`,
        [
          trialId,
          c.status,
          jsonOrNull(metricsToJson(c.metrics)),
          jsonOrNull(metricsToJson(c.hidden)),
          c.costSeconds ?? null,
          c.error ?? null,
          c.cachedFrom ?? null,
          jsonOrNull(fidelity),
          fidelity ? cacheKey(row.arch_hash, row.hp, fidelity) : null,
          c.cachedFromExperiment ?? null,
        ],
      );
      if (searchState === undefined) return;
      await db.query(`UPDATE ${this.table("experiments")} SET search_state = $2::json, updated_at = ${NOW_MS} WHERE id = $1`, [
        row.experiment_id,
        JSON.stringify(searchState),
      ]);
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

  async findFinished(experimentId: number, archHash: string, hp: JsonObject, fidelity: Fidelity) {
    const { rows } = await this.query<TrialRow>(
      "findFinished",
      `SELECT * FROM ${this.table("trials")} WHERE experiment_id = $1 AND cache_key = $2 AND status = 'finished' ORDER BY number LIMIT 1`,
      [experimentId, cacheKey(archHash, hp, fidelity)],
    );
    return rows.length ? toTrial(rows[0]) : undefined;
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.opened.catch(() => undefined);
    await this.pool.end();
  }
}

function jsonOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
