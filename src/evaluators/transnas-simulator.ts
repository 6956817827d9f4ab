import { z } from "zod";
import type { Component } from "../core/component.js";
import type { EvalContext, EvalResult, Evaluator, Metrics, TrialSpec } from "../core/evaluator.js";
import type { Json, JsonObject } from "../core/json.js";
import { UserError } from "../core/errors.js";
import type { EvaluatorContext } from "./context.js";
import {
  checkTnbTask,
  loadTransNas,
  loadTransNasZeroCost,
  tnbKindOf,
  TNB_TASK_INFO,
  TNB_TASKS,
  TNB_ZC_PROXIES,
  type TnbTask,
  type TnbTaskTable,
  type TnbZeroCost,
} from "../benchmarks/transnas.js";

const options = z.strictObject({
  task: z.enum(TNB_TASKS).default("class_scene").describe("Taskonomy task whose results are looked up"),
});
export type TransNasSimulatorOptions = z.infer<typeof options>;

/** The name a zero-cost proxy of the table gets as a metric. */
function zcMetric(proxy: string): string {
  return proxy === "flops" ? "flops_m" : proxy === "params" ? "params_m" : `zc_${proxy}`;
}

/** The objective a task is judged by: its primary validation metric and direction. */
export function transNasObjective(task: string): { metric: string; direction: "max" | "min"; test: string } {
  const info = TNB_TASK_INFO[checkTnbTask(task)];
  return { metric: `valid_${info.primary}`, direction: info.direction, test: `test_${info.primary}` };
}

/**
 * Answers a trial on TransNAS-Bench-101 micro or macro architectures (the point's form says
 * which) as training on one Taskonomy task would: every validation metric of the task (best over
 * epochs, as the benchmark records them), its training time as simulated cost and as
 * `train_time_s`, and NASLib's zero-cost proxies (`flops_m`, `params_m`, `zc_<proxy>`) where the
 * data has them (about 700 architectures per task); test metrics go to the hidden metrics only.
 * The table holds final results only, so there is no fidelity to schedule on.
 */
export class TransNasSimulator implements Evaluator {
  readonly name = "transnas";
  readonly metrics: string[];
  readonly task: TnbTask;
  private readonly table: TnbTaskTable;
  private readonly zc: Map<string, Record<string, number>>;

  constructor(opts: { task: string }, table?: TnbTaskTable, zc: TnbZeroCost = loadTransNasZeroCost()) {
    this.task = checkTnbTask(opts.task);
    this.table = table ?? loadTransNas(this.task);
    this.zc = zc.get(this.task) ?? new Map();
    const info = TNB_TASK_INFO[this.task];
    this.metrics = [...info.metrics.map((m) => `valid_${m}`), "train_time_s", ...TNB_ZC_PROXIES.map(zcMetric)];
  }

  index(arch: unknown): number {
    const kind = tnbKindOf(arch);
    if (!kind) throw new UserError(`not a TransNAS-Bench-101 architecture: ${JSON.stringify(arch)} (micro "64-41414-a_bc_def", macro "64-<4 to 6 digits>-basic")`);
    const i = this.table.indexOf.get(arch as string);
    if (i === undefined) throw new UserError(`TransNAS-Bench-101 ${kind} architecture ${arch} has no results in the bundled tables (of the macro skeletons only 725 are identified)`);
    return i;
  }

  /** The zero-cost proxies of a known architecture (empty where NASLib did not score it); undefined for an unknown one. */
  cheapMetrics(point: { arch: Json; hp?: JsonObject }): Metrics | undefined {
    if (typeof point.arch !== "string" || !this.table.indexOf.has(point.arch)) return undefined;
    const rec = this.zc.get(point.arch) ?? {};
    return Object.fromEntries(Object.entries(rec).map(([k, v]) => [zcMetric(k), v]));
  }

  lookup(arch: Json): { metrics: Metrics; hidden: Metrics; costSeconds: number } {
    const i = this.index(arch);
    const info = TNB_TASK_INFO[this.task];
    const time = this.table.column("time_elapsed")[i];
    const metrics: Metrics = {};
    const hidden: Metrics = {};
    for (const m of info.metrics) {
      metrics[`valid_${m}`] = this.table.column(`valid_${m}`)[i];
      hidden[`test_${m}`] = this.table.column(`test_${m}`)[i];
    }
    metrics.train_time_s = time;
    Object.assign(metrics, this.cheapMetrics({ arch }));
    return { metrics, hidden, costSeconds: time };
  }

  async run(spec: TrialSpec, ctx: EvalContext): Promise<EvalResult> {
    const r = this.lookup(spec.arch);
    ctx.report(1, r.metrics);
    return r;
  }
}

export const transNasSimulator: Component<TransNasSimulatorOptions, EvaluatorContext, Evaluator> = {
  name: "transnas",
  description: "TransNAS-Bench-101 simulator (micro and macro spaces): a task's validation metrics, training time as cost, NASLib zero-cost proxies where present; test metrics hidden.",
  options,
  create: (opts) => new TransNasSimulator(opts),
};
