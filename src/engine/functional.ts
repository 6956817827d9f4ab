import { native } from "./native.js";
import { Tensor } from "./tensor.js";

const pair = (v: number | [number, number]): [number, number] => (typeof v === "number" ? [v, v] : v);
const w = (h: unknown) => new Tensor(h as Tensor["h"]);

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  /** groups = in channels gives a depthwise convolution. */
  groups?: number;
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, o: Conv2dOptions = {}): Tensor {
  return w(native().Conv2d(x.h, weight.h, bias?.h ?? null, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1));
}

/** Batch norm; in training mode it updates runningMean / runningVar in place. */
export function batchNorm(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  training: boolean,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  return w(native().BatchNorm(x.h, weight?.h ?? null, bias?.h ?? null, runningMean?.h ?? null, runningVar?.h ?? null, training, momentum, eps));
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  return w(native().LayerNorm(x.h, normalizedShape, weight?.h ?? null, bias?.h ?? null, eps));
}

export function maxPool2d(x: Tensor, kernel: number | [number, number], stride?: number | [number, number], padding: number | [number, number] = 0): Tensor {
  return w(native().MaxPool2d(x.h, pair(kernel), pair(stride ?? kernel), pair(padding)));
}

export function avgPool2d(x: Tensor, kernel: number | [number, number], stride?: number | [number, number], padding: number | [number, number] = 0, countIncludePad = true): Tensor {
  return w(native().AvgPool2d(x.h, pair(kernel), pair(stride ?? kernel), pair(padding), countIncludePad));
}

export function adaptiveAvgPool2d(x: Tensor, output: number | [number, number]): Tensor {
  return w(native().AdaptiveAvgPool2d(x.h, pair(output)));
}

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  return w(native().Linear(x.h, weight.h, bias?.h ?? null));
}

export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  return w(native().Dropout(x.h, p, training));
}

/** Rows of `weight` picked by the int64 `indices`. */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return w(native().Embedding(weight.h, indices.h));
}

export const softmax = (x: Tensor, dim: number) => w(native().Softmax(x.h, dim));
export const logSoftmax = (x: Tensor, dim: number) => w(native().LogSoftmax(x.h, dim));

/** Mean cross-entropy of logits [N, C] against int64 class indices [N]. */
export function crossEntropy(logits: Tensor, targets: Tensor, labelSmoothing = 0): Tensor {
  return w(native().CrossEntropy(logits.h, targets.h, labelSmoothing));
}

export const mseLoss = (a: Tensor, b: Tensor) => w(native().MseLoss(a.h, b.h));
