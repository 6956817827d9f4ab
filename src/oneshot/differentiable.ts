import { z } from "zod";
import { supernetTrainingOptions } from "./training-options.js";
import { freemem } from "node:os";
import type { Json } from "../core/json.js";
import type { Metrics } from "../core/evaluator.js";
import { deriveSeed, Rng } from "../core/rng.js";
import type { Searcher, SearcherJob } from "../core/searcher.js";
import { UserError } from "../core/errors.js";
import { NB201_EDGES, NB201_OPS } from "../benchmarks/nb201.js";
import { DATASET_HELP } from "../data/names.js";
import type { ImageDataset } from "../data/datasets.js";
import type { Tensor } from "../engine/tensor.js";
import { cellOf, type Nb201Supernet, type PathChoice } from "./nb201-supernet.js";
import { prefixed } from "./tensor-cache.js";

/**
 * Differentiable search on the NAS-Bench-201 supernet, one bilevel loop for three methods:
 * - `darts` (Liu et al., ICLR 2019): a softmax over per-edge architecture logits mixes every
 *   operation; the logits descend the validation loss (Adam), the weights the training loss (SGD),
 *   alternately (first order; `order: 2` uses the finite-difference unrolled gradient);
 * - `gdas` (Dong & Yang, CVPR 2019): one operation per edge sampled by Gumbel-softmax (hard,
 *   straight-through), the temperature annealed from `tau_max` to `tau_min`;
 * - `beta_darts` (Ye et al., CVPR 2022): DARTS with the Beta-Decay regulariser, the mean over
 *   edges of logsumexp of the logits, added to the validation loss with a weight rising
 *   linearly from 0 to `beta_lambda`, which keeps the mixing weights from saturating on
 *   parameter-free operations (DARTS' collapse to skip connections);
 * - `drnas` (Chen et al., ICLR 2021): each edge's mixing weights are a sample of a Dirichlet
 *   distribution whose concentrations beta = softplus(logits) are learnt (both steps sample),
 *   with a small L2 penalty on beta (`drnas_reg`); the noise of the sample keeps the search
 *   exploring instead of saturating. The sample is drawn through the Laplace approximation of the
 *   Dirichlet in the softmax basis (a logistic normal: MacKay 1998), which our engine can
 *   differentiate, rather than through gamma variates; cells derive from the Dirichlet's mean.
 * Defaults are the NB201 papers' (C 16, N 5, 50 epochs, batch 64, SGD 0.025 -> 0.001 cosine,
 * momentum 0.9, wd 3e-4, clip 5; Adam 3e-4, betas (0.5, 0.999), wd 1e-3): on a 2-core machine
 * use fewer cells, channels and images. The training split is halved (seeded) into the weights'
 * part and the architecture's validation part; the dataset's test split is never used.
 */

export const differentiableOptions = z.strictObject({
  dataset: z.string().default("fashion-mnist").describe(DATASET_HELP),
  max_train: z.number().int().min(2).optional().describe("cap on the training images used (both halves together)"),
  ...supernetTrainingOptions,
  arch_lr: z.number().positive().default(3e-4),
  arch_weight_decay: z.number().min(0).default(1e-3),
  order: z.union([z.literal(1), z.literal(2)]).default(1).describe("DARTS: 1 = first-order, 2 = unrolled (second-order, finite-difference Hessian-vector product)"),
  tau_max: z.number().positive().default(10).describe("GDAS: Gumbel-softmax temperature at the start"),
  tau_min: z.number().positive().default(0.1).describe("GDAS: temperature at the end"),
  beta_lambda: z.number().min(0).default(0.5).describe("beta-DARTS: final weight of the Beta-Decay regulariser (rises linearly from 0)"),
  drnas_reg: z.number().min(0).default(1e-3).describe("DrNAS: weight of the L2 penalty on the Dirichlet concentrations"),
  threads: z.number().int().min(1).default(2),
  derive: z.number().int().min(1).default(1).describe("cells derived: the argmax cell, then the cheapest single-edge changes"),
  memory_limit_mb: z.number().int().positive().optional().describe("refuse to start when the estimated memory is above this (default: the free memory)"),
});
export type DifferentiableOptions = z.infer<typeof differentiableOptions>;
export type DifferentiableMethod = "darts" | "gdas" | "beta_darts" | "drnas";

