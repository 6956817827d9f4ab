/**
 * Transfer across tasks (in the spirit of Shala et al. 2023, "Transfer NAS with meta-learned
 * Bayesian surrogates"): predictors pre-trained on source tasks (other datasets of the same
 * space), adapted to the target task with few labelled samples.
 *
 * The source models are predictors from the registry (default: the WL-kernel GP) fitted on
 * `source_samples` architectures of each source task of the benchmark the space belongs to (or
 * `benchmark`): for NAS-Bench-201 the CIFAR-100 and ImageNet16-120 columns when the target is
 * CIFAR-10; for TransNAS-Bench-101 the other Taskonomy tasks; for NAS-Bench-Graph the other data
 * sets (src/benchmarks/task-tables.ts). On the target task:
 *  1. prior mean: a ridge regression of the target values on the standardised source predictions
 *     (how the source tasks' rankings carry over);
 *  2. a GP on the residuals, whose kernel is the WL kernel combined with a kernel on the source
 *     predictions (they enter as features, so the GP can also learn where the sources mislead).
 * With no source information (ridge weights 0) it is a plain GP; with few samples the prior mean
 * carries the prediction.
 */
import { z } from "zod";
import type { Json } from "../core/json.js";
import { stableStringify } from "../core/json.js";
import { Rng } from "../core/rng.js";
import { UserError } from "../core/errors.js";
import { taskTables, TASK_TABLES, type TaskTables } from "../benchmarks/task-tables.js";
import type { FeatureProvider, LabelledPoint, Prediction, Predictor, PredictorContext, PredictorFactory } from "./predictor.js";
import { checkData, meanSd, parseOptions } from "./common.js";
import { GpPredictor, gpPredictorOptions } from "./gp.js";
import { combineFeatures } from "./features.js";

/** A pre-trained source model: the predicted value of a point on one source task. */
export interface SourceModel {
  readonly name: string;
  predict(points: readonly Json[]): Prediction[] | Promise<Prediction[]>;
}

const options = z.strictObject({
  benchmark: z.enum(Object.keys(TASK_TABLES) as [string, ...string[]]).optional().describe("benchmark whose tasks are the sources (default: the one of the space)"),
  target: z.string().optional().describe("the target task (data set) of the benchmark, never used for pre-training (default: its first: cifar10, class_scene, cora)"),
  sources: z.array(z.string()).optional().describe("source tasks (default: every other task of the benchmark)"),
  source_samples: z.number().int().min(10).max(30000).default(1000).describe("labelled cells per source task the source models are pre-trained on"),
  source_model: z.enum(["gp", "random_forest"]).default("gp").describe("predictor pre-trained on each source"),
  ridge: z.number().min(0).default(1).describe("ridge penalty of the prior-mean regression on the source predictions (in units of samples)"),
  residual_warp: z.enum(["none", "rank"]).default("rank").describe("target warping of the residual GP"),
  residual_gp: z.boolean().default(true).describe("fit a GP on the residuals of the prior mean (false: the prior mean alone)"),
});
export type TransferOptions = z.infer<typeof options>;

/** Pre-trained source models, shared by every TransferPredictor of the process (they do not depend on the target data). */
const sourceCache = new Map<string, { model: Predictor; memo: Map<string, number> }>();

async function sourceModel(ctx: PredictorContext, tables: TaskTables, task: string, opts: TransferOptions): Promise<{ model: Predictor; memo: Map<string, number> }> {
  const key = `${tables.space}|${task}|${opts.source_samples}|${opts.source_model}|${ctx.seed}`;
  const hit = sourceCache.get(key);
  if (hit) return hit;
  const { points, values } = tables.labelled(task);
  const picks = Rng.derive(ctx.seed, "transfer-source", task).sampleIndices(points.length, Math.min(opts.source_samples, points.length));
  const data = picks.map((i) => ({ point: points[i], value: values[i] })).filter((d) => Number.isFinite(d.value));
  const { predictors } = await import("./registry.js");
  const model = predictors[opts.source_model].create({ space: ctx.space, seed: ctx.seed }, {});
  await model.fit(data);
  const entry = { model, memo: new Map<string, number>() };
  if (sourceCache.size > 32) sourceCache.clear();
  sourceCache.set(key, entry);
  return entry;
}

export class TransferPredictor implements Predictor {
  readonly name = "transfer";
  private readonly sources: string[];
  private readonly tables: TaskTables;
  private loaded?: { model: Predictor; memo: Map<string, number> }[];
  private data: LabelledPoint[] = [];
  private prior?: { mean: number[]; sd: number[]; weights: number[]; intercept: number };
  private residual?: GpPredictor;

  constructor(
    private readonly ctx: PredictorContext,
    private readonly opts: TransferOptions,
  ) {
    this.tables = taskTables(opts.benchmark ?? ctx.space.name);
    if (ctx.space.name !== this.tables.space) throw new UserError(`predictor "transfer" pre-trains on the tasks of benchmark "${opts.benchmark}", whose space is "${this.tables.space}"; got space "${ctx.space.name}"`);
    const known = this.tables.tasks;
    const target = opts.target ?? known[0];
    for (const t of [target, ...(opts.sources ?? [])]) {
      if (!known.includes(t)) throw new UserError(`predictor "transfer": benchmark of space ${this.tables.space} has no task "${t}"; its tasks are ${known.join(", ")}`);
    }
    this.sources = opts.sources ?? known.filter((d) => d !== target);
    if (this.sources.length === 0) throw new UserError(`predictor "transfer": no source tasks`);
    if (this.sources.includes(target)) throw new UserError(`predictor "transfer": the target task "${target}" cannot also be a source`);
  }

