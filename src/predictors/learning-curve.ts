/**
 * Learning-curve prediction: from the first steps (epochs) of a trial, its value at a later step
 * (the final accuracy), so schedulers can stop trials that will not catch up.
 *
 *  - `CurveExtrapolator`: parametric fits of the observed curve by least squares (Domhan et al.
 *    2015's families, fitted by profile least squares instead of MCMC): pow3 y = c - a x^-alpha,
 *    exp3 y = c - a e^(-b x), log-linear y = a + b ln x, and ilog2 y = c - a / ln(x + 1); combined by
 *    BIC weights, so a family that fits much worse gets almost no weight. The std combines the
 *    spread of the families' forecasts and the residual noise, growing with the extrapolation distance.
 *  - `EarlyToFinalModel`: a GP (WL kernel combined with a kernel on the early value; or a random
 *    forest) on (architecture, accuracy at an early fidelity) -> final accuracy, learnt from pairs such as the NAS-Bench-201 table's 12-epoch and 200-epoch
 *    results (`fromNb201Table`).
 *  - `LearningCurvePredictor`: the interface a scheduler asks ("predicted final given these
 *    intermediate values"); `HybridCurvePredictor` uses the early-to-final model when the trial has
 *    a value at the model's fidelity, else the extrapolator.
 */
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import { UserError } from "../core/errors.js";
import type { SearchSpace } from "../core/space.js";
import { loadNb201, NB201_COLUMNS, NB201_DATASETS, type Nb201Dataset, type Nb201Table } from "../benchmarks/nb201.js";
import { stableStringify } from "../core/json.js";
import type { FeatureProvider, Prediction } from "./predictor.js";
import { GpPredictor, gpPredictorOptions } from "./gp.js";
import { RandomForest } from "./trees.js";

/** What a scheduler knows of a trial: its point and the metric at the steps reported so far. */
export interface CurveQuery {
  point?: Json;
  /** Steps (epochs, 1-based) in increasing order. */
  steps: readonly number[];
  values: readonly number[];
  /** The step whose value is wanted (e.g. the full budget's last epoch). */
  targetStep: number;
}

/** "Predicted final given these intermediate values." */
export interface LearningCurvePredictor {
  readonly name: string;
  predictFinal(query: CurveQuery): Prediction;
}

function checkQuery(q: CurveQuery): void {
  if (q.steps.length !== q.values.length) throw new UserError(`learning-curve query: ${q.steps.length} steps but ${q.values.length} values`);
  if (q.steps.length === 0) throw new UserError("learning-curve query: no intermediate values yet");
  for (let i = 0; i < q.steps.length; i++) {
    if (!(q.steps[i] > 0) || !Number.isFinite(q.values[i])) throw new UserError(`learning-curve query: step ${q.steps[i]} has value ${q.values[i]}; steps must be > 0 and values finite`);
    if (i > 0 && !(q.steps[i] > q.steps[i - 1])) throw new UserError("learning-curve query: steps must be strictly increasing");
  }
}

// ---------------------------------------------------------------------------------------------
// parametric extrapolation

/** A family y = p0 + p1 * g_theta(x): linear in (p0, p1) for a fixed shape parameter theta. */
interface Family {
  name: string;
  /** Shape parameters tried (a grid, refined by golden-section search around the best). */
  thetas: (xMax: number) => number[];
  g: (x: number, theta: number) => number;
  /** Constraint on the slope coefficient p1 (curves that rise with x). */
  sign: 1 | -1 | 0;
  /** Free parameters (for BIC). */
  k: number;
}

const logspace = (lo: number, hi: number, n: number) => Array.from({ length: n }, (_, i) => 10 ** (lo + ((hi - lo) * i) / (n - 1)));

export const CURVE_FAMILIES: readonly Family[] = [
  { name: "pow3", thetas: () => logspace(-2, 1, 40), g: (x, a) => x ** -a, sign: -1, k: 3 },
  { name: "exp3", thetas: (xMax) => logspace(-2, 1, 40).map((t) => t / xMax), g: (x, b) => Math.exp(-b * x), sign: -1, k: 3 },
  { name: "loglinear", thetas: () => [0], g: (x) => Math.log(x), sign: 1, k: 2 },
  { name: "ilog2", thetas: () => [0], g: (x) => 1 / Math.log(x + 1), sign: -1, k: 2 },
];

