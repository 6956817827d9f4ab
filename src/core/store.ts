import type { Json, JsonObject } from "./json.js";
import type { Metrics } from "./evaluator.js";
import type { Fidelity } from "./scheduler.js";
import type { StateWrite, StoredState } from "./search-state.js";

export type { StateWrite, StoredState } from "./search-state.js";

export type TrialStatus = "pending" | "running" | "paused" | "finished" | "failed" | "pruned";
export const TRIAL_STATUSES: readonly TrialStatus[] = ["pending", "running", "paused", "finished", "failed", "pruned"];
export const TERMINAL_STATUSES: readonly TrialStatus[] = ["finished", "failed", "pruned"];

export interface ExperimentRecord {
  id: number;
  name: string;
  /** The validated config the experiment was created with. */
  config: JsonObject;
  /** Hash of the parts of the config that define the search (budget and storage excluded). */
  configHash: string;
  status: "running" | "done";
  createdAt: number;
  updatedAt: number;
  /** Update sequence of the experiment's latest change of status or search state (see StoreReader.changedSince). */
  seq?: number;
}

export interface NewTrial {
  point: Json;
  arch: Json;
  hp: JsonObject;
  /** Hash of the canonical point: equal for points that compute the same function. */
  archHash: string;
}

export interface TrialRecord extends NewTrial {
  id: number;
  experimentId: number;
  number: number;
  status: TrialStatus;
  fidelity: Fidelity | null;
  /** Final metrics a strategy may see. */
  metrics: Metrics | null;
  /** Final metrics for reporting only (test accuracy). */
  hidden: Metrics | null;
  costSeconds: number | null;
  /** Number of the trial whose result this one reused, when it was a cache hit. */
  cachedFrom: number | null;
  /** The experiment of that trial, when it was another one of the store (`cache: shared`); null for this experiment. */
  cachedFromExperiment?: string | null;
  error: string | null;
  worker: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /**
   * Update sequence of the trial's latest change (see StoreReader.changedSince): set by the
   * stores on every record they give; absent on records a caller builds itself.
   */
  seq?: number;
  /** The order in which the strategy was told of the trial's end (1, 2, ...); null while not told. */
  toldSeq?: number | null;
  /** The run of the trial a promotion scheduler last heard (`runKey` of the row then); null when none. */
  heard?: string | null;
  /** The version of the data the trial was measured on (the experiment's `data_version`); null when none was declared. */
  dataVersion?: string | null;
}

export interface TrialCompletion {
  status: "finished" | "failed" | "pruned" | "paused";
  metrics: Metrics | null;
  hidden?: Metrics | null;
  costSeconds?: number | null;
  error?: string | null;
  cachedFrom?: number | null;
  cachedFromExperiment?: string | null;
  /** The version of the data the result was measured on (part of the cache key); null or absent: none declared. */
  dataVersion?: string | null;
  /**
   * The fidelity the run reached (its last report), recorded as the trial's fidelity: what the
   * strategy is told, so a restore's history tells the same. Absent: the granted one. (The cache
   * key stays the granted fidelity; a cache hit records its source's.)
   */
  fidelity?: Fidelity | null;
}

/** A file an experiment or a trial left behind, as the store records it (the file is in the artifact folder). */
export interface ArtifactRecord {
  /** The trial's number; null for the experiment's own (a searcher's checkpoint, its derived cells). */
  trial: number | null;
  name: string;
  /** Path of the file relative to the experiment's artifact folder. */
  path: string;
  bytes: number;
  sha256: string;
  createdAt: number;
}

/** A write for a trial attempt that is no longer current (the trial was reclaimed and given to another worker). */
export class StaleAttemptError extends Error {
  constructor(trialId: number, attempt: number, detail: string) {
    super(`stale attempt ${attempt} of trial id ${trialId}: ${detail}; the write was rejected`);
    this.name = "StaleAttemptError";
  }
}

/** A pending trial taken by a worker; `attempt` is the fencing token its later writes must carry. */
export interface ClaimedTrial {
  trial: TrialRecord;
  attempt: number;
}

/** Trials whose worker stopped beating: given back as pending (retried), or failed after the retry limit. */
export interface ReclaimResult {
  retried: number[];
  failed: number[];
}

export type LeaseResult<T> = { acquired: true; value: T } | { acquired: false };

/** What the holder of an experiment's driver lease can learn about the other workers. */
export interface DriverLease {
  /** Workers waiting for the lease now (they found nothing to claim); 0 when the store cannot tell. */
  waiting(): Promise<number>;
  /** The store's clock now (ms, the clock of its timestamps: the database server's for PostgreSQL). */
  now(): number;
}

export interface IntermediateValue {
  step: number;
  metrics: Metrics;
}

