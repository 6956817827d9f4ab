import { z } from "zod";
import type { Component } from "../core/component.js";
import type { Metrics } from "../core/evaluator.js";
import { stableStringify, type Json } from "../core/json.js";
import type { Objective } from "../core/objectives.js";
import type { Decision, Fidelity, Scheduler, SchedulerContext } from "../core/scheduler.js";
import type { SearchSpace } from "../core/space.js";
import { UserError } from "../core/errors.js";
import { normalQuantile } from "../strategies/gp/gp.js";
import { CurveExtrapolator, EarlyToFinalModel, type EarlyFinalPair } from "../predictors/learning-curve.js";
import { fullGrant, metricOptions, resolveObjectives } from "./common.js";

const options = z
  .strictObject({
    ...metricOptions,
    predictor: z
      .enum(["auto", "curve", "model"])
      .default("auto")
      .describe("curve: extrapolate the trial's own curve; model: the early-to-final model learnt from finished trials; auto: every one of the two that is usable, and a trial is stopped only when all of them rule it out"),
    kappa: z.number().nonnegative().optional().describe("optimism: a trial is judged by mean + kappa * std of its predicted final value (default 1.5)"),
    upper_quantile: z.number().gt(0.5).lt(1).optional().describe("instead of kappa: judge a trial by this upper quantile of its (normal) prediction"),
    top_k: z.number().int().positive().default(2).describe("stop a trial whose optimistic prediction cannot beat the k-th best final result so far (1: the best; 2 by default: the model underestimates trials better than all it has seen)"),
    quantile: z.number().gt(0).lt(1).optional().describe("instead of top_k: compare with this quantile of the finished trials' final values (0.75: the trial must be able to reach the top quarter)"),
    grace_trials: z.number().int().nonnegative().default(10).describe("finished trials (run to the end) needed before any trial is stopped"),
    min_step: z.number().nonnegative().optional().describe("never stop a trial before this step (default: the evaluator's minimum fidelity, else 1)"),
    min_points: z.number().int().min(3).default(3).describe("intermediate values the curve extrapolation needs before it may stop a trial"),
    model_step: z.number().positive().optional().describe("step whose value feeds the early-to-final model (default: the evaluator's lowest fidelity level below the maximum, e.g. 12 on NB201; none without discrete levels)"),
    min_pairs: z.number().int().min(2).default(10).describe("finished trials with a value at model_step needed before the model is fitted"),
    model: z.enum(["gp", "random_forest"]).default("gp").describe("early-to-final model: WL-kernel GP, or a random forest on the encoding"),
    refit_every: z.number().int().positive().default(1).describe("refit the model after this many new pairs"),
    bounds: z.tuple([z.number(), z.number()]).optional().describe("range of the metric (e.g. [0, 100] for accuracies in percent): extrapolated values are clipped to it"),
    max_t: z.number().positive().optional().describe("resource granted to every trial, the step whose value is predicted (default: the evaluator's maximum)"),
  })
  .refine((o) => o.kappa === undefined || o.upper_quantile === undefined, { message: "give kappa or upper_quantile, not both" })
  .refine((o) => o.bounds === undefined || o.bounds[0] < o.bounds[1], { message: "bounds must be [low, high] with low < high" });
export type LearningCurveStopOptions = z.input<typeof options>;

/** A scheduler's context plus the experiment's space, which the early-to-final model needs (the config builder passes it). */
export type LearningCurveStopContext = SchedulerContext & { space?: SearchSpace };

/** A trial in flight: its point (when the loop passes it) and its curve, values oriented (larger is better). */
interface Curve {
  point?: Json;
  steps: number[];
  values: number[];
}

interface SavedState {
  trials: { n: number; point?: Json; steps: number[]; values: number[] }[];
  finals: [string, number][];
  pairs: [Json, number, number][];
  fitted: number;
}

/**
 * Stopping on learning-curve predictions (Domhan et al. 2015's rule, with this library's
 * predictors): on each intermediate report, the trial's final value at the maximum fidelity is
 * predicted from its partial curve (parametric extrapolation) and, once enough trials have
 * finished, from its architecture and its value at `model_step` (a model learnt on the finished
 * trials' early -> final pairs). The trial is stopped when the optimistic prediction (mean +
 * kappa * std) is below the k-th best final result so far (or a quantile of them). Nothing is
 * stopped before `grace_trials` trials have finished, before `min_step`, or at the final step.
 *
 * Everything is compared in the objective's direction: values are negated for `min` metrics, so
 * the extrapolator's rising curve families fit falling losses too.
 */
