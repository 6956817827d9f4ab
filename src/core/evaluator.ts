import type { Json, JsonObject } from "./json.js";
import type { Decision, Fidelity } from "./scheduler.js";

/** Named numbers, reported at every step and at the end: never a single float. */
export type Metrics = Record<string, number>;

/** Everything an evaluator needs to run one trial. */
export interface TrialSpec {
  experiment: string;
  /** Trial number within the experiment (0, 1, ...). */
  number: number;
  point: Json;
  arch: Json;
  hp: JsonObject;
  /** How much resource the scheduler grants, e.g. { epochs: 200 }. */
  fidelity: Fidelity;
  /** A seed for this trial alone, derived from the experiment seed and the trial number. */
  seed: number;
  /**
   * Set when a paused trial is continued (promoted): the fidelity it reached before. The
   * evaluator goes on from there (its checkpoint) and charges only the extra cost.
   */
  resumeFrom?: Fidelity;
  /**
   * A directory kept for this trial across pause and resume, where an evaluator may save a
   * checkpoint when it is paused and load it when the trial is continued.
   */
  checkpointDir?: string;
}

export interface EvalContext {
  /**
   * Reports intermediate metrics at a step (an epoch, say). The answer tells the evaluator
   * whether to go on; on "stop" or "pause" it should return what it has.
   */
  report(step: number, metrics: Metrics): Decision;
  /** Aborted when the trial times out or the experiment stops. */
  signal: AbortSignal;
}

export interface EvalResult {
  /** Metrics a strategy may see (validation accuracy, params, latency, ...). */
  metrics: Metrics;
  /** Metrics recorded for reporting only, never shown to a strategy (test accuracy). */
  hidden?: Metrics;
  /** Wall-clock seconds a real run would have taken (simulated for benchmarks, measured otherwise). */
  costSeconds?: number;
  /**
   * Files the trial leaves behind (weights, a derived cell, a plot), by name: kept in the
   * experiment's artifact folder with a checksum in the store, found again after a resume.
   */
  artifacts?: Record<string, Uint8Array | string>;
}

/** One step of a simulated run: what the evaluator reports there, and how long after the run's start. */
export interface SimulatedStep {
  step: number;
  metrics: Metrics;
  hidden?: Metrics;
  /** Simulated seconds from the start of this run (of the continuation, for a resumed trial). */
  elapsedSeconds: number;
}

/** The resource an evaluator can vary (epochs for training, 12 / 200 epochs for NB201). */
export interface FidelitySpec {
  resource: string;
  min: number;
  max: number;
  /** The only values it can run at, when discrete. */
  levels?: number[];
}

/** Where and how a trial runs: a function, a benchmark lookup, a training run, a command. */
export interface Evaluator {
  readonly name: string;
  readonly fidelity?: FidelitySpec;
  /** Metric names this evaluator produces, when known in advance (used to check objectives). */
  readonly metrics?: readonly string[];
  /**
   * Optional: the version of the data it measures on (a dataset's fingerprint, a drift window).
   * Every trial records it and the cache key includes it, so a result measured on one version is
   * never reused for another. The experiment's `data_version` setting takes precedence.
   */
  readonly dataVersion?: string;
  run(spec: TrialSpec, ctx: EvalContext): Promise<EvalResult>;
  /**
   * Optional: metrics known without running the trial (table lookups: latency, params, FLOPs),
   * or undefined when the point is not one it knows. Lets constraints on them act as filters.
   */
  cheapMetrics?(point: { arch: Json; hp: JsonObject }): Metrics | undefined;
  /**
   * Optional, for benchmark evaluators: the whole run as its steps with their simulated times,
   * the last being the result at `spec.fidelity`, so that an event-driven simulation can deliver
   * each report at its simulated moment (src/simulation/).
   */
  simulate?(spec: TrialSpec): SimulatedStep[];
  close?(): Promise<void> | void;
  /** Checks what can only be checked asynchronously before any trial (a module's export); throws a UserError. */
  check?(): Promise<void>;
}
