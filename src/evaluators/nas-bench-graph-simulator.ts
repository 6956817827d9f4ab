import { z } from "zod";
import type { Component } from "../core/component.js";
import type { EvalContext, EvalResult, Evaluator, Metrics, TrialSpec } from "../core/evaluator.js";
import type { Json, JsonObject } from "../core/json.js";
import { UserError } from "../core/errors.js";
import type { EvaluatorContext } from "./context.js";
import { checkNbgDataset, loadNbg, NBG_DATASETS, NBG_PROTEINS_OPS, type NbgDataset, type NbgTable } from "../benchmarks/nas-bench-graph.js";
import { NasBenchGraphSpace } from "../spaces/nas-bench-graph.js";

const options = z.strictObject({
  dataset: z.enum(NBG_DATASETS).default("cora").describe("node-classification data set whose results are looked up"),
});
export type NbgSimulatorOptions = z.infer<typeof options>;

/**
 * Answers a trial on the NAS-Bench-Graph space as training the GNN on one data set would:
 * validation accuracy (%, mean of the benchmark's 3 seeds; ogbn-proteins' figure is presumably
 * ROC-AUC), latency as stored by the benchmark, and parameters (millions); test accuracy hidden.
 * Latency and parameters are also cheap metrics (for constraints). No training time or curves
 * are in the light tables: no simulated cost, no fidelity.
 */
export class NasBenchGraphSimulator implements Evaluator {
  readonly name = "nas_bench_graph";
  readonly metrics = ["valid_acc", "latency", "params_m"];
  readonly dataset: NbgDataset;
  private readonly table: NbgTable;
  private readonly space = new NasBenchGraphSpace();

  constructor(opts: { dataset: string }, table?: NbgTable) {
    this.dataset = checkNbgDataset(opts.dataset);
    this.table = table ?? loadNbg(this.dataset);
  }

  row(arch: Json): number {
    const key = this.space.key(arch as string);
    const row = this.table.rowOf.get(key);
    if (row === undefined) {
      const note = this.dataset === "proteins" ? ` (proteins was run with ${NBG_PROTEINS_OPS.join(", ")} only: use the space option ops: [${NBG_PROTEINS_OPS.join(", ")}])` : "";
      throw new UserError(`NAS-Bench-Graph ${this.dataset} has no result for ${arch} (key ${key})${note}`);
    }
    return row;
  }

  cheapMetrics(point: { arch: Json; hp?: JsonObject }): Metrics | undefined {
    try {
      const i = this.row(point.arch);
      return { latency: this.table.latency[i], params_m: this.table.paramsM[i] };
    } catch (e) {
      if (e instanceof UserError) return undefined;
      throw e;
    }
  }

  lookup(arch: Json): { metrics: Metrics; hidden: Metrics } {
    const i = this.row(arch);
    return {
      metrics: { valid_acc: this.table.validAcc[i], latency: this.table.latency[i], params_m: this.table.paramsM[i] },
      hidden: { test_acc: this.table.testAcc[i] },
    };
  }

  async run(spec: TrialSpec, ctx: EvalContext): Promise<EvalResult> {
    const r = this.lookup(spec.arch);
    ctx.report(1, r.metrics);
    return r;
  }
}

export const nasBenchGraphSimulator: Component<NbgSimulatorOptions, EvaluatorContext, Evaluator> = {
  name: "nas_bench_graph",
  description: "NAS-Bench-Graph simulator: validation accuracy (%), latency and parameters of a GNN on one of 9 graph data sets; test accuracy hidden.",
  options,
  create: (opts) => new NasBenchGraphSimulator(opts),
};
