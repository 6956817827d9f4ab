import { expPath, getJson } from "./api.js";
import type { PointRow } from "./types.js";

/**
 * An experiment's trials as compact rows, kept in the page and updated incrementally: each
 * update asks only for the rows changed since the last watermark.
 */
export class Points {
  readonly rows = new Map<number, PointRow>();
  columns: string[] = [];
  seq = 0;

  constructor(readonly name: string) {}

  async update(): Promise<boolean> {
    const r = await getJson<{ seq: number; columns: string[]; rows: PointRow[] }>(`${expPath(this.name)}/points?since=${this.seq}`);
    this.columns = r.columns;
    for (const row of r.rows) this.rows.set(row[0], row);
    const changed = r.rows.length > 0 || r.seq !== this.seq;
    this.seq = r.seq;
    return changed;
  }

  /** Rows in trial-number order. */
  sorted(): PointRow[] {
    return [...this.rows.values()].sort((a, b) => a[0] - b[0]);
  }
}

const cache = new Map<string, Points>();
/** One Points per experiment for the page's lifetime (views share it). */
export function pointsOf(name: string): Points {
  let p = cache.get(name);
  if (!p) cache.set(name, (p = new Points(name)));
  return p;
}
