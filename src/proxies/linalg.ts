/**
 * Small dense linear algebra in plain TypeScript on row-major Float64Array matrices (n x n), for
 * the batch-sized (n = 32..256) matrices of the zero-cost proxies.
 */

function checkSquare(a: ArrayLike<number>, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) throw new RangeError(`${what}: expected an ${n}x${n} matrix (${n * n} values), got ${a.length} values`);
}

/**
 * Eigenvalues of a real symmetric matrix, ascending, by the cyclic Jacobi method (Rutishauser's
 * formulation, as in Numerical Recipes `jacobi`): accurate to a few ulps of the matrix norm, O(n^3)
 * per sweep and usually < 10 sweeps. Only the upper triangle's symmetric counterpart is assumed,
 * i.e. the input must be symmetric (checked to a relative 1e-9). The input is not modified.
 */
export function symmetricEigenvalues(matrix: ArrayLike<number>, n: number, maxSweeps = 100): Float64Array {
  checkSquare(matrix, n, "symmetricEigenvalues");
  const a = Float64Array.from(matrix as ArrayLike<number>);
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new RangeError("symmetricEigenvalues: the matrix has a non-finite entry");
    scale = Math.max(scale, Math.abs(a[i]));
  }
  for (let p = 0; p < n; p++)
    for (let q = p + 1; q < n; q++)
      if (Math.abs(a[p * n + q] - a[q * n + p]) > 1e-9 * scale) throw new RangeError(`symmetricEigenvalues: the matrix is not symmetric at (${p}, ${q})`);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
  if (scale === 0) return d;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off === 0 || Math.sqrt(off) <= 1e-15 * scale) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        // t = tan of the rotation angle, the smaller root of t^2 + 2 t theta - 1 = 0.
        let t: number;
        if (!Number.isFinite(theta * theta)) t = 1 / (2 * theta);
        else t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        const tau = s / (1 + c);
        a[p * n + p] = app - t * apq;
        a[q * n + q] = aqq + t * apq;
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let r = 0; r < n; r++) {
          if (r === p || r === q) continue;
          const arp = a[r * n + p];
          const arq = a[r * n + q];
          const np = arp - s * (arq + tau * arp);
          const nq = arq + s * (arp - tau * arq);
          a[r * n + p] = np;
          a[p * n + r] = np;
          a[r * n + q] = nq;
          a[q * n + r] = nq;
        }
      }
    }
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
  return d.sort();
}

/**
 * sign and log|det| of a square matrix by LU decomposition with partial pivoting (like
 * numpy.linalg.slogdet): { sign: 0, logAbsDet: -Infinity } for an exactly singular matrix.
 * The input is not modified.
 */
export function slogdet(matrix: ArrayLike<number>, n: number): { sign: number; logAbsDet: number } {
  checkSquare(matrix, n, "slogdet");
  const a = Float64Array.from(matrix as ArrayLike<number>);
  let sign = 1;
  let logAbsDet = 0;
  for (let k = 0; k < n; k++) {
    let piv = k;
    let best = Math.abs(a[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[i * n + k]);
      if (v > best) {
        best = v;
        piv = i;
      }
    }
    if (Number.isNaN(best)) return { sign: NaN, logAbsDet: NaN };
    if (best === 0) return { sign: 0, logAbsDet: -Infinity };
    if (piv !== k) {
      for (let j = 0; j < n; j++) {
        const t = a[k * n + j];
        a[k * n + j] = a[piv * n + j];
        a[piv * n + j] = t;
      }
      sign = -sign;
    }
    const ukk = a[k * n + k];
    if (ukk < 0) sign = -sign;
    logAbsDet += Math.log(Math.abs(ukk));
    for (let i = k + 1; i < n; i++) {
      const f = a[i * n + k] / ukk;
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) a[i * n + j] -= f * a[k * n + j];
      a[i * n + k] = 0;
    }
  }
  return { sign, logAbsDet };
}
