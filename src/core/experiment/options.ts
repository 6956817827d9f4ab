import type { Json, JsonObject } from "../json.js";
import type { Evaluator, Metrics } from "../evaluator.js";
import type { Scheduler } from "../scheduler.js";
import type { SearchSpace } from "../space.js";
import type { Strategy } from "../strategy.js";
import type { Objectives } from "../objectives.js";
import type { ExperimentRecord, Store, TrialRecord } from "../store.js";
import type { Backend } from "../backend.js";

export interface Budget {
  /** Trials to finish (finished, failed or pruned all count). */
  trials: number;
  /** Trials run at the same time in this process. */
  concurrency?: number;
  /** A trial running longer than this is aborted and marked failed. */
  trialTimeoutSeconds?: number;
  /** Stop the experiment with an error once more than this many trials have failed. */
  maxFailures?: number;
}

/**
 * The first suggestions of a new experiment: `points` as given, then the `topK` best distinct
 * architectures of each experiment in `experiments` (same store), before the strategy is asked.
 */
export interface WarmStart {
  points?: Json[];
  experiments?: string[];
  /** Best trials taken from each named experiment (default 10). */
  topK?: number;
}

export interface ExperimentOptions {
  name: string;
  seed: number;
  space: SearchSpace;
  strategy: Strategy;
  scheduler: Scheduler;
  evaluator: Evaluator;
  objectives: Objectives;
  store: Store;
  budget: Budget;
  /** The config stored with the experiment; `configHash` identifies the search it defines. */
  config?: JsonObject;
  configHash?: string;
  /** Where evaluators keep a paused trial's checkpoint (one directory per trial below it). */
  checkpointDir?: string;
  /** Where trials' and searchers' artifacts are kept (a folder per experiment below it; default `archsearch-artifacts` in the working directory). */
  artifactDir?: string;
  /**
   * The version of the data trials are measured on (default: the evaluator's `dataVersion`):
   * recorded on every trial and part of the cache key, so results never cross versions. It may
   * change between runs of one experiment (new data); the search goes on, with a fresh cache.
   */
  dataVersion?: string;
  /**
   * Reuse the result of an equal (canonical) architecture with equal hyperparameters and fidelity:
   * within the experiment (true, the default), also from the store's other experiments with the
   * same space and evaluator ("shared"), or never (false).
   */
  cache?: boolean | "shared";
  /** Points to evaluate first, from a list and from earlier experiments' best; served once, resumes included. */
  warmStart?: WarmStart;
  worker?: string;
  /** Runs the trials: the local one by default (the evaluator in this process, real time). */
  backend?: Backend;
  /**
   * Store the search state with every trial write (default true), so the experiment resumes
   * exactly; a throwaway simulation sets false and skips serialising the strategy each time.
   */
  persistState?: boolean;
  onEvent?: (event: ExperimentEvent) => void;
  /** Abort to stop after the trials in flight (they are left to be resumed). */
  signal?: AbortSignal;
  /**
   * Abort (with `signal`) to stop now: the trials in flight are aborted and put back as pending
   * in the store (Store.releaseTrial), so that the resume runs them again.
   */
  interrupt?: AbortSignal;
}

export interface BestTrial {
  number: number;
  point: Json;
  arch: Json;
  hp: JsonObject;
  metrics: Metrics;
  hidden: Metrics;
  score: number;
}

export interface Progress {
  done: number;
  budget: number;
  failed: number;
  best?: BestTrial;
  elapsedMs: number;
  /** Sum of the trials' cost (simulated training time on a benchmark). */
  costSeconds: number;
}

export type ExperimentEvent =
  | { type: "opened"; experiment: ExperimentRecord; created: boolean; done: number; resumed: number; progress: Progress }
  | { type: "trial"; trial: TrialRecord; progress: Progress }
  /** A searcher's job reported a step (an epoch of supernet training). */
  | { type: "searcher"; searcher: string; step: number; metrics: Metrics; resumed: boolean; progress: Progress };

export interface ExperimentSummary {
  experiment: string;
  trials: number;
  failed: number;
  best?: BestTrial;
  costSeconds: number;
  elapsedMs: number;
  complete: boolean;
}

/** Settings of worker mode (`Experiment.runWorker`): many processes sharing one experiment through the store. */
export interface WorkerOptions {
  /** Seconds between heartbeats of a running trial (default 2). */
  heartbeatSeconds?: number;
  /** A running trial whose heartbeat is older than this is reclaimed (default 30; more than heartbeatSeconds). */
  graceSeconds?: number;
  /** Times a reclaimed trial is given back as pending before it is failed (default 2). */
  maxRetries?: number;
  /** Milliseconds between looks at the store while there is nothing to claim (default 250). */
  pollMs?: number;
  /** Milliseconds between reads of the other workers' reports for a stopping scheduler (default 500; FIFO reads none). */
  schedulerSyncMs?: number;
}

export const WORKER_DEFAULTS = { heartbeatSeconds: 2, graceSeconds: 30, maxRetries: 2, pollMs: 250, schedulerSyncMs: 500 } as const;
