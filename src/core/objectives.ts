import type { Metrics } from "./evaluator.js";

export type Direction = "max" | "min";

/** A named metric to optimise. Cheap objectives can be computed before expensive ones. */
export interface Objective {
  metric: string;
  direction: Direction;
  cheap?: boolean;
}

/** A bound on any metric; a trial outside the bounds is infeasible. */
export interface Constraint {
  metric: string;
  min?: number;
  max?: number;
}

/**
 * The objectives and constraints of an experiment. Single-objective strategies use `score`,
 * a number where larger is better and infeasible or failed results are -Infinity;
 * multi-objective strategies read the metrics and use `orient` per objective.
 */
export class Objectives {
  readonly list: readonly Objective[];
  readonly constraints: readonly Constraint[];

  constructor(list: readonly Objective[], constraints: readonly Constraint[] = []) {
    if (list.length === 0) throw new Error("at least one objective is needed");
    this.list = list;
    this.constraints = constraints;
  }

  get primary(): Objective {
    return this.list[0];
  }

  /** Value of objective i turned so that larger is better. */
  orient(metrics: Metrics, i = 0): number {
    const o = this.list[i];
    const v = metrics[o.metric];
    if (typeof v !== "number" || Number.isNaN(v)) return -Infinity;
    return o.direction === "max" ? v : -v;
  }

  /** Total amount by which the constraints are violated (0 when feasible). */
  violation(metrics: Metrics): number {
    let total = 0;
    for (const c of this.constraints) {
      const v = metrics[c.metric];
      if (typeof v !== "number" || Number.isNaN(v)) return Infinity;
      if (c.min !== undefined && v < c.min) total += c.min - v;
      if (c.max !== undefined && v > c.max) total += v - c.max;
    }
    return total;
  }

  /**
   * The constraints these (possibly partial) metrics break, described ("latency_ms_pixel3 = 12.1 > 10");
   * constraints on metrics not among them are not judged.
   */
  broken(metrics: Metrics): string[] {
    const out: string[] = [];
    for (const c of this.constraints) {
      const v = metrics[c.metric];
      if (typeof v !== "number" || Number.isNaN(v)) continue;
      if (c.min !== undefined && v < c.min) out.push(`${c.metric} = ${v} < ${c.min}`);
      if (c.max !== undefined && v > c.max) out.push(`${c.metric} = ${v} > ${c.max}`);
    }
    return out;
  }

  feasible(metrics: Metrics): boolean {
    return this.violation(metrics) === 0;
  }

  /** Primary objective, larger is better; -Infinity when infeasible or missing. */
  score(metrics: Metrics): number {
    return this.feasible(metrics) ? this.orient(metrics, 0) : -Infinity;
  }

  /** True when a is strictly better than b on the primary objective. */
  better(a: Metrics, b: Metrics): boolean {
    return this.score(a) > this.score(b);
  }

  metricsNeeded(): string[] {
    return [...new Set([...this.list.map((o) => o.metric), ...this.constraints.map((c) => c.metric)])];
  }
}
