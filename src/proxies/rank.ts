/**
 * Rank correlations (plain TypeScript, no engine needed): Spearman's rho with average ranks for
 * ties, and Kendall's tau-b (tie-corrected) in O(n log n) by Knight's algorithm.
 *
 * Pairs where either value is NaN are left out (e.g. a benchmark column with missing entries);
 * ±Infinity ranks as the extreme it is. With fewer than two usable pairs, or when one side is
 * constant, the correlation is undefined and NaN is returned.
 */

/** The pairs (a[i], b[i]) where neither is NaN. */
function usablePairs(a: ArrayLike<number>, b: ArrayLike<number>): { x: Float64Array; y: Float64Array } {
  if (a.length !== b.length) throw new RangeError(`rank correlation of vectors of different lengths (${a.length} and ${b.length})`);
  const keep: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i]) && !Number.isNaN(b[i])) keep.push(i);
  return { x: Float64Array.from(keep, (i) => a[i]), y: Float64Array.from(keep, (i) => b[i]) };
}

/** 1-based ranks, tied values sharing the average of the ranks they span (NaN stays NaN). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => !Number.isNaN(values[i]));
  order.sort((i, j) => (values[i] < values[j] ? -1 : values[i] > values[j] ? 1 : 0));
  const ranks = new Float64Array(n).fill(NaN);
  for (let s = 0; s < order.length; ) {
    let e = s + 1;
    while (e < order.length && values[order[e]] === values[order[s]]) e++;
    const r = (s + 1 + e) / 2; // mean of ranks s+1 .. e
    for (let k = s; k < e; k++) ranks[order[k]] = r;
    s = e;
  }
  return ranks;
}

/** Pearson's correlation coefficient (NaN when either side has zero variance). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new RangeError(`correlation of vectors of different lengths (${a.length} and ${b.length})`);
  if (n < 2) return NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/** Spearman's rank correlation: Pearson's correlation of the average ranks (ties handled exactly). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { x, y } = usablePairs(a, b);
  if (x.length < 2) return NaN;
  return pearson(averageRanks(x), averageRanks(y));
}

/** Number of tied pairs among sorted values: sum over runs of equal values of t(t-1)/2. */
function tiedPairs(sorted: Float64Array): number {
  let ties = 0;
  for (let s = 0; s < sorted.length; ) {
    let e = s + 1;
    while (e < sorted.length && sorted[e] === sorted[s]) e++;
    ties += ((e - s) * (e - s - 1)) / 2;
    s = e;
  }
  return ties;
}

/**
 * Kendall's tau-b: (concordant - discordant) / sqrt((n0 - ties_a)(n0 - ties_b)), n0 = n(n-1)/2,
 * the variant scipy.stats.kendalltau computes by default. O(n log n) (Knight 1966).
 */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { x, y } = usablePairs(a, b);
  const n = x.length;
  if (n < 2) return NaN;
  // Sort by x, then y.
  const cmp = (u: number, v: number) => (u < v ? -1 : u > v ? 1 : 0);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => cmp(x[i], x[j]) || cmp(y[i], y[j]));
  const xs = Float64Array.from(order, (i) => x[i]);
  let ys = Float64Array.from(order, (i) => y[i]);
  const n0 = (n * (n - 1)) / 2;
  const tiesX = tiedPairs(xs);
  // Pairs tied in both x and y.
  let tiesXY = 0;
  for (let s = 0; s < n; ) {
    let e = s + 1;
    while (e < n && xs[e] === xs[s] && ys[e] === ys[s]) e++;
    tiesXY += ((e - s) * (e - s - 1)) / 2;
    s = e;
  }
  // Merge sort ys, counting swaps = pairs discordant (strictly) in the x-then-y order.
  let swaps = 0;
  let buf = new Float64Array(n);
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (ys[j] < ys[i]) {
          buf[k++] = ys[j++];
          swaps += mid - i;
        } else buf[k++] = ys[i++];
      }
      while (i < mid) buf[k++] = ys[i++];
      while (j < hi) buf[k++] = ys[j++];
    }
    [ys, buf] = [buf, ys];
  }
  const tiesY = tiedPairs(ys);
  const denom = Math.sqrt((n0 - tiesX) * (n0 - tiesY));
  if (denom === 0) return NaN;
  // concordant - discordant = n0 - tiesX - tiesY + tiesXY - 2 * discordant
  return (n0 - tiesX - tiesY + tiesXY - 2 * swaps) / denom;
}