interface FamilyFit {
  family: Family;
  theta: number;
  p0: number;
  p1: number;
  sse: number;
}

/** Weighted least squares of y on (1, g) with p1 constrained to sign (0: free). */
function linearFit(x: readonly number[], y: readonly number[], w: readonly number[], g: (x: number) => number, sign: number): { p0: number; p1: number; sse: number } {
  let sw = 0, sg = 0, sy = 0, sgg = 0, sgy = 0;
  for (let i = 0; i < x.length; i++) {
    const gi = g(x[i]);
    sw += w[i];
    sg += w[i] * gi;
    sy += w[i] * y[i];
    sgg += w[i] * gi * gi;
    sgy += w[i] * gi * y[i];
  }
  const det = sw * sgg - sg * sg;
  let p1 = Math.abs(det) > 1e-12 ? (sw * sgy - sg * sy) / det : 0;
  if (sign !== 0 && p1 * sign < 0) p1 = 0;
  const p0 = (sy - p1 * sg) / sw;
  let sse = 0;
  for (let i = 0; i < x.length; i++) sse += w[i] * (y[i] - p0 - p1 * g(x[i])) ** 2;
  return { p0, p1, sse };
}

function fitFamily(f: Family, x: readonly number[], y: readonly number[], w: readonly number[]): FamilyFit {
  const xMax = Math.max(...x);
  const at = (theta: number) => ({ theta, ...linearFit(x, y, w, (v) => f.g(v, theta), f.sign) });
  const grid = f.thetas(xMax);
  let best = at(grid[0]);
  let bi = 0;
  grid.forEach((t, i) => {
    const r = at(t);
    if (r.sse < best.sse) (best = r), (bi = i);
  });
  if (grid.length > 2) {
    // Golden-section refinement of theta (in log space) between the grid neighbours of the best.
    let lo = Math.log(grid[Math.max(0, bi - 1)]);
    let hi = Math.log(grid[Math.min(grid.length - 1, bi + 1)]);
    const phi = (Math.sqrt(5) - 1) / 2;
    for (let it = 0; it < 30; it++) {
      const a = hi - phi * (hi - lo);
      const b = lo + phi * (hi - lo);
      if (at(Math.exp(a)).sse < at(Math.exp(b)).sse) hi = b;
      else lo = a;
    }
    const r = at(Math.exp((lo + hi) / 2));
    if (r.sse < best.sse) best = r;
  }
  return { family: f, ...best };
}

export interface ExtrapolatorOptions {
  /** Families combined (default: all of CURVE_FAMILIES). */
  families?: readonly string[];
  /** Predictions are clipped to this range (e.g. [0, 100] for accuracies in percent). */
  bounds?: [number, number];
  /** Weight of point i grows as step^recency (later points matter more; default 1). */
  recency?: number;
}

/** Parametric learning-curve extrapolation (no training data needed). */
export class CurveExtrapolator implements LearningCurvePredictor {
  readonly name = "curve_extrapolation";
  private readonly families: readonly Family[];

  constructor(private readonly opts: ExtrapolatorOptions = {}) {
    const names = opts.families ?? CURVE_FAMILIES.map((f) => f.name);
    this.families = names.map((n) => {
      const f = CURVE_FAMILIES.find((c) => c.name === n);
      if (!f) throw new UserError(`unknown learning-curve family "${n}"; known: ${CURVE_FAMILIES.map((c) => c.name).join(", ")}`);
      return f;
    });
  }

  /** Each family's fit and its BIC weight. */
  fits(steps: readonly number[], values: readonly number[]): { fit: FamilyFit; weight: number }[] {
    const n = steps.length;
    const w = steps.map((s) => s ** (this.opts.recency ?? 1));
    const wsum = w.reduce((a, b) => a + b, 0);
    const wn = w.map((v) => (v * n) / wsum);
    const usable = this.families.filter((f) => n > f.k);
    const fits = (usable.length > 0 ? usable : this.families.filter((f) => f.k === 2)).map((f) => fitFamily(f, steps, values, wn));
    const bic = fits.map((f) => n * Math.log(Math.max(f.sse / n, 1e-12)) + f.family.k * Math.log(n));
    const min = Math.min(...bic);
    const raw = bic.map((b) => Math.exp(-(b - min) / 2));
    const total = raw.reduce((a, b) => a + b, 0);
    return fits.map((fit, i) => ({ fit, weight: raw[i] / total }));
  }

