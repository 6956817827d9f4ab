import type { Cell } from "./columns.js";
import type { ExperimentCache } from "./experiment-cache.js";

/** Numeric decisions with more distinct values than this are binned into quantiles. */
const MAX_LEVELS = 12;
const BINS = 5;

export interface Importance {
  metric: string;
  trials: number;
  /** Per decision: the share of the metric's variance its values explain (one-way, eta squared), largest first. */
  decisions: { column: string; share: number; levels: { value: string; mean: number; count: number }[] }[];
}

/**
 * What the search learned, cheaply: for each decision (architecture choice or hyperparameter),
 * the share of the primary objective's variance over the finished trials explained by that
 * decision alone (eta squared of a one-way analysis of variance), with the mean per value. It
 * ignores interactions (fANOVA would not); it is read from the cache, no store access.
 */
export function importance(c: ExperimentCache): Importance {
  const metric = c.objectives.primary.metric;
  const rows: { cols: Record<string, Cell>; y: number }[] = [];
  for (const t of c.trials.values()) {
    const y = t.rec.metrics?.[metric];
    if (t.rec.status === "finished" && typeof y === "number" && Number.isFinite(y)) rows.push({ cols: t.cols, y });
  }
  const decisions: Importance["decisions"] = [];
  if (rows.length >= 2) {
    const mean = rows.reduce((a, r) => a + r.y, 0) / rows.length;
    const total = rows.reduce((a, r) => a + (r.y - mean) ** 2, 0);
    for (const [column, info] of c.columns) {
      if (!column.startsWith("arch.") && !column.startsWith("hp.")) continue;
      const label = levelOf(rows.map((r) => r.cols[column]), info.numeric);
      const groups = new Map<string, { sum: number; count: number }>();
      rows.forEach((r, i) => {
        const g = groups.get(label[i]) ?? { sum: 0, count: 0 };
        g.sum += r.y;
        g.count++;
        groups.set(label[i], g);
      });
      if (groups.size < 2) continue;
      let between = 0;
      for (const g of groups.values()) between += g.count * (g.sum / g.count - mean) ** 2;
      decisions.push({
        column,
        share: total > 0 ? between / total : 0,
        levels: [...groups].map(([value, g]) => ({ value, mean: g.sum / g.count, count: g.count })).sort((a, b) => b.mean - a.mean),
      });
    }
  }
  decisions.sort((a, b) => b.share - a.share || (a.column < b.column ? -1 : 1));
  return { metric, trials: rows.length, decisions };
}

/** Each value's group: itself, or its quantile bin for a numeric decision with many values. */
function levelOf(values: Cell[], numeric: boolean): string[] {
  const distinct = new Set(values.map((v) => String(v)));
  if (!numeric || distinct.size <= MAX_LEVELS) return values.map((v) => (v === undefined || v === null ? "(inactive)" : String(v)));
  const nums = values.filter((v): v is number => typeof v === "number").sort((a, b) => a - b);
  const edges = Array.from({ length: BINS - 1 }, (_, i) => nums[Math.floor(((i + 1) * nums.length) / BINS)]);
  const fmt = (x: number) => Number(x.toPrecision(3)).toString();
  return values.map((v) => {
    if (typeof v !== "number") return "(inactive)";
    const b = edges.filter((e) => v >= e).length;
    const lo = b === 0 ? nums[0] : edges[b - 1];
    const hi = b === BINS - 1 ? nums[nums.length - 1] : edges[b];
    return `${fmt(lo)}..${fmt(hi)}`;
  });
}
