import type { Json } from "../json.js";
import type { Scheduler } from "../scheduler.js";
import type { ClaimedTrial, Store, TrialRecord } from "../store.js";
import { StaleAttemptError, TERMINAL_STATUSES } from "../store.js";
import type { Backend } from "../backend.js";
import type { SearchDriver } from "../search-driver.js";
import { UserError } from "../errors.js";
import { median } from "../stats.js";
import { SchedulerFeed } from "../scheduler-feed.js";
import { AHEAD_FRACTION, driverDemand } from "../worker-demand.js";
import { hostname } from "node:os";
import type { ExperimentOptions, ExperimentSummary, WorkerOptions } from "./options.js";
import { WORKER_DEFAULTS } from "./options.js";
import { openExperiment } from "./opening.js";
import { Tally } from "./tally.js";
import { TrialLost, TrialRunner } from "./trial-run.js";
import { DriverSteps, type StepResult } from "./driver-step.js";
import { checkBudgetNotBelowDone, tooManyFailures } from "./errors.js";

type WorkerStore = Store & Required<Pick<Store, "claimTrial" | "heartbeat" | "reclaimStale" | "withDriverLease">>;

/**
 * A copy of a scheduler in the given state, for one run in worker mode. `restore` replaces all
 * of a scheduler's mutable state (its contract), so a shallow copy of the rest (settings) is enough.
 */
function schedulerCopy(s: Scheduler, state: Json): Scheduler {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(s) as object) as Scheduler, s);
  copy.restore!(state);
  return copy;
}

interface WorkerSettings {
  heartbeatMs: number;
  graceMs: number;
  maxRetries: number;
  pollMs: number;
  syncMs: number;
}

function workerSettings(w: WorkerOptions): WorkerSettings {
  const s = {
    heartbeatMs: (w.heartbeatSeconds ?? WORKER_DEFAULTS.heartbeatSeconds) * 1000,
    graceMs: (w.graceSeconds ?? WORKER_DEFAULTS.graceSeconds) * 1000,
    maxRetries: w.maxRetries ?? WORKER_DEFAULTS.maxRetries,
    pollMs: w.pollMs ?? WORKER_DEFAULTS.pollMs,
    syncMs: w.schedulerSyncMs ?? WORKER_DEFAULTS.schedulerSyncMs,
  };
  if (!(s.syncMs > 0)) throw new UserError(`worker scheduler sync interval must be > 0 ms, got ${s.syncMs}`);
  if (!(s.heartbeatMs > 0)) throw new UserError(`worker heartbeat must be > 0 s, got ${s.heartbeatMs / 1000}`);
  if (!(s.graceMs > s.heartbeatMs)) throw new UserError(`worker grace period (${s.graceMs / 1000} s) must be longer than the heartbeat interval (${s.heartbeatMs / 1000} s)`);
  if (!(Number.isInteger(s.maxRetries) && s.maxRetries >= 0)) throw new UserError(`worker max retries must be an integer >= 0, got ${s.maxRetries}`);
  return s;
}

/**
 * Worker mode: one of any number of processes sharing this experiment through the store. Each
 * process claims pending trials (atomically), runs them with heartbeats and completes them with
 * its attempt number (a late write after its trial was reclaimed is rejected). When there is
 * nothing to claim, the process that takes the experiment's driver lease runs a driver step
 * (DriverSteps), so suggestions are never duplicated. budget.trials counts the store's trials,
 * so the budget is global.
 */
export class WorkerLoop {
  private readonly store: WorkerStore;
  private readonly tally: Tally;

  constructor(
    private readonly o: ExperimentOptions,
    private readonly driver: SearchDriver,
    private readonly backend: Backend,
  ) {
    const store = o.store;
    if (!store.claimTrial || !store.heartbeat || !store.reclaimStale || !store.withDriverLease) {
      throw new UserError("this store cannot run workers (it lacks claimTrial / heartbeat / reclaimStale / withDriverLease); use SQLite or PostgreSQL");
    }
    const scheduler = driver.scheduler;
    if (driver.promoting && (!store.commitDriverStep || !scheduler.state || !scheduler.restore)) {
      throw new UserError(
        `scheduler "${scheduler.name}" pauses and promotes trials: in worker mode that needs a store with commitDriverStep (SQLite, PostgreSQL) and a scheduler with state() and restore()`,
      );
    }
    if (driver.strategy.attach) {
      // Its job would run inside one driver step, under a lease meant to last seconds.
      throw new UserError(`strategy "${driver.strategy.name}" trains once in one process: run it with \`archsearch run\`; workers can then evaluate nothing it has not derived`);
    }
    this.store = store as WorkerStore;
    this.tally = new Tally(o.objectives, o.budget.trials);
  }