  predictFinal(q: CurveQuery): Prediction {
    checkQuery(q);
    const clip = (v: number) => (this.opts.bounds ? Math.min(this.opts.bounds[1], Math.max(this.opts.bounds[0], v)) : v);
    const n = q.steps.length;
    const last = q.values[n - 1];
    if (n < 3) return { mean: last, std: Math.abs(last) * 0.1 + 1e-9 };
    const fits = this.fits(q.steps, q.values);
    let mean = 0;
    const preds = fits.map(({ fit, weight }) => {
      const v = clip(fit.p0 + fit.p1 * fit.family.g(q.targetStep, fit.theta));
      mean += weight * v;
      return v;
    });
    let spread = 0;
    let noise = 0;
    fits.forEach(({ fit, weight }, i) => {
      spread += weight * (preds[i] - mean) ** 2;
      noise += (weight * fit.sse) / Math.max(1, n - fit.family.k);
    });
    // The residual noise grows with how far the target lies beyond the data (relative distance).
    const reach = Math.max(1, q.targetStep / q.steps[n - 1]);
    return { mean: clip(mean), std: Math.sqrt(spread + noise * reach) };
  }
}

// ---------------------------------------------------------------------------------------------
// early-fidelity -> final model

export interface EarlyFinalPair {
  point: Json;
  early: number;
  final: number;
}

/**
 * (architecture, early value) -> final value. Default model: the WL-kernel GP of `gp` with the
 * early value as its feature (kernel on it combined with the graph kernel by marginal
 * likelihood); or a random forest on (encoding, early value), the early value repeated in
 * `earlyWeight` columns so that the forest's random feature subsets see it often.
 */
export class EarlyToFinalModel implements LearningCurvePredictor {
  readonly name = "early_to_final";
  private forest?: RandomForest;
  private gp?: GpPredictor;
  /** Early values of the points being fitted or predicted (the GP's feature provider reads them). */
  private early = new Map<string, number>();

  constructor(
    private readonly space: SearchSpace,
    /** The step at which the model's early value is taken (e.g. 12). */
    readonly earlyStep: number,
    private readonly opts: { seed?: number; model?: "gp" | "random_forest"; trees?: number; earlyWeight?: number } = {},
  ) {
    const model = opts.model ?? "gp";
    if (model === "random_forest" && typeof space.encode !== "function") throw new UserError(`the early-to-final forest needs a space with an encoding; space "${space.name}" has none`);
    if (model === "gp" && typeof space.graph !== "function" && typeof space.encode !== "function") throw new UserError(`the early-to-final GP needs a space with a graph or an encoding; space "${space.name}" has neither`);
  }

  private input(point: Json, early: number): Float64Array {
    return Float64Array.from([...this.space.encode!(point), ...new Array(this.opts.earlyWeight ?? 10).fill(early)]);
  }

  fit(pairs: readonly EarlyFinalPair[]): void {
    if (pairs.length < 2) throw new UserError(`the early-to-final model needs at least 2 pairs, got ${pairs.length}`);
    if ((this.opts.model ?? "gp") === "random_forest") {
      const X = pairs.map((p) => this.input(p.point, p.early));
      const y = Float64Array.from(pairs, (p) => p.final);
      this.forest = RandomForest.fit(X, y, { trees: this.opts.trees ?? 100, maxDepth: 20, minLeaf: 2, maxFeatures: 0.5, bootstrap: true }, Rng.derive(this.opts.seed ?? 0, "early-to-final"));
      return;
    }
    this.early = new Map(pairs.map((p) => [stableStringify(p.point), p.early]));
    const provider: FeatureProvider = {
      names: [`value_at_${this.earlyStep}`],
      features: (point) => {
        const v = this.early.get(stableStringify(point));
        if (v === undefined) throw new Error("early-to-final: early value of a point was not given");
        return [v];
      },
    };
    this.gp = new GpPredictor({ space: this.space, seed: this.opts.seed ?? 0, features: provider }, gpPredictorOptions.parse({}));
    this.gp.fit(pairs.map((p) => ({ point: p.point, value: p.final })));
  }

