/**
 * Gaussian-process predictor: the GP of the gp_bo strategy (src/strategies/gp/) with a
 * Weisfeiler-Lehman graph kernel (or an exponential kernel on the encoding), multiplied by an
 * exponential kernel on the standardised cheap features when a FeatureProvider is given (the
 * "off" variant, k_features = 1, stays in the grid, so the marginal likelihood decides whether the
 * features help). Kernel variant and noise are chosen by marginal likelihood on a subset of at most
 * `hp_subset` points; the GP is then fitted on all points.
 */
import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import { UserError } from "../core/errors.js";
import type { SearchSpace } from "../core/space.js";
import { ExponentialKernelFamily, WlFeaturizer, WlKernelFamily, type KernelFamily } from "../strategies/gp/kernels.js";
import { fitBest, GaussianProcess, rankWarp } from "../strategies/gp/gp.js";
import type { FeatureProvider, LabelledPoint, Prediction, Predictor, PredictorContext, PredictorFactory } from "./predictor.js";
import { checkData, FeatureScaler, meanSd, parseOptions } from "./common.js";

const options = z.strictObject({
  kernel: z.enum(["wl", "hamming"]).optional().describe("wl: Weisfeiler-Lehman kernel on the space's graph; hamming: exponential kernel on the encoding. Default: wl when the space has a graph"),
  wl_iterations: z.number().int().min(0).max(6).default(2).describe("largest WL iteration count h; h in 0..this is chosen by marginal likelihood"),
  drop_ops: z.array(z.string()).default(["none"]).describe("node labels that mean 'no operation' (removed by WL with what they cut off)"),
  warp: z.enum(["none", "rank"]).default("rank").describe("rank: model the normal scores of the targets' ranks (predictions are mapped back to target units)"),
  hp_subset: z.number().int().min(10).default(300).describe("largest number of points the kernel variant and noise are chosen on"),
});
export type GpPredictorOptions = z.infer<typeof options>;

const NOISE_RATIOS = [1e-3, 1e-2, 0.03, 0.1, 0.3, 1];

/** A kernel input: the base representation (WL features or an encoding) and optional standardised features. */
export interface FeatureKernelInput {
  a: unknown;
  f?: Float64Array;
}
type Input = FeatureKernelInput;

/**
 * A base kernel family combined with an exponential kernel on features: variant 0 of the feature
 * part is "off" (base kernel alone); the others are the product with, or a convex sum
 * (1 - w) k_base + w k_features with, each feature length scale.
 */
const SUM_WEIGHTS = [0.2, 0.5];
export class FeatureKernelFamily implements KernelFamily<Input> {
  readonly variants: number;
  private readonly fv: number;

  constructor(
    private readonly base: KernelFamily<unknown>,
    private readonly feat?: ExponentialKernelFamily,
    /** Weights w of the convex-sum variants (none: only the product and "off"). */
    private readonly sumWeights: readonly number[] = SUM_WEIGHTS,
    /** Whether the product variants are in the grid. */
    private readonly product = true,
  ) {
    this.fv = feat ? feat.variants * ((product ? 1 : 0) + sumWeights.length) + 1 : 1;
    this.variants = base.variants * this.fv;
  }

  private split(variant: number): [number, number] {
    return [Math.floor(variant / this.fv), variant % this.fv];
  }

  describe(variant: number): string {
    const [b, f] = this.split(variant);
    if (f === 0) return this.base.describe(b);
    const { mode, lv } = this.featureVariant(f);
    return mode < 0 ? `${this.base.describe(b)} * features ${this.feat!.describe(lv)}` : `${1 - this.sumWeights[mode]} ${this.base.describe(b)} + ${this.sumWeights[mode]} features ${this.feat!.describe(lv)}`;
  }

  /** Feature variant f >= 1: mode -1 = product, else the index of the sum weight; lv the length-scale variant. */
  private featureVariant(f: number): { mode: number; lv: number } {
    const nl = this.feat!.variants;
    return { mode: Math.floor((f - 1) / nl) - (this.product ? 1 : 0), lv: (f - 1) % nl };
  }

  gram(train: readonly Input[]): Float64Array[] {
    const bg = this.base.gram(train.map((t) => t.a));
    if (!this.feat) return bg;
    const fg = this.feat.gram(train.map((t) => t.f!));
    const out: Float64Array[] = [];
    for (const b of bg) {
      out.push(b);
      if (this.product) for (const f of fg) out.push(b.map((v, i) => v * f[i]));
      for (const w of this.sumWeights) for (const f of fg) out.push(b.map((v, i) => (1 - w) * v + w * f[i]));
    }
    return out;
  }

  cross(variant: number, x: Input, train: readonly Input[]): Float64Array {
    const [b, f] = this.split(variant);
    const k = this.base.cross(b, x.a, train.map((t) => t.a));
    if (f === 0) return k;
    const { mode, lv } = this.featureVariant(f);
    const kf = this.feat!.cross(lv, x.f!, train.map((t) => t.f!));
    if (mode < 0) for (let i = 0; i < k.length; i++) k[i] *= kf[i];
    else for (let i = 0; i < k.length; i++) k[i] = (1 - this.sumWeights[mode]) * k[i] + this.sumWeights[mode] * kf[i];
    return k;
  }
}

/** Monotone map from the model's (standardised, possibly rank-warped) scale back to target units. */
class TargetMap {
  private readonly zs: number[];
  private readonly ys: number[];
  readonly z: number[];

