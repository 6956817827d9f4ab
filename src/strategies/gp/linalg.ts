/**
 * Dense linear algebra for small Gaussian processes: symmetric matrices are row-major
 * Float64Arrays of n*n values; the Cholesky factor L is lower triangular (A = L L^T), same layout.
 */

// The inner products of the O(n^3) loops, with four accumulators (about 20% faster in V8).

/** sum_k<len m[a+k] * m[b+k] */
function rowDot(m: Float64Array, a: number, b: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += m[a + k] * m[b + k];
    s1 += m[a + k + 1] * m[b + k + 1];
    s2 += m[a + k + 2] * m[b + k + 2];
    s3 += m[a + k + 3] * m[b + k + 3];
  }
  for (; k < len; k++) s0 += m[a + k] * m[b + k];
  return s0 + s1 + (s2 + s3);
}

/** sum_k<len m[a+k] * v[k] */
function rowDot2(m: Float64Array, a: number, v: Float64Array, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += m[a + k] * v[k];
    s1 += m[a + k + 1] * v[k + 1];
    s2 += m[a + k + 2] * v[k + 2];
    s3 += m[a + k + 3] * v[k + 3];
  }
  for (; k < len; k++) s0 += m[a + k] * v[k];
  return s0 + s1 + (s2 + s3);
}

/** Cholesky factor of `a` + jitter*I, or undefined when the matrix is not positive definite. */
export function cholesky(a: Float64Array, n: number, jitter = 0): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      const sum = a[ri + j] + (i === j ? jitter : 0) - rowDot(l, ri, rj, j);
      if (i === j) {
        if (!(sum > 0)) return undefined; // also catches NaN
        l[ri + i] = Math.sqrt(sum);
      } else {
        l[ri + j] = sum / l[rj + j];
      }
    }
  }
  return l;
}

/**
 * Cholesky with a growing diagonal jitter: starts at `jitter` and multiplies by 10 until the
 * factorisation succeeds (up to `maxJitter`). Returns the factor and the jitter that was used.
 */
export function robustCholesky(a: Float64Array, n: number, jitter = 1e-8, maxJitter = 1): { l: Float64Array; jitter: number } | undefined {
  // Scale the jitter to the matrix so it means the same for any kernel amplitude.
  let diag = 0;
  for (let i = 0; i < n; i++) diag = Math.max(diag, Math.abs(a[i * n + i]));
  const scale = diag > 0 ? diag : 1;
  for (let j = jitter; j <= maxJitter; j *= 10) {
    const l = cholesky(a, n, j * scale);
    if (l) return { l, jitter: j * scale };
  }
  return undefined;
}

/** Solves L x = b (forward substitution); returns a new array. */
export function solveLower(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    x[i] = (b[i] - rowDot2(l, ri, x, i)) / l[ri + i];
  }
  return x;
}

/** Solves L^T x = b (back substitution with the lower factor); returns a new array. */
export function solveUpperT(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i];
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * x[k];
    x[i] = sum / l[i * n + i];
  }
  return x;
}

/** Solves A x = b given A's Cholesky factor L. */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  return solveUpperT(l, n, solveLower(l, n, b));
}

/** log det A = 2 sum log L_ii. */
export function logDetFromCholesky(l: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(l[i * n + i]);
  return 2 * s;
}

/**
 * Factor of the (n+1)x(n+1) matrix [[A, c], [c^T, d]] from A's factor L, in O(n^2): the new
 * row is L^-1 c and the new diagonal sqrt(d - |L^-1 c|^2). Undefined when that is not positive.
 */
export function extendCholesky(l: Float64Array, n: number, c: ArrayLike<number>, d: number): Float64Array | undefined {
  const row = solveLower(l, n, c);
  let rest = d;
  for (let k = 0; k < n; k++) rest -= row[k] * row[k];
  if (!(rest > 0)) return undefined;
  const m = n + 1;
  const out = new Float64Array(m * m);
  for (let i = 0; i < n; i++) out.set(l.subarray(i * n, i * n + i + 1), i * m);
  out.set(row, n * m);
  out[n * m + n] = Math.sqrt(rest);
  return out;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}
