/**
 * Shared pieces of the multi-objective strategies: objective vectors (larger is better) from
 * metrics, constraint violation of an outcome, preference weights, the cheap-constraint filter,
 * and ranking of a set of members (constrained non-dominated rank, then crowding distance or,
 * with a preference vector, closeness to that trade-off).
 */
import { z } from "zod";
import type { Json } from "../core/json.js";
import type { Metrics } from "../core/evaluator.js";
import type { Objectives } from "../core/objectives.js";
import type { AskContext, StrategyContext, TrialOutcome } from "../core/strategy.js";
import { UserError } from "../core/errors.js";
import { constrainedRanks, crowdingDistance } from "../objectives/pareto.js";
import { Taken } from "./kit/fresh.js";
import { point, positiveInfinity, score } from "./kit/state.js";

export const weightsOption = z
  .array(z.number().min(0))
  .min(1)
  .optional()
  .describe(
    "preference vector, one non-negative weight per objective (normalised to sum 1): search towards that trade-off " +
      "(augmented Chebyshev distance of normalised objectives) instead of spreading over the whole Pareto front",
  );

/** A told trial as the multi-objective strategies keep it (and save it in their states). */
export const moMember = z.object({
  point,
  /** Objectives oriented so that larger is better; -Infinity for a failed or pruned trial. */
  vec: z.array(score),
  /** Total constraint violation; Infinity for failed or pruned trials. */
  violation: positiveInfinity,
});
export type MoMember = z.infer<typeof moMember>;

export function objectiveVector(objectives: Objectives, metrics: Metrics): number[] {
  return objectives.list.map((_, i) => objectives.orient(metrics, i));
}

export function memberOf(objectives: Objectives, outcome: TrialOutcome): MoMember {
  const ok = outcome.status === "finished";
  const vec = ok ? objectiveVector(objectives, outcome.metrics) : objectives.list.map(() => -Infinity);
  const violation = ok ? objectives.violation(outcome.metrics) : Infinity;
  return { point: outcome.point, vec, violation };
}

/** Checks and normalises a preference vector against the number of objectives. */
export function normaliseWeights(weights: readonly number[] | undefined, objectives: Objectives, strategy: string): number[] | undefined {
  if (!weights) return undefined;
  const m = objectives.list.length;
  if (weights.length !== m) {
    throw new UserError(`${strategy} weights has ${weights.length} values but the experiment has ${m} objectives (${objectives.list.map((o) => o.metric).join(", ")})`);
  }
  const s = weights.reduce((a, b) => a + b, 0);
  if (!(s > 0)) throw new UserError(`${strategy} weights must not all be 0`);
  return weights.map((w) => w / s);
}

/** Per-objective min and max over the finite values of feasible members (all members when none is feasible). */
export function bounds(members: readonly MoMember[], m: number): { lo: number[]; hi: number[] } {
  const lo = new Array<number>(m).fill(Infinity);
  const hi = new Array<number>(m).fill(-Infinity);
  const use = members.some((x) => x.violation === 0) ? members.filter((x) => x.violation === 0) : members;
  for (const x of use) {
    for (let i = 0; i < m; i++) {
      const v = x.vec[i];
      if (!Number.isFinite(v)) continue;
      if (v < lo[i]) lo[i] = v;
      if (v > hi[i]) hi[i] = v;
    }
  }
  return { lo, hi };
}

/**
 * Augmented Chebyshev distance to the ideal point in normalised objectives (0 = best in every
 * objective): max_i w_i (1 - f_i) + rho * sum_i w_i (1 - f_i), f_i = (v_i - lo_i) / (hi_i - lo_i).
 * Smaller is better; Infinity when an objective is missing.
 */
export function chebyshev(vec: readonly number[], weights: readonly number[], lo: readonly number[], hi: readonly number[], rho = 0.05): number {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < vec.length; i++) {
    if (!Number.isFinite(vec[i])) return Infinity;
    const range = hi[i] - lo[i];
    const f = range > 0 ? (vec[i] - lo[i]) / range : 1;
    const gap = weights[i] * (1 - f);
    if (gap > max) max = gap;
    sum += gap;
  }
  return max + rho * sum;
}

