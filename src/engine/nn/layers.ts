import { Tensor, rand, randn, zeros, ones, noGrad } from "../tensor.js";
import * as F from "../functional.js";
import { Module } from "./module.js";

/** Uniform(-bound, bound): PyTorch's default initialisation for conv and linear layers (bound = 1/sqrt(fan_in)). */
function uniform(shape: number[], bound: number): Tensor {
  return noGrad(() => rand(shape).mul(2 * bound).sub(bound));
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly opts: F.Conv2dOptions & { bias?: boolean } = {},
  ) {
    super();
    const groups = opts.groups ?? 1;
    const fanIn = (inChannels / groups) * kernel * kernel;
    this.weight = this.parameter("weight", uniform([outChannels, inChannels / groups, kernel, kernel], 1 / Math.sqrt(fanIn)));
    this.bias = opts.bias === false ? null : this.parameter("bias", uniform([outChannels], 1 / Math.sqrt(fanIn)));
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.opts);
  }
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  constructor(readonly channels: number, readonly opts: { momentum?: number; eps?: number; affine?: boolean } = {}) {
    super();
    const affine = opts.affine !== false;
    this.weight = affine ? this.parameter("weight", ones([channels])) : null;
    this.bias = affine ? this.parameter("bias", zeros([channels])) : null;
    this.runningMean = this.buffer("running_mean", zeros([channels]));
    this.runningVar = this.buffer("running_var", ones([channels]));
  }
  /** The weight of a batch's statistics in the running ones (training mode); settable, e.g. 1 / (k + 1) for an exact average of k + 1 batches. */
  momentum: number | undefined;

  forward(x: Tensor): Tensor {
    return F.batchNorm(x, this.weight, this.bias, this.runningMean, this.runningVar, this.training, this.momentum ?? this.opts.momentum ?? 0.1, this.opts.eps ?? 1e-5);
  }

  /** Running mean 0 and variance 1 again (before recalibrating them on new batches). */
  resetRunningStats(): void {
    this.runningMean.copy(zeros([this.channels]));
    this.runningVar.copy(ones([this.channels]));
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.parameter("weight", ones([dim]));
    this.bias = this.parameter("bias", zeros([dim]));
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, [this.dim], this.weight, this.bias, this.eps);
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.parameter("weight", uniform([outFeatures, inFeatures], bound));
    this.bias = bias ? this.parameter("bias", uniform([outFeatures], bound)) : null;
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** A module from a plain function (activations, pooling, reshapes). */
export class Lambda extends Module {
  constructor(readonly fn: (x: Tensor, training: boolean) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x, this.training);
  }
}

export const ReLU = () => new Lambda((x) => x.relu());
export const GlobalAvgPool = () => new Lambda((x) => F.adaptiveAvgPool2d(x, 1).flatten(1));
export const Dropout = (p: number) => new Lambda((x, training) => F.dropout(x, p, training));

export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.module(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}

/** A lookup table of `count` vectors of size `dim` (initialised N(0, 1), as in PyTorch); input: int64 indices of any shape. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly count: number, readonly dim: number) {
    super();
    this.weight = this.parameter("weight", noGrad(() => randn([count, dim])));
  }
  forward(indices: Tensor): Tensor {
    return F.embedding(this.weight, indices);
  }
}
