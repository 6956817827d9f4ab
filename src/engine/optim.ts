import { native, type NativeOptimizer } from "./native.js";
import type { Tensor } from "./tensor.js";

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** An optimiser over parameter tensors; the update itself runs in libtorch. */
export class Optimizer {
  private readonly o: NativeOptimizer;
  private lr: number;
  constructor(kind: "sgd" | "adam" | "adamw", params: Tensor[], opts: SgdOptions | AdamOptions) {
    this.o = new (native().NativeOptimizer)(kind, params.map((p) => p.h), { ...opts } as Record<string, number | boolean>);
    this.lr = opts.lr;
  }
  step(): void {
    this.o.step();
  }
  zeroGrad(): void {
    this.o.zeroGrad();
  }
  /** Frees the optimiser's state (momentum buffers, Adam moments) now instead of at garbage collection; it cannot step afterwards. */
  dispose(): void {
    this.o.dispose();
  }
  get learningRate(): number {
    return this.lr;
  }
  set learningRate(lr: number) {
    this.lr = lr;
    this.o.setLr(lr);
  }
}

export const sgd = (params: Tensor[], opts: SgdOptions) => new Optimizer("sgd", params, opts);
export const adam = (params: Tensor[], opts: AdamOptions) => new Optimizer("adam", params, opts);
export const adamw = (params: Tensor[], opts: AdamOptions) => new Optimizer("adamw", params, opts);

/** Cosine annealing from `base` to `min` over `total` steps (Loshchilov & Hutter). */
export function cosineLr(step: number, total: number, base: number, min = 0): number {
  const t = Math.min(Math.max(step, 0), total) / Math.max(total, 1);
  return min + 0.5 * (base - min) * (1 + Math.cos(Math.PI * t));
}
