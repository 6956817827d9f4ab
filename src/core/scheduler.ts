import type { Json } from "./json.js";
import type { FidelitySpec, Metrics } from "./evaluator.js";
import type { Objectives } from "./objectives.js";
import type { SearchSpace } from "./space.js";

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
  /** The search space, for schedulers that learn from architectures (lc_stop's early-to-final model). */
  space?: SearchSpace;
}

/**
 * What a free slot runs next, for promotion-based schedulers: a new trial (the strategy picks
 * it), a paused trial continued to a higher fidelity, a paused trial ended for good (no slot
 * needed), or nothing until a running trial ends (synchronous successive halving).
 */
export type NextJob = { kind: "new" } | { kind: "resume"; trial: number } | { kind: "stop"; trial: number } | { kind: "wait" };

/** A trial as the scheduler sees it at its start: `fidelity` is what the store last granted it, if anything. */
export interface StartingTrial {
  number: number;
  /** The trial's point (the loop passes its whole record). */
  point?: Json;
  fidelity?: Fidelity | null;
}

/**
 * Decides how much budget a running trial gets (syne-tune's split: the strategy picks, the
 * scheduler allocates). Stopping schedulers grant the maximum and answer "stop" to bad
 * intermediate results; promotion schedulers also implement `next`, pause trials at rungs
 * and resume the best of them later.
 */
export interface Scheduler {
  readonly name: string;
  /** Resources for a trial that starts now, or continues (a promoted trial). */
  onStart(trial: StartingTrial): Fidelity;
  /** Called on each intermediate result. */
  onReport(trial: { number: number; point?: Json }, step: number, metrics: Metrics): Decision;
  /** Called once a trial's run ends, whatever its status (paused included). */
  onEnd?(trial: { number: number; status: string; metrics: Metrics | null }): void;
  /**
   * Promotion schedulers: the job for a free slot. `canStartNew` is false once the trial budget
   * is spent or the strategy has nothing more to suggest. A "resume" or "stop" answer is final:
   * the scheduler counts that trial as promoted (or ended) from then on.
   */
  next?(opts: { canStartNew: boolean }): NextJob;
  /** Promotion schedulers: the fidelity a continued trial already reached (its checkpoint), if it is one. */
  resumeFrom?(trial: number): Fidelity | undefined;
  /** Promotion schedulers: trials it promoted whose end it has not seen (to run again after a crash). */
  promoted?(): number[];
  state?(): Json;
  restore?(state: Json): void;
}

/** True for schedulers that pause and promote trials (they implement `next`). */
export function promotes(s: Scheduler): s is Scheduler & Required<Pick<Scheduler, "next">> {
  return typeof s.next === "function";
}
