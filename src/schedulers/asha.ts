import { z } from "zod";
import type { Component } from "../core/component.js";
import type { FidelitySpec, Metrics } from "../core/evaluator.js";
import type { Json } from "../core/json.js";
import type { Objective } from "../core/objectives.js";
import type { Decision, Fidelity, Scheduler, SchedulerContext } from "../core/scheduler.js";
import { UserError } from "../core/errors.js";
import { strictlyAhead } from "./rank.js";
import { PromotionAsha } from "./promotion-asha.js";
import { fullGrant, metricOptions, oriented, resolveObjectives } from "./common.js";
import { jsonNumber } from "../core/state-codec.js";

export const ashaOptions = {
  ...metricOptions,
  eta: z.number().min(2).default(3).describe("reduction factor: a trial goes on past a rung only in the top 1/eta there"),
  r_min: z.number().positive().optional().describe("first rung (default: the evaluator's minimum fidelity)"),
  max_t: z.number().positive().optional().describe("resource granted to every trial, the last rung (default: the evaluator's maximum)"),
  multi_objective: z.boolean().default(false).describe("rank by non-dominated front, then crowding distance, over all objectives (MO-ASHA) instead of the primary metric"),
  type: z
    .enum(["stopping", "promotion"])
    .default("stopping")
    .describe("stopping: every trial is granted the maximum and stopped at a rung; promotion: trials pause at each rung and the best are continued later (from their checkpoint)"),
};
const options = z.strictObject(ashaOptions);
export type AshaOptions = z.input<typeof options>;

/**
 * Rungs r_min * eta^k below the maximum. With discrete levels (NB201: 12 / 200 epochs) each
 * geometric rung moves up to the smallest level at or above it; rungs at the maximum are dropped.
 */
export function ashaRungs(rMin: number, eta: number, max: number, levels?: readonly number[]): number[] {
  const rungs: number[] = [];
  for (let r = rMin; r < max; r *= eta) {
    let rung = r;
    if (levels && levels.length) {
      const up = [...levels].sort((a, b) => a - b).find((l) => l >= r - 1e-9);
      if (up === undefined) break;
      rung = up;
    }
    if (rung >= max) break;
    if (!rungs.includes(rung)) rungs.push(rung);
  }
  return rungs;
}

/** Where a fidelity range leaves the rungs; throws when there is nothing to schedule on. */
export function rungRange(name: string, f: FidelitySpec | undefined, o: { r_min?: number; max_t?: number }): { rMin: number; max: number } {
  const max = o.max_t ?? f?.max;
  const rMin = o.r_min ?? f?.min;
  if (max === undefined || rMin === undefined) throw new UserError(`scheduler "${name}" needs an evaluator with a fidelity range, or both \`r_min\` and \`max_t\``);
  if (rMin > max) throw new UserError(`scheduler "${name}": r_min ${rMin} is above max_t ${max}`);
  return { rMin, max };
}

/**
 * One bracket of asynchronous successive halving, stopping variant: the values recorded at each
 * rung, and for each trial the rungs it has passed. A trial reaching a rung goes on only if
 * fewer than max(1, floor(n / eta)) of the n values recorded there (its own included) are
 * strictly better; with several objectives, "better" is a lower non-dominated front.
 */
export class RungSet {
  /** Per rung: [trial, oriented objective vector]. */
  private records: [number, number[]][][];
  /** Per trial: how many rungs it has passed. */
  private passed = new Map<number, number>();

  constructor(readonly rungs: readonly number[], private readonly eta: number, private readonly objectives: readonly Objective[]) {
    this.records = rungs.map(() => []);
  }

  report(trial: number, step: number, metrics: Metrics): Decision {
    let k = this.passed.get(trial) ?? 0;
    while (k < this.rungs.length && this.rungs[k] <= step) {
      const vec = this.objectives.map((o) => oriented(metrics, o));
      const rec = this.records[k];
      rec.push([trial, vec]);
      this.passed.set(trial, ++k);
      if (!this.keeps(rec)) return "stop";
    }
    return "continue";
  }

