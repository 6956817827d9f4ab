/** Random forest and gradient-boosted trees as predictors (on the space's encoding, plus cheap features). */
import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { LabelledPoint, Prediction, Predictor, PredictorContext, PredictorFactory } from "./predictor.js";
import { checkData, InputEncoder, parseOptions, requireEncode } from "./common.js";
import { PathEncoding, requireGraph } from "./encodings.js";

const encodingOption = z
  .enum(["space", "path", "both"])
  .optional()
  .describe("input encoding: the space's own encode (one-hot per decision), the path encoding (White et al.; needs graph), or both concatenated. Default: both when the space has a graph and an encoding");

/** The input encoding of a tree predictor. */
function treeEncoding(ctx: PredictorContext, name: string, choice: "space" | "path" | "both" | undefined): (point: Json) => number[] {
  const space = ctx.space;
  const mode = choice ?? (typeof space.graph === "function" && typeof space.encode === "function" ? "both" : typeof space.encode === "function" ? "space" : "path");
  if (mode === "space") return requireEncode(space, name);
  const graph = requireGraph(space, `predictor "${name}" with encoding "${mode}"`);
  const path = PathEncoding.forSpace(space);
  if (mode === "path") return (p) => path.encode(graph(p));
  const own = requireEncode(space, name);
  return (p) => [...own(p), ...path.encode(graph(p))];
}
import { GradientBoosting, RandomForest } from "./trees.js";

const forestOptions = z.strictObject({
  encoding: encodingOption,
  trees: z.number().int().min(1).max(5000).default(100).describe("number of trees"),
  max_depth: z.number().int().min(1).max(64).default(20).describe("largest tree depth"),
  min_leaf: z.number().int().min(1).default(1).describe("fewest training samples in a leaf"),
  max_features: z.number().gt(0).max(1).default(0.5).describe("share of the input columns tried at each split"),
  bootstrap: z.boolean().default(true).describe("fit each tree on a bootstrap sample (false: all samples, randomness only from feature subsets)"),
});
export type ForestPredictorOptions = z.infer<typeof forestOptions>;

/** Keeps every pair fitted on, so `update` can refit on all of them (trees have no incremental fit). */
abstract class RefitOnUpdate implements Predictor {
  abstract readonly name: string;
  protected data: LabelledPoint[] = [];
  protected readonly inputs: InputEncoder;

  constructor(protected readonly ctx: PredictorContext, name: string, encoding: "space" | "path" | "both" | undefined) {
    this.inputs = new InputEncoder(treeEncoding(ctx, name, encoding), ctx.features);
  }

  fit(data: readonly LabelledPoint[]): void {
    checkData(this.name, data);
    this.data = data.slice();
    this.inputs.fit(this.data.map((d) => d.point));
    this.train(
      this.data.map((d) => this.inputs.input(d.point)),
      Float64Array.from(this.data, (d) => d.value),
      // Each fit is a pure function of the seed and the data: a refit after restore repeats it exactly.
      Rng.derive(this.ctx.seed, this.name),
    );
  }

  update(data: readonly LabelledPoint[]): void {
    this.fit([...this.data, ...data]);
  }

  protected abstract train(X: Float64Array[], y: Float64Array, rng: Rng): void;
  protected abstract predictOne(x: Float64Array): Prediction;

  predict(points: readonly Json[]): Prediction[] {
    if (this.data.length === 0) throw new Error(`predictor "${this.name}": predict before fit`);
    return points.map((p) => this.predictOne(this.inputs.input(p)));
  }
}

export class RandomForestPredictor extends RefitOnUpdate {
  readonly name = "random_forest";
  private forest?: RandomForest;

  constructor(ctx: PredictorContext, private readonly opts: ForestPredictorOptions) {
    super(ctx, "random_forest", opts.encoding);
  }

  protected train(X: Float64Array[], y: Float64Array, rng: Rng): void {
    this.forest = RandomForest.fit(X, y, { trees: this.opts.trees, maxDepth: this.opts.max_depth, minLeaf: this.opts.min_leaf, maxFeatures: this.opts.max_features, bootstrap: this.opts.bootstrap }, rng);
  }

  protected predictOne(x: Float64Array): Prediction {
    return this.forest!.predict(x);
  }
}

const boostingOptions = z.strictObject({
  encoding: encodingOption,
  rounds: z.number().int().min(1).max(10000).default(300).describe("boosting rounds (trees)"),
  learning_rate: z.number().gt(0).max(1).default(0.05).describe("shrinkage of each tree"),
  max_depth: z.number().int().min(1).max(16).default(4).describe("depth of each tree"),
  min_leaf: z.number().int().min(1).default(3).describe("fewest training samples in a leaf"),
  subsample: z.number().gt(0).max(1).default(0.8).describe("share of the rows each round is fitted on"),
  colsample: z.number().gt(0).max(1).default(0.8).describe("share of the input columns tried at each split"),
  uncertainty: z
    .enum(["none", "quantile"])
    .default("none")
    .describe("quantile: also fit the 16th and 84th percentile (pinball loss) and report std = half their distance (3x the fit time)"),
});
export type BoostingPredictorOptions = z.infer<typeof boostingOptions>;

export class BoostingPredictor extends RefitOnUpdate {
  readonly name = "gbt";
  private models: GradientBoosting[] = [];

  constructor(ctx: PredictorContext, private readonly opts: BoostingPredictorOptions) {
    super(ctx, "gbt", opts.encoding);
  }

  protected train(X: Float64Array[], y: Float64Array, rng: Rng): void {
    const o = this.opts;
    const base = { rounds: o.rounds, learningRate: o.learning_rate, maxDepth: o.max_depth, minLeaf: o.min_leaf, subsample: o.subsample, colsample: o.colsample };
    this.models = [GradientBoosting.fit(X, y, base, rng)];
    if (o.uncertainty === "quantile") {
      this.models.push(GradientBoosting.fit(X, y, { ...base, quantile: 0.16 }, rng), GradientBoosting.fit(X, y, { ...base, quantile: 0.84 }, rng));
    }
  }

  protected predictOne(x: Float64Array): Prediction {
    const mean = this.models[0].predict(x);
    if (this.models.length === 1) return { mean, std: 0 };
    const lo = this.models[1].predict(x);
    const hi = this.models[2].predict(x);
    return { mean, std: Math.max(0, (hi - lo) / 2) };
  }
}

export const randomForestPredictor: PredictorFactory = {
  name: "random_forest",
  description: "Random forest on the space's encoding (+ cheap features); std = spread of the trees' predictions.",
  requires: [],
  needsEngine: false,
  create: (ctx, options) => new RandomForestPredictor(ctx, parseOptions("random_forest", forestOptions, options)),
};

export const boostingPredictor: PredictorFactory = {
  name: "gbt",
  description: "Gradient-boosted regression trees on the space's encoding (+ cheap features); optional quantile uncertainty.",
  requires: [],
  needsEngine: false,
  create: (ctx, options) => new BoostingPredictor(ctx, parseOptions("gbt", boostingOptions, options)),
};

export { forestOptions, boostingOptions };