  /** Returns once the budget is done (or the signal fired). */
  async run(w: WorkerOptions = {}): Promise<ExperimentSummary> {
    const { o, store, driver } = this;
    const { heartbeatMs, graceMs, maxRetries, pollMs, syncMs } = workerSettings(w);
    const worker = o.worker ?? `${hostname()}:${process.pid}`;
    const { experiment, created } = await openExperiment(store, o.name, o.config ?? {}, o.configHash ?? "", "Every worker must use the experiment's config.");
    const runner = new TrialRunner(o, experiment, this.backend);
    const startCounts = await store.countTrials(experiment.id);
    checkBudgetNotBelowDone(o.name, o.budget.trials, startCounts.finished + startCounts.failed + startCounts.pruned + startCounts.paused);
    o.onEvent?.({ type: "opened", experiment, created, done: 0, resumed: 0, progress: this.tally.progress() });
    // A stopping scheduler with memory hears every worker's reports (FIFO has none to share).
    const promoting = driver.promoting;
    const scheduler = driver.scheduler;
    const feed = !promoting && scheduler.name !== "fifo" && store.getProgress ? new SchedulerFeed(store as Store & Required<Pick<Store, "getProgress">>, experiment.id, scheduler) : undefined;
    const steps = new DriverSteps(o, experiment.id, driver, runner, feed !== undefined);
    await feed?.sync();
    const syncTimer = feed ? setInterval(() => feed.sync().catch(() => undefined), syncMs) : undefined; // a failed read: the next one catches up

    const budget = o.budget.trials;
    const concurrency = Math.max(1, o.budget.concurrency ?? 1);
    const inFlight = new Set<Promise<void>>();
    let exhausted = false;
    let lastReclaim = 0;
    let complete = false;
    // Waits end early when the worker is told to stop, so that it exits at once (no timer left behind).
    const sleep = (ms: number) =>
      new Promise<void>((r) => {
        const signal = o.signal;
        if (signal?.aborted) return r();
        const done = () => {
          clearTimeout(t);
          signal?.removeEventListener("abort", done);
          r();
        };
        const t = setTimeout(done, ms);
        signal?.addEventListener("abort", done, { once: true });
      });
    // Suggest ahead (see AHEAD_FRACTION): this worker's running trials (local start times), the
    // ones it already woke up for, and its recent trial durations.
    const startedAt = new Map<Promise<void>, number>();
    const wokeFor = new Set<Promise<void>>();
    const durations: number[] = [];
    let allCreated = false;
    const launch = (claim: ClaimedTrial) => {
      feed?.markLocal(claim.trial.number);
      const t0 = Date.now();
      const p: Promise<void> = this.runClaimed(claim, worker, heartbeatMs, runner).finally(() => {
        inFlight.delete(p);
        startedAt.delete(p);
        wokeFor.delete(p);
        durations.push(Date.now() - t0);
        if (durations.length > 20) durations.shift();
      });
      inFlight.add(p);
      startedAt.set(p, t0);
    };
    /** A driver step's news: the strategy may have run dry (only continuations from now on). */
    const heard = (r: StepResult) => {
      if (r.exhausted) exhausted = true;
    };
    /** The next moment to suggest ahead for one of this worker's running trials, if it knows a typical duration. */
    const nextAhead = (): { at: number; trial: Promise<void> } | undefined => {
      if (durations.length === 0 || exhausted || allCreated) return undefined;
      const typical = median(durations);
      let next: { at: number; trial: Promise<void> } | undefined;
      for (const [trial, t0] of startedAt) {
        const at = t0 + typical * (1 - AHEAD_FRACTION);
        if (!wokeFor.has(trial) && (!next || at < next.at)) next = { at, trial };
      }
      return next;
    };
    // When nothing is pending, one driver step for the trials expected to end soon (this worker's
    // among them); skipped when another worker is driving, or has suggested ahead already.
    const suggestAhead = () =>
      store.withDriverLease(experiment.id, worker, async (lease) => {
        const counts = await store.countTrials(experiment.id);
        const total = counts.finished + counts.failed + counts.pruned + counts.paused + counts.pending + counts.running;
        if (total >= budget && !promoting) allCreated = true; // for good: trials are never removed (promotions go on)
        if (counts.pending > 0 || allCreated) return undefined;
        return steps.step(async (trials) =>
          driverDemand(trials, { self: worker, room: 0, concurrency, recentMs: graceMs, waiting: await lease.waiting(), now: lease.now(), window: 2 * AHEAD_FRACTION }),
        );
      });
    /** Gives stale trials back (once per heartbeat interval at most); true when some were, to be claimed. */
    const reclaimIfDue = async () => {
      if (Date.now() - lastReclaim < heartbeatMs) return false;
      const reclaimed = await store.reclaimStale(experiment.id, graceMs, maxRetries);
      lastReclaim = Date.now();
      return reclaimed.retried.length > 0;
    };
    /** Waits while busy: until a trial ends or `ms` pass, suggesting ahead when one of this worker's trials is due to end. */
    const waitBusy = async (ms: number) => {
      const ahead = nextAhead();
      const untilAhead = ahead ? ahead.at - Date.now() : Infinity;
      if (ahead && untilAhead <= 0) {
        wokeFor.add(ahead.trial);
        const r = await suggestAhead();
        if (r.acquired && r.value) heard(r.value);
        return;
      }
      await Promise.race([...inFlight, sleep(Math.min(ms, untilAhead))]);
    };
    try {
      while (!o.signal?.aborted) {
        // Claim before counting: a trial claimed means the budget is not done (the store never holds
        // more trials than the budget), so counting is only needed when this worker still has room
        // after claiming. With max_failures the count comes first, so that it stops without claiming.
        let claimed = 0;
        let nonePending = false;
        if (o.budget.maxFailures === undefined) {
          while (inFlight.size < concurrency && !o.signal?.aborted) {
            const claim = await store.claimTrial(experiment.id, worker);
            if (!claim) {
              nonePending = true;
              break;
            }
            launch(claim);
            claimed++;
          }
        }
        const full = claimed > 0 && inFlight.size >= concurrency;
        if (full) {
          if (await reclaimIfDue()) continue;
          await waitBusy(heartbeatMs);
          continue;
        }
        const counts = await store.countTrials(experiment.id);
        const terminal = counts.finished + counts.failed + counts.pruned + counts.paused;
        const total = terminal + counts.pending + counts.running;
        this.tally.done = terminal; // progress events show the experiment's count, every worker's trials
        this.tally.failed = counts.failed;
        if (o.budget.maxFailures !== undefined && counts.failed > o.budget.maxFailures) throw tooManyFailures(o.name, counts.failed, o.budget.maxFailures);
        // With promotions a paused trial may go on: the search ends when nothing runs or waits and
        // the scheduler, asked under the lease, has nothing more to hand out (below).
        const quiet = counts.pending + counts.running === 0 && inFlight.size === 0;
        if (!promoting && (terminal >= budget || (exhausted && counts.pending + counts.running === 0))) {
          complete = true;
          break;
        }
        while (!nonePending && inFlight.size < concurrency && !o.signal?.aborted) {
          const claim = await store.claimTrial(experiment.id, worker);
          if (!claim) break;
          launch(claim);
        }
        // After claiming, so that a worker whose trial just ended starts its next one first.
        if (await reclaimIfDue()) continue; // claim them
        const room = promoting ? concurrency - inFlight.size : Math.min(concurrency - inFlight.size, budget - total);
        if (room > 0 && (promoting || !exhausted) && !o.signal?.aborted) {
          // Under the driver lease: claim (trials may have been added meanwhile), else drive, adding
          // trials for every idle worker, not only this one. When another worker is driving, an idle
          // worker waits (up to pollMs) for it to finish, then claims what it added.
          const idle = inFlight.size === 0;
          const r = await store.withDriverLease(
            experiment.id,
            worker,
            async (lease) =>
              (await store.claimTrial(experiment.id, worker)) ??
              steps.step(async (trials) => driverDemand(trials, { self: worker, room, concurrency, recentMs: graceMs, waiting: await lease.waiting() })),
            idle ? pollMs : 0,
          );
          if (r.acquired) {
            const v = r.value;
            if ("trial" in v) {
              launch(v);
              continue;
            }
            heard(v);
            if (v.stale) continue; // another driver moved on: look again
            if (v.handed > 0) continue; // claim what was just added
            if (promoting && quiet && (total >= budget || exhausted)) {
              complete = true; // nothing runs or waits, and the scheduler continues nothing more
              break;
            }
          } else if (idle) continue; // it waited for the driver already
        }
        // Busy: nothing to do before a trial ends (or reclaiming is due), so no polling meanwhile.
        if (inFlight.size > 0) await waitBusy(inFlight.size >= concurrency ? heartbeatMs : pollMs);
        else await sleep(pollMs);
      }
    } finally {
      if (syncTimer) clearInterval(syncTimer);
      await Promise.allSettled(inFlight);
    }
    // Tell the strategy the last results too (adding nothing), so the stored search state is complete.
    if (complete) await feed?.sync();
    if (complete) await store.withDriverLease(experiment.id, worker, () => steps.step(async () => 0));
    // The summary is the experiment's, from the store: every worker's trials.
    this.tally.recount(await store.getTrials(experiment.id), (t) => TERMINAL_STATUSES.includes(t.status) || t.status === "paused");
    if (complete) await store.setExperimentStatus(experiment.id, "done");
    return this.tally.summary(o.name, complete);
  }