  /** Source predictions of points (memoised per source model). */
  private async sourcePredictions(points: readonly Json[]): Promise<number[][]> {
    if (!this.loaded) {
      this.loaded = [];
      for (const d of this.sources) this.loaded.push(await sourceModel(this.ctx, this.tables, d, this.opts));
    }
    const cols: number[][] = [];
    for (const s of this.loaded) {
      const keys = points.map((p) => stableStringify(p));
      const missing = [...new Set(keys.filter((k) => !s.memo.has(k)))];
      if (missing.length > 0) {
        const preds = await s.model.predict(missing.map((k) => JSON.parse(k) as Json));
        missing.forEach((k, i) => s.memo.set(k, preds[i].mean));
      }
      cols.push(keys.map((k) => s.memo.get(k)!));
    }
    return points.map((_, i) => cols.map((c) => c[i]));
  }

  private priorMean(s: readonly number[]): number {
    const p = this.prior!;
    return p.intercept + s.reduce((acc, v, j) => acc + p.weights[j] * ((v - p.mean[j]) / p.sd[j]), 0);
  }

  async fit(data: readonly LabelledPoint[]): Promise<void> {
    checkData(this.name, data);
    this.data = data.slice();
    const S = await this.sourcePredictions(this.data.map((d) => d.point));
    const y = this.data.map((d) => d.value);
    const k = this.sources.length;
    const stats = Array.from({ length: k }, (_, j) => meanSd(S.map((r) => r[j])));
    const Z = S.map((r) => r.map((v, j) => (v - stats[j].mean) / (stats[j].sd || 1)));
    const ym = y.reduce((a, b) => a + b, 0) / y.length;
    // Ridge: (Z^T Z + lambda I) w = Z^T (y - mean(y)), k x k (k = number of sources).
    const A = Array.from({ length: k }, (_, a) => Array.from({ length: k }, (_, b) => Z.reduce((s, r) => s + r[a] * r[b], 0) + (a === b ? this.opts.ridge : 0)));
    const rhs = Array.from({ length: k }, (_, a) => Z.reduce((s, r, i) => s + r[a] * (y[i] - ym), 0));
    const weights = solve(A, rhs);
    this.prior = { mean: stats.map((s) => s.mean), sd: stats.map((s) => s.sd || 1), weights, intercept: ym };
    if (!this.opts.residual_gp) return;
    const residuals = this.data.map((d, i) => ({ point: d.point, value: d.value - this.priorMean(S[i]) }));
    const memo = new Map(this.data.map((d, i) => [stableStringify(d.point), S[i]]));
    this.pending = memo;
    const provider: FeatureProvider = {
      names: this.sources.map((d) => `source_${d}`),
      features: (p) => {
        const v = this.pending.get(stableStringify(p));
        if (!v) throw new Error("transfer: source predictions of a point were not prepared");
        return v;
      },
    };
    const features = this.ctx.features ? combineFeatures(provider, this.ctx.features) : provider;
    this.residual = new GpPredictor({ space: this.ctx.space, seed: this.ctx.seed, features }, gpPredictorOptions.parse({ warp: this.opts.residual_warp }));
    this.residual.fit(residuals);
  }

  /** Source predictions of the points being fitted or predicted, for the residual GP's feature kernel. */
  private pending = new Map<string, number[]>();

  async update(data: readonly LabelledPoint[]): Promise<void> {
    await this.fit([...this.data, ...data]);
  }

  async predict(points: readonly Json[]): Promise<Prediction[]> {
    if (!this.prior) throw new Error(`predictor "transfer": predict before fit`);
    const S = await this.sourcePredictions(points);
    const prior = S.map((s) => this.priorMean(s));
    if (!this.residual) return prior.map((m) => ({ mean: m, std: 0 }));
    this.pending = new Map(points.map((p, i) => [stableStringify(p), S[i]]));
    const r = this.residual.predict(points);
    return r.map((q, i) => ({ mean: prior[i] + q.mean, std: q.std }));
  }
}

/** Gaussian elimination with partial pivoting for a small dense system. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    if (Math.abs(M[c][c]) < 1e-12) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((row, i) => (Math.abs(row[i]) < 1e-12 ? 0 : row[n] / row[i]));
}

export const transferPredictor: PredictorFactory = {
  name: "transfer",
  description: "Pre-trained on the other tasks of the space's benchmark (NB201 datasets, TransNAS-Bench-101 tasks, NAS-Bench-Graph data sets), adapted to the target with few samples: ridge prior mean on the source predictions + residual GP.",
  requires: ["graph"],
  needsEngine: false,
  create: (ctx, opts) => new TransferPredictor(ctx, parseOptions("transfer", options, opts)),
};

export { options as transferOptions };
