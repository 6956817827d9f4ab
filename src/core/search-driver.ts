import type { Json, JsonObject } from "./json.js";
import type { Fidelity, NextJob, Scheduler, StartingTrial } from "./scheduler.js";
import { promotes } from "./scheduler.js";
import type { SearchSpace } from "./space.js";
import { pointHash } from "./space.js";
import type { Strategy } from "./strategy.js";
import type { Objectives } from "./objectives.js";
import type { Metrics } from "./evaluator.js";
import type { IntermediateValue, TrialRecord, TrialStatus } from "./store.js";
import { TERMINAL_STATUSES } from "./store.js";
import type { DriverState, StateWrite } from "./search-state.js";
import { historyOf, outcomeOf, runKey } from "./search-state.js";

export type { DriverState, StateWrite } from "./search-state.js";
export { decodeDriverState, runKey, toldSet } from "./search-state.js";

export interface SearchDriverOptions {
  space: SearchSpace;
  strategy: Strategy;
  scheduler: Scheduler;
  objectives: Objectives;
  /** The evaluator's fidelity resource (epochs), if it has one: where a continued run's reports start. */
  resource?: string;
  /** The experiment has a warm start (its queue is part of the state, served once, resumes included). */
  warmStart: boolean;
  /** What a new search does once before its first ask: the strategy's prepare; returns the warm-start list. */
  prepare(): Promise<Json[]>;
  /** A trial's stored intermediate values (replayed to a promotion scheduler in worker mode). */
  intermediate(trialId: number): Promise<IntermediateValue[]>;
}

/** How a run of a trial ended, as the strategy hears it. */
export interface EndedRun {
  number: number;
  point: Json;
  status: TrialStatus;
  metrics: Metrics | null;
}

/**
 * The one search driver: the strategy, the scheduler, the warm-start queue and the search state
 * they make together. Every way of running (the local loop over any backend, worker driver
 * steps) asks, tells and dispatches through it, so none of them talks to the strategy or the
 * scheduler's job queue by itself.
 */
export class SearchDriver {
  /** Warm-start points not served yet; part of the search state, so a resume never serves one twice. */
  private warmQueue: Json[] = [];
  private prepared = false;
  /** Trials told since the last state write, in order; trials whose run was heard since. */
  private toldMarks: number[] = [];
  private heardMarks = new Set<number>();
  readonly promoting: boolean;

  constructor(private readonly o: SearchDriverOptions) {
    this.promoting = promotes(o.scheduler);
  }

  get strategy(): Strategy {
    return this.o.strategy;
  }

  get scheduler(): Scheduler {
    return this.o.scheduler;
  }

  /** The state to store with the trials it concerns. */
  state(): Json {
    const state: JsonObject = { strategy: this.o.strategy.state(), scheduler: this.o.scheduler.state?.() ?? null };
    if (this.o.warmStart) state.warm = this.warmQueue;
    return state;
  }

  /** The state with the trials told and the runs heard since the last write (which it then forgets). */
  write(): StateWrite {
    const out: StateWrite = { state: this.state(), told: this.toldMarks, heard: [...this.heardMarks] };
    this.toldMarks = [];
    this.heardMarks = new Set();
    return out;
  }

  /** The scheduler heard a trial's latest run (a local run with a promotion scheduler hears each as it ends). */
  markHeard(number: number): void {
    this.heardMarks.add(number);
  }

  /**
   * Continues from a stored state (the scheduler too unless told not to: workers' stopping
   * schedulers learn from the store's reports instead), or, when none is stored yet, prepares
   * a fresh search once. A strategy that rebuilds from history gets the told ones of `trials`
   * (all of the experiment's, then).
   */
  async restore(saved: DriverState | undefined, opts: { scheduler: boolean; trials?: () => Promise<readonly TrialRecord[]> } = { scheduler: true }): Promise<void> {
    this.toldMarks = [];
    this.heardMarks = new Set();
    if (saved) {
      const { strategy } = this.o;
      if (strategy.rebuildsFromHistory && !opts.trials) throw new Error(`strategy "${strategy.name}" rebuilds from history, but its restore was given no trials`);
      strategy.restore(saved.strategy, strategy.rebuildsFromHistory ? historyOf(await opts.trials!(), this.o.objectives) : undefined);
      if (opts.scheduler && saved.scheduler !== null && saved.scheduler !== undefined) this.o.scheduler.restore?.(saved.scheduler);
      this.warmQueue = saved.warm ?? [];
    } else if (!this.prepared) {
      await this.prepare();
    }
  }

