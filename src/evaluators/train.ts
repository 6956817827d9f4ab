import { z } from "zod";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Component } from "../core/component.js";
import type { EvalContext, EvalResult, Evaluator, FidelitySpec, TrialSpec } from "../core/evaluator.js";
import { Rng, type RngState } from "../core/rng.js";
import { UserError } from "../core/errors.js";
import type { EvaluatorContext } from "./context.js";
import { latencyOptions } from "./latency.js";
import { DATASET_HELP } from "../data/names.js";

const options = z.strictObject({
  dataset: z.string().default("mnist").describe(DATASET_HELP),
  model: z.enum(["nb201"]).default("nb201").describe("network builder for the architecture"),
  channels: z.number().int().min(1).default(16),
  cells_per_stage: z.number().int().min(1).default(5),
  epochs: z.number().int().min(1).default(10).describe("full training length (the maximum fidelity)"),
  batch_size: z.number().int().min(1).default(64),
  optimizer: z.enum(["sgd", "adam", "adamw"]).default("sgd"),
  lr: z.number().positive().default(0.05),
  momentum: z.number().min(0).max(1).default(0.9),
  nesterov: z.boolean().default(true),
  weight_decay: z.number().min(0).default(5e-4),
  valid_fraction: z.number().gt(0).lt(1).default(0.2),
  test_fraction: z.number().min(0).lt(1).default(0.1).describe("held out for reporting only (never shown to the strategy)"),
  max_train: z.number().int().positive().optional().describe("cap on training images (faster searches)"),
  threads: z.number().int().min(1).default(2),
  split_seed: z.number().int().min(0).default(0),
  latency: z
    .union([z.boolean(), latencyOptions])
    .optional()
    .describe("also report onnx_latency_ms: median batch-1 latency of the trained network exported to ONNX, in onnxruntime-node (true, or {runs, warmup, threads})"),
  noise_sigma: z.number().positive().optional().describe("also report noise_acc: validation accuracy with N(0, sigma^2) noise on the inputs"),
  fgsm_eps: z.number().positive().optional().describe("also report fgsm_acc: validation accuracy under an FGSM attack of this epsilon"),
});
export type TrainOptions = z.infer<typeof options>;

/** Hyperparameters a joint space may set per trial (names as in the options). */
const HP_KEYS = ["lr", "momentum", "weight_decay", "batch_size", "optimizer", "nesterov"] as const;

type Engine = typeof import("../engine/index.js");
type Data = typeof import("../data/datasets.js");
type Split = { train: import("../data/datasets.js").ImageDataset; valid: import("../data/datasets.js").ImageDataset; test?: import("../data/datasets.js").ImageDataset };

/**
 * Trains each candidate network for real (libtorch) and reports validation accuracy after every
 * epoch as an intermediate result, so schedulers can stop it. Test accuracy on a held-out part
 * is hidden from the strategy.
 */
export class TrainingEvaluator implements Evaluator {
  readonly name = "train";
  readonly fidelity: FidelitySpec;
  readonly metrics: string[];
  private loaded?: Promise<{ E: Engine; D: Data; split: Split }>;

  constructor(readonly opts: TrainOptions, private readonly configDir = process.cwd()) {
    this.fidelity = { resource: "epochs", min: 1, max: opts.epochs };
    this.metrics = ["valid_acc", "train_loss", "params_m", "wall_s", "peak_rss_mb", "epochs"];
    if (opts.latency) this.metrics.push("onnx_latency_ms");
    if (opts.noise_sigma !== undefined) this.metrics.push("noise_acc");
    if (opts.fgsm_eps !== undefined) this.metrics.push("fgsm_acc");
  }

