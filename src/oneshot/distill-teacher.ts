import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { deriveSeed, Rng } from "../core/rng.js";
import type { ImageDataset } from "../data/datasets.js";
import type { DistillTeacher } from "./single-path.js";
import { cacheKey, loadState, readTensorFile, writeTensorFile } from "./tensor-cache.js";

/**
 * The teacher of block-wise distillation by default: every edge a 3x3 convolution, the plain
 * network a user would pick without any benchmark (not the table's best cell: a search whose
 * results are looked up in the table must not start from the table's answer).
 */
export const DEFAULT_TEACHER_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";

export interface TeacherOptions {
  cell: string;
  epochs: number;
  channels: number;
  cells_per_stage: number;
  batch_size: number;
  lr: number;
  lr_min: number;
  momentum: number;
  weight_decay: number;
  grad_clip: number;
  threads: number;
}

/**
 * The teacher network of block-wise distillation: the NB201 network of `cell` with the
 * supernet's macro skeleton (same channels and cells per stage, so its stage outputs are the
 * supernet's stage targets), trained from scratch on the supernet's training images and kept in
 * the cache folder by a hash of everything that defines it.
 */
export async function trainTeacher(o: TeacherOptions, data: ImageDataset, seed: number, cacheDir: string, log: (line: string) => void = () => undefined): Promise<Omit<DistillTeacher, "lr">> {
  const E = await import("../engine/index.js");
  const D = await import("../data/datasets.js");
  const { Nb201Network } = await import("../models/nb201.js");
  const { Sgd, clipGradNorm } = await import("../engine/optim-state.js");
  E.setNumThreads(o.threads);
  const key = cacheKey({ o: { ...o, threads: undefined }, seed, data: data.name, n: data.labels.length, shape: data.shape });
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, `nb201-teacher-${key}.bin`);
  E.manualSeed(deriveSeed(seed, "teacher-init"));
  const net = new Nb201Network(o.cell, { channels: o.channels, cellsPerStage: o.cells_per_stage, classes: data.classes, inputChannels: data.shape[0] });
  if (existsSync(file)) {
    const saved = await readTensorFile(file, "teacher cache");
    await loadState(net, saved, "", file, "teacher cache");
    for (const t of saved.values()) t.dispose();
    return { net, key };
  }
  const weights = net.parameters();
  const opt = new Sgd(weights, { lr: o.lr, momentum: o.momentum, weightDecay: o.weight_decay });
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const t0 = performance.now();
    opt.learningRate = E.cosineLr(epoch, o.epochs, o.lr, o.lr_min);
    E.manualSeed(deriveSeed(seed, "teacher-epoch", epoch));
    let loss = 0;
    let seen = 0;
    for (const { x, y } of D.batches(data, o.batch_size, new Rng(deriveSeed(seed, "teacher-order", epoch)))) {
      E.tidy(() => {
        opt.zeroGrad();
        const l = E.F.crossEntropy(net.forward(x), y);
        l.backward();
        loss += l.item() * x.shape[0];
        seen += x.shape[0];
        clipGradNorm(weights, o.grad_clip);
        opt.step();
      });
      x.dispose();
      y.dispose();
      await new Promise((r) => setImmediate(r));
    }
    log(`teacher epoch ${epoch + 1}/${o.epochs}: train_loss ${(loss / Math.max(1, seen)).toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  opt.dispose();
  await writeTensorFile(file, net.stateDict());
  return { net, key };
}
