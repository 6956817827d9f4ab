import { z } from "zod";
import type { Component } from "../core/component.js";
import type { EvalContext, EvalResult, Evaluator, TrialSpec } from "../core/evaluator.js";
import { UserError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { median } from "../core/stats.js";
import type { EvaluatorContext } from "./context.js";

/** How batch-1 latency is measured in onnxruntime-node. */
export const latencyOptions = z.strictObject({
  runs: z.number().int().min(1).default(50).describe("timed runs; the median is reported"),
  warmup: z.number().int().min(0).default(10).describe("untimed runs first (allocations, caches)"),
  threads: z.number().int().min(1).default(1).describe("onnxruntime intra-op threads (the latency evaluator also builds the network with this many libtorch threads)"),
});
export type LatencyOptions = z.infer<typeof latencyOptions>;

export interface LatencyResult {
  /** Median over the timed runs, in milliseconds. */
  medianMs: number;
  minMs: number;
  runs: number;
}

type Ort = typeof import("onnxruntime-node");
let ortModule: Promise<Ort> | undefined;
async function onnxruntime(): Promise<Ort> {
  ortModule ??= import("onnxruntime-node")
    .then((m) => ((m as unknown as { default?: Ort }).default ?? m) as Ort)
    .catch((e: Error) => {
      ortModule = undefined;
      throw new UserError(`onnxruntime-node failed to load (${e.message}); it is a dependency of archsearch: reinstall with \`npm ci\``);
    });
  return ortModule;
}

/**
 * Median latency of one inference of an ONNX model in onnxruntime-node (CPU), batch 1 unless
 * `inputShape` says otherwise, over `runs` timed runs after `warmup` untimed ones. The input is
 * fixed pseudo-random normal data.
 */
export async function onnxLatency(model: Uint8Array, inputShape: number[], opts: Partial<LatencyOptions> = {}, inputName = "input"): Promise<LatencyResult> {
  const o = latencyOptions.parse({ runs: opts.runs, warmup: opts.warmup, threads: opts.threads });
  const ort = await onnxruntime();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    executionProviders: ["cpu"],
  });
  try {
    const rng = new Rng(1);
    const n = inputShape.reduce((a, b) => a * b, 1);
    const feeds = { [inputName]: new ort.Tensor("float32", Float32Array.from({ length: n }, () => rng.normal()), inputShape) };
    for (let i = 0; i < o.warmup; i++) await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    return { medianMs: median(times), minMs: Math.min(...times), runs: times.length };
  } finally {
    await session.release();
  }
}

const options = z.strictObject({
  model: z.enum(["nb201"]).default("nb201").describe("network builder for the architecture"),
  channels: z.number().int().min(1).default(16),
  cells_per_stage: z.number().int().min(1).default(5),
  input_shape: z.tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)]).default([3, 32, 32]).describe("[channels, height, width] of one input"),
  classes: z.number().int().min(2).default(10),
  runs: latencyOptions.shape.runs,
  warmup: latencyOptions.shape.warmup,
  threads: latencyOptions.shape.threads,
});
export type LatencyEvaluatorOptions = z.infer<typeof options>;

/**
 * Measures without training: builds the network for the architecture (random weights: latency
 * does not depend on them), exports it to ONNX and reports the median batch-1 latency in
 * onnxruntime-node as `onnx_latency_ms`. A cheap objective or constraint on its own, or next to
 * accuracy from another source.
 */
export class LatencyEvaluator implements Evaluator {
  readonly name = "latency";
  readonly metrics = ["onnx_latency_ms", "params_m"];

  constructor(readonly opts: LatencyEvaluatorOptions) {}

  async run(spec: TrialSpec, _ctx: EvalContext): Promise<EvalResult> {
    const started = performance.now();
    const E = await import("../engine/index.js");
    const { Nb201Network } = await import("../models/nb201.js");
    E.manualSeed(spec.seed);
    E.setNumThreads(this.opts.threads);
    const [c, h, w] = this.opts.input_shape;
    const net = new Nb201Network(String(spec.arch), { channels: this.opts.channels, cellsPerStage: this.opts.cells_per_stage, classes: this.opts.classes, inputChannels: c });
    try {
      const model = E.tidy(() => E.exportOnnx(net, E.randn([1, c, h, w])));
      const lat = await onnxLatency(model, [1, c, h, w], this.opts);
      const wall = (performance.now() - started) / 1000;
      return { metrics: { onnx_latency_ms: lat.medianMs, params_m: net.parameterCount() / 1e6 }, costSeconds: wall };
    } finally {
      net.dispose();
    }
  }
}

export const latencyEvaluator: Component<LatencyEvaluatorOptions, EvaluatorContext, Evaluator> = {
  name: "latency",
  description: "Median batch-1 latency (ms) of the architecture's network exported to ONNX, in onnxruntime-node; no training (a cheap objective or constraint).",
  options,
  create: (opts) => new LatencyEvaluator(opts),
};
