import { z } from "zod";
import type { Component } from "../core/component.js";
import type { EvalContext, EvalResult, Evaluator, Metrics, TrialSpec } from "../core/evaluator.js";
import type { Json, JsonObject } from "../core/json.js";
import type { EvaluatorContext } from "./context.js";
import { FbnetSpace } from "../spaces/fbnet.js";
import { FBNET_DATASETS, FBNET_METRICS, fbnetCost, loadFbnetLut, type FbnetLut } from "../benchmarks/hwnas.js";

const options = z.strictObject({
  dataset: z.enum(FBNET_DATASETS).default("cifar100").describe("input size of the lookup table: cifar100 (32x32) or imagenet (224x224)"),
});
export type HwnasFbnetOptions = z.infer<typeof options>;

/**
 * Hardware cost of an FBNet-space architecture from HW-NAS-Bench's block lookup table: latency
 * (ms) on Edge GPU, Raspberry Pi 4, Pixel 3, Eyeriss and FPGA, energy (mJ) on Edge GPU, Eyeriss
 * and FPGA. No accuracy (HW-NAS-Bench has none for this space): combine these metrics with your
 * own training evaluator's, or use them as constraints. Every metric is cheap (a lookup).
 */
export class HwnasFbnet implements Evaluator {
  readonly name = "hwnas_fbnet";
  readonly metrics = Object.values(FBNET_METRICS);
  private readonly space = new FbnetSpace();

  constructor(
    readonly opts: HwnasFbnetOptions,
    private readonly lut: FbnetLut = loadFbnetLut(),
  ) {}

  cost(arch: Json): Metrics {
    return fbnetCost(this.lut, this.space.validate(arch), this.opts.dataset);
  }

  cheapMetrics(point: { arch: Json; hp?: JsonObject }): Metrics | undefined {
    try {
      return this.cost(point.arch);
    } catch {
      return undefined;
    }
  }

  async run(spec: TrialSpec, _ctx: EvalContext): Promise<EvalResult> {
    return { metrics: this.cost(spec.arch) };
  }
}

export const hwnasFbnet: Component<HwnasFbnetOptions, EvaluatorContext, Evaluator> = {
  name: "hwnas_fbnet",
  description: "HW-NAS-Bench FBNet space: latency on Edge GPU / Raspberry Pi 4 / Pixel 3 / Eyeriss / FPGA and energy on Edge GPU / Eyeriss / FPGA from the block lookup table.",
  options,
  create: (opts) => new HwnasFbnet(opts),
};
