import type { Scheduler } from "./scheduler.js";
import type { Store, TrialStatus } from "./store.js";

const ENDED: readonly TrialStatus[] = ["finished", "failed", "pruned", "paused"];

/**
 * Worker mode: the other workers' reports, read from the store and told to this process's
 * scheduler, so that a stopping scheduler (ASHA's rungs, the median rule, lc_stop's curves)
 * decides from every worker's trials, not only its own. The trials this process runs are told
 * directly by the loop and skipped here.
 *
 * Each read covers trials from `from` up (every trial below it has ended and was fed), minus the
 * ended ones already fed above it, so one read costs what is running or recently ended, not the
 * whole history (Optuna's pruners re-read every trial).
 */
export class SchedulerFeed {
  private from = 0;
  private readonly closed = new Set<number>();
  /** Highest step fed per trial. */
  private readonly fedStep = new Map<number, number>();
  private readonly local = new Set<number>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: Store & Required<Pick<Store, "getProgress">>,
    private readonly experimentId: number,
    private readonly scheduler: Scheduler,
  ) {}

  /** A trial this process runs: its reports reach the scheduler directly. */
  markLocal(number: number): void {
    this.local.add(number);
  }

  /** Reads and feeds what is new; a call while one is under way waits for that one. */
  sync(): Promise<void> {
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  private async read(): Promise<void> {
    const rows = await this.store.getProgress(this.experimentId, this.from, [...this.closed]);
    for (const { trial, values } of rows) {
      const ended = ENDED.includes(trial.status);
      if (!this.local.has(trial.number)) {
        const fed = this.fedStep.get(trial.number) ?? -Infinity;
        for (const v of values) {
          if (v.step <= fed) continue;
          this.scheduler.onReport({ number: trial.number, point: trial.point }, v.step, v.metrics); // its decision was the other worker's
          this.fedStep.set(trial.number, v.step);
        }
        if (ended) this.scheduler.onEnd?.({ number: trial.number, status: trial.status, metrics: trial.metrics });
      }
      if (ended) {
        this.closed.add(trial.number);
        this.fedStep.delete(trial.number);
      }
    }
    while (this.closed.delete(this.from)) this.from++;
  }
}
