import type { Json } from "../../core/json.js";
import type { Rng } from "../../core/rng.js";
import type { Keyed, Taken } from "./fresh.js";

/** The points of the best `k` observations with a finite score, best first (ties: the earlier). */
export function bestPoints(observations: readonly { point: Json; score: number }[], k: number): Json[] {
  return observations
    .map((o, i) => ({ o, i }))
    .filter((e) => Number.isFinite(e.o.score))
    .sort((a, b) => b.o.score - a.o.score || a.i - b.i)
    .slice(0, k)
    .map((e) => e.o.point);
}

export interface PoolOptions {
  /** Candidates made (fewer come back: repeats and taken points are dropped). */
  total: number;
  /** Parents: the best this many observed points. */
  topK: number;
  /** A mutated candidate applies 1 to this many mutations to its parent. */
  mutationSteps: number;
  /** Share of the candidates that are random samples (all of them while no observation has a finite score). */
  randomFraction: number;
  /** How a mutated candidate's parent is chosen: the parents in turn, or one at random each time. */
  parent: "cycle" | "random";
}

/**
 * The candidates a model-based strategy scores in one ask: mutations of the best observed
 * points, then random samples; distinct, and none taken (tried, pending or in this batch).
 * Needs a space with `mutate` when some observation has a finite score.
 */
export function candidatePool(taken: Taken, rng: Rng, observations: readonly { point: Json; score: number }[], o: PoolOptions): Keyed[] {
  const space = taken.space;
  const top = bestPoints(observations, o.topK);
  const randoms = top.length === 0 ? o.total : Math.round(o.total * o.randomFraction);
  const out: Keyed[] = [];
  const keys = new Set<string>();
  for (let i = 0; i < o.total; i++) {
    let point: Json;
    if (i < o.total - randoms) {
      point = o.parent === "cycle" ? top[i % top.length] : rng.choice(top);
      const steps = 1 + rng.int(o.mutationSteps);
      for (let s = 0; s < steps; s++) point = space.mutate!(point, rng);
    } else {
      point = space.sample(rng);
    }
    const key = taken.key(point);
    if (keys.has(key) || taken.has(point, key)) continue;
    keys.add(key);
    out.push({ point, key });
  }
  return out;
}
