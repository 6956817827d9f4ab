import { z } from "zod";
import type { Json } from "../core/json.js";
import type { Metrics } from "../core/evaluator.js";
import { deriveSeed, Rng } from "../core/rng.js";
import type { Searcher, SearcherJob } from "../core/searcher.js";
import { UserError } from "../core/errors.js";
import { FBNET_LAYERS, FBNET_METRICS, FBNET_OPS, fbnetLayerCosts, loadFbnetLut } from "../benchmarks/hwnas.js";
import { DATASET_HELP } from "../data/names.js";
import type { Tensor } from "../engine/tensor.js";
import { prefixed } from "./tensor-cache.js";

export const fbnetDnasOptions = z.strictObject({
  dataset: z.string().default("fashion-mnist").describe(DATASET_HELP),
  max_train: z.number().int().min(2).optional().describe("cap on the training images used (weights' and architecture's parts together)"),
  arch_fraction: z.number().gt(0).lt(1).default(0.2).describe("share of the training split the architecture is trained on (FBNet: 20%)"),
  split_seed: z.number().int().min(0).default(0),
  width: z.number().gt(0).max(1).default(0.25).describe("width multiplier of the trained supernet (the latency term is the full network's, from the LUT)"),
  epochs: z.number().int().min(1).default(90),
  warmup_epochs: z.number().int().min(0).default(10).describe("epochs that train the weights only, before the architecture moves (FBNet: 10 of 90)"),
  batch_size: z.number().int().min(1).default(64),
  lr: z.number().positive().default(0.1),
  momentum: z.number().min(0).max(1).default(0.9),
  weight_decay: z.number().min(0).default(1e-4),
  arch_lr: z.number().positive().default(0.01),
  arch_weight_decay: z.number().min(0).default(5e-4),
  tau: z.number().positive().default(5).describe("Gumbel-softmax temperature at the start, multiplied by tau_decay every epoch"),
  tau_decay: z.number().gt(0).max(1).default(0.956),
  latency: z.string().default("latency_ms_pixel3").describe(`the LUT metric the loss weighs: ${Object.values(FBNET_METRICS).join(", ")}`),
  latency_alpha: z.number().positive().default(0.2),
  latency_beta: z.number().min(0).default(0.6).describe("weight of the latency term: loss = CE * alpha * log(1 + LAT)^beta (0: latency ignored)"),
  threads: z.number().int().min(1).default(2),
});
export type FbnetDnasOptions = z.infer<typeof fbnetDnasOptions>;

/**
 * Hardware-aware differentiable NAS on the FBNet space (Wu et al., CVPR 2019): per-layer logits
 * over the 9 blocks; each step samples one block per layer by Gumbel-softmax (hard, straight-
 * through) and trains the weights on the weights' part; after `warmup_epochs`, the logits
 * descend CE * alpha * log(1 + LAT)^beta on the architecture's part, where LAT is the expected
 * latency of the full-width network on the chosen device: the sum over layers of the block
 * probabilities times their cost in HW-NAS-Bench's lookup table. A larger `latency_beta` moves
 * the derived architecture towards lower latency. (FBNet writes log LAT; log(1 + LAT) keeps the
 * term positive on devices whose latency is under 1 ms.) Derives the most likely block per layer.
 */
export class FbnetDnasSearcher implements Searcher {
  readonly name = "fbnet_dnas";

  constructor(
    private readonly o: FbnetDnasOptions,
    private readonly configDir = process.cwd(),
  ) {}

