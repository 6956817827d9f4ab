import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { deriveSeed, Rng } from "../core/rng.js";
import { NB201_EDGES, NB201_OPS } from "../benchmarks/nb201.js";
import type { ImageDataset } from "../data/datasets.js";
import type { Tensor } from "../engine/tensor.js";
import type { Nb201Supernet } from "./nb201-supernet.js";
import type { Nb201Network } from "../models/nb201.js";
import { cacheKey, loadState, prefixed, readTensorFile, writeTensorFile } from "./tensor-cache.js";

/** How a single-path supernet is trained (SPOS, RS-WS, FairNAS). */
export interface SinglePathOptions {
  channels: number;
  cells_per_stage: number;
  epochs: number;
  batch_size: number;
  lr: number;
  lr_min: number;
  momentum: number;
  weight_decay: number;
  grad_clip: number;
  /**
   * uniform: one operation per edge drawn uniformly at each step (SPOS, Guo et al. 2020; RS-WS, Li &
   * Talwalkar 2019); fair: each step trains five paths in which every operation of every edge
   * appears exactly once, and updates once (FairNAS' strict fairness, Chu et al. 2021).
   */
  sampling: "uniform" | "fair";
  threads: number;
  /** A sub-supernet of few-shot NAS: this edge always takes this operation (the others are sampled). */
  fixed?: { edge: number; op: number };
}

/**
 * Block-wise distillation (DNA, Li et al. 2020): each stage of the supernet learns, from the
 * teacher's features at its input, to reproduce the teacher's features at its output (mean
 * squared error, summed over the three stages), instead of learning the labels end to end.
 */
export interface DistillTeacher {
  net: Nb201Network;
  /** What defines the teacher (its cell, training and data), for the supernet's cache key. */
  key: string;
  /** The student supernet's learning rate (Adam, cosine to 0): feature regression takes smaller steps than SGD on labels. */
  lr: number;
}

type Engine = typeof import("../engine/index.js");

/** The paths of one step: one (uniform) or five covering every operation once per edge (fair). */
function pathsOfStep(rng: Rng, sampling: SinglePathOptions["sampling"], fixed?: SinglePathOptions["fixed"]): number[][] {
  const k = NB201_OPS.length;
  const paths =
    sampling === "uniform"
      ? [NB201_EDGES.map(() => rng.int(k))]
      : (() => {
          const perms = NB201_EDGES.map(() => rng.shuffle(Array.from({ length: k }, (_, i) => i)));
          return Array.from({ length: k }, (_, p) => perms.map((perm) => perm[p]));
        })();
  if (fixed) for (const p of paths) p[fixed.edge] = fixed.op;
  return paths;
}

/**
 * Trains the NB201 supernet along single paths and keeps it in a cache folder, by a hash of
 * everything that defines it (options, data, seed): a second search with the same supernet
 * loads it instead of training again, and a run killed during training resumes from its last
 * epoch (a checkpoint per epoch: weights, momentum buffers, epoch).
 */