/** What the checkpoint holds besides tensors: where the search stands. */
interface Progress {
  epoch: number;
  history: { epoch: number; alphas: number[][] }[];
}

/** A rough peak-memory estimate (bytes) of one training step: weights with gradients and optimiser state, and the activations kept for backward. */
export function estimateSupernetBytes(o: Pick<DifferentiableOptions, "channels" | "cells_per_stage" | "batch_size">, shape: [number, number, number]): number {
  const [, h, w] = shape;
  let activations = 0;
  let params = 0;
  let side = h * w;
  let c = o.channels;
  for (let stage = 0; stage < 3; stage++) {
    // Per cell: 6 edges x (2 convolutions keep relu, conv and BN outputs; skip and pool outputs; the weighted terms) + 3 nodes.
    activations += o.cells_per_stage * (6 * (2 * 3 + 2 + 4) + 3) * o.batch_size * c * side;
    params += o.cells_per_stage * 6 * (c * c * (1 + 9) + 4 * c);
    if (stage < 2) {
      side = Math.ceil(Math.sqrt(side) / 2) ** 2;
      c *= 2;
    }
  }
  return 4 * (activations + 4 * params);
}

/** The DARTS family as a searcher (see above). */
export class DifferentiableSearcher implements Searcher {
  readonly name: string;

  constructor(
    readonly method: DifferentiableMethod,
    private readonly o: DifferentiableOptions,
    private readonly configDir = process.cwd(),
  ) {
    this.name = method;
  }

  /** Checks what can be checked before any training: the engine, the data, the memory. */
  async prepare(): Promise<{ train: ImageDataset; valid: ImageDataset }> {
    const { engineAvailable } = await import("../engine/native.js");
    if (!engineAvailable()) throw new UserError(`${this.name} trains a supernet on the tensor engine, which is not built (apt-get install libtorch-dev, then npm run build:native)`);
    const D = await import("../data/datasets.js");
    const { data } = D.loadImageData(this.o.dataset, this.configDir);
    const need = estimateSupernetBytes(this.o, data.shape);
    const limit = (this.o.memory_limit_mb ?? Math.floor(freemem() / 2 ** 20)) * 2 ** 20;
    if (need > limit) {
      throw new UserError(
        `${this.name}: the supernet (${this.o.channels} channels, ${this.o.cells_per_stage} cells per stage, batch ${this.o.batch_size}, images ${data.shape.join("x")}) needs about ${Math.ceil(need / 2 ** 20)} MB, more than the ${Math.floor(limit / 2 ** 20)} MB available; lower channels, cells_per_stage or batch_size`,
      );
    }
    // The weights' half and the architecture's half of the training split (never the test split).
    const halves = D.splitDataset(data, 0.5, this.o.split_seed, this.o.max_train ? Math.floor(this.o.max_train / 2) : undefined);
    const valid = this.o.max_train ? D.splitDataset(halves.valid, 1e-9, 0, Math.ceil(this.o.max_train / 2)).train : halves.valid;
    return { train: halves.train, valid };
  }

