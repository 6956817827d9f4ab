import type { Json } from "../json.js";
import { pointHash, splitPoint } from "../space.js";
import type { Store, TrialRecord } from "../store.js";
import { TERMINAL_STATUSES } from "../store.js";
import type { SearchDriver } from "../search-driver.js";
import { decodeDriverState, toldSet } from "../search-state.js";
import { TrialWindow } from "../trial-window.js";
import type { ExperimentOptions } from "./options.js";
import type { TrialRunner } from "./trial-run.js";

/** What one driver step did: jobs handed out, whether the strategy ran dry, or that another driver moved on (nothing written). */
export interface StepResult {
  handed: number;
  exhausted: boolean;
  stale: boolean;
}

/** How many jobs a driver step should hand out, given the experiment's trials. */
export type Demand = (trials: readonly TrialRecord[]) => Promise<number>;

const ended = (t: TrialRecord) => t.status === "paused" || TERMINAL_STATUSES.includes(t.status);

/**
 * Worker mode's driver steps, run under the experiment's driver lease: restore the latest
 * stored search state into the driver, let it hear what ended since, hand out new jobs, and write
 * them with the new state in one transaction. The experiment's trials are read incrementally.
 */
export class DriverSteps {
  private readonly window: TrialWindow;

  constructor(
    private readonly o: ExperimentOptions,
    private readonly experimentId: number,
    private readonly driver: SearchDriver,
    private readonly runner: TrialRunner,
    /** Stopping schedulers in worker mode learn from the store's reports (the feed): a stored snapshot must not undo that. */
    private readonly schedulerFromFeed: boolean,
  ) {
    this.window = new TrialWindow(o.store, experimentId);
  }

  /** One driver step of the experiment's kind (promotion schedulers decide the jobs; otherwise only new trials are added). */
  step(want: Demand): Promise<StepResult> {
    return this.driver.promoting ? this.promotion(want) : this.plain(want);
  }

  /**
   * Restore the latest state, tell the strategy every trial that ended since (the state records
   * which were told), ask for as many new trials as `want` says and store them with the new state.
   */
  private async plain(want: Demand): Promise<StepResult> {
    const { o, driver } = this;
    const store = o.store;
    const stored = await store.loadVersionedState(this.experimentId);
    const saved = decodeDriverState(stored?.state);
    const trials = await this.window.read();
    await driver.restore(saved, { scheduler: !this.schedulerFromFeed, trials: () => store.getTrials(this.experimentId) });
    const told = toldSet(trials);
    driver.tellUntold(trials, told);
    const seen = new Set(trials.map((t) => t.archHash));
    const n = Math.min(await want(trials), o.budget.trials - trials.length);
    const pending = trials.filter((t) => !TERMINAL_STATUSES.includes(t.status)).map((t) => t.point);
    const points = await driver.newPoints(n, (hash) => seen.has(hash), pending);
    const state = driver.write();
    const added = await store.addTrials(
      this.experimentId,
      points.map((point) => ({ point, ...splitPoint(o.space, point), archHash: pointHash(o.space, point) })),
      state,
      trials.length, // adds nothing if another driver added trials meanwhile (this one lost its lease)
      stored?.version ?? 0, // nor if another driver wrote a state (told trials) meanwhile
    );
    return { handed: added.length, exhausted: n > 0 && points.length === 0, stale: false };
  }

  /**
   * A promotion scheduler's driver step. Its state is the store's: restore it, let it hear every
   * run that ended since (its reports since the run's start, then its end, as the worker's copy
   * heard them), tell the strategy, then ask the scheduler what each free slot runs (`want`): a
   * paused trial continued, a new trial (the strategy picks it; the scheduler places it at once,
   * under the number it will get), or a paused trial ended for good (no slot needed); until it
   * says wait. All of it is written at once, fenced by the state's version.
   */
  private async promotion(want: Demand): Promise<StepResult> {
    const { o, driver } = this;
    const store: Store = o.store;
    const scheduler = driver.scheduler;
    const stored = await store.loadVersionedState(this.experimentId);
    const saved = decodeDriverState(stored?.state);
    const trials = await this.window.read();
    await driver.restore(saved, { scheduler: true, trials: () => store.getTrials(this.experimentId) });
    const told = toldSet(trials);
    const replayed = await driver.hearEndedRuns(trials, told);

    const slots = await want(trials);
    const byNumber = new Map(trials.map((t) => [t.number, t]));
    const seen = new Set(trials.map((t) => t.archHash));
    const added: Json[] = [];
    const resume: number[] = [];
    const end: number[] = [];
    let exhausted = false;
    for (let handed = 0; handed < slots; ) {
      const canStartNew = trials.length + added.length < o.budget.trials && !exhausted;
      const job = driver.next(canStartNew);
      if (job.kind === "wait") break;
      if (job.kind === "resume" || job.kind === "stop") {
        const t = byNumber.get(job.trial);
        if (t?.status !== "paused") throw new Error(`scheduler "${scheduler.name}" asked to ${job.kind} trial ${job.trial}, which is not paused`);
        if (job.kind === "stop") {
          end.push(t.number);
          driver.tellRun({ ...t, status: "pruned" }, t.fidelity ?? undefined);
          driver.markHeard(t.number);
          told.add(t.number);
          continue; // no slot needed
        }
        resume.push(t.number);
        handed++;
        continue;
      }
      if (!canStartNew) break; // a scheduler that wants a new trial when none may start: nothing to hand out
      const [point] = await driver.newPoints(1, (hash) => seen.has(hash), [...trials.filter((t) => !ended(t)).map((t) => t.point), ...added]);
      if (point === undefined) {
        exhausted = true; // the strategy has nothing more: only continuations from now on
        continue;
      }
      seen.add(pointHash(o.space, point));
      // Placed now, under the number it will get, so that the scheduler's next answer counts it.
      scheduler.onStart({ number: trials.length + added.length, point });
      added.push(point);
      handed++;
    }
    const handed = added.length + resume.length + end.length;
    // Nothing heard, nothing handed out: the stored state and the trials still say all of it (a
    // worker waiting on a synchronous stage asks often; it need not rewrite the state each time).
    if (saved && replayed === 0 && handed === 0) return { handed: 0, exhausted, stale: false };
    const written = await store.commitDriverStep!(this.experimentId, {
      add: added.map((point) => ({ point, ...splitPoint(o.space, point), archHash: pointHash(o.space, point) })),
      resume,
      end,
      state: driver.write(),
      stateVersion: stored?.version ?? 0,
    });
    if (!written) return { handed: 0, exhausted, stale: true };
    for (const n of end) this.runner.dropCheckpoint(n);
    return { handed, exhausted, stale: false };
  }
}