  private load() {
    this.loaded ??= (async () => {
      const E = await import("../engine/index.js");
      const D = await import("../data/datasets.js");
      const { data, test: ownTest } = D.loadImageData(this.opts.dataset, this.configDir);
      if (ownTest) {
        // A dataset with its own test split (Fashion-MNIST): that is the test part; validation comes from the training split.
        const inner = D.splitDataset(data, this.opts.valid_fraction, this.opts.split_seed + 1, this.opts.max_train);
        return { E, D, split: { train: inner.train, valid: inner.valid, test: this.opts.test_fraction > 0 ? ownTest : undefined } };
      }
      const outer = D.splitDataset(data, this.opts.test_fraction || 1e-9, this.opts.split_seed);
      const test = this.opts.test_fraction > 0 ? outer.valid : undefined;
      const inner = D.splitDataset(this.opts.test_fraction > 0 ? outer.train : data, this.opts.valid_fraction, this.opts.split_seed + 1, this.opts.max_train);
      return { E, D, split: { train: inner.train, valid: inner.valid, test } };
    })();
    return this.loaded;
  }

  async run(spec: TrialSpec, ctx: EvalContext): Promise<EvalResult> {
    const { E, D, split } = await this.load();
    const hp = { ...this.opts };
    for (const k of HP_KEYS) if (spec.hp[k] !== undefined) (hp as Record<string, unknown>)[k] = spec.hp[k];
    const epochs = spec.fidelity.epochs ?? this.opts.epochs;
    const started = performance.now();
    E.setNumThreads(hp.threads);
    E.manualSeed(spec.seed);
    const rng = new Rng(spec.seed);
    const net = new (await import("../models/nb201.js")).Nb201Network(String(spec.arch), {
      channels: hp.channels,
      cellsPerStage: hp.cells_per_stage,
      classes: split.train.classes,
      inputChannels: split.train.shape[0],
    });
    const params = net.parameters();
    const opt =
      hp.optimizer === "sgd"
        ? E.sgd(params, { lr: hp.lr, momentum: hp.momentum, nesterov: hp.nesterov && hp.momentum > 0, weightDecay: hp.weight_decay })
        : hp.optimizer === "adam" ? E.adam(params, { lr: hp.lr, weightDecay: hp.weight_decay }) : E.adamw(params, { lr: hp.lr, weightDecay: hp.weight_decay });
    const stepsPerEpoch = Math.ceil(split.train.labels.length / hp.batch_size);
    const accuracy = (d: typeof split.valid) =>
      E.noGrad(() => {
        net.eval();
        let correct = 0;
        for (const b of D.batches(d, 256)) {
          correct += E.tidy(() => net.forward(b.x).argmax(1).eq(b.y).sum().item());
          b.x.dispose();
          b.y.dispose();
        }
        net.train();
        return (100 * correct) / d.labels.length;
      });
    let valid = NaN;
    let trainLoss = NaN;
    let done = 0;
    // The learning-rate schedule spans the full training, so a paused and continued trial follows
    // the same schedule as one trained in one go.
    const horizon = Math.max(epochs, this.opts.epochs);
    const ckpt = spec.checkpointDir ? trainCheckpoint(spec.checkpointDir, await import("../engine/serialize.js")) : undefined;
    let rngOut = rng;
    const meta = spec.resumeFrom && ckpt?.exists() ? ckpt.load(net) : undefined;
    // Only the checkpoint of the pause being continued counts; any other trains from scratch.
    if (meta && meta.epoch === spec.resumeFrom?.epochs) {
      done = meta.epoch;
      rngOut = new Rng(meta.rng);
    }
    try {
      for (let epoch = done + 1; epoch <= epochs; epoch++) {
        let lossSum = 0;
        let step = 0;
        for (const b of D.batches(split.train, hp.batch_size, rngOut)) {
          opt.learningRate = E.cosineLr((epoch - 1) * stepsPerEpoch + step, horizon * stepsPerEpoch, hp.lr);
          lossSum += E.tidy(() => {
            opt.zeroGrad();
            const loss = E.F.crossEntropy(net.forward(b.x), b.y);
            loss.backward();
            opt.step();
            return loss.item();
          });
          b.x.dispose();
          b.y.dispose();
          if (++step % 20 === 0) {
            await new Promise((r) => setImmediate(r)); // let timers (timeouts) and I/O run
            if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error("aborted");
          }
        }
        trainLoss = lossSum / step;
        valid = accuracy(split.valid);
        done = epoch;
        if (!Number.isFinite(trainLoss)) throw new Error(`training diverged (loss ${trainLoss}) at epoch ${epoch}; lower the learning rate`);
        const decision = ctx.report(epoch, { valid_acc: valid, train_loss: trainLoss });
        // Paused at a rung: keep the weights so a promotion continues from here.
        if (decision === "pause" && ckpt) ckpt.save(net, { epoch, rng: rngOut.state() });
        if (decision !== "continue") break;
      }
      const hidden = split.test ? { test_acc: accuracy(split.test) } : undefined;
      const extra = await this.extraMetrics(net, split.valid, spec.seed);
      const wall = (performance.now() - started) / 1000;
      return {
        metrics: {
          ...extra,
          valid_acc: valid,
          train_loss: trainLoss,
          params_m: net.parameterCount() / 1e6,
          wall_s: wall,
          peak_rss_mb: process.resourceUsage().maxRSS / 1024,
          epochs: done,
        },
        hidden,
        costSeconds: wall,
      };
    } finally {
      net.dispose();
    }
  }

