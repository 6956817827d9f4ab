import type { Objectives } from "../objectives.js";
import type { TrialRecord } from "../store.js";
import type { BestTrial, ExperimentSummary, Progress } from "./options.js";

/** The running counts of an experiment as this process sees them: done, failed, cost, best. */
export class Tally {
  done = 0;
  failed = 0;
  costSeconds = 0;
  best?: BestTrial;
  readonly startedAt = Date.now();

  constructor(
    private readonly objectives: Objectives,
    private readonly budget: number,
  ) {}

  /** A trial that ended (or paused) joins the counts. */
  account(t: TrialRecord): void {
    this.done++;
    if (t.status === "failed") this.failed++;
    this.costSeconds += t.costSeconds ?? 0;
    if (t.status === "finished" && t.metrics) {
      const score = this.objectives.score(t.metrics);
      if (!this.best || score > this.best.score) {
        this.best = { number: t.number, point: t.point, arch: t.arch, hp: t.hp, metrics: t.metrics, hidden: t.hidden ?? {}, score };
      }
    }
  }

  /** Takes a paused trial out of the counts before it runs again (promoted) or ends for good. */
  unaccount(t: TrialRecord): void {
    this.done--;
    this.costSeconds -= t.costSeconds ?? 0;
  }

  /** Counts from scratch over these trials (the experiment's, every worker's). */
  recount(trials: readonly TrialRecord[], counts: (t: TrialRecord) => boolean): void {
    this.done = this.failed = this.costSeconds = 0;
    this.best = undefined;
    for (const t of trials) if (counts(t)) this.account(t);
  }

  progress(): Progress {
    return { done: this.done, budget: this.budget, failed: this.failed, best: this.best, elapsedMs: Date.now() - this.startedAt, costSeconds: this.costSeconds };
  }

  summary(experiment: string, complete: boolean): ExperimentSummary {
    return { experiment, trials: this.done, failed: this.failed, best: this.best, costSeconds: this.costSeconds, elapsedMs: Date.now() - this.startedAt, complete };
  }
}