  async search(job: SearcherJob): Promise<Json[]> {
    const o = this.o;
    const data = await this.prepare();
    const E = await import("../engine/index.js");
    const D = await import("../data/datasets.js");
    const { Nb201Supernet } = await import("./nb201-supernet.js");
    const { Sgd, Adam, clipGradNorm } = await import("../engine/optim-state.js");
    const { encodeTensors, decodeTensors } = await import("../engine/serialize.js");
    E.setNumThreads(o.threads);
    E.manualSeed(deriveSeed(job.seed, "supernet-init"));
    const net = new Nb201Supernet({ channels: o.channels, cellsPerStage: o.cells_per_stage, classes: data.train.classes, inputChannels: data.train.shape[0] });
    const alphas = E.randn([NB201_EDGES.length, NB201_OPS.length]).mul(1e-3).keep().requiresGrad(true);
    const weights = net.parameters();
    const wOpt = new Sgd(weights, { lr: o.lr, momentum: o.momentum, weightDecay: o.weight_decay });
    const aOpt = new Adam([alphas], { lr: o.arch_lr, beta1: 0.5, beta2: 0.999, weightDecay: o.arch_weight_decay });
    let progress: Progress = { epoch: 0, history: [] };
    if (job.resume) {
      const saved = decodeTensors(job.resume.data, `${this.name} checkpoint`);
      const meta = saved.get("__progress__");
      if (!meta) throw new UserError(`${this.name} checkpoint has no progress record`);
      progress = JSON.parse(new TextDecoder().decode(Uint8Array.from(meta.toArray()))) as Progress;
      for (const [name, t] of net.stateDict()) {
        const s = saved.get(`net.${name}`);
        if (!s) throw new UserError(`${this.name} checkpoint has no tensor net.${name} (was it written by another supernet size?)`);
        E.noGrad(() => t.copy(s));
      }
      E.noGrad(() => alphas.copy(saved.get("alphas")!));
      wOpt.load(prefixed(saved, "wopt."));
      aOpt.load(prefixed(saved, "aopt."));
      for (const t of saved.values()) t.dispose();
    }
    const F = await import("../engine/functional.js");
    const entropyOf = (p: number[][]) => p.reduce((a, row) => a - row.reduce((s, v) => s + (v > 0 ? v * Math.log(v) : 0), 0), 0) / p.length;

    for (let epoch = progress.epoch; epoch < o.epochs; epoch++) {
      if (job.signal.aborted) throw job.signal.reason ?? new Error("stopped");
      const started = performance.now();
      wOpt.learningRate = E.cosineLr(epoch, o.epochs, o.lr, o.lr_min);
      E.manualSeed(deriveSeed(job.seed, "epoch", epoch)); // Gumbel noise: the same after a resume
      const tau = o.tau_max - ((o.tau_max - o.tau_min) * epoch) / Math.max(1, o.epochs - 1);
      const lambda = (o.beta_lambda * (epoch + 1)) / o.epochs;
      const trainBatches = D.batches(data.train, o.batch_size, new Rng(deriveSeed(job.seed, "train-order", epoch)));
      const validBatches = D.batches(data.valid, o.batch_size, new Rng(deriveSeed(job.seed, "valid-order", epoch)));
      const m = { trainLoss: 0, trainCorrect: 0, trainSeen: 0, validLoss: 0, validCorrect: 0, validSeen: 0 };
      for (;;) {
        const t = trainBatches.next();
        const v = validBatches.next();
        if (t.done || v.done) {
          if (!t.done) (t.value.x.dispose(), t.value.y.dispose());
          if (!v.done) (v.value.x.dispose(), v.value.y.dispose());
          break;
        }
        const { x: xt, y: yt } = t.value;
        const { x: xv, y: yv } = v.value;
        // The architecture's step, on a validation batch.
        E.tidy(() => {
          aOpt.zeroGrad();
          for (const w of weights) w.zeroGrad();
          const logits = net.run(xv, this.path(alphas, tau, false, E, F));
          let loss = F.crossEntropy(logits, yv);
          if (this.method === "beta_darts" && lambda > 0) loss = loss.add(alphas.logsumexp([1]).mean().mul(lambda));
          if (this.method === "drnas" && o.drnas_reg > 0) loss = loss.add(concentration(alphas).square().sum().mul(o.drnas_reg));
          loss.backward();
          if (this.method === "darts" && o.order === 2) this.unrolledGradient(net, alphas, weights, xt, yt, xv, yv, wOpt.learningRate, E, F);
          aOpt.step();
          m.validLoss += F.crossEntropy(logits.detach(), yv).item() * xv.shape[0];
          m.validCorrect += logits.detach().argmax(1).eq(yv).cast("float32").sum().item();
          m.validSeen += xv.shape[0];
        });
        // The weights' step, on a training batch, with the architecture fixed.
        E.tidy(() => {
          for (const w of weights) w.zeroGrad();
          const logits = net.run(xt, this.path(alphas, tau, true, E, F));
          const loss = F.crossEntropy(logits, yt);
          loss.backward();
          clipGradNorm(weights, o.grad_clip);
          wOpt.step();
          m.trainLoss += loss.item() * xt.shape[0];
          m.trainCorrect += logits.detach().argmax(1).eq(yt).cast("float32").sum().item();
          m.trainSeen += xt.shape[0];
        });
        for (const tt of [xt, yt, xv, yv]) tt.dispose();
        await new Promise((r) => setImmediate(r)); // lets a stop (abort) through between steps
        if (job.signal.aborted) throw job.signal.reason ?? new Error("stopped");
      }
      const probs = this.probabilities(alphas, E, F);
      progress = { epoch: epoch + 1, history: [...progress.history, { epoch: epoch + 1, alphas: alphas.detach().reshape([-1]).toArray().reduce<number[][]>((rows, v, i) => (i % NB201_OPS.length === 0 ? [...rows, [v]] : (rows[rows.length - 1].push(v), rows)), []) }] };
      const metrics: Metrics = {
        train_loss: m.trainLoss / Math.max(1, m.trainSeen),
        train_acc: (100 * m.trainCorrect) / Math.max(1, m.trainSeen),
        valid_loss: m.validLoss / Math.max(1, m.validSeen),
        valid_acc: (100 * m.validCorrect) / Math.max(1, m.validSeen),
        entropy: entropyOf(probs),
        lr: wOpt.learningRate,
        epoch_s: (performance.now() - started) / 1000,
      };
      if (this.method === "gdas") metrics.tau = tau;
      if (this.method === "beta_darts") metrics.beta_lambda = lambda;
      await job.report(epoch + 1, metrics);
      // The architecture per epoch (the dashboard plots it), then the checkpoint to resume from.
      await job.saveArtifact("alphas.json", JSON.stringify({ ops: NB201_OPS, edges: NB201_EDGES, epochs: progress.history }));
      const state = new Map<string, Tensor>();
      for (const [name, t] of net.stateDict()) state.set(`net.${name}`, t);
      state.set("alphas", alphas);
      for (const [k, t] of wOpt.state()) state.set(`wopt.${k}`, t);
      for (const [k, t] of aOpt.state()) state.set(`aopt.${k}`, t);
      const meta = E.tensor(Array.from(new TextEncoder().encode(JSON.stringify(progress))), undefined, "int32");
      state.set("__progress__", meta);
      await job.checkpoint(epoch + 1, encodeTensors(state));
      meta.dispose();
    }
    const probs = this.probabilities(alphas, E, F);
    net.dispose();
    alphas.dispose();
    wOpt.dispose();
    aOpt.dispose();
    return deriveCells(probs, o.derive);
  }