  /**
   * True when the last recorded vector is in the top 1/eta of the rung. With one objective that
   * means fewer than the quota strictly better; with several, fewer than the quota on a better
   * front or on its front with a larger crowding distance (strictlyAhead), so that a large first
   * front is thinned where it is most crowded.
   */
  private keeps(rec: [number, number[]][]): boolean {
    const n = rec.length;
    const allowed = Math.max(1, Math.floor(n / this.eta));
    if (this.objectives.length === 1) {
      let better = 0;
      const x = rec[n - 1][1][0];
      for (const [, v] of rec) if (v[0] > x) better++;
      return better < allowed;
    }
    return strictlyAhead(rec.map(([, v]) => v), n - 1) < allowed;
  }

  /** Values recorded at rung k, oldest first (for inspection and tests). */
  recorded(k: number): number[][] {
    return this.records[k].map(([, v]) => [...v]);
  }

  state(): Json {
    return {
      records: this.records.map((rec) => rec.map(([t, v]) => [t, v.map(jsonNumber)])),
      passed: [...this.passed],
    };
  }

  restore(state: Json): void {
    const s = state as { records: [number, (number | null)[]][][]; passed: [number, number][] };
    this.records = s.records.map((rec) => rec.map(([t, v]) => [t, v.map((x) => x ?? -Infinity)] as [number, number[]]));
    this.passed = new Map(s.passed);
  }
}

/**
 * ASHA, stopping variant (Li et al. 2020; MO-ASHA of Schmucker et al. 2021 with
 * `multi_objective`): every trial is granted the maximum and reports as it trains; at each rung
 * it continues only in the top 1/eta of what that rung has seen so far, else it stops.
 */
export class AshaScheduler implements Scheduler {
  readonly name = "asha";
  readonly rungs: readonly number[];
  private readonly grant: Fidelity;
  private readonly set: RungSet;

  constructor(ctx: SchedulerContext, opts: AshaOptions = {}) {
    const o = options.parse(opts);
    const objectives = resolveObjectives(ctx, o, this.name, o.multi_objective);
    const { rMin, max } = rungRange(this.name, ctx.fidelity, o);
    this.rungs = ashaRungs(rMin, o.eta, max, ctx.fidelity?.levels);
    this.grant = fullGrant(ctx, o.max_t);
    this.set = new RungSet(this.rungs, o.eta, objectives);
  }

  onStart(): Fidelity {
    return { ...this.grant };
  }

  onReport(trial: { number: number }, step: number, metrics: Metrics): Decision {
    return this.set.report(trial.number, step, metrics);
  }

  /** Values recorded at rung k, larger is better. */
  recorded(k: number): number[][] {
    return this.set.recorded(k);
  }

  state(): Json {
    return this.set.state();
  }

  restore(state: Json): void {
    this.set.restore(state);
  }
}

/** The resource a promotion scheduler pauses trials on; it needs an evaluator that has one. */
export function promotionResource(name: string, ctx: SchedulerContext): string {
  const r = ctx.fidelity?.resource;
  if (!r) throw new UserError(`scheduler "${name}" with type: promotion needs an evaluator with a fidelity resource (epochs, say) to pause and continue trials on`);
  return r;
}

export const asha: Component<z.infer<typeof options>, SchedulerContext, Scheduler> = {
  name: "asha",
  description: "Asynchronous successive halving: a trial goes past a rung only in the top 1/eta there (type: stopping, or promotion of paused trials); MO-ASHA with multi_objective.",
  options,
  create: (opts, ctx) => {
    if (opts.type === "stopping") return new AshaScheduler(ctx, opts);
    const objectives = resolveObjectives(ctx, opts, "asha", opts.multi_objective);
    const { rMin, max } = rungRange("asha", ctx.fidelity, opts);
    return new PromotionAsha(ashaRungs(rMin, opts.eta, max, ctx.fidelity?.levels), max, promotionResource("asha", ctx), opts.eta, objectives);
  },
};
