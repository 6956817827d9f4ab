/**
 * Shared helpers of the non-neural predictors: option validation with clear messages, and the
 * numeric input of a point (the space's encoding, plus standardised cheap features when given).
 */
import type { z } from "zod";
import type { Json } from "../core/json.js";
import { stableStringify } from "../core/json.js";
import { UserError } from "../core/errors.js";
import type { SearchSpace } from "../core/space.js";
import { check } from "../config/validate.js";
import type { FeatureProvider, LabelledPoint } from "./predictor.js";

/** Validates a predictor's options; throws a UserError listing every problem. */
export function parseOptions<T>(predictor: string, schema: z.ZodType<T>, options: Record<string, unknown> | undefined): T {
  const r = check(schema, options ?? {});
  if (r.value === undefined) {
    throw new UserError(`Invalid options for predictor "${predictor}":\n` + r.problems.map((p) => `  - ${p.path || "(root)"}: ${p.message}`).join("\n"));
  }
  return r.value;
}

/** Throws a clear UserError when the space lacks `encode`. */
export function requireEncode(space: SearchSpace, predictor: string): (point: Json) => number[] {
  if (typeof space.encode !== "function") {
    throw new UserError(`predictor "${predictor}" needs a space with an encoding (capability "encode"); space "${space.name}" has none.`);
  }
  return (p) => space.encode!(p);
}

/** Checks fit/update data: at least `min` pairs, every value finite. */
export function checkData(predictor: string, data: readonly LabelledPoint[], min = 2): void {
  if (data.length < min) throw new UserError(`predictor "${predictor}" needs at least ${min} labelled points to fit, got ${data.length}`);
  const bad = data.findIndex((d) => !Number.isFinite(d.value));
  if (bad >= 0) throw new UserError(`predictor "${predictor}": labelled point ${bad} has a non-finite value (${data[bad].value}); leave failed trials out or give them a finite score`);
}

/**
 * Cheap features standardised with the mean and standard deviation of the training set (fixed at
 * `fit`), missing values (NaN) replaced by the training mean (0 after standardising).
 */
export class FeatureScaler {
  private mean: number[] = [];
  private sd: number[] = [];

  constructor(readonly provider: FeatureProvider) {}

  get length(): number {
    return this.provider.names.length;
  }

  fit(points: readonly Json[]): void {
    const rows = points.map((p) => this.provider.features(p));
    const d = this.length;
    this.mean = new Array(d).fill(0);
    this.sd = new Array(d).fill(1);
    for (let j = 0; j < d; j++) {
      const xs = rows.map((r) => r[j]).filter((v) => Number.isFinite(v));
      if (xs.length === 0) continue;
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
      this.mean[j] = m;
      this.sd[j] = Math.sqrt(v) || 1;
    }
  }

  transform(point: Json): number[] {
    const f = this.provider.features(point);
    return f.map((v, j) => (Number.isFinite(v) ? (v - this.mean[j]) / this.sd[j] : 0));
  }
}

/** The input vector of a point: encoding followed by the (standardised) features; memoised per point. */
export class InputEncoder {
  private readonly scaler?: FeatureScaler;
  private cache = new Map<string, Float64Array>();

  constructor(
    private readonly encode: (point: Json) => number[],
    features: FeatureProvider | undefined,
  ) {
    if (features && features.names.length > 0) this.scaler = new FeatureScaler(features);
  }

  get hasFeatures(): boolean {
    return this.scaler !== undefined;
  }

  /** Sets the feature scaling from the training points (clears the memo). */
  fit(points: readonly Json[]): void {
    this.cache.clear();
    this.scaler?.fit(points);
  }

  encoding(point: Json): number[] {
    return this.encode(point);
  }

  features(point: Json): number[] {
    return this.scaler ? this.scaler.transform(point) : [];
  }

  input(point: Json): Float64Array {
    const key = stableStringify(point);
    let v = this.cache.get(key);
    if (!v) {
      v = Float64Array.from([...this.encode(point), ...this.features(point)]);
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(key, v);
    }
    return v;
  }
}

/** Mean and (population) standard deviation. */
export function meanSd(xs: ArrayLike<number>): { mean: number; sd: number } {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i];
  m /= Math.max(1, xs.length);
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i] - m) ** 2;
  return { mean: m, sd: Math.sqrt(v / Math.max(1, xs.length)) };
}