  /** Runs one claimed trial with heartbeats; a trial reclaimed meanwhile is aborted and its result dropped. */
  private async runClaimed(claim: ClaimedTrial, worker: string, heartbeatMs: number, runner: TrialRunner): Promise<void> {
    const { o, store, driver } = this;
    const { trial, attempt } = claim;
    const abort = new AbortController();
    const beat = setInterval(() => {
      store.heartbeat(trial.id, attempt).then(
        (held) => {
          if (!held) abort.abort(new TrialLost(`trial ${trial.number} was reclaimed from this worker (attempt ${attempt})`));
        },
        () => undefined, // a failed beat: the next one may pass; the grace period covers a few
      );
    }, heartbeatMs);
    try {
      let scheduler = driver.scheduler;
      if (driver.promoting) {
        // The grant of a continued trial (and where it continues from) is the latest driver step's
        // decision, in the stored state. This run hears its reports on its own copy: the driver's
        // scheduler (a driver step may run in this process meanwhile) hears them from the store.
        const saved = (await store.loadSearchState(trial.experimentId)) as { scheduler?: Json } | undefined;
        if (saved?.scheduler === undefined || saved.scheduler === null) throw new Error(`trial ${trial.number} was claimed before any driver step stored the scheduler's state`);
        scheduler = schedulerCopy(scheduler, saved.scheduler);
      }
      const granted = driver.startRun(trial, scheduler);
      const fidelity = granted.fidelity;
      const resumeFrom = driver.promoting ? granted.resumeFrom : undefined;
      const run = await runner.evaluate(trial, fidelity, { worker, attempt, abort, resumeFrom, scheduler });
      if (!run) return; // reclaimed while it ran: another worker owns it now
      const { completion } = run;
      driver.endRun({ number: trial.number, status: completion.status, metrics: completion.metrics }, scheduler);
      await store.completeTrial(trial.id, completion, undefined, attempt);
      if (completion.status !== "paused") runner.dropCheckpoint(trial.number);
      const record: TrialRecord = runner.endedRecord(trial, completion, fidelity, run.reached);
      this.tally.account(record);
      o.onEvent?.({ type: "trial", trial: { ...record, worker }, progress: this.tally.progress() });
    } catch (e) {
      if (e instanceof StaleAttemptError) return; // reclaimed while it ran: another worker owns it now
      throw e;
    } finally {
      clearInterval(beat);
    }
  }
}