/**
 * Rank (constrained non-dominated front) and secondary key (larger is better: crowding distance,
 * or minus the Chebyshev distance to the preference when `weights` is set) of every member.
 */
export function rankMembers(members: readonly MoMember[], weights?: readonly number[]): { rank: Int32Array; key: Float64Array } {
  const n = members.length;
  const rank = constrainedRanks(
    members.map((x) => x.vec),
    members.map((x) => x.violation),
  );
  const key = new Float64Array(n);
  if (n === 0) return { rank, key };
  const m = members[0].vec.length;
  if (weights) {
    const { lo, hi } = bounds(members, m);
    members.forEach((x, i) => (key[i] = x.violation === 0 ? -chebyshev(x.vec, weights, lo, hi) : -x.violation));
    return { rank, key };
  }
  const byRank = new Map<number, number[]>();
  rank.forEach((r, i) => {
    const list = byRank.get(r);
    if (list) list.push(i);
    else byRank.set(r, [i]);
  });
  for (const idx of byRank.values()) {
    if (members[idx[0]].violation !== 0) continue; // infeasible ranks are ordered by violation alone
    const d = crowdingDistance(
      members.map((x) => x.vec),
      idx,
    );
    idx.forEach((i, j) => (key[i] = d[j]));
  }
  return { rank, key };
}

/** True when member i beats member j (lower rank, then larger key; ties: the earlier index). */
export function beats(rank: Int32Array, key: Float64Array, i: number, j: number): boolean {
  if (rank[i] !== rank[j]) return rank[i] < rank[j];
  if (key[i] !== key[j]) return key[i] > key[j];
  return i < j;
}

/**
 * A candidate maker with de-duplication and the cheap-constraint filter: `make` is called up to
 * `tries + 1` times until a point is neither tried, pending, in this batch, nor known infeasible
 * from cheap metrics. Falls back to the last point that passes the cheap filter (or the last made).
 */
export class Fresh {
  private readonly taken: Taken;

  constructor(
    private readonly sctx: StrategyContext,
    actx: AskContext,
    private readonly tries: number,
  ) {
    this.taken = new Taken(sctx.space, actx);
  }

  /** Violation of constraints on metrics known before evaluation (0 when none is known). */
  cheapViolation(point: Json): number {
    const lookup = this.sctx.cheapMetrics;
    if (!lookup || this.sctx.objectives.constraints.length === 0) return 0;
    const known = lookup(point);
    if (!known) return 0;
    return cheapConstraintViolation(this.sctx.objectives, known);
  }

  /** Takes `point` into the batch when it is new and not known infeasible; false (nothing recorded) otherwise. */
  tryAccept(point: Json): boolean {
    const key = this.taken.key(point);
    if (this.taken.has(point, key) || this.cheapViolation(point) > 0) return false;
    this.taken.add(point, key);
    return true;
  }

  next(make: () => Json): Json {
    let fallback: Json | undefined;
    let last: Json = make();
    for (let i = 0; ; i++) {
      const dup = this.taken.has(last);
      const cheapOk = this.cheapViolation(last) === 0;
      if (cheapOk && fallback === undefined) fallback = last;
      if (!dup && cheapOk) break;
      if (i >= this.tries) {
        last = fallback ?? last;
        break;
      }
      last = make();
    }
    this.taken.add(last);
    return last;
  }
}

/** Violation of the constraints whose metric is in `known` (others are not judged). */
export function cheapConstraintViolation(objectives: Objectives, known: Metrics): number {
  let total = 0;
  for (const c of objectives.constraints) {
    const v = known[c.metric];
    if (typeof v !== "number" || Number.isNaN(v)) continue;
    if (c.min !== undefined && v < c.min) total += c.min - v;
    if (c.max !== undefined && v > c.max) total += v - c.max;
  }
  return total;
}
