import { choleskySolve, dot, extendCholesky, logDetFromCholesky, robustCholesky, solveLower } from "./linalg.js";

/**
 * Zero-mean GP regression with covariance s2 * (K + lambda * I), K a base kernel with unit
 * diagonal. For a fixed noise ratio lambda the amplitude s2 that maximises the marginal
 * likelihood has a closed form (y^T (K + lambda I)^-1 y / n), so only lambda (and the kernel
 * variant) need a grid.
 */
export class GaussianProcess {
  private constructor(
    private n: number,
    private l: Float64Array,
    private y: Float64Array,
    private alpha: Float64Array,
    /** Signal amplitude s2 (variance of the latent function). */
    readonly amplitude: number,
    /** Noise variance relative to the amplitude. */
    readonly noiseRatio: number,
    /** Extra diagonal that Cholesky needed beyond lambda (0 when it succeeded at once). */
    readonly jitter: number,
    /** Log marginal likelihood of the data it was fitted on (fake observations excluded). */
    readonly logLikelihood: number,
  ) {}

  /**
   * Fits on base Gram `k` (n x n, unit diagonal) and targets `y`. Undefined when the matrix
   * cannot be factorised even with a large jitter.
   */
  static fit(k: Float64Array, y: ArrayLike<number>, noiseRatio: number, minAmplitude = 1e-6): GaussianProcess | undefined {
    const n = y.length;
    const a = new Float64Array(k);
    for (let i = 0; i < n; i++) a[i * n + i] += noiseRatio;
    const chol = robustCholesky(a, n, 1e-10, 1);
    if (!chol) return undefined;
    const yy = Float64Array.from(y);
    const alpha = choleskySolve(chol.l, n, yy);
    const quad = dot(yy, alpha);
    const amplitude = Math.max(minAmplitude, quad / Math.max(1, n));
    const logLikelihood = -0.5 * quad / amplitude - 0.5 * logDetFromCholesky(chol.l, n) - 0.5 * n * Math.log(2 * Math.PI * amplitude);
    return new GaussianProcess(n, chol.l, yy, alpha, amplitude, noiseRatio, chol.jitter, logLikelihood);
  }

  get size(): number {
    return this.n;
  }

  /**
   * Posterior mean and variance of the latent function at a point with base-kernel values
   * `kx` against the training points (in order) and prior k(x, x) = `kxx`.
   */
  predict(kx: ArrayLike<number>, kxx = 1): { mean: number; variance: number } {
    if (kx.length !== this.n) throw new RangeError(`GP has ${this.n} points, got ${kx.length} kernel values`);
    const mean = dot(kx, this.alpha, this.n);
    const v = solveLower(this.l, this.n, kx);
    const variance = this.amplitude * Math.max(kxx - dot(v, v), 1e-12);
    return { mean, variance };
  }

  /**
   * Adds an observation (a real one, or a constant-liar fake) with the hyperparameters kept:
   * O(n^2) update of the factor. Returns false (and changes nothing) when it would make the
   * matrix singular, e.g. a point equal to a training point under a noise-free kernel.
   */
  add(kx: ArrayLike<number>, y: number, kxx = 1): boolean {
    const l = extendCholesky(this.l, this.n, kx, kxx + this.noiseRatio + this.jitter);
    if (!l) return false;
    this.l = l;
    this.n++;
    const yy = new Float64Array(this.n);
    yy.set(this.y);
    yy[this.n - 1] = y;
    this.y = yy;
    this.alpha = choleskySolve(l, this.n, yy);
    return true;
  }
}

/** Best GP over kernel variants (one base Gram each) and noise ratios, by marginal likelihood. */
export function fitBest(grams: readonly Float64Array[], y: ArrayLike<number>, noiseRatios: readonly number[]): { gp: GaussianProcess; variant: number } | undefined {
  let best: { gp: GaussianProcess; variant: number } | undefined;
  grams.forEach((k, variant) => {
    for (const lambda of noiseRatios) {
      const gp = GaussianProcess.fit(k, y, lambda);
      if (gp && (!best || gp.logLikelihood > best.gp.logLikelihood)) best = { gp, variant };
    }
  });
  return best;
}

// ---------------------------------------------------------------------------------------------
// Acquisition functions

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Inverse of normalCdf by Newton's method from 0 (monotone convergence: Phi is convex left of 0, concave right). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  let x = 0;
  for (let i = 0; i < 100; i++) {
    const step = (normalCdf(x) - p) / Math.exp(-0.5 * x * x - LOG_SQRT_2PI);
    x -= step;
    if (Math.abs(step) < 1e-10) break;
  }
  return x;
}

/**
 * Normal scores of the ranks ((rank + 0.5) / n quantiles, ties share their mean rank): a
 * monotone warping that keeps the order of the scores but not outliers' pull on the model.
 */
export function rankWarp(values: readonly number[]): number[] {
  const n = values.length;
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v || a.i - b.i);
  const out = new Array<number>(n);
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && order[end + 1].v === order[start].v) end++;
    const q = normalQuantile(((start + end) / 2 + 0.5) / n);
    for (let k = start; k <= end; k++) out[order[k].i] = q;
    start = end + 1;
  }
  return out;
}

/**
 * log(z Phi(z) + phi(z)), the expected improvement of a unit normal over a threshold z standard
 * deviations above its mean (negated). For z < -3 it uses the Mills ratio's continued fraction,
 * where the direct formula would cancel and then underflow to 0, leaving candidates unranked.
 */
export function logExpectedImprovementUnit(z: number): number {
  if (z > -3) return Math.log(z * normalCdf(z) + Math.exp(-0.5 * z * z - LOG_SQRT_2PI));
  const x = -z;
  // R(x) = (1 - Phi(x)) / phi(x) = 1 / (x + 1 / (x + 2 / (x + 3 / (x + ...)))), bottom up.
  let frac = x;
  for (let k = 60; k >= 1; k--) frac = x + k / frac;
  const mills = 1 / frac;
  return -0.5 * z * z - LOG_SQRT_2PI + Math.log(Math.max(1 - x * mills, Number.MIN_VALUE));
}

/** log EI of N(mean, variance) over `best` (maximisation), with exploration margin xi. */
export function logExpectedImprovement(mean: number, variance: number, best: number, xi = 0): number {
  const sd = Math.sqrt(variance);
  return Math.log(sd) + logExpectedImprovementUnit((mean - best - xi) / sd);
}

export function upperConfidenceBound(mean: number, variance: number, beta: number): number {
  return mean + beta * Math.sqrt(variance);
}
