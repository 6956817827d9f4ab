/**
 * Pareto dominance tools. Every function here takes objective vectors where LARGER IS BETTER
 * in every coordinate (what `Objectives.orient` returns); NaN counts as -Infinity.
 *
 * Non-dominated sorting gives each point its front index (0 = non-dominated; front k = points
 * whose longest chain of dominating points has length k, the fronts of Deb et al. 2002):
 * - 1 objective: a sort.
 * - 2 objectives: sort + sweep with a binary search over the fronts' best second value, O(n log n).
 * - 3 objectives: divide and conquer over the first objective with a sweep over the second and a
 *   max-Fenwick tree over the third (the 3-D case of Jensen 2003), O(n log^2 n).
 * - 4+ objectives: sort by the first objective, then each point is checked against the fronts
 *   found so far (binary search over fronts, ENS-BS of Zhang et al. 2015); O(m n^2) worst case.
 * Equal vectors never dominate each other and share a front.
 */

export type Vector = ArrayLike<number>;

function val(v: number): number {
  return Number.isNaN(v) ? -Infinity : v;
}

/** Ascending numeric comparison that is safe with infinities. */
function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when a is at least as good as b everywhere and strictly better somewhere. */
export function dominates(a: Vector, b: Vector): boolean {
  let strict = false;
  for (let i = 0; i < a.length; i++) {
    const x = val(a[i]);
    const y = val(b[i]);
    if (x < y) return false;
    if (x > y) strict = true;
  }
  return strict;
}

/** Lexicographic comparison, descending (better first). */
function lexDesc(a: Float64Array, b: Float64Array): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] > b[i] ? -1 : 1;
  }
  return 0;
}

/** Distinct vectors in descending lexicographic order, and for each input point its distinct vector's index. */
function uniqueSorted(points: readonly Vector[], m: number): { uniq: Float64Array[]; of: Int32Array } {
  const n = points.length;
  const vecs = points.map((p) => {
    if (p.length !== m) throw new RangeError(`every point needs ${m} objectives, got one with ${p.length}`);
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = val(p[i]);
    return v;
  });
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => lexDesc(vecs[a], vecs[b]) || a - b);
  const uniq: Float64Array[] = [];
  const of = new Int32Array(n);
  for (const i of order) {
    if (uniq.length === 0 || lexDesc(uniq[uniq.length - 1], vecs[i]) !== 0) uniq.push(vecs[i]);
    of[i] = uniq.length - 1;
  }
  return { uniq, of };
}

/** Front index of every point (0 = non-dominated). */
export function nonDominatedRanks(points: readonly Vector[]): Int32Array {
  const n = points.length;
  const ranks = new Int32Array(n);
  if (n === 0) return ranks;
  const m = points[0].length;
  if (m === 0) return ranks;
  const { uniq, of } = uniqueSorted(points, m);
  let r: Int32Array;
  if (m === 1) r = Int32Array.from(uniq, (_, i) => i);
  else if (m === 2) r = ranks2d(uniq);
  else if (m === 3) r = ranks3d(uniq);
  else r = ranksGeneral(uniq);
  for (let i = 0; i < n; i++) ranks[i] = r[of[i]];
  return ranks;
}

/**
 * Distinct points sorted by (f0, f1) descending: an earlier point q dominates a later p exactly
 * when q.f1 >= p.f1. best[k] (the largest f1 in front k) does not increase with k, so p's front is
 * the first k with best[k] < p.f1, found by binary search.
 */
function ranks2d(uniq: Float64Array[]): Int32Array {
  const r = new Int32Array(uniq.length);
  const best: number[] = [];
  for (let i = 0; i < uniq.length; i++) {
    const y = uniq[i][1];
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (best[mid] >= y) lo = mid + 1;
      else hi = mid;
    }
    r[i] = lo;
    if (lo === best.length) best.push(y);
    else best[lo] = y;
  }
  return r;
}

/**
 * 3 objectives on distinct points sorted lexicographically descending: q (earlier) dominates p
 * (later) exactly when q.f1 >= p.f1 and q.f2 >= p.f2. rank(p) = 1 + max rank of its dominators,
 * computed by divide and conquer on the sorted order: solve the left half, push its ranks into
 * the right half (sweep over f1 descending, prefix-max Fenwick tree over f2 descending), then
 * solve the right half.
 */