export class LearningCurveStopScheduler implements Scheduler {
  readonly name = "lc_stop";
  private readonly objective: Objective;
  private readonly grant: Fidelity;
  private readonly o: z.infer<typeof options>;
  private readonly kappa: number;
  private readonly maxStep: number;
  private readonly minStep: number;
  private readonly modelStep?: number;
  private readonly space?: SearchSpace;
  private readonly seed: number;
  private readonly extrapolator: CurveExtrapolator;
  private trials = new Map<number, Curve>();
  /** Final (oriented) values of finished trials, one per point (a cached repeat replaces, not adds). */
  private finals = new Map<string, number>();
  /** (point, oriented value at model_step, oriented final) of finished trials, in the order they ended. */
  private pairs: EarlyFinalPair[] = [];
  /** How many of `pairs` the model is (to be) fitted on; 0: no model yet. */
  private fitted = 0;
  private model?: EarlyToFinalModel;
  private modelFittedOn = 0;

  constructor(ctx: LearningCurveStopContext, opts: LearningCurveStopOptions = {}) {
    const o = options.parse(opts);
    this.o = o;
    this.objective = resolveObjectives(ctx, o, this.name)[0];
    const f = ctx.fidelity;
    const max = o.max_t ?? f?.max;
    if (max === undefined) throw new UserError(`scheduler "lc_stop" needs an evaluator with a fidelity range, or \`max_t\`: it predicts the value at the maximum fidelity`);
    this.maxStep = max;
    this.grant = fullGrant(ctx, o.max_t);
    this.minStep = o.min_step ?? f?.min ?? 1;
    this.kappa = o.upper_quantile !== undefined ? normalQuantile(o.upper_quantile) : (o.kappa ?? 1.5);
    this.modelStep = o.model_step ?? f?.levels?.filter((l) => l < max).sort((a, b) => a - b)[0];
    this.seed = ctx.seed;
    const space = ctx.space;
    const modelPossible = space !== undefined && (o.model === "gp" ? typeof space.graph === "function" || typeof space.encode === "function" : typeof space.encode === "function");
    if (o.predictor === "model") {
      if (!space) throw new UserError(`scheduler "lc_stop" with predictor "model" needs the experiment's space (given by the config builder; pass \`space\` in the context)`);
      if (!modelPossible) throw new UserError(`scheduler "lc_stop": the ${o.model} early-to-final model needs a space with ${o.model === "gp" ? "a graph or an encoding" : "an encoding"}; space "${space.name}" has none`);
      if (this.modelStep === undefined) throw new UserError(`scheduler "lc_stop" with predictor "model" needs \`model_step\` (the evaluator has no discrete fidelity levels to take it from)`);
    }
    if (this.modelStep !== undefined && this.modelStep >= max) throw new UserError(`scheduler "lc_stop": model_step ${this.modelStep} must be below the maximum step ${max}`);
    this.space = o.predictor !== "curve" && modelPossible ? space : undefined;
    const b = o.bounds;
    const bounds: [number, number] | undefined = b && (this.objective.direction === "max" ? [b[0], b[1]] : [-b[1], -b[0]]);
    this.extrapolator = new CurveExtrapolator({ bounds });
  }

  onStart(trial: { number: number; point?: Json }): Fidelity {
    // A (re)started run begins a fresh curve: a trial run again after a crash reports from the start.
    this.trials.set(trial.number, { point: trial.point, steps: [], values: [] });
    return { ...this.grant };
  }

