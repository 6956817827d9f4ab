/**
 * The training loop shared by the neural predictors (tensor engine): inputs are fixed-width rows
 * (an encoding, or a flattened graph) followed by standardised cheap features; targets are
 * standardised; the loss is the mean squared error plus a pairwise margin-ranking (hinge) term
 * that penalises every training pair whose predicted order is wrong or closer than `margin`.
 * A network may hold K members (an ensemble trained in one pass): predictions are then the
 * members' mean and standard deviation.
 *
 * Deterministic: every `fit` seeds libtorch's generator and the minibatch order from the
 * predictor's seed, so the same data gives the same model.
 */
import { stableStringify, type Json } from "../core/json.js";
import { deriveSeed, Rng } from "../core/rng.js";
import * as E from "../engine/index.js";
import type { Tensor } from "../engine/tensor.js";
import type { Module } from "../engine/nn/module.js";
import type { LabelledPoint, Prediction, Predictor, PredictorContext } from "./predictor.js";
import { checkData, FeatureScaler } from "./common.js";
import { rankWarp } from "../strategies/gp/gp.js";

type Knots = { z: number[]; v: number[]; lowSlope: number; highSlope: number };

/** Sorted distinct (score, value) pairs and the end slopes (over the outer tenth) for extrapolation. */
function inverseKnots(zs: readonly number[], ys: readonly number[]): Knots {
  const pairs = zs.map((z, i) => ({ z, v: ys[i] })).sort((a, b) => a.z - b.z);
  const z: number[] = [];
  const v: number[] = [];
  for (const p of pairs) {
    if (z.length > 0 && p.z === z[z.length - 1]) continue;
    z.push(p.z);
    v.push(p.v);
  }
  const m = z.length;
  const k = Math.max(1, Math.floor(m / 10));
  const slope = (a: number, b: number) => (z[b] > z[a] ? (v[b] - v[a]) / (z[b] - z[a]) : 0);
  return { z, v, lowSlope: m > 1 ? slope(0, Math.min(k, m - 1)) : 0, highSlope: m > 1 ? slope(Math.max(0, m - 1 - k), m - 1) : 0 };
}

/** Piecewise-linear, monotone map from a predicted score back to the metric. */
function toMetric(k: Knots, s: number): number {
  const { z, v } = k;
  const m = z.length;
  if (s <= z[0]) return v[0] + (s - z[0]) * k.lowSlope;
  if (s >= z[m - 1]) return v[m - 1] + (s - z[m - 1]) * k.highSlope;
  let lo = 0;
  let hi = m - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (z[mid] <= s) lo = mid;
    else hi = mid;
  }
  return v[lo] + ((s - z[lo]) / (z[hi] - z[lo])) * (v[hi] - v[lo]);
}

export interface TrainOptions {
  epochs: number;
  lr: number;
  weight_decay: number;
  /** Minibatch size (the whole set when it is smaller). */
  batch_size: number;
  /** Cap on optimiser steps: epochs are reduced to fit (large training sets). */
  max_steps: number;
  /** Weight of the pairwise ranking term (0: plain MSE). */
  rank_weight: number;
  /** Hinge margin in standardised target units. */
  margin: number;
  /**
   * "standard": targets standardised; "rank": the normal scores of their ranks (robust to outliers
   * such as collapsed architectures), predictions mapped back to metric units by the monotone
   * piecewise-linear map between the training targets and their scores.
   */
  target: "standard" | "rank";
}

/** What a concrete neural predictor provides: its input rows and its network. */
export interface NeuralSpec {
  /** Width of `input(point)`. */
  readonly inputWidth: number;
  input(point: Json): ArrayLike<number>;
  /** A network from rows [B, inputWidth + extraWidth] to predictions [K, B]. */
  build(extraWidth: number): Module;
}

export class NeuralPredictor implements Predictor {
  private net?: Module;
  private scaler?: FeatureScaler;
  private yMean = 0;
  private ySd = 1;
  /** For target "rank": sorted knots (score, value) of the map back to metric units. */
  private knots?: { z: number[]; v: number[]; lowSlope: number; highSlope: number };
  private readonly memo = new Map<string, ArrayLike<number>>();
  private data: LabelledPoint[] = [];

  constructor(
    readonly name: string,
    private readonly ctx: PredictorContext,
    private readonly spec: NeuralSpec,
    private readonly train: TrainOptions,
  ) {
    if (ctx.features && ctx.features.names.length > 0) this.scaler = new FeatureScaler(ctx.features);
  }

  private encoded(point: Json): ArrayLike<number> {
    const key = typeof point === "string" ? point : stableStringify(point);
    let v = this.memo.get(key);
    if (!v) {
      v = this.spec.input(point);
      if (v.length !== this.spec.inputWidth) throw new Error(`${this.name}: input of width ${v.length}, expected ${this.spec.inputWidth}`);
      if (this.memo.size > 100_000) this.memo.clear();
      this.memo.set(key, v);
    }
    return v;
  }

  private rows(points: readonly Json[]): Float32Array {
    const extra = this.scaler?.length ?? 0;
    const W = this.spec.inputWidth + extra;
    const X = new Float32Array(points.length * W);
    points.forEach((p, b) => {
      X.set(this.encoded(p), b * W);
      if (this.scaler) X.set(this.scaler.transform(p), b * W + this.spec.inputWidth);
    });
    return X;
  }

