import { z } from "zod";
import type { Component } from "../core/component.js";
import type { EvalContext, EvalResult, Evaluator, FidelitySpec, Metrics, SimulatedStep, TrialSpec } from "../core/evaluator.js";
import { Rng } from "../core/rng.js";
import type { Json, JsonObject } from "../core/json.js";
import { UserError } from "../core/errors.js";
import type { EvaluatorContext } from "./context.js";
import { loadNb201, NB201_COLUMNS, NB201_DATASETS, type Nb201Dataset, type Nb201Table } from "../benchmarks/nb201.js";

const options = z.strictObject({
  dataset: z.enum(NB201_DATASETS).default("cifar10"),
  noise: z
    .boolean()
    .default(false)
    .describe("draw one of the benchmark's per-seed 200-epoch results instead of the seed mean"),
  devices: z.array(z.string()).optional().describe("latency devices to report (default: all 27)"),
});
export type Nb201SimulatorOptions = z.infer<typeof options>;

const LEVELS = [12, 200];

/**
 * Answers a trial as a real NAS-Bench-201 training run would: validation accuracy after 12 or
 * 200 epochs (the fidelity), params, FLOPs, latency per device, and the training time as
 * simulated wall-clock cost. Test accuracy goes to the hidden metrics only.
 */
export class Nb201Simulator implements Evaluator {
  readonly name = "nb201";
  readonly fidelity: FidelitySpec = { resource: "epochs", min: 12, max: 200, levels: LEVELS };
  readonly metrics: string[];
  private readonly table: Nb201Table;
  private readonly cols: (typeof NB201_COLUMNS)[Nb201Dataset];
  private readonly devices: string[];

  constructor(readonly opts: Nb201SimulatorOptions, table = loadNb201()) {
    this.table = table;
    this.cols = NB201_COLUMNS[opts.dataset];
    const known = table.latencyDevices;
    for (const d of opts.devices ?? []) {
      if (!known.includes(d)) throw new UserError(`unknown latency device "${d}"; known devices: ${known.join(", ")}`);
    }
    this.devices = opts.devices ?? known;
    this.metrics = ["valid_acc", "params_m", "flops_m", "epochs", ...this.devices.map((d) => `latency_ms_${d}`)];
  }

  index(arch: unknown): number {
    const i = typeof arch === "string" ? this.table.indexOf.get(arch) : undefined;
    if (i === undefined) throw new UserError(`not a NAS-Bench-201 architecture: ${JSON.stringify(arch)}`);
    return i;
  }

  /** Validation accuracy at a fidelity level (seed mean, or one seed's result when noisy). */
  private validAt(i: number, epochs: number, rng: Rng): number {
    if (epochs < 200) return this.table.column(this.cols.valid12)[i];
    const mean = this.table.column(this.cols.valid)[i];
    if (!this.opts.noise) return mean;
    const seeds = this.table.seeds.get(this.cols.seeds)?.[i] ?? [];
    if (seeds.length === 0) return mean;
    // The seed's deviation from its own mean, added to the table's mean: keeps the expectation exact.
    const seedMean = seeds.reduce((a, b) => a + b, 0) / seeds.length;
    return mean + (rng.choice(seeds) - seedMean);
  }

  /** Params, FLOPs and latencies: table lookups known before a trial runs (undefined for an unknown cell). */
  cheapMetrics(point: { arch: Json; hp?: JsonObject }): Metrics | undefined {
    const i = typeof point.arch === "string" ? this.table.indexOf.get(point.arch) : undefined;
    if (i === undefined) return undefined;
    const metrics: Metrics = { params_m: this.table.column(this.cols.params)[i], flops_m: this.table.column(this.cols.flops)[i] };
    for (const d of this.devices) metrics[`latency_ms_${d}`] = this.table.column(`lat_ms_${d}`)[i];
    return metrics;
  }

  /**
   * The run as steps at the benchmark's levels above `spec.resumeFrom` up to the fidelity, each
   * with every metric (cheap ones included, so a multi-objective scheduler sees them at a rung)
   * and the simulated training time since this run started (200-epoch time / 200 per epoch).
   */
  simulate(spec: TrialSpec): SimulatedStep[] {
    const i = this.index(spec.arch);
    const want = spec.fidelity.epochs ?? 200;
    if (!LEVELS.includes(want)) throw new UserError(`NB201 simulator has results at ${LEVELS.join(" and ")} epochs only, asked for ${want}`);
    const from = spec.resumeFrom?.epochs ?? 0;
    if (from >= want) throw new UserError(`cannot continue an NB201 trial from ${from} to ${want} epochs`);
    const rng = new Rng(spec.seed);
    const perEpoch = this.table.column(this.cols.trainTime)[i] / 200;
    const cheap = this.cheapMetrics({ arch: spec.arch })!;
    return LEVELS.filter((l) => l > from && l <= want).map((level) => ({
      step: level,
      metrics: { valid_acc: this.validAt(i, level, rng), ...cheap, epochs: level },
      hidden: { test_acc: this.table.column(level < 200 ? this.cols.test12 : this.cols.test)[i] },
      elapsedSeconds: perEpoch * (level - from),
    }));
  }

  async run(spec: TrialSpec, ctx: EvalContext): Promise<EvalResult> {
    const steps = this.simulate(spec);
    let at = steps[steps.length - 1];
    for (const s of steps) {
      at = s;
      if (ctx.report(s.step, s.metrics) !== "continue") break;
    }
    return { metrics: at.metrics, hidden: at.hidden, costSeconds: at.elapsedSeconds };
  }
}

export const nb201Simulator: Component<Nb201SimulatorOptions, EvaluatorContext, Evaluator> = {
  name: "nb201",
  description: "NAS-Bench-201 simulator: table lookup of 12/200-epoch accuracy, params, FLOPs, latency on 27 devices, simulated training time.",
  options,
  create: (opts) => new Nb201Simulator(opts),
};