  /** Softmax of the logits per edge (DrNAS: the Dirichlet's mean), as plain numbers [6][5]. */
  private probabilities(alphas: Tensor, E: typeof import("../engine/index.js"), F: typeof import("../engine/functional.js")): number[][] {
    return E.tidy(() => {
      const a = alphas.detach();
      const beta = this.method === "drnas" ? concentration(a) : undefined;
      const flat = (beta ? beta.div(beta.sum([1], true)) : F.softmax(a, 1)).toArray();
      return NB201_EDGES.map((_, e) => flat.slice(e * NB201_OPS.length, (e + 1) * NB201_OPS.length));
    });
  }

  /** The path of one step: the softmax mix (DARTS, beta-DARTS) or a Gumbel-sampled operation per edge (GDAS). */
  private path(alphas: Tensor, tau: number, weightsStep: boolean, E: typeof import("../engine/index.js"), F: typeof import("../engine/functional.js")): PathChoice {
    const a = weightsStep ? alphas.detach() : alphas;
    if (this.method === "drnas") return { kind: "mixed", weights: dirichletSample(concentration(a), E, F) };
    if (this.method !== "gdas") return { kind: "mixed", weights: F.softmax(a, 1) };
    // Gumbel(0, 1) noise, hard argmax per edge, straight-through gates (value one-hot, gradient of the soft sample).
    const u = E.rand(a.shape).clamp(1e-10, 1 - 1e-10);
    const soft = F.softmax(F.logSoftmax(a, 1).sub(u.log().neg().log()).div(tau), 1);
    const ops = soft.detach().argmax(1).toArray();
    const onehot = E.tensor(ops.flatMap((k) => NB201_OPS.map((_, j) => (j === k ? 1 : 0))), [NB201_EDGES.length, NB201_OPS.length]);
    return { kind: "single", ops, gates: onehot.sub(soft.detach()).add(soft) };
  }

