import type { Json } from "./json.js";
import type { FidelitySpec, Metrics } from "./evaluator.js";
import type { Objectives } from "./objectives.js";

/** Answer to an intermediate result: keep training, pause (may be promoted later), or stop now. */
export type Decision = "continue" | "pause" | "stop";

/** Resources granted to a trial, e.g. { epochs: 12 }. */
export type Fidelity = Record<string, number>;

export interface SchedulerContext {
  /** The evaluator's fidelity range, if it has one. */
  fidelity?: FidelitySpec;
  seed: number;
  /** The experiment's objectives, so that a scheduler knows which metric to compare and in which direction. */
  objectives?: Objectives;
}

/** Decides how much budget a running trial gets (syne-tune's split: the strategy picks, the scheduler allocates). */
export interface Scheduler {
  readonly name: string;
  /** Resources for a trial that starts now. */
  onStart(trial: { number: number }): Fidelity;
  /** Called on each intermediate result. */
  onReport(trial: { number: number }, step: number, metrics: Metrics): Decision;
  /** Called once a trial ends, whatever its status. */
  onEnd?(trial: { number: number; status: string; metrics: Metrics | null }): void;
  state?(): Json;
  restore?(state: Json): void;
}