  constructor(values: readonly number[], warp: "none" | "rank") {
    const raw = warp === "rank" ? rankWarp(values) : values.slice();
    const { mean, sd } = meanSd(raw);
    this.z = raw.map((v) => (v - mean) / (sd || 1));
    const pairs = this.z.map((z, i) => [z, values[i]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.zs = pairs.map((p) => p[0]);
    this.ys = pairs.map((p) => p[1]);
  }

  /** Piecewise-linear through the training pairs; linear with the overall slope outside them. */
  toTarget(z: number): number {
    const zs = this.zs;
    const ys = this.ys;
    const n = zs.length;
    const slope = zs[n - 1] > zs[0] ? (ys[n - 1] - ys[0]) / (zs[n - 1] - zs[0]) : 1;
    if (z <= zs[0]) return ys[0] + (z - zs[0]) * slope;
    if (z >= zs[n - 1]) return ys[n - 1] + (z - zs[n - 1]) * slope;
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (zs[mid] <= z) lo = mid;
      else hi = mid;
    }
    const dz = zs[hi] - zs[lo];
    return dz > 0 ? ys[lo] + ((z - zs[lo]) / dz) * (ys[hi] - ys[lo]) : (ys[lo] + ys[hi]) / 2;
  }
}

export class GpPredictor implements Predictor {
  readonly name: string = "gp";
  private data: LabelledPoint[] = [];
  private readonly family: FeatureKernelFamily;
  private readonly featurize: (point: Json) => unknown;
  private readonly scaler?: FeatureScaler;
  private model?: { gp: GaussianProcess; variant: number; train: Input[]; map: TargetMap };

  constructor(
    private readonly ctx: PredictorContext,
    private readonly opts: GpPredictorOptions,
  ) {
    const space = ctx.space as SearchSpace;
    const hasGraph = typeof space.graph === "function";
    const kernel = opts.kernel ?? (hasGraph ? "wl" : "hamming");
    let base: KernelFamily<unknown>;
    if (kernel === "wl") {
      if (!hasGraph) throw new UserError(`predictor "gp" with kernel "wl" needs a space with a graph; space "${space.name}" has none. Use kernel "hamming".`);
      const wl = new WlFeaturizer(opts.wl_iterations, new Set(opts.drop_ops));
      base = new WlKernelFamily(0, opts.wl_iterations) as KernelFamily<unknown>;
      this.featurize = (p) => wl.features(space.graph!(p));
    } else {
      if (typeof space.encode !== "function") throw new UserError(`predictor "gp" with kernel "hamming" needs a space with an encoding; space "${space.name}" has none.`);
      base = new ExponentialKernelFamily() as KernelFamily<unknown>;
      this.featurize = (p) => Float64Array.from(space.encode!(p));
    }
    const features: FeatureProvider | undefined = ctx.features && ctx.features.names.length > 0 ? ctx.features : undefined;
    if (features) this.scaler = new FeatureScaler(features);
    this.family = new FeatureKernelFamily(base, features ? new ExponentialKernelFamily() : undefined);
  }

  private input(point: Json): Input {
    return { a: this.featurize(point), f: this.scaler ? Float64Array.from(this.scaler.transform(point)) : undefined };
  }

  fit(data: readonly LabelledPoint[]): void {
    checkData(this.name, data);
    this.data = data.slice();
    this.scaler?.fit(this.data.map((d) => d.point));
    const map = new TargetMap(this.data.map((d) => d.value), this.opts.warp);
    const train = this.data.map((d) => this.input(d.point));
    const n = train.length;
    // Hyperparameters on a subset (pure function of the seed and the data), then one fit on all points.
    const subset = n <= this.opts.hp_subset ? Array.from({ length: n }, (_, i) => i) : Rng.derive(this.ctx.seed, "gp-predictor").sampleIndices(n, this.opts.hp_subset).sort((a, b) => a - b);
    const grams = this.family.gram(subset.map((i) => train[i]));
    const best = fitBest(grams, subset.map((i) => map.z[i]), NOISE_RATIOS);
    if (!best) throw new Error("gp predictor: the kernel matrix could not be factorised");
    let gp = best.gp;
    if (subset.length < n) {
      const k = new Float64Array(n * n);
      for (let i = 0; i < n; i++) k.set(this.family.cross(best.variant, train[i], train), i * n);
      const full = GaussianProcess.fit(k, map.z, best.gp.noiseRatio);
      if (!full) throw new Error("gp predictor: the kernel matrix could not be factorised");
      gp = full;
    }
    this.model = { gp, variant: best.variant, train, map };
  }

  update(data: readonly LabelledPoint[]): void {
    this.fit([...this.data, ...data]);
  }

  /** The chosen kernel, for reports. */
  describe(): string {
    return this.model ? `${this.family.describe(this.model.variant)}, noise ${this.model.gp.noiseRatio}` : "(not fitted)";
  }

  predict(points: readonly Json[]): Prediction[] {
    const m = this.model;
    if (!m) throw new Error(`predictor "${this.name}": predict before fit`);
    return points.map((p) => {
      const { mean, variance } = m.gp.predict(this.family.cross(m.variant, this.input(p), m.train));
      const sd = Math.sqrt(variance);
      const y = m.map.toTarget(mean);
      return { mean: y, std: Math.abs(m.map.toTarget(mean + sd) - m.map.toTarget(mean - sd)) / 2 };
    });
  }
}

export const gpPredictor: PredictorFactory = {
  name: "gp",
  description: "Gaussian process with a Weisfeiler-Lehman graph kernel (or exponential kernel on the encoding), times a kernel on cheap features when given.",
  requires: [],
  needsEngine: false,
  create: (ctx, opts) => new GpPredictor(ctx, parseOptions("gp", options, opts)),
};

export { options as gpPredictorOptions };