export async function trainSinglePath(
  o: SinglePathOptions,
  data: ImageDataset,
  seed: number,
  cacheDir: string,
  log: (line: string) => void = () => undefined,
  /** Weights to start from (a few-shot sub-supernet starts from the one-shot supernet), and what defines them (for the cache key). */
  init?: { net: Nb201Supernet; key: string },
  teacher?: DistillTeacher,
): Promise<Nb201Supernet & { cacheKey: string }> {
  const E: Engine = await import("../engine/index.js");
  const D = await import("../data/datasets.js");
  const { Nb201Supernet } = await import("./nb201-supernet.js");
  const { Sgd, Adam, clipGradNorm } = await import("../engine/optim-state.js");
  const F = E.F;
  E.setNumThreads(o.threads);
  const key = cacheKey({ o: { ...o, threads: undefined }, seed, data: data.name, n: data.labels.length, shape: data.shape, init: init?.key ?? null, ...(teacher ? { teacher: teacher.key, lr: teacher.lr } : {}) });
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, `nb201-supernet-${key}.bin`);
  E.manualSeed(deriveSeed(seed, "supernet-init"));
  const net = new Nb201Supernet({ channels: o.channels, cellsPerStage: o.cells_per_stage, classes: data.classes, inputChannels: data.shape[0] });
  const weights = net.parameters();
  const opt = teacher ? new Adam(weights, { lr: teacher.lr, weightDecay: o.weight_decay }) : new Sgd(weights, { lr: o.lr, momentum: o.momentum, weightDecay: o.weight_decay });
  let start = 0;
  if (init) for (const [name, t] of net.stateDict()) E.noGrad(() => t.copy(init.net.stateDict().get(name)!));
  if (existsSync(file)) {
    const saved = await readTensorFile(file, "supernet cache");
    await loadState(net, saved, "net.", file, "supernet cache");
    opt.load(prefixed(saved, "opt."));
    start = Math.round(saved.get("epoch")!.item());
    for (const t of saved.values()) t.dispose();
    if (start < o.epochs) log(`supernet: resuming its training at epoch ${start + 1} from ${file}`);
  }
  teacher?.net.eval(); // its BatchNorm keeps the statistics it was trained with
  for (let epoch = start; epoch < o.epochs; epoch++) {
    const t0 = performance.now();
    opt.learningRate = teacher ? E.cosineLr(epoch, o.epochs, teacher.lr, 0) : E.cosineLr(epoch, o.epochs, o.lr, o.lr_min);
    E.manualSeed(deriveSeed(seed, "supernet-epoch", epoch));
    const rng = new Rng(deriveSeed(seed, "supernet-paths", epoch));
    let loss = 0;
    let seen = 0;
    for (const { x, y } of D.batches(data, o.batch_size, new Rng(deriveSeed(seed, "supernet-order", epoch)))) {
      E.tidy(() => {
        opt.zeroGrad();
        const targets = teacher ? E.noGrad(() => teacher.net.stageFeatures(x)) : undefined;
        for (const ops of pathsOfStep(rng, o.sampling, o.fixed)) {
          const l = targets ? blockwiseLoss(net, targets, ops) : F.crossEntropy(net.run(x, { kind: "single", ops }), y);
          l.backward(); // fair: the five paths' gradients add up before the one update
          loss += l.item() * x.shape[0];
          seen += x.shape[0];
        }
        clipGradNorm(weights, o.grad_clip);
        opt.step();
      });
      x.dispose();
      y.dispose();
      await new Promise((r) => setImmediate(r));
    }
    const state = new Map<string, Tensor>();
    for (const [name, t] of net.stateDict()) state.set(`net.${name}`, t);
    for (const [k, t] of opt.state()) state.set(`opt.${k}`, t);
    const ep = E.tensor([epoch + 1]);
    state.set("epoch", ep);
    await writeTensorFile(file, state);
    ep.dispose();
    log(`supernet epoch ${epoch + 1}/${o.epochs}: train_loss ${(loss / Math.max(1, seen)).toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  opt.dispose();
  return Object.assign(net, { cacheKey: key });
}

/**
 * Sum over the three stages of the mean squared error between a stage fed the teacher's input
 * and the teacher's output, each relative to that output's variance (so stages of different
 * scales weigh alike; 1 is what outputting the mean would cost).
 */
function blockwiseLoss(net: Nb201Supernet, targets: Tensor[], ops: readonly number[]): Tensor {
  let total: Tensor | undefined;
  for (let b = 0; b < 3; b++) {
    const l = net.block(b, targets[b], { kind: "single", ops }).sub(targets[b + 1]).square().mean().div(targets[b + 1].var().add(1e-8));
    total = total ? total.add(l) : l;
  }
  return total!;
}

/**
 * Resets the BatchNorm statistics of `net` and recomputes them as the exact average over the
 * first `bnBatches` batches of `calibration` (in a fixed order) passed through `forward`: the
 * shared statistics of a supernet belong to no single path.
 */
async function recalibrateBatchNorm(net: Nb201Supernet, calibration: ImageDataset, o: { batch_size: number; bn_batches: number }, forward: (x: Tensor) => void) {
  const E: Engine = await import("../engine/index.js");
  const D = await import("../data/datasets.js");
  const bns = net.modules().filter((m): m is InstanceType<typeof E.BatchNorm2d> => m instanceof E.BatchNorm2d);
  E.noGrad(() => {
    for (const bn of bns) bn.resetRunningStats();
    net.train();
    let k = 0;
    for (const { x, y } of D.batches(calibration, o.batch_size)) {
      if (k < o.bn_batches) {
        for (const bn of bns) bn.momentum = 1 / (k + 1);
        E.tidy(() => forward(x));
        k++;
      }
      x.dispose();
      y.dispose();
    }
    for (const bn of bns) bn.momentum = undefined;
  });
}

/**
 * The accuracy (%) and loss of one cell of the supernet with its inherited weights, on `images`,
 * BatchNorm statistics recalibrated first on `bn_batches` training batches.
 */
export async function inheritedAccuracy(
  net: Nb201Supernet,
  ops: readonly number[],
  calibration: ImageDataset,
  images: ImageDataset,
  o: { batch_size: number; bn_batches: number },
): Promise<{ acc: number; loss: number }> {
  await recalibrateBatchNorm(net, calibration, o, (x) => void net.run(x, { kind: "single", ops }));
  return scoreOn(net, images, (x) => ({ logits: net.run(x, { kind: "single", ops }) }));
}

/**
 * A cell of a block-wise distilled supernet: its accuracy (%) and loss as the teacher's stem, the
 * cell's three stages and the teacher's classifier chained (BatchNorm recalibrated along that
 * chain), and its distillation error (DNA's rating: per stage, fed the teacher's input, the mean
 * squared error to the teacher's output relative to that output's variance, summed over stages;
 * lower is better).
 */
export async function distilledScore(
  net: Nb201Supernet,
  teacher: Nb201Network,
  ops: readonly number[],
  calibration: ImageDataset,
  images: ImageDataset,
  o: { batch_size: number; bn_batches: number },
): Promise<{ acc: number; loss: number; distill: number }> {
  const path = { kind: "single" as const, ops };
  const chain = (x: Tensor) => {
    let y = teacher.stageFeatures(x)[0];
    for (let b = 0; b < 3; b++) y = net.block(b, y, path);
    return teacher.classify(y);
  };
  teacher.eval();
  // The stages as they were trained (each fed the teacher's input), BatchNorm recalibrated that way.
  const blockwise = (x: Tensor) => {
    const feats = teacher.stageFeatures(x);
    return [0, 1, 2].map((b) => ({ out: net.block(b, feats[b], path), target: feats[b + 1] }));
  };
  await recalibrateBatchNorm(net, calibration, o, (x) => void blockwise(x));
  const err = [0, 0, 0];
  const scale = [0, 0, 0];
  await overBatches(net, images, (x) =>
    blockwise(x).forEach(({ out, target }, b) => {
      err[b] += out.sub(target).square().mean().item() * x.shape[0];
      scale[b] += target.var().item() * x.shape[0];
    }),
  );
  await recalibrateBatchNorm(net, calibration, o, (x) => void chain(x));
  const r = await scoreOn(net, images, (x) => ({ logits: chain(x) }));
  teacher.train();
  return { ...r, distill: err.reduce((a, e, b) => a + e / Math.max(1e-12, scale[b]), 0) };
}

/** Accuracy (%) and mean cross-entropy of `forward`'s logits over `images`, `net` in eval mode. */
async function scoreOn(net: Nb201Supernet, images: ImageDataset, forward: (x: Tensor) => { logits: Tensor }): Promise<{ acc: number; loss: number }> {
  const E: Engine = await import("../engine/index.js");
  let correct = 0;
  let loss = 0;
  let n = 0;
  await overBatches(net, images, (x, y) => {
    const { logits } = forward(x);
    loss += E.F.crossEntropy(logits, y).item() * x.shape[0];
    correct += logits.argmax(1).eq(y).cast("float32").sum().item();
    n += x.shape[0];
  });
  return { acc: (100 * correct) / Math.max(1, n), loss: loss / Math.max(1, n) };
}

/** `fn` on each batch of `images` (batches of 256, in order), `net` in eval mode, without gradients. */
async function overBatches(net: Nb201Supernet, images: ImageDataset, fn: (x: Tensor, y: Tensor) => void): Promise<void> {
  const E: Engine = await import("../engine/index.js");
  const D = await import("../data/datasets.js");
  net.eval();
  E.noGrad(() => {
    for (const { x, y } of D.batches(images, 256)) {
      E.tidy(() => fn(x, y));
      x.dispose();
      y.dispose();
    }
  });
  net.train();
}
