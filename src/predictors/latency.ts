/**
 * Latency prediction for a new device from a few measured architectures.
 *
 * Model: ridge regression on log latency, fitted in its dual form (n measurements, any number of
 * features) with an intercept; the ridge strength is picked per fit by exact leave-one-out error
 * (closed form for kernel ridge: e_i = alpha_i / [(K + lambda I)^-1]_ii) over a grid. Features:
 * - per-op features of the architecture (for NAS-Bench-201: which op sits on each of the 6 edges,
 *   30 one-hot values; any space: its `encode`), and
 * - optionally, transfer features: the standardised log latency of the same architecture on
 *   reference devices whose tables are known (the other devices of the NB201 latency table).
 * Predictions keep the order of latencies (Spearman is what a search needs from them).
 */
import { UserError } from "../core/errors.js";

export interface LatencyPredictorOptions {
  /** Ridge strengths tried, relative to the mean diagonal of the feature Gram matrix. */
  lambdas?: readonly number[];
}

const DEFAULT_LAMBDAS = [1e-3, 1e-2, 0.03, 0.1, 0.3, 1, 3, 10];

/** Solves (A) x = b for a symmetric positive definite n x n A (row-major) by Cholesky; also gives A^-1's diagonal. */
function spdInverse(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) return undefined;
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  // Inverse of L, then A^-1 = L^-T L^-1.
  const li = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    li[i * n + i] = 1 / l[i * n + i];
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * n + k] * li[k * n + j];
      li[i * n + j] = s / l[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += li[k * n + i] * li[k * n + j];
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  }
  return inv;
}

/** Ridge regression (dual form, intercept, lambda by leave-one-out) on dense features. */
export class RidgeLatencyModel {
  private train: Float64Array[] = [];
  private alpha: Float64Array = new Float64Array(0);
  /** Primal weights sum_i alpha_i x_i: prediction is O(features), not O(measurements x features). */
  private w: Float64Array = new Float64Array(0);
  private xMean: Float64Array = new Float64Array(0);
  private yMean = 0;
  /** The chosen ridge strength (relative) and its leave-one-out mean squared error in log space. */
  lambda = NaN;
  looMse = NaN;

  constructor(private readonly opts: LatencyPredictorOptions = {}) {}

  /** Fits log(latency) on features; latencies must be positive. */
  fit(features: readonly ArrayLike<number>[], latencies: readonly number[]): this {
    const n = features.length;
    if (n < 2) throw new UserError(`a latency predictor needs at least 2 measured architectures, got ${n}`);
    if (latencies.length !== n) throw new RangeError("features and latencies differ in length");
    if (!latencies.every((v) => v > 0 && Number.isFinite(v))) throw new UserError("measured latencies must be positive numbers");
    const d = features[0].length;
    this.xMean = new Float64Array(d);
    for (const f of features) for (let j = 0; j < d; j++) this.xMean[j] += f[j] / n;
    this.train = features.map((f) => Float64Array.from({ length: d }, (_, j) => f[j] - this.xMean[j]));
    const y = latencies.map(Math.log);
    this.yMean = y.reduce((a, b) => a + b, 0) / n;
    const yc = Float64Array.from(y, (v) => v - this.yMean);
    const k = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) k[i * n + j] = k[j * n + i] = dotv(this.train[i], this.train[j]);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += k[i * n + i];
    const scale = trace / n || 1;
    let best: { mse: number; lambda: number; alpha: Float64Array } | undefined;
    for (const rel of this.opts.lambdas ?? DEFAULT_LAMBDAS) {
      const a = new Float64Array(k);
      for (let i = 0; i < n; i++) a[i * n + i] += rel * scale;
      const inv = spdInverse(a, n);
      if (!inv) continue;
      const alpha = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += inv[i * n + j] * yc[j];
        alpha[i] = s;
      }
      let mse = 0;
      for (let i = 0; i < n; i++) mse += (alpha[i] / inv[i * n + i]) ** 2 / n;
      if (!best || mse < best.mse) best = { mse, lambda: rel, alpha };
    }
    if (!best) throw new Error("ridge fit failed for every lambda");
    this.alpha = best.alpha;
    this.w = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) this.w[j] += this.alpha[i] * this.train[i][j];
    this.lambda = best.lambda;
    this.looMse = best.mse;
    return this;
  }

  /** Predicted latency (same unit as the measurements). */
  predict(features: ArrayLike<number>): number {
    const d = this.xMean.length;
    let s = this.yMean;
    for (let j = 0; j < d; j++) s += this.w[j] * (features[j] - this.xMean[j]);
    return Math.exp(s);
  }
}

function dotv(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Features for an architecture: its per-op encoding, then (when reference tables are given) the
 * standardised log latency on each reference device. `reference[r][i]` is device r's latency of
 * architecture i (the index the caller uses); standardisation is over each whole table.
 */
export class LatencyFeatures {
  private readonly refs: { mean: number; sd: number; values: ArrayLike<number> }[];

  constructor(
    private readonly encode: (i: number) => ArrayLike<number>,
    reference: readonly ArrayLike<number>[] = [],
  ) {
    this.refs = reference.map((values) => {
      const logs: number[] = [];
      for (let i = 0; i < values.length; i++) if (values[i] > 0) logs.push(Math.log(values[i]));
      const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
      const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / logs.length) || 1;
      return { mean, sd, values };
    });
  }

  of(i: number): Float64Array {
    const e = this.encode(i);
    const out = new Float64Array(e.length + this.refs.length);
    for (let j = 0; j < e.length; j++) out[j] = e[j];
    this.refs.forEach((r, j) => (out[e.length + j] = r.values[i] > 0 ? (Math.log(r.values[i]) - r.mean) / r.sd : 0));
    return out;
  }
}

/** Spearman rank correlation (average ranks for ties). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n;
  const mb = rb.reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) ** 2;
    db += (rb[i] - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

function ranks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => v[x] - v[y]);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]] === v[order[i]]) j++;
    for (let k = i; k <= j; k++) r[order[k]] = (i + j) / 2;
    i = j + 1;
  }
  return r;
}
