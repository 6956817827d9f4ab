import { z } from "zod";
import type { Component } from "../core/component.js";
import type { Decision, Fidelity, Scheduler, SchedulerContext } from "../core/scheduler.js";

const options = z.strictObject({
  fidelity: z.number().positive().optional().describe("resource to grant every trial (default: the evaluator's maximum)"),
});
export type FifoOptions = z.infer<typeof options>;

/** Every trial runs to the full budget, first come first served. */
export class FifoScheduler implements Scheduler {
  readonly name = "fifo";
  private readonly grant: Fidelity;

  constructor(ctx: SchedulerContext, opts: FifoOptions = {}) {
    const f = ctx.fidelity;
    this.grant = f ? { [f.resource]: opts.fidelity ?? f.max } : {};
  }

  onStart(): Fidelity {
    return { ...this.grant };
  }

  onReport(): Decision {
    return "continue";
  }
}

export const fifo: Component<FifoOptions, SchedulerContext, Scheduler> = {
  name: "fifo",
  description: "Run every trial to the full budget.",
  options,
  create: (opts, ctx) => new FifoScheduler(ctx, opts),
};
