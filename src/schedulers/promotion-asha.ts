import type { Metrics } from "../core/evaluator.js";
import type { Json } from "../core/json.js";
import type { Objective } from "../core/objectives.js";
import type { Decision, Fidelity, NextJob, Scheduler, StartingTrial } from "../core/scheduler.js";
import { oriented } from "./common.js";
import { jsonNumber } from "../core/state-codec.js";
import { rankOrder } from "./rank.js";

/**
 * ASHA, promotion variant (Li et al. 2020): every new trial runs to the first rung and pauses
 * there. Whenever a slot is free, the highest rung with a paused trial in its top 1/eta (of
 * everything recorded there so far) that was not promoted yet sends that trial one rung up;
 * otherwise a new trial starts. No rung ever waits for another, so workers never idle.
 */
export class PromotionAsha implements Scheduler {
  readonly name: string = "asha";
  /** Per rung: [trial, oriented objective vector] of the trials that paused there. */
  private records: [number, number[]][][];
  /** Per rung: trials promoted from it. */
  private promotedFrom: Set<number>[];
  /** Per trial: index of the level it runs to now (rungs.length = the maximum). */
  private level = new Map<number, number>();
  /** Promoted trials whose run has not ended. */
  private running = new Set<number>();
  /** Trials whose run ended paused (recorded at a rung is not enough: the run may still be ending). */
  private pausedNow = new Set<number>();

  constructor(
    readonly rungs: readonly number[],
    private readonly max: number,
    private readonly resource: string,
    private readonly eta: number,
    private readonly objectives: readonly Objective[],
  ) {
    this.records = rungs.map(() => []);
    this.promotedFrom = rungs.map(() => new Set());
  }

  private grant(k: number): Fidelity {
    return { [this.resource]: k < this.rungs.length ? this.rungs[k] : this.max };
  }

  next(opts: { canStartNew: boolean }): NextJob {
    for (let k = this.rungs.length - 1; k >= 0; k--) {
      const rec = this.records[k];
      const quota = Math.floor(rec.length / this.eta);
      if (quota === 0) continue;
      const order = rankOrder(rec.map(([, v]) => v));
      for (const i of order.slice(0, quota)) {
        const t = rec[i][0];
        if (this.promotedFrom[k].has(t) || !this.pausedNow.has(t) || !Number.isFinite(rec[i][1][0])) continue;
        this.promotedFrom[k].add(t);
        this.pausedNow.delete(t);
        this.level.set(t, k + 1);
        this.running.add(t);
        return { kind: "resume", trial: t };
      }
    }
    return opts.canStartNew ? { kind: "new" } : { kind: "wait" };
  }

  onStart(trial: StartingTrial): Fidelity {
    if (!this.level.has(trial.number)) this.level.set(trial.number, 0);
    return this.grant(this.level.get(trial.number)!);
  }

  resumeFrom(trial: number): Fidelity | undefined {
    const k = this.level.get(trial) ?? 0;
    return k > 0 ? this.grant(k - 1) : undefined;
  }

  promoted(): number[] {
    return [...this.running];
  }

  onReport(trial: { number: number }, step: number, metrics: Metrics): Decision {
    const k = this.level.get(trial.number) ?? 0;
    if (k >= this.rungs.length || step < this.rungs[k]) return "continue";
    this.records[k].push([trial.number, this.objectives.map((o) => oriented(metrics, o))]);
    return "pause";
  }

  onEnd(trial: { number: number; status: string; metrics?: Metrics | null }): void {
    this.running.delete(trial.number);
    if (trial.status === "paused") this.pausedNow.add(trial.number);
    else this.level.delete(trial.number);
  }

  /** Trials recorded at rung k, oldest first (for tests). */
  recorded(k: number): number[] {
    return this.records[k].map(([t]) => t);
  }

  state(): Json {
    return {
      records: this.records.map((rec) => rec.map(([t, v]) => [t, v.map(jsonNumber)])),
      promotedFrom: this.promotedFrom.map((s) => [...s]),
      level: [...this.level],
      running: [...this.running],
      paused: [...this.pausedNow],
    };
  }

  restore(state: Json): void {
    const s = state as { records: [number, (number | null)[]][][]; promotedFrom: number[][]; level: [number, number][]; running: number[]; paused: number[] };
    this.records = s.records.map((rec) => rec.map(([t, v]) => [t, v.map((x) => x ?? -Infinity)] as [number, number[]]));
    this.promotedFrom = s.promotedFrom.map((a) => new Set(a));
    this.level = new Map(s.level);
    this.running = new Set(s.running);
    this.pausedNow = new Set(s.paused);
  }
}
