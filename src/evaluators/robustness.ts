/**
 * Robustness of a trained classifier: accuracy when its inputs are perturbed, by Gaussian noise
 * or by the fast gradient sign method (Goodfellow et al. 2015), measured on a dataset (the
 * validation split in the training evaluator).
 */
import { tidy, noGrad, randn, manualSeed } from "../engine/tensor.js";
import { crossEntropy } from "../engine/functional.js";
import type { Module } from "../engine/nn/module.js";
import { batches, type ImageDataset } from "../data/datasets.js";

function valueRange(d: ImageDataset): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of d.images) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Runs fn with the module in eval mode, then restores its mode. */
function inEval<T>(net: Module, fn: () => T): T {
  const was = net.training;
  net.eval();
  try {
    return fn();
  } finally {
    net.train(was);
  }
}

/** Plain accuracy (%) of `net` on `d`. */
export function accuracy(net: Module, d: ImageDataset, batchSize = 256): number {
  return inEval(net, () =>
    noGrad(() => {
      let correct = 0;
      for (const b of batches(d, batchSize)) {
        correct += tidy(() => net.forward(b.x).argmax(1).eq(b.y).sum().item());
        b.x.dispose();
        b.y.dispose();
      }
      return (100 * correct) / d.labels.length;
    }),
  );
}

/** Accuracy (%) with N(0, sigma^2) noise added to every input value (seeded). */
export function noiseAccuracy(net: Module, d: ImageDataset, sigma: number, seed = 0, batchSize = 256): number {
  manualSeed(seed);
  return inEval(net, () =>
    noGrad(() => {
      let correct = 0;
      for (const b of batches(d, batchSize)) {
        correct += tidy(() => net.forward(b.x.add(randn(b.x.shape).mul(sigma))).argmax(1).eq(b.y).sum().item());
        b.x.dispose();
        b.y.dispose();
      }
      return (100 * correct) / d.labels.length;
    }),
  );
}

/**
 * Accuracy (%) under FGSM: each input moves by epsilon in the sign of the loss gradient with
 * respect to it (computed by autograd, the network in eval mode), then is clipped to the value
 * range of the dataset (e.g. 0..1 for images). The network's parameter gradients are left empty.
 */
export function fgsmAccuracy(net: Module, d: ImageDataset, epsilon: number, batchSize = 256): number {
  const [lo, hi] = valueRange(d);
  const params = net.parameters();
  return inEval(net, () => {
    let correct = 0;
    for (const b of batches(d, batchSize)) {
      correct += tidy(() => {
        const x = b.x.detach().requiresGrad(true);
        crossEntropy(net.forward(x), b.y).backward();
        const adv = noGrad(() => x.add(x.grad!.sign().mul(epsilon)).clamp(lo, hi));
        for (const p of params) p.zeroGrad();
        return noGrad(() => net.forward(adv).argmax(1).eq(b.y).sum().item());
      });
      b.x.dispose();
      b.y.dispose();
    }
    return (100 * correct) / d.labels.length;
  });
}