  /** Robustness and latency of the trained network, as enabled in the options. */
  private async extraMetrics(net: import("../engine/nn/module.js").Module, valid: Split["valid"], seed: number): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    if (this.opts.noise_sigma !== undefined || this.opts.fgsm_eps !== undefined) {
      const R = await import("./robustness.js");
      if (this.opts.noise_sigma !== undefined) out.noise_acc = R.noiseAccuracy(net, valid, this.opts.noise_sigma, seed);
      if (this.opts.fgsm_eps !== undefined) out.fgsm_acc = R.fgsmAccuracy(net, valid, this.opts.fgsm_eps);
    }
    if (this.opts.latency) {
      const E = await import("../engine/index.js");
      const { onnxLatency } = await import("./latency.js");
      const shape = [1, ...valid.shape];
      const model = E.tidy(() => E.exportOnnx(net, E.randn(shape)));
      out.onnx_latency_ms = (await onnxLatency(model, shape, this.opts.latency === true ? {} : this.opts.latency)).medianMs;
    }
    return out;
  }
}

export const trainingEvaluator: Component<TrainOptions, EvaluatorContext, Evaluator> = {
  name: "train",
  description: "Train each candidate for real with the libtorch engine (MNIST digits, CIFAR-10 files or your tensors); reports validation accuracy per epoch.",
  options,
  create: (opts, ctx) => new TrainingEvaluator(opts, ctx.configDir),
};

/**
 * A paused trial's checkpoint: the network's weights and where training stood (epoch, batch-order
 * generator). The optimiser's state (momentum, Adam moments) is not kept: a continued trial
 * restarts it, with the learning rate where the schedule had reached.
 */
function trainCheckpoint(dir: string, S: typeof import("../engine/serialize.js")) {
  const weights = join(dir, "weights.bin");
  const metaFile = join(dir, "checkpoint.json");
  return {
    exists: () => existsSync(weights) && existsSync(metaFile),
    save(net: import("../engine/nn/module.js").Module, meta: { epoch: number; rng: RngState }) {
      mkdirSync(dir, { recursive: true });
      S.saveModule(weights, net);
      // Written last: a crash between the two files leaves no checkpoint rather than a mismatched one.
      writeFileSync(metaFile, JSON.stringify(meta));
    },
    load(net: import("../engine/nn/module.js").Module): { epoch: number; rng: RngState } {
      let meta: { epoch: number; rng: RngState };
      try {
        meta = JSON.parse(readFileSync(metaFile, "utf8")) as { epoch: number; rng: RngState };
      } catch (e) {
        throw new UserError(`checkpoint ${metaFile} is unreadable: ${(e as Error).message}`);
      }
      if (!Number.isInteger(meta.epoch) || meta.epoch < 1) throw new UserError(`checkpoint ${metaFile} has no valid epoch`);
      S.loadModule(weights, net);
      return meta;
    },
  };
}
