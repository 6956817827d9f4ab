/**
 * Exact hypervolume: the measure of the region dominated by a set of points and bounded by a
 * reference point. Objectives are LARGER IS BETTER (as `Objectives.orient` returns them): the
 * region is {x : ref <= x <= p for some point p}. A point that is not strictly better than the
 * reference in every objective adds nothing. NaN counts as -Infinity (adds nothing).
 *
 * - 1 objective: max(p) - ref.
 * - 2 objectives: sort by the first objective descending and sweep, O(n log n).
 * - 3 objectives: sweep over the third objective descending, keeping the 2-D staircase of the
 *   points seen so far (sorted arrays, binary search) and its area updated incrementally,
 *   O(n log n) comparisons plus O(n^2) worst-case array moves (fast in practice).
 */
import type { Vector } from "./pareto.js";

function usable(p: Vector, ref: Vector): boolean {
  for (let i = 0; i < ref.length; i++) if (!(p[i] > ref[i])) return false; // NaN fails too
  return true;
}

export function hypervolume(points: readonly Vector[], ref: Vector): number {
  const m = ref.length;
  for (const p of points) if (p.length !== m) throw new RangeError(`every point needs ${m} objectives (the reference point's), got one with ${p.length}`);
  for (let i = 0; i < m; i++) if (!Number.isFinite(ref[i])) throw new RangeError(`the reference point must be finite, got ${Array.from(ref).join(", ")}`);
  const pts = points.filter((p) => usable(p, ref));
  if (pts.length === 0) return 0;
  if (m === 1) return Math.max(...pts.map((p) => p[0])) - ref[0];
  if (m === 2) return hv2(pts, ref[0], ref[1]);
  if (m === 3) return hv3(pts, ref);
  throw new RangeError(`exact hypervolume is implemented for 1 to 3 objectives, got ${m}`);
}

function hv2(pts: Vector[], r0: number, r1: number): number {
  const sorted = [...pts].sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  let cur = r1;
  let hv = 0;
  for (const p of sorted) {
    if (p[1] > cur) {
      hv += (p[0] - r0) * (p[1] - cur);
      cur = p[1];
    }
  }
  return hv;
}

function hv3(pts: Vector[], ref: Vector): number {
  const [r0, r1, r2] = [ref[0], ref[1], ref[2]];
  const sorted = [...pts].sort((a, b) => b[2] - a[2] || b[0] - a[0] || b[1] - a[1]);
  // Staircase: xs ascending, ys strictly descending (mutually non-dominated in the first two objectives).
  const xs: number[] = [];
  const ys: number[] = [];
  let area = 0;
  let volume = 0;
  // Area term of stair point j: (x_j - x_{j-1}) * (y_j - r1), with x_{-1} = r0.
  const term = (j: number) => (xs[j] - (j > 0 ? xs[j - 1] : r0)) * (ys[j] - r1);
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i];
    const px = p[0];
    const py = p[1];
    // First stair index with x >= px.
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (xs[mid] < px) lo = mid + 1;
      else hi = mid;
    }
    const at = lo;
    if (!(at < xs.length && ys[at] >= py)) {
      // Not dominated: remove the stair points p dominates (x <= px, y <= py), a contiguous run ending at `at` (or at-1).
      let end = at; // exclusive
      if (at < xs.length && xs[at] === px) end = at + 1; // same x, lower y
      let start = at;
      while (start > 0 && ys[start - 1] <= py) start--;
      let old = 0;
      for (let j = start; j < end; j++) old += term(j);
      if (end < xs.length) old += term(end);
      xs.splice(start, end - start, px);
      ys.splice(start, end - start, py);
      let now = term(start);
      if (start + 1 < xs.length) now += term(start + 1);
      area += now - old;
    }
    const nextZ = i + 1 < sorted.length ? sorted[i + 1][2] : r2;
    volume += area * (p[2] - nextZ);
  }
  return volume;
}

/**
 * Hypervolume of a brute-force grid decomposition, for tests: exact for any number of
 * objectives, O(n^(m+1)); use on small sets only.
 */
export function hypervolumeBruteForce(points: readonly Vector[], ref: Vector): number {
  const m = ref.length;
  const pts = points.filter((p) => usable(p, ref));
  if (pts.length === 0) return 0;
  const coords = Array.from({ length: m }, (_, i) => [...new Set([ref[i], ...pts.map((p) => p[i])])].sort((a, b) => a - b));
  let total = 0;
  const idx = new Array<number>(m).fill(0);
  const rec = (d: number) => {
    if (d === m) {
      // Cell [c_idx, c_idx+1] in every dimension: covered when some point reaches its upper corner.
      let vol = 1;
      for (let i = 0; i < m; i++) vol *= coords[i][idx[i] + 1] - coords[i][idx[i]];
      if (vol === 0) return;
      if (pts.some((p) => idx.every((k, i) => p[i] >= coords[i][k + 1]))) total += vol;
      return;
    }
    for (let k = 0; k + 1 < coords[d].length; k++) {
      idx[d] = k;
      rec(d + 1);
    }
  };
  rec(0);
  return total;
}