/** What one driver step of a promotion scheduler writes (Store.commitDriverStep). */
export interface DriverStep {
  add: NewTrial[];
  /** Paused trials to continue. */
  resume: number[];
  /** Paused trials ended for good. */
  end: number[];
  /** The new search state, with the trials told and the runs heard in this step. */
  state: StateWrite;
  /** The version of the stored state this step started from (its fence). */
  stateVersion: number;
}

/** A started trial with its intermediate values, as workers read them to share what their schedulers hear. */
export interface TrialProgress {
  trial: TrialRecord;
  values: IntermediateValue[];
}

/** A trial as `changedSince` gives it: with the sequence number of its latest change. */
export type ChangedTrial = TrialRecord & { seq: number };

/** What `changedSince` gives: the trials changed after the watermark asked for, and the next watermark. */
export interface TrialChanges {
  /** The trials (of one experiment) changed since the watermark, in the order of their changes (by `seq`). */
  trials: ChangedTrial[];
  /**
   * The watermark to ask from next time: the `seq` of the last trial given, or the watermark
   * asked for when nothing changed. Asking from it never misses a change, and gives a trial
   * again only when it changed again.
   */
  seq: number;
}

/**
 * The read side of a store: what the dashboard and the CLI's reports read, and what the driver
 * steps (SearchDriver, the experiment loops, the scheduler feed) read to rebuild and follow a
 * search. Reads never change anything.
 */
export interface StoreReader {
  getExperiment(name: string): Promise<ExperimentRecord | undefined>;
  listExperiments(): Promise<ExperimentRecord[]>;

  /** Latest strategy snapshot (strategy and scheduler state as one JSON value). */
  loadSearchState(experimentId: number): Promise<Json | undefined>;
  /** The latest snapshot with its version (0 before any; every state write adds one): what a worker's driver step fences on. */
  loadVersionedState(experimentId: number): Promise<StoredState | undefined>;

  /** The experiment's trials in number order; `status` keeps those statuses, `from` the numbers from it up. */
  getTrials(experimentId: number, opts?: { status?: readonly TrialStatus[]; from?: number }): Promise<TrialRecord[]>;
  getTrial(experimentId: number, number: number): Promise<TrialRecord | undefined>;
  getIntermediate(trialId: number): Promise<IntermediateValue[]>;
  countTrials(experimentId: number): Promise<Record<TrialStatus, number>>;
  /** A finished trial of the experiment with this architecture hash, hyperparameters, fidelity and data version, if any. */
  findFinished(experimentId: number, archHash: string, hp: JsonObject, fidelity: Fidelity, dataVersion?: string | null): Promise<TrialRecord | undefined>;
  /** A recorded artifact (`trial` null: the experiment's own), if any. */
  getArtifact(experimentId: number, trial: number | null, name: string): Promise<ArtifactRecord | undefined>;
  /** The experiment's recorded artifacts: all (`trial` undefined), its own (null) or one trial's, by trial then name. */
  listArtifacts(experimentId: number, trial?: number | null): Promise<ArtifactRecord[]>;
  /**
   * Trials numbered `from` or more that have started (any status but pending), except the
   * numbers in `skip`, each with its intermediate values, in number order: what a worker reads
   * to hear the other workers' reports (a stopping scheduler's rungs span every worker).
   * Optional: a store without it cannot feed a stopping scheduler in worker mode.
   */
  getProgress?(experimentId: number, from: number, skip: readonly number[]): Promise<TrialProgress[]>;
  /**
   * The experiment's trials changed after update sequence `seq` (0: all of them), ordered by the
   * sequence of their latest change, at most `limit` of them (default: no limit), and the
   * watermark to ask from next time. Every write that changes a trial's row gives it a new,
   * store-wide increasing `seq`: adding it, starting, claiming, pausing, completing, continuing,
   * ending or reclaiming it; heartbeats and intermediate reports do not. A reader polling with
   * the watermark sees every trial's latest state, whatever the writers do concurrently.
   */
  changedSince(experimentId: number, seq: number, limit?: number): Promise<TrialChanges>;
  /**
   * Optional: what `changedSince(experimentId, 0)` gives (every trial, in sequence order, and the
   * watermark), read the fastest way the store knows: a reader's first load of a large experiment.
   */
  allTrials?(experimentId: number): Promise<TrialChanges>;
}

/**
 * The write side of a store: what the experiment loop (and, in worker mode, the driver step of
 * the lease holder) writes. Writes that must stay consistent with the strategy (new trials,
 * finished trials) take the strategy snapshot in the same transaction, so a crash at any point
 * resumes from a state that matches the trials.
 */
