import type { Json } from "../../core/json.js";

/** How a model-based strategy trains on failed or infeasible trials (score -Infinity). */
export type FailedAs = "worst" | "drop";

/**
 * The training data of a model-based strategy from its observations, in their order: a failed
 * or infeasible one (score -Infinity) counts as the worst finite score observed (`worst`: the
 * model learns to avoid its region) or is left out (`drop`). Empty while no score is finite.
 */
export function trainingSet(observations: readonly { point: Json; score: number }[], failed: FailedAs): { point: Json; value: number }[] {
  const finite = observations.filter((o) => Number.isFinite(o.score));
  if (finite.length === 0) return [];
  const worst = Math.min(...finite.map((o) => o.score));
  return (failed === "drop" ? finite : observations).map((o) => ({ point: o.point, value: Number.isFinite(o.score) ? o.score : worst }));
}