function ranks3d(uniq: Float64Array[]): Int32Array {
  const n = uniq.length;
  const r = new Int32Array(n);
  // Position of each point's f2 in descending order (ties share a position).
  const zs = Float64Array.from(uniq, (v) => v[2]).sort().reverse();
  const zdistinct: number[] = [];
  for (const z of zs) if (zdistinct.length === 0 || zdistinct[zdistinct.length - 1] !== z) zdistinct.push(z);
  const zpos = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const z = uniq[i][2];
    let lo = 0;
    let hi = zdistinct.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (zdistinct[mid] > z) lo = mid + 1;
      else hi = mid;
    }
    zpos[i] = lo + 1; // 1-based for the Fenwick tree
  }
  const size = zdistinct.length;
  const tree = new Int32Array(size + 1).fill(-1);
  const touched: number[] = [];
  const update = (pos: number, value: number) => {
    for (let i = pos; i <= size; i += i & -i) {
      if (tree[i] < value) {
        if (tree[i] === -1) touched.push(i);
        tree[i] = value;
      }
    }
  };
  const query = (pos: number) => {
    let best = -1;
    for (let i = pos; i > 0; i -= i & -i) if (tree[i] > best) best = tree[i];
    return best;
  };
  const f1 = Float64Array.from(uniq, (v) => v[1]);
  // Each recursion node's points sorted by f1 descending (a merge-sort tree, built once):
  // the sweep of a node is then a linear merge of its two children's lists.
  const sortedOf = new Map<number, Int32Array>();
  const build = (lo: number, hi: number): Int32Array => {
    let out: Int32Array;
    if (hi - lo === 1) out = Int32Array.of(lo);
    else {
      const mid = (lo + hi) >>> 1;
      const a = build(lo, mid);
      const b = build(mid, hi);
      out = new Int32Array(hi - lo);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < a.length || j < b.length) {
        // Left first on ties: a left point with equal f1 may dominate a right one.
        if (j >= b.length || (i < a.length && f1[a[i]] >= f1[b[j]])) out[k++] = a[i++];
        else out[k++] = b[j++];
      }
    }
    sortedOf.set(lo * (n + 1) + hi, out);
    return out;
  };
  build(0, n);

  const solve = (lo: number, hi: number) => {
    if (hi - lo <= 1) return;
    const mid = (lo + hi) >>> 1;
    solve(lo, mid);
    for (const i of sortedOf.get(lo * (n + 1) + hi)!) {
      if (i < mid) update(zpos[i], r[i]);
      else {
        const q = query(zpos[i]);
        if (q + 1 > r[i]) r[i] = q + 1;
      }
    }
    for (const t of touched) tree[t] = -1;
    touched.length = 0;
    sortedOf.delete(lo * (n + 1) + hi);
    solve(mid, hi);
  };
  solve(0, n);
  return r;
}

/** 4+ objectives: distinct points in descending lexicographic order; fronts searched by binary search. */
function ranksGeneral(uniq: Float64Array[]): Int32Array {
  const r = new Int32Array(uniq.length);
  const fronts: Float64Array[][] = [];
  const dominatedBy = (front: Float64Array[], p: Float64Array) => {
    for (let j = front.length - 1; j >= 0; j--) if (dominates(front[j], p)) return true;
    return false;
  };
  for (let i = 0; i < uniq.length; i++) {
    const p = uniq[i];
    let lo = 0;
    let hi = fronts.length;
    // Earlier points never are dominated by later ones, so "dominated by front k" is monotone in k.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (dominatedBy(fronts[mid], p)) lo = mid + 1;
      else hi = mid;
    }
    r[i] = lo;
    if (lo === fronts.length) fronts.push([p]);
    else fronts[lo].push(p);
  }
  return r;
}

/** Indices of the points in each front, best front first (indices ascending within a front). */
export function nonDominatedSort(points: readonly Vector[]): number[][] {
  const ranks = nonDominatedRanks(points);
  const fronts: number[][] = [];
  ranks.forEach((k, i) => {
    while (fronts.length <= k) fronts.push([]);
    fronts[k].push(i);
  });
  return fronts;
}

/** Indices of the non-dominated points, ascending. O(n log n) for 2 objectives, O(n log^2 n) for 3. */
export function paretoFront(points: readonly Vector[]): number[] {
  const ranks = nonDominatedRanks(points);
  const out: number[] = [];
  ranks.forEach((k, i) => {
    if (k === 0) out.push(i);
  });
  return out;
}

/**
 * Crowding distance (Deb et al. 2002) of each point of one front (`members` index `points`):
 * for each objective, the points with the extreme values get Infinity, the others the gap
 * between their two neighbours divided by the objective's range; summed over objectives.
 * Returned in the order of `members`.
 */
export function crowdingDistance(points: readonly Vector[], members: readonly number[] = points.map((_, i) => i)): Float64Array {
  const k = members.length;
  const d = new Float64Array(k);
  if (k === 0) return d;
  if (k <= 2) return d.fill(Infinity);
  const m = points[members[0]].length;
  const order = Array.from({ length: k }, (_, i) => i);
  for (let o = 0; o < m; o++) {
    const v = (i: number) => val(points[members[i]][o]);
    order.sort((a, b) => cmp(v(a), v(b)) || a - b);
    const lo = v(order[0]);
    const hi = v(order[k - 1]);
    d[order[0]] = Infinity;
    d[order[k - 1]] = Infinity;
    const range = hi - lo;
    if (!(range > 0) || !Number.isFinite(range)) continue;
    for (let j = 1; j < k - 1; j++) d[order[j]] += (v(order[j + 1]) - v(order[j - 1])) / range;
  }
  return d;
}

/**
 * Ranks under constraint domination (Deb et al. 2002): feasible points (violation 0) by their
 * non-dominated front; infeasible ones after every feasible front, ordered by violation (smaller
 * is better; equal violations share a rank).
 */
export function constrainedRanks(points: readonly Vector[], violations: ArrayLike<number>): Int32Array {
  const n = points.length;
  const ranks = new Int32Array(n);
  const feasible: number[] = [];
  const infeasible: number[] = [];
  for (let i = 0; i < n; i++) (violations[i] === 0 ? feasible : infeasible).push(i);
  const fr = nonDominatedRanks(feasible.map((i) => points[i]));
  let next = 0;
  feasible.forEach((i, j) => {
    ranks[i] = fr[j];
    if (fr[j] + 1 > next) next = fr[j] + 1;
  });
  infeasible.sort((a, b) => cmp(violations[a], violations[b]) || a - b);
  let rank = next - 1;
  let last = NaN;
  for (const i of infeasible) {
    if (violations[i] !== last) {
      rank++;
      last = violations[i];
    }
    ranks[i] = rank;
  }
  return ranks;
}