export interface StoreWriter {
  /** Opens the experiment by name, creating it with this config when it does not exist. */
  openExperiment(name: string, config: JsonObject, configHash: string): Promise<{ experiment: ExperimentRecord; created: boolean }>;
  setExperimentStatus(experimentId: number, status: ExperimentRecord["status"]): Promise<void>;
  /** Removes an experiment with its trials, reports and artifact records (not the artifact files). */
  deleteExperiment(experimentId: number): Promise<void>;
  /**
   * Adds trials with consecutive new numbers and saves the search state, atomically. With
   * `expectedCount`, adds nothing and returns [] unless the experiment holds exactly that many
   * trials: a driver that lost its lease cannot add suggestions made from an outdated state. With
   * `expectedVersion`, likewise unless the stored state is still at that version (no other driver
   * wrote a state, which may have told trials, since this one read it).
   */
  addTrials(experimentId: number, trials: NewTrial[], searchState: StateWrite, expectedCount?: number, expectedVersion?: number): Promise<TrialRecord[]>;
  /**
   * With `attempt` (a claimed trial), throws StaleAttemptError unless that attempt still holds
   * the trial. `dataVersion`: the data it is measured on (recorded; part of its cache key).
   */
  startTrial(trialId: number, fidelity: Fidelity, worker: string, attempt?: number, dataVersion?: string | null): Promise<void>;
  /**
   * Records intermediate metrics; reporting the same step twice overwrites (idempotent). With
   * `attempt`, a report of an attempt that no longer holds the trial is ignored.
   */
  reportIntermediate(trialId: number, step: number, metrics: Metrics, attempt?: number): Promise<void>;
  /**
   * Records a trial's end and the search state after the strategy was told, atomically.
   * `searchState` undefined leaves the stored state alone (workers). With `attempt`, the write is
   * rejected with StaleAttemptError unless that attempt holds the trial; repeating the completion
   * of the attempt that already completed it is a no-op (idempotent).
   */
  completeTrial(trialId: number, completion: TrialCompletion, searchState: StateWrite | undefined, attempt?: number): Promise<void>;
  /**
   * Puts a running trial back to pending (the process stops now and the trial is to be run again
   * by the resume or another worker): its reports of this run are dropped, no retry is counted.
   * With `attempt`, only while that attempt holds it. Does nothing to a trial in another status.
   */
  releaseTrial(trialId: number, attempt?: number): Promise<void>;
  /**
   * One driver step of a promotion scheduler in worker mode, atomically: new trials (consecutive
   * numbers), paused trials continued (back to pending, claimed again with a new attempt) or
   * ended for good (pruned), and the new search state. Fenced by the version of the stored
   * state: nothing is written, and undefined returned, unless the stored state is still at
   * `stateVersion` (another driver moved on).
   * Optional: a store without it cannot run a promotion scheduler in worker mode.
   */
  commitDriverStep?(experimentId: number, step: DriverStep): Promise<TrialRecord[] | undefined>;
  /** Records an artifact's file (written by the caller under the artifact folder), replacing one of the same trial and name. */
  recordArtifact(experimentId: number, artifact: ArtifactRecord): Promise<void>;
}

/**
 * How workers (several processes sharing one experiment) coordinate through a store: taking
 * trials, proving they are alive, giving back the trials of dead workers, and taking turns as
 * the driver. Used by the worker loop only; a store without it cannot run workers.
 */
export interface WorkerCoordination {
  /** Atomically takes the lowest-numbered pending trial: running, attempt + 1, heartbeat now. */
  claimTrial(experimentId: number, worker: string): Promise<ClaimedTrial | undefined>;
  /** Refreshes the heartbeat of a claimed trial; false when `attempt` no longer holds it. */
  heartbeat(trialId: number, attempt: number): Promise<boolean>;
  /**
   * Running trials whose heartbeat is older than `graceMs`: back to pending while they were
   * retried fewer than `maxRetries` times, else failed with an error naming the worker.
   */
  reclaimStale(experimentId: number, graceMs: number, maxRetries: number): Promise<ReclaimResult>;
  /**
   * Runs `fn` while holding the experiment's driver lease (one holder at a time, released when
   * `fn` ends or its process dies). When another worker holds it, gives `{ acquired: false }`,
   * after waiting up to `waitMs` (default 0) for that holder to let go: it was adding trials, so
   * every waiter wakes when it is done and can claim them (without taking the lease in turn).
   */
  withDriverLease<T>(experimentId: number, owner: string, fn: (lease: DriverLease) => Promise<T>, waitMs?: number): Promise<LeaseResult<T>>;
}

/**
 * The only state shared between processes: everything a store reads and writes, and worker
 * coordination where the store has it (both built-in stores do). The type every caller uses;
 * code that only reads can ask for a StoreReader.
 */
export interface Store extends StoreReader, StoreWriter, Partial<WorkerCoordination> {
  close(): Promise<void>;
}