  /** Final value from the point and its value at `earlyStep`. */
  predictFromEarly(point: Json, early: number): Prediction {
    return this.predictManyFromEarly([point], [early])[0];
  }

  /** Batch form of predictFromEarly. */
  predictManyFromEarly(points: readonly Json[], early: readonly number[]): Prediction[] {
    if (this.forest) return points.map((p, i) => this.forest!.predict(this.input(p, early[i])));
    if (!this.gp) throw new Error("early-to-final model: predict before fit");
    this.early = new Map(points.map((p, i) => [stableStringify(p), early[i]]));
    return this.gp.predict(points);
  }

  predictFinal(q: CurveQuery): Prediction {
    checkQuery(q);
    const i = q.steps.indexOf(this.earlyStep);
    if (i < 0 || q.point === undefined) throw new UserError(`the early-to-final model needs the point and its value at step ${this.earlyStep}`);
    return this.predictFromEarly(q.point, q.values[i]);
  }

  /**
   * Trained on any table of early and final values (one entry per point, NaN where unknown):
   * `trainSize` entries drawn with `seed`, leaving out the indices in `exclude`.
   */
  static fromTable(
    space: SearchSpace,
    table: { points: readonly Json[]; early: ArrayLike<number>; final: ArrayLike<number>; earlyStep: number },
    opts: { trainSize?: number; seed?: number; exclude?: ReadonlySet<number>; model?: "gp" | "random_forest" } = {},
  ): EarlyToFinalModel {
    const { points, early, final } = table;
    const candidates = Array.from({ length: points.length }, (_, i) => i).filter((i) => !opts.exclude?.has(i) && Number.isFinite(early[i]) && Number.isFinite(final[i]));
    const n = Math.min(opts.trainSize ?? 1000, candidates.length);
    const picks = new Rng(opts.seed ?? 0).sampleIndices(candidates.length, n).map((k) => candidates[k]);
    const model = new EarlyToFinalModel(space, table.earlyStep, { seed: opts.seed, model: opts.model });
    model.fit(picks.map((i) => ({ point: points[i], early: early[i], final: final[i] })));
    return model;
  }

  /**
   * Trained on NAS-Bench-201's 12-epoch and 200-epoch validation accuracies of `trainSize` cells
   * drawn with `seed` (all cells but `exclude`). (TransNAS-Bench-101 and NAS-Bench-Graph's bundled
   * tables hold final results only: no early values to learn from.)
   */
  static fromNb201Table(
    space: SearchSpace,
    opts: { dataset?: Nb201Dataset; trainSize?: number; seed?: number; exclude?: ReadonlySet<number>; table?: Nb201Table; model?: "gp" | "random_forest" } = {},
  ): EarlyToFinalModel {
    const dataset = opts.dataset ?? "cifar10";
    if (!NB201_DATASETS.includes(dataset)) throw new UserError(`unknown NAS-Bench-201 dataset "${dataset}"`);
    const table = opts.table ?? loadNb201();
    const cols = NB201_COLUMNS[dataset];
    return EarlyToFinalModel.fromTable(space, { points: table.archStrings, early: table.column(cols.valid12), final: table.column(cols.valid), earlyStep: 12 }, opts);
  }
}

/** The early-to-final model when the trial has a value at its step, else parametric extrapolation. */
export class HybridCurvePredictor implements LearningCurvePredictor {
  readonly name = "hybrid_curve";
  constructor(
    private readonly model: EarlyToFinalModel | undefined,
    private readonly extrapolator = new CurveExtrapolator(),
  ) {}

  predictFinal(q: CurveQuery): Prediction {
    if (this.model && q.point !== undefined && q.steps.includes(this.model.earlyStep)) return this.model.predictFinal(q);
    return this.extrapolator.predictFinal(q);
  }
}