  /** Oriented value of the metric: undefined when the report does not carry it, -Infinity when it is not a finite number. */
  private value(metrics: Metrics | null | undefined): number | undefined {
    const v = metrics?.[this.objective.metric];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) return -Infinity;
    return this.objective.direction === "max" ? v : -v;
  }

  onReport(trial: { number: number; point?: Json }, step: number, metrics: Metrics): Decision {
    let c = this.trials.get(trial.number);
    if (!c) this.trials.set(trial.number, (c = { point: trial.point, steps: [], values: [] }));
    if (c.point === undefined && trial.point !== undefined) c.point = trial.point;
    const v = this.value(metrics);
    if (v === undefined) return "continue";
    if (Number.isFinite(v) && step > 0) {
      // A step at or before the last one recorded: the curve restarts there. (Step 0, before any
      // training, is not part of a learning curve.)
      let keep = c.steps.length;
      while (keep > 0 && c.steps[keep - 1] >= step) keep--;
      c.steps.length = keep;
      c.values.length = keep;
      c.steps.push(step);
      c.values.push(v);
    }
    if (step >= this.maxStep || step < this.minStep) return "continue";
    const reference = this.reference();
    if (reference === undefined) return "continue";
    if (!Number.isFinite(v)) return "stop"; // diverged (NaN / infinite): cannot beat anything
    const bound = this.optimistic(c);
    return bound !== undefined && bound < reference ? "stop" : "continue";
  }

  onEnd(trial: { number: number; status: string; metrics: Metrics | null }): void {
    const c = this.trials.get(trial.number);
    this.trials.delete(trial.number);
    if (trial.status !== "finished") return;
    const v = this.value(trial.metrics);
    if (v === undefined || !Number.isFinite(v)) return;
    this.finals.set(c?.point !== undefined ? stableStringify(c.point) : `#${trial.number}`, v);
    if (c?.point !== undefined && this.modelStep !== undefined) {
      const i = c.steps.indexOf(this.modelStep);
      if (i >= 0) this.pairs.push({ point: c.point, early: c.values[i], final: v });
    }
  }

  /** The value a trial must be able to beat (oriented), or undefined during the grace period. */
  reference(): number | undefined {
    const need = Math.max(1, this.o.grace_trials, this.o.quantile === undefined ? this.o.top_k : 1);
    if (this.finals.size < need) return undefined;
    const sorted = [...this.finals.values()].sort((a, b) => b - a);
    if (this.o.quantile === undefined) return sorted[this.o.top_k - 1];
    // quantile q of the values: the value with a fraction 1 - q of them above it (linear interpolation)
    const pos = (1 - this.o.quantile) * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  }

  /**
   * The optimistic final value (oriented) of a trial's curve by every usable predictor, the
   * largest of them (a trial is stopped only when all rule it out); undefined when none is usable.
   */
  optimistic(c: Curve): number | undefined {
    let bound: number | undefined;
    const take = (mean: number, std: number) => {
      const b = mean + this.kappa * std;
      bound = bound === undefined ? b : Math.max(bound, b);
    };
    if (this.o.predictor !== "model" && c.steps.length >= this.o.min_points) {
      const p = this.extrapolator.predictFinal({ steps: c.steps, values: c.values, targetStep: this.maxStep });
      take(p.mean, p.std);
    }
    if (this.o.predictor !== "curve" && this.modelStep !== undefined && c.point !== undefined) {
      const i = c.steps.indexOf(this.modelStep);
      const model = i >= 0 ? this.currentModel() : undefined;
      if (model) {
        const p = model.predictFromEarly(c.point, c.values[i]);
        take(p.mean, p.std);
      }
    }
    return bound;
  }

  /** The early-to-final model, fitted (again) when enough new pairs have arrived; a pure function of `pairs` and `fitted`. */
  private currentModel(): EarlyToFinalModel | undefined {
    if (!this.space || this.modelStep === undefined) return undefined;
    const n = this.pairs.length;
    if (n >= this.o.min_pairs && (this.fitted === 0 || n - this.fitted >= this.o.refit_every)) this.fitted = n;
    if (this.fitted === 0) return undefined;
    if (!this.model || this.modelFittedOn !== this.fitted) {
      // One pair per point (the latest), so the model's per-point early value is unambiguous.
      const byPoint = new Map<string, EarlyFinalPair>();
      for (const p of this.pairs.slice(0, this.fitted)) {
        const key = stableStringify(p.point);
        byPoint.delete(key);
        byPoint.set(key, p);
      }
      if (byPoint.size < 2) return undefined;
      const model = new EarlyToFinalModel(this.space, this.modelStep, { seed: this.seed, model: this.o.model });
      model.fit([...byPoint.values()]);
      this.model = model;
      this.modelFittedOn = this.fitted;
    }
    return this.model;
  }

  state(): Json {
    const s: SavedState = {
      trials: [...this.trials].map(([n, c]) => ({ n, ...(c.point !== undefined ? { point: c.point } : {}), steps: [...c.steps], values: [...c.values] })),
      finals: [...this.finals],
      pairs: this.pairs.map((p) => [p.point, p.early, p.final]),
      fitted: this.fitted,
    };
    return s as unknown as Json;
  }

  restore(state: Json): void {
    const s = state as unknown as SavedState;
    this.trials = new Map(s.trials.map((t) => [t.n, { point: t.point, steps: [...t.steps], values: [...t.values] }]));
    this.finals = new Map(s.finals);
    this.pairs = s.pairs.map(([point, early, final]) => ({ point, early, final }));
    this.fitted = s.fitted;
    this.model = undefined;
    this.modelFittedOn = 0;
  }
}

export const learningCurveStop: Component<z.infer<typeof options>, SchedulerContext, Scheduler> = {
  name: "lc_stop",
  description: "Learning-curve stopping: stop a trial whose optimistic predicted final value (curve extrapolation and/or an early-to-final model) cannot beat the k-th best final so far.",
  options,
  create: (opts, ctx) => new LearningCurveStopScheduler(ctx, opts),
};
