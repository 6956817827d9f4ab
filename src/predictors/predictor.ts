import type { Json } from "../core/json.js";
import type { SearchSpace } from "../core/space.js";

/** One labelled architecture: a point of the space and the metric to predict (larger is better by convention). */
export interface LabelledPoint {
  point: Json;
  value: number;
}

/** Mean and standard deviation of a prediction; `std` is 0 where a predictor has no notion of uncertainty. */
export interface Prediction {
  mean: number;
  std: number;
}

/**
 * Cheap per-architecture features (params, FLOPs, a zero-cost score, ...) that any predictor may take as
 * extra input beside its encoding. Returns a fixed-length vector; `names` labels its entries.
 */
export interface FeatureProvider {
  readonly names: readonly string[];
  features(point: Json): number[];
}

export interface PredictorContext {
  space: SearchSpace;
  seed: number;
  /** Optional extra inputs (zero-cost and cheap features). */
  features?: FeatureProvider;
}

/**
 * A performance predictor. `fit` replaces what was learnt with the given pairs; `update` (optional) adds
 * pairs to what was learnt without refitting from scratch where the model allows it. Neural predictors may
 * be asynchronous, so callers await every method.
 */
export interface Predictor {
  readonly name: string;
  fit(data: readonly LabelledPoint[]): void | Promise<void>;
  predict(points: readonly Json[]): Prediction[] | Promise<Prediction[]>;
  update?(data: readonly LabelledPoint[]): void | Promise<void>;
  /** Frees native memory (tensor-engine predictors); a no-op elsewhere. */
  dispose?(): void;
}

/** How the registry and strategies build a predictor by name: options are plain JSON, validated by the factory. */
export interface PredictorFactory {
  readonly name: string;
  readonly description: string;
  /** Space capabilities the predictor needs (e.g. "encode" or "graph"). */
  readonly requires: readonly ("encode" | "graph")[];
  /** True when the predictor runs on the tensor engine (needs libtorch). */
  readonly needsEngine: boolean;
  create(ctx: PredictorContext, options?: Record<string, unknown>): Predictor;
}