  /** Adds pairs to what was learnt: refits from scratch on all pairs so far (same result as one fit on them). */
  update(data: readonly LabelledPoint[]): void {
    this.fit([...this.data, ...data]);
  }

  fit(data: readonly LabelledPoint[]): void {
    checkData(this.name, data);
    this.dispose();
    this.data = [...data];
    const points = data.map((d) => d.point);
    this.scaler?.fit(points);
    const n = data.length;
    const ys = data.map((d) => d.value);
    let yNorm: Float32Array;
    if (this.train.target === "rank") {
      const zs = rankWarp(ys);
      this.knots = inverseKnots(zs, ys);
      this.yMean = 0;
      this.ySd = 1;
      yNorm = Float32Array.from(zs);
    } else {
      this.knots = undefined;
      this.yMean = ys.reduce((a, b) => a + b, 0) / n;
      this.ySd = Math.sqrt(ys.reduce((a, b) => a + (b - this.yMean) ** 2, 0) / n) || 1;
      yNorm = Float32Array.from(ys, (v) => (v - this.yMean) / this.ySd);
    }
    const extra = this.scaler?.length ?? 0;
    const W = this.spec.inputWidth + extra;

    const seed = deriveSeed(this.ctx.seed, "neural-predictor", this.name);
    E.manualSeed(seed);
    const rng = new Rng(seed);
    // Parameters are kept; the scope frees the intermediates of their initialisation now.
    const net = E.tidy(() => this.spec.build(extra));
    this.net = net;
    net.train();
    const opt = E.adamw(net.parameters(), { lr: this.train.lr, weightDecay: this.train.weight_decay });
    const X = E.tensor(this.rows(points), [n, W]).keep();
    const Y = E.tensor(yNorm, [n]).keep();
    const bs = Math.min(this.train.batch_size, n);
    const perEpoch = Math.ceil(n / bs);
    const epochs = Math.max(1, Math.min(this.train.epochs, Math.floor(this.train.max_steps / perEpoch)));
    const total = epochs * perEpoch;
    const order = Array.from({ length: n }, (_, i) => i);
    try {
      let step = 0;
      for (let epoch = 0; epoch < epochs; epoch++) {
        if (bs < n) rng.shuffle(order);
        for (let s = 0; s < perEpoch; s++, step++) {
          opt.learningRate = E.cosineLr(step, total, this.train.lr, this.train.lr * 0.01);
          const idx = bs < n ? order.slice(s * bs, Math.min(n, (s + 1) * bs)) : null;
          E.tidy(() => {
            opt.zeroGrad();
            const sel = idx ? E.tensor(idx, [idx.length], "int64") : null;
            const xb = sel ? X.indexSelect(0, sel) : X;
            const yb = sel ? Y.indexSelect(0, sel) : Y;
            const yv = idx ? idx.map((i) => yNorm[i]) : yNorm;
            const loss = this.loss(net.forward(xb), yb, yv);
            loss.backward();
            opt.step();
          });
        }
      }
    } finally {
      X.dispose();
      Y.dispose();
      opt.dispose(); // Adam moments: freed now, not at the next garbage collection
    }
    net.eval();
  }

  /** MSE plus rank_weight x mean hinge max(0, margin - (p_i - p_j)) over pairs with y_i > y_j. */
  private loss(pred: Tensor, y: Tensor, yv: ArrayLike<number>): Tensor {
    let loss = pred.sub(y).square().mean();
    if (this.train.rank_weight > 0) {
      const B = yv.length;
      const mask = new Float32Array(B * B);
      let pairs = 0;
      for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) if (yv[i] > yv[j]) (mask[i * B + j] = 1), pairs++;
      if (pairs > 0) {
        const K = pred.shape[0];
        const diff = pred.unsqueeze(2).sub(pred.unsqueeze(1)); // [K, B, B]: p_i - p_j
        const hinge = diff.neg().add(this.train.margin).relu().mul(E.tensor(mask, [B, B]));
        loss = loss.add(hinge.sum().mul(this.train.rank_weight / (K * pairs)));
      }
    }
    return loss;
  }

  predict(points: readonly Json[]): Prediction[] {
    const net = this.net;
    if (!net) throw new Error(`predictor "${this.name}": predict before fit`);
    if (points.length === 0) return [];
    const W = this.spec.inputWidth + (this.scaler?.length ?? 0);
    const { mean, std } = E.tidy(() =>
      E.noGrad(() => {
        const p = net.forward(E.tensor(this.rows(points), [points.length, W])); // [K, B]
        const K = p.shape[0];
        const m = p.mean([0]);
        const s = K > 1 ? p.sub(m).square().mean([0]).sqrt() : null;
        return { mean: m.toArray(), std: s ? s.toArray() : new Array<number>(points.length).fill(0) };
      }),
    );
    const knots = this.knots;
    if (knots) {
      return mean.map((m, i) => {
        const lo = toMetric(knots, m - std[i]);
        const hi = toMetric(knots, m + std[i]);
        return { mean: toMetric(knots, m), std: (hi - lo) / 2 };
      });
    }
    return mean.map((m, i) => ({ mean: m * this.ySd + this.yMean, std: std[i] * this.ySd }));
  }

  dispose(): void {
    this.net?.dispose();
    this.net = undefined;
  }
}