  /**
   * Second-order DARTS: replaces the gradient of the logits (already holding dL_val/dalpha at w)
   * by that at the unrolled weights w' = w - lr dL_train/dw, minus lr times the Hessian-vector
   * product d2L_train/(dalpha dw) . dL_val/dw', by finite differences at w +- eps dL_val/dw'.
   */
  private unrolledGradient(
    net: Nb201Supernet,
    alphas: Tensor,
    weights: Tensor[],
    xt: Tensor,
    yt: Tensor,
    xv: Tensor,
    yv: Tensor,
    lr: number,
    E: typeof import("../engine/index.js"),
    F: typeof import("../engine/functional.js"),
  ): void {
    const originals = weights.map((w) => w.detach().clone().keep());
    const grads = (xs: Tensor, ys: Tensor) => {
      for (const w of weights) w.zeroGrad();
      alphas.zeroGrad();
      F.crossEntropy(net.run(xs, { kind: "mixed", weights: F.softmax(alphas, 1) }), ys).backward();
      return { w: weights.map((w) => (w.grad ?? E.zeros(w.shape)).clone().keep()), a: (alphas.grad ?? E.zeros(alphas.shape)).clone().keep() };
    };
    const set = (fn: (w: Tensor, i: number) => Tensor) => E.noGrad(() => weights.forEach((w, i) => w.copy(fn(w, i))));
    const train = grads(xt, yt);
    set((_, i) => originals[i].sub(train.w[i].mul(lr))); // w'
    const val = grads(xv, yv); // dL_val at w': for alpha, and for the weights (the vector of the product)
    let norm = 0;
    for (const g of val.w) norm += g.square().sum().item();
    const eps = 0.01 / Math.max(Math.sqrt(norm), 1e-12);
    set((_, i) => originals[i].add(val.w[i].mul(eps)));
    const plus = grads(xt, yt).a;
    set((_, i) => originals[i].sub(val.w[i].mul(eps)));
    const minus = grads(xt, yt).a;
    set((_, i) => originals[i]);
    for (const w of weights) w.zeroGrad();
    alphas.zeroGrad();
    const hvp = plus.sub(minus).div(2 * eps);
    E.noGrad(() => alphas.grad!.copy(val.a.sub(hvp.mul(lr))));
    for (const t of [...originals, ...train.w, ...val.w, train.a, val.a, plus, minus]) t.dispose();
  }
}

/** DrNAS' Dirichlet concentrations from the logits: softplus, so they stay positive. */
function concentration(alphas: Tensor): Tensor {
  return alphas.exp().add(1).log().add(1e-4);
}

/**
 * One sample per row of Dirichlet(beta) [edges, K], reparameterised through the Laplace
 * approximation in the softmax basis: z ~ N(mu, diag(var)) with mu_k = log beta_k - mean_j log
 * beta_j and var_k = (1 - 2/K) / beta_k + sum_j (1 / beta_j) / K^2, then softmax(z).
 */
function dirichletSample(beta: Tensor, E: typeof import("../engine/index.js"), F: typeof import("../engine/functional.js")): Tensor {
  const k = beta.shape[1];
  const logBeta = beta.log();
  const mu = logBeta.sub(logBeta.mean([1], true));
  const inv = beta.pow(-1);
  const variance = inv.mul(1 - 2 / k).add(inv.sum([1], true).div(k * k));
  return F.softmax(mu.add(variance.sqrt().mul(E.randn(beta.shape))), 1);
}

/** The argmax cell (NB201's derivation: the most likely operation per edge, `none` included), then the cheapest single-edge changes. */
export function deriveCells(probs: number[][], count: number): string[] {
  const argmax = probs.map((row) => row.indexOf(Math.max(...row)));
  const alternatives = probs
    .flatMap((row, e) => row.map((p, k) => ({ e, k, cost: Math.log(row[argmax[e]]) - Math.log(Math.max(p, 1e-300)) })))
    .filter((a) => a.k !== argmax[a.e])
    .sort((a, b) => a.cost - b.cost || a.e - b.e || a.k - b.k)
    .slice(0, count - 1)
    .map((a) => argmax.map((k, e) => (e === a.e ? a.k : k)));
  return [argmax, ...alternatives].map(cellOf);
}
