import { z } from "zod";
import type { Metrics } from "../core/evaluator.js";
import type { Direction, Objective } from "../core/objectives.js";
import type { Fidelity, SchedulerContext } from "../core/scheduler.js";
import { UserError } from "../core/errors.js";

/** Options every stopping scheduler shares: what to compare and in which direction. */
export const metricOptions = {
  metric: z.string().optional().describe("metric to compare (default: the primary objective's)"),
  mode: z.enum(["max", "min"]).optional().describe("direction of `metric` (default: the primary objective's, else max)"),
};

/** The objectives a scheduler compares: `metric` + `mode` when given, else the experiment's objectives. */
export function resolveObjectives(ctx: SchedulerContext, opts: { metric?: string; mode?: Direction }, name: string, all = false): Objective[] {
  if (opts.metric !== undefined) {
    const own = ctx.objectives?.list.find((o) => o.metric === opts.metric);
    return [{ metric: opts.metric, direction: opts.mode ?? own?.direction ?? "max" }];
  }
  const list = ctx.objectives?.list;
  if (!list || list.length === 0) throw new UserError(`scheduler "${name}" needs a \`metric\` option (or the experiment's objectives) to compare trials`);
  if (all) return [...list];
  const p = list[0];
  return [{ metric: p.metric, direction: opts.mode ?? p.direction }];
}

/** Value of an objective, larger is better; NaN or missing is -Infinity. */
export function oriented(metrics: Metrics, o: Objective): number {
  const v = metrics[o.metric];
  if (typeof v !== "number" || Number.isNaN(v)) return -Infinity;
  return o.direction === "max" ? v : -v;
}

/** What a stopping scheduler grants every trial: the evaluator's maximum (or `max_t`). */
export function fullGrant(ctx: SchedulerContext, maxT: number | undefined): Fidelity {
  const f = ctx.fidelity;
  return f ? { [f.resource]: maxT ?? f.max } : {};
}
