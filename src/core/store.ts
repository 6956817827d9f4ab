import type { Json, JsonObject } from "./json.js";
import type { Metrics } from "./evaluator.js";
import type { Fidelity } from "./scheduler.js";

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
  error: string | null;
  worker: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface TrialCompletion {
  status: "finished" | "failed" | "pruned" | "paused";
  metrics: Metrics | null;
  hidden?: Metrics | null;
  costSeconds?: number | null;
  error?: string | null;
  cachedFrom?: number | null;
}

export interface IntermediateValue {
  step: number;
  metrics: Metrics;
}

/**
 * The only state shared between processes. Writes that must stay consistent with the
 * strategy (new trials, finished trials) take the strategy snapshot in the same transaction,
 * so a crash at any point resumes from a state that matches the trials.
 */
export interface Store {
  /** Opens the experiment by name, creating it with this config when it does not exist. */
  openExperiment(name: string, config: JsonObject, configHash: string): Promise<{ experiment: ExperimentRecord; created: boolean }>;
  getExperiment(name: string): Promise<ExperimentRecord | undefined>;
  listExperiments(): Promise<ExperimentRecord[]>;
  setExperimentStatus(experimentId: number, status: ExperimentRecord["status"]): Promise<void>;

  /** Latest strategy snapshot (strategy and scheduler state as one JSON value). */
  loadSearchState(experimentId: number): Promise<Json | undefined>;
  /** Adds trials with consecutive new numbers and saves the search state, atomically. */
  addTrials(experimentId: number, trials: NewTrial[], searchState: Json): Promise<TrialRecord[]>;
  startTrial(trialId: number, fidelity: Fidelity, worker: string): Promise<void>;
  /** Records intermediate metrics; reporting the same step twice overwrites (idempotent). */
  reportIntermediate(trialId: number, step: number, metrics: Metrics): Promise<void>;
  /** Records a trial's end and the search state after the strategy was told, atomically. */
  completeTrial(trialId: number, completion: TrialCompletion, searchState: Json): Promise<void>;

  getTrials(experimentId: number, opts?: { status?: readonly TrialStatus[] }): Promise<TrialRecord[]>;
  getTrial(experimentId: number, number: number): Promise<TrialRecord | undefined>;
  getIntermediate(trialId: number): Promise<IntermediateValue[]>;
  countTrials(experimentId: number): Promise<Record<TrialStatus, number>>;
  /** A finished trial of the experiment with this architecture hash and fidelity, if any. */
  findFinished(experimentId: number, archHash: string, hp: JsonObject, fidelity: Fidelity): Promise<TrialRecord | undefined>;
  close(): Promise<void>;
}
