import type { Json, JsonObject } from "../core/json.js";
import type { Metrics } from "../core/evaluator.js";
import type { Fidelity } from "../core/scheduler.js";
import type { ArtifactRecord, ExperimentRecord, TrialRecord, TrialStatus } from "../core/store.js";
import { metricsFromJson, metricsToJson } from "./common.js";

/**
 * The rows of the `trials` and `experiments` tables as the database drivers give them, and
 * their mapping to records, for both stores. The column types differ by driver:
 *
 * - JSON columns are text in SQLite (`JSON.parse` them) and already parsed in PostgreSQL
 *   (jsonb, json). Which one a row holds is told by `RowFormat`, never guessed from the value:
 *   a JSON string (a point may be `"p0"`) is a JS string once parsed.
 * - Integer columns are numbers, except PostgreSQL `bigint`, which the driver gives as a
 *   decimal string unless told otherwise (PostgresStore tells it; the mapping copes either way).
 */
export type RowFormat = "sqlite" | "postgres";

/** A JSON column: text to parse (SQLite) or the value itself (PostgreSQL). */
export type JsonColumn<T> = string | T;
/** An integer column: a number, or a decimal string (PostgreSQL `bigint`). */
export type IntColumn = number | string;

/** Metrics as stored: NaN and infinities as the strings "NaN", "Infinity", "-Infinity" (see metricsToJson). */
type StoredMetrics = Record<string, number | string>;

export interface TrialRow {
  id: IntColumn;
  experiment_id: IntColumn;
  number: IntColumn;
  status: TrialStatus;
  point: JsonColumn<Json>;
  arch: JsonColumn<Json>;
  hp: JsonColumn<JsonObject>;
  arch_hash: string;
  fidelity: JsonColumn<Fidelity> | null;
  metrics: JsonColumn<StoredMetrics> | null;
  hidden: JsonColumn<StoredMetrics> | null;
  cost_s: number | null;
  cached_from: IntColumn | null;
  /** Absent in rows of a schema from before the column (never read: the stores migrate first). */
  cached_from_experiment?: string | null;
  error: string | null;
  worker: string | null;
  created_at: IntColumn;
  started_at: IntColumn | null;
  finished_at: IntColumn | null;
  /** Update sequence of the latest change (schema version 4 of either store). */
  seq?: IntColumn | null;
  /** Schema version 5: the order told, the run heard, the data version. */
  told_seq?: IntColumn | null;
  heard?: string | null;
  data_version?: string | null;
}

export interface ArtifactRow {
  trial: IntColumn;
  name: string;
  path: string;
  bytes: IntColumn;
  sha256: string;
  created_at: IntColumn;
}

/** The artifacts table keeps the experiment's own artifacts under trial -1 (a key column cannot be null). */
export const EXPERIMENT_LEVEL = -1;

export function toArtifact(r: ArtifactRow): ArtifactRecord {
  const trial = int(r.trial);
  return { trial: trial === EXPERIMENT_LEVEL ? null : trial, name: r.name, path: r.path, bytes: int(r.bytes), sha256: r.sha256, createdAt: int(r.created_at) };
}

/** A trial row with the fencing token workers get with a claim. */
export type ClaimedTrialRow = TrialRow & { attempt: IntColumn };

export interface ExperimentRow {
  id: IntColumn;
  name: string;
  config: JsonColumn<JsonObject>;
  config_hash: string;
  status: "running" | "done";
  created_at: IntColumn;
  updated_at: IntColumn;
  seq?: IntColumn | null;
}

/** An integer column as a number. */
export function int(v: IntColumn): number {
  return typeof v === "number" ? v : Number(v);
}

function intOrNull(v: IntColumn | null | undefined): number | null {
  return v === null || v === undefined ? null : int(v);
}

/** A JSON column's value. */
export function jsonColumn<T>(v: JsonColumn<T>, format: RowFormat): T {
  return format === "sqlite" ? (JSON.parse(v as string) as T) : (v as T);
}

function jsonColumnOrNull<T>(v: JsonColumn<T> | null, format: RowFormat): T | null {
  return v === null ? null : jsonColumn(v, format);
}

export function toTrial(r: TrialRow, format: RowFormat): TrialRecord {
  const record: TrialRecord = {
    id: int(r.id),
    experimentId: int(r.experiment_id),
    number: int(r.number),
    status: r.status,
    point: jsonColumn(r.point, format),
    arch: jsonColumn(r.arch, format),
    hp: jsonColumn(r.hp, format),
    archHash: r.arch_hash,
    fidelity: jsonColumnOrNull(r.fidelity, format),
    metrics: metricsFromJson(jsonColumnOrNull(r.metrics, format)),
    hidden: metricsFromJson(jsonColumnOrNull(r.hidden, format)),
    costSeconds: r.cost_s,
    cachedFrom: intOrNull(r.cached_from),
    cachedFromExperiment: r.cached_from_experiment ?? null,
    error: r.error,
    worker: r.worker,
    createdAt: int(r.created_at),
    startedAt: intOrNull(r.started_at),
    finishedAt: intOrNull(r.finished_at),
    toldSeq: intOrNull(r.told_seq),
    heard: r.heard ?? null,
    dataVersion: r.data_version ?? null,
  };
  if (r.seq !== undefined && r.seq !== null) record.seq = int(r.seq);
  return record;
}

export function toExperiment(r: ExperimentRow, format: RowFormat): ExperimentRecord {
  const record: ExperimentRecord = {
    id: int(r.id),
    name: r.name,
    config: jsonColumn(r.config, format),
    configHash: r.config_hash,
    status: r.status,
    createdAt: int(r.created_at),
    updatedAt: int(r.updated_at),
  };
  if (r.seq !== undefined && r.seq !== null) record.seq = int(r.seq);
  return record;
}

/** JSON text of a value for a JSON column (both stores send text), or null. */
export function jsonOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
}

/**
 * JSON text of metrics for a metrics column: NaN and infinities kept as strings. (The stores
 * differ only for values that are no numbers, which Metrics never holds: each keeps its own.)
 */
export function metricsText(m: Metrics | null | undefined, format: RowFormat): string | null {
  if (format === "postgres") return jsonOrNull(metricsToJson(m));
  if (!m) return null;
  return JSON.stringify(m, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}
