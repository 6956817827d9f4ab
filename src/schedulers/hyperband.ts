import { z } from "zod";
import type { Component } from "../core/component.js";
import type { Metrics } from "../core/evaluator.js";
import type { Json } from "../core/json.js";
import type { Decision, Fidelity, Scheduler, SchedulerContext } from "../core/scheduler.js";
import { Rng } from "../core/rng.js";
import { fullGrant, resolveObjectives } from "./common.js";
import { ashaOptions, ashaRungs, promotionResource, rungRange, RungSet } from "./asha.js";
import { SyncHyperband } from "./successive-halving.js";

const options = z.strictObject({
  ...ashaOptions,
  brackets: z.number().int().positive().optional().describe("number of brackets (default: one per rung, plus the full-budget bracket)"),
});
export type HyperbandOptions = z.input<typeof options>;

/**
 * Hyperband, stopping variant (Li et al. 2018, asynchronous as in Li et al. 2020): brackets
 * b = 0, 1, ... run ASHA from r_min * eta^b, so bracket 0 stops most aggressively and the last
 * may run every trial to the maximum. Each trial is drawn into a bracket by a sample seeded
 * with (seed, trial number), so the draw does not depend on arrival order, weighted as Hyperband sizes its brackets (n_s = ceil((S+1) / (s+1) * eta^s) for a
 * bracket with s halvings).
 */
export class HyperbandScheduler implements Scheduler {
  readonly name = "hyperband";
  readonly brackets: RungSet[];
  private readonly weights: number[];
  private readonly grant: Fidelity;
  private readonly seed: number;

  constructor(ctx: SchedulerContext, opts: HyperbandOptions = {}) {
    const o = options.parse(opts);
    const objectives = resolveObjectives(ctx, o, this.name, o.multi_objective);
    const { rMin, max } = rungRange(this.name, ctx.fidelity, o);
    const base = ashaRungs(rMin, o.eta, max, ctx.fidelity?.levels);
    const count = o.brackets ?? base.length + 1;
    this.brackets = [];
    for (let b = 0; b < count; b++) this.brackets.push(new RungSet(base.slice(Math.min(b, base.length)), o.eta, objectives));
    const sMax = Math.max(...this.brackets.map((br) => br.rungs.length));
    this.weights = this.brackets.map((br) => Math.ceil(((sMax + 1) / (br.rungs.length + 1)) * o.eta ** br.rungs.length));
    this.grant = fullGrant(ctx, o.max_t);
    this.seed = ctx.seed;
  }

  /** Bracket of a trial: a weighted draw seeded by the experiment seed and the trial number. */
  bracket(trial: number): number {
    const total = this.weights.reduce((a, w) => a + w, 0);
    let u = Rng.derive(this.seed, "hyperband", trial).next() * total;
    let b = 0;
    while (b < this.weights.length - 1 && u >= this.weights[b]) u -= this.weights[b++];
    return b;
  }

  onStart(): Fidelity {
    return { ...this.grant };
  }

  onReport(trial: { number: number }, step: number, metrics: Metrics): Decision {
    return this.brackets[this.bracket(trial.number)].report(trial.number, step, metrics);
  }

  state(): Json {
    return { brackets: this.brackets.map((b) => b.state()) };
  }

  restore(state: Json): void {
    const s = state as { brackets: Json[] };
    s.brackets.forEach((b, i) => this.brackets[i].restore(b));
  }
}

/** Synchronous Hyperband (or successive halving: `only_first`) with promotion, from the options both share. */
function syncScheduler(name: string, opts: z.infer<typeof options>, ctx: SchedulerContext, onlyFirst: boolean): Scheduler {
  const objectives = resolveObjectives(ctx, opts, name, opts.multi_objective);
  const { rMin, max } = rungRange(name, ctx.fidelity, opts);
  const rungs = ashaRungs(rMin, opts.eta, max, ctx.fidelity?.levels);
  const sMax = rungs.length;
  const count = Math.min(opts.brackets ?? sMax + 1, sMax + 1);
  const schedule = onlyFirst ? [sMax] : Array.from({ length: count }, (_, i) => sMax - i);
  return new SyncHyperband(name, rungs, max, promotionResource(name, ctx), opts.eta, objectives, schedule);
}

export const hyperband: Component<z.infer<typeof options>, SchedulerContext, Scheduler> = {
  name: "hyperband",
  description: "Hyperband: brackets of successive halving from aggressive to full budget (type: stopping, asynchronous ASHA brackets; or promotion, synchronous brackets that pause and continue trials).",
  options,
  create: (opts, ctx) => (opts.type === "stopping" ? new HyperbandScheduler(ctx, opts) : syncScheduler("hyperband", opts, ctx, false)),
};

const shOptions = z.strictObject({ ...ashaOptions, type: z.literal("promotion").default("promotion").describe("always promotion: trials pause at each rung") });

export const successiveHalving: Component<z.infer<typeof shOptions>, SchedulerContext, Scheduler> = {
  name: "successive_halving",
  description: "Synchronous successive halving: brackets of n trials at the first rung; the best 1/eta of each stage are continued to the next rung, the rest ended.",
  options: shOptions,
  create: (opts, ctx) => syncScheduler("successive_halving", { ...opts, brackets: undefined }, ctx, true),
};