  /** A new search, before its first ask (once). */
  async prepare(): Promise<void> {
    this.warmQueue = await this.o.prepare();
    this.prepared = true;
  }

  /**
   * A run of a trial starts: the scheduler grants its fidelity and, for a continued trial, says
   * where it resumes from. `scheduler` is a worker's own copy for one run, else the driver's.
   */
  startRun(trial: StartingTrial, scheduler: Scheduler = this.o.scheduler): { fidelity: Fidelity; resumeFrom?: Fidelity } {
    const fidelity = scheduler.onStart(trial);
    return { fidelity, resumeFrom: scheduler.resumeFrom?.(trial.number) };
  }

  /** A run of a trial ended (the scheduler may hand a paused one out at once). */
  endRun(trial: { number: number; status: string; metrics: Metrics | null }, scheduler: Scheduler = this.o.scheduler): void {
    scheduler.onEnd?.(trial);
  }

  /** What a free slot runs next: a new trial (when one may start), a paused one continued or ended, or nothing yet. */
  next(canStartNew: boolean): NextJob {
    if (this.promoting) return this.o.scheduler.next!({ canStartNew });
    return canStartNew ? { kind: "new" } : { kind: "wait" };
  }

  /**
   * Up to `n` new points: warm-start points first (skipping those already tried), then the
   * strategy's, which knows the `pending` ones and what was tried (`seen`, by canonical hash).
   */
  async newPoints(n: number, seen: (hash: string) => boolean, pending: readonly Json[]): Promise<Json[]> {
    const space = this.o.space;
    const points: Json[] = [];
    while (points.length < n && this.warmQueue.length > 0) {
      const p = this.warmQueue.shift()!;
      if (!seen(pointHash(space, p))) points.push(p);
    }
    if (points.length < n) points.push(...(await this.o.strategy.ask(n - points.length, { pending: [...pending, ...points], seen: (point) => seen(pointHash(space, point)) })));
    return points.slice(0, Math.max(0, n));
  }

  /**
   * Tells the strategy how a run of a trial ended: its result when it ended for good (a score of
   * -Infinity unless finished), or its result so far when paused (strategies with tellPartial).
   */
  tellRun(t: EndedRun, fidelity: Fidelity | undefined): void {
    const { strategy, objectives } = this.o;
    const metrics = t.metrics ?? {};
    if (t.status === "paused") {
      strategy.tellPartial?.({ number: t.number, point: t.point, metrics, score: objectives.score(metrics), fidelity: fidelity ?? {} });
      return;
    }
    strategy.tell(outcomeOf(t, fidelity, objectives));
    this.toldMarks.push(t.number);
  }

  /** Tells the strategy every ended trial not in `told` (and adds it there). */
  tellUntold(trials: readonly TrialRecord[], told: Set<number>): void {
    for (const t of trials) {
      if (!TERMINAL_STATUSES.includes(t.status) || told.has(t.number)) continue;
      this.tellRun(t, t.fidelity ?? undefined);
      told.add(t.number);
    }
  }

  /**
   * Promotion schedulers: the scheduler and the strategy hear every run that ended (paused,
   * finished, failed) and is not in `runs` yet: its reports since the run's start, then its end,
   * as the copy that ran it heard them. `told` is updated; returns how many runs.
   */
  async hearEndedRuns(trials: readonly TrialRecord[], told: Set<number>): Promise<number> {
    const { scheduler, resource } = this.o;
    let heard = 0;
    for (const t of trials) {
      if (!(t.status === "paused" || TERMINAL_STATUSES.includes(t.status)) || t.heard === runKey(t)) continue;
      heard++;
      const from = scheduler.resumeFrom?.(t.number);
      const start = from && resource ? (from[resource] ?? -Infinity) : -Infinity;
      for (const v of await this.o.intermediate(t.id)) {
        if (v.step <= start) continue;
        if (scheduler.onReport(t, v.step, v.metrics) !== "continue") break;
      }
      scheduler.onEnd?.({ number: t.number, status: t.status, metrics: t.metrics });
      if (t.status === "paused" || !told.has(t.number)) this.tellRun(t, t.fidelity ?? undefined);
      if (t.status !== "paused") told.add(t.number);
      this.heardMarks.add(t.number);
    }
    return heard;
  }
}
