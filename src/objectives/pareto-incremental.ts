/**
 * The non-dominated set of 2-D points (both coordinates larger-is-better), kept as points arrive:
 * the front is stored sorted by x ascending (so y descending); an insertion is a binary search
 * plus the removal of the run of points it dominates, O(log n + removed) comparisons, so a whole
 * history costs O(n log n) rather than a quadratic pass. Used by the dashboard's Pareto view.
 */
export class ParetoFront2D<T> {
  private readonly xs: number[] = [];
  private readonly ys: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.xs.length;
  }

  /** Adds a point; true when it is on the front now (it was not dominated by, nor equal to, a point already there). */
  add(x: number, y: number, item: T): boolean {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
    // first index with xs[i] >= x
    let lo = 0;
    let hi = this.xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.xs[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    // a point with x' >= x and y' >= y dominates (or equals) it; the best y among x' >= x is at lo
    if (lo < this.xs.length && this.ys[lo] >= y) return false;
    // dominated by the new point: the one at lo if its x is equal (its y is lower, checked above),
    // and the run of points left of lo with y' <= y
    const to = lo < this.xs.length && this.xs[lo] === x ? lo + 1 : lo;
    let from = lo;
    while (from > 0 && this.ys[from - 1] <= y) from--;
    this.xs.splice(from, to - from, x);
    this.ys.splice(from, to - from, y);
    this.items.splice(from, to - from, item);
    return true;
  }

  /** The front, x ascending. */
  points(): { x: number; y: number; item: T }[] {
    return this.xs.map((x, i) => ({ x, y: this.ys[i], item: this.items[i] }));
  }

  /** Area dominated by the front and bounded below by the reference point (both larger-is-better). */
  hypervolume(refX: number, refY: number): number {
    let area = 0;
    let prevX = refX;
    // x ascending, y descending: each point adds the slab between the previous x and its own
    for (let i = 0; i < this.xs.length; i++) {
      const x = this.xs[i];
      const y = this.ys[i];
      if (x <= refX || y <= refY) continue;
      area += (x - Math.max(prevX, refX)) * (y - refY);
      prevX = x;
    }
    return area;
  }
}
