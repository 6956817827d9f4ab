import type { Json } from "./json.js";
import type { Metrics } from "./evaluator.js";
import type { Objectives } from "./objectives.js";
import type { SearchSpace } from "./space.js";

export interface StrategyContext {
  space: SearchSpace;
  objectives: Objectives;
  seed: number;
}

export interface AskContext {
  /** Points of trials asked for but not yet told, so a batch can avoid duplicates. */
  pending: readonly Json[];
  /**
   * True when the experiment already has a trial (in any state) whose canonical architecture
   * and hyperparameters equal this point's: lets a strategy avoid spending budget on repeats
   * without keeping (and snapshotting) the whole history itself.
   */
  seen(point: Json): boolean;
}

/** What a strategy is told when a trial ends (test metrics are never included). */
export interface TrialOutcome {
  number: number;
  point: Json;
  status: "finished" | "failed" | "pruned";
  metrics: Metrics;
  /** Primary objective, larger is better; -Infinity when failed or infeasible. */
  score: number;
}

/**
 * Which architecture next. Results may arrive in any order and in any number; `state` and
 * `restore` must capture everything (random generator included) so a resumed search repeats
 * an uninterrupted one exactly.
 */
export interface Strategy {
  readonly name: string;
  ask(n: number, ctx: AskContext): Json[] | Promise<Json[]>;
  tell(outcome: TrialOutcome): void;
  state(): Json;
  restore(state: Json): void;
}