  async search(job: SearcherJob): Promise<Json[]> {
    const o = this.o;
    const { engineAvailable } = await import("../engine/native.js");
    if (!engineAvailable()) throw new UserError("fbnet_dnas trains a supernet on the tensor engine, which is not built (apt-get install libtorch-dev, then npm run build:native)");
    const costs = fbnetLayerCosts(loadFbnetLut(), "cifar100", o.latency);
    const D = await import("../data/datasets.js");
    const { data } = D.loadImageData(o.dataset, this.configDir);
    const parts = D.splitDataset(data, o.arch_fraction, o.split_seed, o.max_train ? Math.round(o.max_train * (1 - o.arch_fraction)) : undefined);
    const archData = o.max_train ? D.splitDataset(parts.valid, 1e-9, 0, Math.round(o.max_train * o.arch_fraction)).train : parts.valid;
    const E = await import("../engine/index.js");
    const { FbnetSupernet } = await import("./fbnet-supernet.js");
    const { Sgd, Adam, clipGradNorm } = await import("../engine/optim-state.js");
    const { encodeTensors, decodeTensors } = await import("../engine/serialize.js");
    const F = E.F;
    E.setNumThreads(o.threads);
    E.manualSeed(deriveSeed(job.seed, "fbnet-init"));
    const net = new FbnetSupernet({ width: o.width, classes: data.classes, inputChannels: data.shape[0] });
    const theta = E.zeros([FBNET_LAYERS, FBNET_OPS.length]).keep().requiresGrad(true);
    const lut = E.tensor(costs.flat(), [FBNET_LAYERS, FBNET_OPS.length]).keep();
    const weights = net.parameters();
    const wOpt = new Sgd(weights, { lr: o.lr, momentum: o.momentum, weightDecay: o.weight_decay });
    const aOpt = new Adam([theta], { lr: o.arch_lr, weightDecay: o.arch_weight_decay });
    let start = 0;
    if (job.resume) {
      const saved = decodeTensors(job.resume.data, "fbnet_dnas checkpoint");
      for (const [name, t] of net.stateDict()) E.noGrad(() => t.copy(saved.get(`net.${name}`)!));
      E.noGrad(() => theta.copy(saved.get("theta")!));
      wOpt.load(prefixed(saved, "wopt."));
      aOpt.load(prefixed(saved, "aopt."));
      start = job.resume.step;
      for (const t of saved.values()) t.dispose();
    }
    /** One block per layer by hard Gumbel-softmax, with straight-through gates. */
    const sample = (tau: number, grad: boolean) => {
      const a = grad ? theta : theta.detach();
      const u = E.rand(a.shape).clamp(1e-10, 1 - 1e-10);
      const soft = F.softmax(F.logSoftmax(a, 1).sub(u.log().neg().log()).div(tau), 1);
      const ops = soft.detach().argmax(1).toArray();
      const onehot = E.tensor(ops.flatMap((k) => FBNET_OPS.map((_, j) => (j === k ? 1 : 0))), [FBNET_LAYERS, FBNET_OPS.length]);
      return { ops, gates: onehot.sub(soft.detach()).add(soft) };
    };
    const expectedLatency = (grad: boolean) => F.softmax(grad ? theta : theta.detach(), 1).mul(lut).sum();
    for (let epoch = start; epoch < o.epochs; epoch++) {
      if (job.signal.aborted) throw job.signal.reason ?? new Error("stopped");
      const t0 = performance.now();
      wOpt.learningRate = 0.5 * o.lr * (1 + Math.cos((Math.PI * epoch) / o.epochs));
      const tau = o.tau * o.tau_decay ** epoch;
      E.manualSeed(deriveSeed(job.seed, "fbnet-epoch", epoch));
      const archEpoch = epoch >= o.warmup_epochs;
      const m = { loss: 0, correct: 0, seen: 0, archLoss: 0, archSeen: 0 };
      const archBatches = D.batches(archData, o.batch_size, new Rng(deriveSeed(job.seed, "fbnet-arch-order", epoch)));
      for (const { x, y } of D.batches(parts.train, o.batch_size, new Rng(deriveSeed(job.seed, "fbnet-order", epoch)))) {
        E.tidy(() => {
          wOpt.zeroGrad();
          const { ops, gates } = sample(tau, false);
          const logits = net.run(x, ops, gates);
          const loss = F.crossEntropy(logits, y);
          loss.backward();
          clipGradNorm(weights, 5);
          wOpt.step();
          m.loss += loss.item() * x.shape[0];
          m.correct += logits.detach().argmax(1).eq(y).cast("float32").sum().item();
          m.seen += x.shape[0];
        });
        x.dispose();
        y.dispose();
        if (archEpoch) {
          const a = archBatches.next();
          if (!a.done) {
            E.tidy(() => {
              aOpt.zeroGrad();
              wOpt.zeroGrad();
              const { ops, gates } = sample(tau, true);
              const ce = F.crossEntropy(net.run(a.value.x, ops, gates), a.value.y);
              const lat = expectedLatency(true);
              const loss = o.latency_beta > 0 ? ce.mul(lat.add(1).log().pow(o.latency_beta)).mul(o.latency_alpha) : ce;
              loss.backward();
              aOpt.step();
              m.archLoss += ce.item() * a.value.x.shape[0];
              m.archSeen += a.value.x.shape[0];
            });
            a.value.x.dispose();
            a.value.y.dispose();
          }
        }
        await new Promise((r) => setImmediate(r));
        if (job.signal.aborted) throw job.signal.reason ?? new Error("stopped");
      }
      for (let rest = archBatches.next(); !rest.done; rest = archBatches.next()) (rest.value.x.dispose(), rest.value.y.dispose());
      const probs = E.tidy(() => F.softmax(theta.detach(), 1).toArray());
      const derived = this.derive(probs);
      const metrics: Metrics = {
        train_loss: m.loss / Math.max(1, m.seen),
        train_acc: (100 * m.correct) / Math.max(1, m.seen),
        expected_latency: E.tidy(() => expectedLatency(false).item()),
        derived_latency: derived.reduce((s, op, l) => s + costs[l][op], 0),
        tau,
        epoch_s: (performance.now() - t0) / 1000,
      };
      if (m.archSeen > 0) metrics.arch_loss = m.archLoss / m.archSeen;
      let entropy = 0;
      for (let l = 0; l < FBNET_LAYERS; l++) for (let k = 0; k < FBNET_OPS.length; k++) {
        const p = probs[l * FBNET_OPS.length + k];
        if (p > 0) entropy -= p * Math.log(p);
      }
      metrics.entropy = entropy / FBNET_LAYERS;
      await job.report(epoch + 1, metrics);
      const state = new Map<string, Tensor>();
      for (const [name, t] of net.stateDict()) state.set(`net.${name}`, t);
      state.set("theta", theta);
      for (const [k, t] of wOpt.state()) state.set(`wopt.${k}`, t);
      for (const [k, t] of aOpt.state()) state.set(`aopt.${k}`, t);
      await job.checkpoint(epoch + 1, encodeTensors(state));
    }
    const probs = E.tidy(() => F.softmax(theta.detach(), 1).toArray());
    await job.saveArtifact("theta.json", JSON.stringify({ ops: FBNET_OPS, probabilities: Array.from({ length: FBNET_LAYERS }, (_, l) => probs.slice(l * FBNET_OPS.length, (l + 1) * FBNET_OPS.length)) }));
    net.dispose();
    for (const t of [theta, lut]) t.dispose();
    wOpt.dispose();
    aOpt.dispose();
    return [this.derive(probs)];
  }

  /** The most likely block of every layer. */
  private derive(flat: number[]): number[] {
    const k = FBNET_OPS.length;
    return Array.from({ length: FBNET_LAYERS }, (_, l) => {
      const row = flat.slice(l * k, (l + 1) * k);
      return row.indexOf(Math.max(...row));
    });
  }
}
