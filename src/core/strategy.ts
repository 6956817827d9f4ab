import type { Json } from "./json.js";
import type { Metrics } from "./evaluator.js";
import type { Fidelity } from "./scheduler.js";
import type { Objectives } from "./objectives.js";
import type { SearchSpace } from "./space.js";
import type { ExperimentArtifacts } from "./searcher.js";

export interface StrategyContext {
  space: SearchSpace;
  objectives: Objectives;
  seed: number;
  /**
   * Optional: metrics known before evaluation (latency, params, FLOPs from a table), from the
   * evaluator's `cheapMetrics`; undefined when it cannot tell. Strategies that support it reject
   * candidates violating a constraint on such a metric without spending a trial.
   */
  cheapMetrics?: (point: Json) => Metrics | undefined;
  /** The folder relative paths in the strategy's options (a dataset) are read from: the config's. */
  configDir?: string;
}

/** A searcher's progress, as the loop passes it on (an epoch of supernet training). */
export interface SearcherProgress {
  searcher: string;
  step: number;
  metrics: Metrics;
  /** True for the first report after the job resumed from a checkpoint. */
  resumed: boolean;
}

/** What the loop gives a strategy that keeps files and reports progress of its own (a searcher's job), once the experiment is open. */
export interface StrategyAttachment {
  artifacts: ExperimentArtifacts;
  signal: AbortSignal;
  progress(p: SearcherProgress): void;
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
  /** The fidelity its metrics were obtained at (the last step reported), when the evaluator has one. */
  fidelity?: Fidelity;
}

/** A result at a lower fidelity: a trial paused at a rung of a promotion scheduler (it may be continued later). */
export interface PartialOutcome {
  number: number;
  point: Json;
  metrics: Metrics;
  /** Primary objective at that fidelity, larger is better; -Infinity when infeasible. */
  score: number;
  fidelity: Fidelity;
}

/** A finished trial of an earlier experiment, scored by that experiment's objectives. */
export interface PreviousTrial {
  number: number;
  point: Json;
  metrics: Metrics;
  /** Primary objective, larger is better; -Infinity when infeasible. */
  score: number;
}

/** An earlier experiment of the same store, as a strategy may reuse it (policy reuse, warm starts). */
export interface PreviousExperiment {
  name: string;
  /** Its last strategy snapshot (what its strategy's `state()` returned), if it has one. */
  strategy?: Json;
  /** Its finished trials in trial order. */
  trials: PreviousTrial[];
}

/** What the loop gives `Strategy.prepare`: read access to earlier experiments in the store. */
export interface PrepareContext {
  /** That experiment's last strategy state and finished trials; throws a UserError for an unknown name. */
  previous(experimentName: string): Promise<PreviousExperiment>;
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
  /**
   * Optional: a trial paused at a lower fidelity (multi-fidelity strategies such as BOHB model
   * these). Other strategies hear of a trial only once, through `tell`, when it ends.
   */
  tellPartial?(outcome: PartialOutcome): void;
  /**
   * Optional: called once before the first ask of a new experiment (never on resume: the
   * restored state carries whatever it loaded), e.g. to start from an earlier experiment's policy.
   * A strategy may also be told results of points it did not ask for (warm starts).
   */
  prepare?(ctx: PrepareContext): void | Promise<void>;
  /** Optional: the experiment's artifacts, its stop signal and a progress channel, given once it is open (searchers use them). */
  attach?(a: StrategyAttachment): void;
  state(): Json;
  /**
   * True for a strategy whose model is every result it was told (TPE, BANANAS, ParEGO, BOHB): its
   * `state()` leaves the results out, and the driver passes them to `restore` as `history`, read
   * back from the trials. Others get no history (reading it costs a pass over the trials).
   */
  readonly rebuildsFromHistory?: boolean;
  /**
   * Continues from `state` (what `state()` returned). `history` holds every outcome the strategy
   * was told in this experiment, in the order told (read back from the trials, so a state need
   * not carry it): a strategy whose model needs the history rebuilds it from there and keeps its
   * state bounded. Results it learned elsewhere (`prepare`, warm starts from other experiments)
   * are not in `history` and stay in its state.
   */
  restore(state: Json, history?: StrategyHistory): void;
}

/** What the driver gives `Strategy.restore`: the experiment's told outcomes, oldest first. */
export interface StrategyHistory {
  outcomes: readonly TrialOutcome[];
}
