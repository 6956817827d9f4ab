import { median } from "../core/stats.js";
import { z } from "zod";
import type { Component } from "../core/component.js";
import type { Metrics } from "../core/evaluator.js";
import type { Json } from "../core/json.js";
import type { Objective } from "../core/objectives.js";
import type { Decision, Fidelity, Scheduler, SchedulerContext } from "../core/scheduler.js";
import { jsonNumber } from "../core/state-codec.js";
import { fullGrant, metricOptions, oriented, resolveObjectives } from "./common.js";

const options = z.strictObject({
  ...metricOptions,
  grace_steps: z.number().nonnegative().optional().describe("never stop a trial before this step (default: the evaluator's minimum fidelity, else 1)"),
  min_trials: z.number().int().positive().default(3).describe("other trials that must have reached a step before anyone is stopped there"),
  max_t: z.number().positive().optional().describe("resource granted to every trial (default: the evaluator's maximum)"),
});
export type MedianStopOptions = z.input<typeof options>;

/**
 * Median stopping rule (Golovin et al. 2017, Google Vizier): at step s, a trial whose best value
 * so far is strictly worse than the median of the other trials' best values up to s (among
 * those that reached s) is stopped. Never stops before `grace_steps`, with fewer than
 * `min_trials` reference trials, or at the final step (nothing left to save).
 */
export class MedianStopScheduler implements Scheduler {
  readonly name = "median_stop";
  private readonly objective: Objective;
  private readonly grant: Fidelity;
  private readonly grace: number;
  private readonly minTrials: number;
  private readonly maxStep: number;
  /** Per trial: [step, best-so-far (larger is better)] in the order reported. */
  private history = new Map<number, [number, number][]>();

  constructor(ctx: SchedulerContext, opts: MedianStopOptions = {}) {
    const o = options.parse(opts);
    this.objective = resolveObjectives(ctx, o, this.name)[0];
    this.grant = fullGrant(ctx, o.max_t);
    this.grace = o.grace_steps ?? ctx.fidelity?.min ?? 1;
    this.minTrials = o.min_trials;
    this.maxStep = o.max_t ?? ctx.fidelity?.max ?? Infinity;
  }

  onStart(): Fidelity {
    return { ...this.grant };
  }

  /** A trial's best value among its reports at steps <= s, if it reached s; undefined otherwise. */
  private bestUpTo(h: [number, number][], s: number): number | undefined {
    if (h.length === 0 || h[h.length - 1][0] < s) return undefined;
    let best: number | undefined;
    for (const [step, v] of h) if (step <= s) best = v; // best-so-far is monotone along the history
    return best;
  }

  onReport(trial: { number: number }, step: number, metrics: Metrics): Decision {
    let h = this.history.get(trial.number);
    if (!h) this.history.set(trial.number, (h = []));
    if (h.length > 0 && step <= h[h.length - 1][0]) return "continue"; // a repeated or out-of-order step
    const value = Math.max(oriented(metrics, this.objective), h.length ? h[h.length - 1][1] : -Infinity);
    h.push([step, value]);
    if (step < this.grace || step >= this.maxStep) return "continue";
    const others: number[] = [];
    for (const [n, oh] of this.history) {
      if (n === trial.number) continue;
      const v = this.bestUpTo(oh, step);
      if (v !== undefined) others.push(v);
    }
    if (others.length < this.minTrials) return "continue";
    return value < median(others) ? "stop" : "continue";
  }

  state(): Json {
    return { history: [...this.history].map(([n, h]) => [n, h.map(([s, v]) => [s, jsonNumber(v)])]) };
  }

  restore(state: Json): void {
    const s = state as { history: [number, [number, number | null][]][] };
    this.history = new Map(s.history.map(([n, h]) => [n, h.map(([st, v]) => [st, v ?? -Infinity] as [number, number])]));
  }
}

export const medianStop: Component<z.infer<typeof options>, SchedulerContext, Scheduler> = {
  name: "median_stop",
  description: "Median stopping rule: stop a trial whose best so far is below the median of the others at the same step.",
  options,
  create: (opts, ctx) => new MedianStopScheduler(ctx, opts),
};
