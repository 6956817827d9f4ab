import type { Json } from "../json.js";
import { pointHash, splitPoint } from "../space.js";
import type { TrialCompletion, TrialRecord } from "../store.js";
import { TERMINAL_STATUSES } from "../store.js";
import type { Backend } from "../backend.js";
import type { SearchDriver } from "../search-driver.js";
import { decodeDriverState, toldSet, type StateWrite } from "../search-state.js";
import type { ExperimentOptions, ExperimentSummary } from "./options.js";
import { openExperiment } from "./opening.js";
import { Tally } from "./tally.js";
import { TrialRunner } from "./trial-run.js";
import { checkBudgetNotBelowDone, tooManyFailures } from "./errors.js";

/**
 * The loop of one process: ask the driver for jobs while there is room, run each trial on the
 * backend, record everything in the store with the search state that matches it, tell the
 * driver. The same loop runs real trials (local backend) and simulated ones (simulated backend).
 * Resuming is the same call: unfinished trials are run again and the search continues from its
 * last stored state.
 */
export class LocalLoop {
  private readonly tally: Tally;
  private created = 0;
  private readonly inFlightPoints = new Map<number, Json>();
  /** Paused trials (a promotion scheduler may continue or end them), by number. */
  private readonly paused = new Map<number, TrialRecord>();
  /** Store writes of pauses still in flight: a resume or stop of that trial waits for its write. */
  private readonly pauseWrites = new Map<number, Promise<void>>();
  /** Canonical hashes of every trial's point, kept incrementally for AskContext.seen. */
  private readonly seenHashes = new Set<string>();
  /**
   * Serialises "change the strategy, then write its snapshot with the trials it concerns", so
   * every snapshot in the store matches exactly the trials stored with it, even with an
   * asynchronous store and trials finishing at the same time.
   */
  private searchLock: Promise<unknown> = Promise.resolve();
  private runner!: TrialRunner;

  constructor(
    private readonly o: ExperimentOptions,
    private readonly driver: SearchDriver,
    private readonly backend: Backend,
  ) {
    this.tally = new Tally(o.objectives, o.budget.trials);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.searchLock.then(fn);
    this.searchLock = next.catch(() => undefined);
    return next;
  }

  /** The state written with a change (null when the run keeps none: a throwaway simulation), with the trials told and heard since the last write. */
  private state(): StateWrite {
    const write = this.driver.write();
    return this.o.persistState === false ? { ...write, state: null } : write;
  }

  async run(): Promise<ExperimentSummary> {
    const o = this.o;
    const store = o.store;
    const driver = this.driver;
    // A new experiment reads the earlier ones it starts from before it is created, so a bad
    // reference (an unknown experiment, a policy that does not fit) leaves nothing behind.
    const isNew = !(await store.getExperiment(o.name));
    if (isNew) await driver.prepare();
    const { experiment, created } = await openExperiment(store, o.name, o.config ?? {}, o.configHash ?? "", "Use a new name, or the original config to resume it.");
    this.runner = new TrialRunner(o, experiment, this.backend);
    // A searcher keeps its checkpoints with the experiment's artifacts and reports its epochs.
    driver.strategy.attach?.({
      artifacts: this.runner.artifacts,
      signal: o.signal ?? new AbortController().signal,
      progress: (p) => o.onEvent?.({ type: "searcher", ...p, progress: this.tally.progress() }),
    });

    const saved = decodeDriverState(await store.loadSearchState(experiment.id));
    const queue: TrialRecord[] = [];
    const all = await store.getTrials(experiment.id);
    checkBudgetNotBelowDone(o.name, o.budget.trials, all.filter((t) => TERMINAL_STATUSES.includes(t.status) || t.status === "paused").length);
    await driver.restore(saved, { scheduler: true, trials: async () => all }); // a fresh start when created before but stopped before its first trial was stored
    // Trials that ended after the stored state without being told (workers do not tell at
    // completion) are told now, so a run after workers misses none; with a promotion scheduler,
    // the scheduler hears the runs ended since, too.
    if (saved && driver.promoting) await driver.hearEndedRuns(all, toldSet(all));
    else if (saved) driver.tellUntold(all, toldSet(all));
    for (const t of all) {
      this.created++;
      this.seenHashes.add(t.archHash);
      if (TERMINAL_STATUSES.includes(t.status) || t.status === "paused") this.tally.account(t);
      else queue.push(t); // asked but never finished: a crashed run; run it again
      if (t.status === "paused") this.paused.set(t.number, t);
    }
    // A promotion decided just before a crash: the saved scheduler state has the trial running, the store still has it paused.
    for (const n of driver.scheduler.promoted?.() ?? []) {
      const t = this.paused.get(n);
      if (!t) continue;
      this.paused.delete(n);
      this.tally.unaccount(t);
      queue.push(t);
    }
    o.onEvent?.({ type: "opened", experiment, created, done: this.tally.done, resumed: queue.length, progress: this.tally.progress() });

    const concurrency = Math.max(1, o.budget.concurrency ?? 1);
    const inFlight = new Set<Promise<void>>();
    const launch = (trial: TrialRecord) => {
      this.inFlightPoints.set(trial.number, trial.point);
      const p: Promise<void> = this.runTrial(trial).finally(() => {
        inFlight.delete(p);
        this.inFlightPoints.delete(trial.number);
      });
      inFlight.add(p);
    };
    let exhausted = false;
    while (!o.signal?.aborted) {
      while (inFlight.size < concurrency && !o.signal?.aborted && !this.backend.halted) {
        const restarted = queue.shift();
        if (restarted) {
          launch(restarted);
          continue;
        }
        const room = Math.min(concurrency - inFlight.size, o.budget.trials - this.created);
        const canStartNew = room > 0 && !exhausted;
        const job = driver.next(canStartNew);
        if (job.kind === "resume" || job.kind === "stop") {
          const t = this.paused.get(job.trial);
          if (!t) throw new Error(`scheduler "${driver.scheduler.name}" asked to ${job.kind} trial ${job.trial}, which is not paused`);
          this.paused.delete(job.trial);
          await this.pauseWrites.get(job.trial); // its pause is stored (and counted) before it goes on
          this.tally.unaccount(t);
          if (job.kind === "stop") await this.endPaused(t);
          else launch(t);
          continue;
        }
        if (job.kind === "wait" || !canStartNew) break;
        const records = await this.locked(async () => {
          // One new trial per free slot, each asked knowing the ones in flight (ctx.pending): a
          // promotion scheduler places each new trial in a bracket, and a simulated search then
          // asks exactly as a real one whatever the number of workers.
          const points = await driver.newPoints(1, (hash) => this.seenHashes.has(hash), [...this.inFlightPoints.values()]);
          if (points.length === 0) return [];
          return store.addTrials(
            experiment.id,
            points.map((point) => ({ point, ...splitPoint(o.space, point), archHash: pointHash(o.space, point) })),
            this.state(),
          );
        });
        if (records.length === 0) {
          exhausted = true; // the strategy has nothing more to suggest (a finite space fully explored)
          if (driver.promoting) continue; // paused trials may still be promoted
          break;
        }
        this.created += records.length;
        for (const r of records) this.seenHashes.add(r.archHash);
        queue.push(...records);
      }
      if (inFlight.size === 0 || this.backend.halted) break;
      await this.backend.waitAny(inFlight);
      if (this.backend.halted) break;
      if (o.budget.maxFailures !== undefined && this.tally.failed > o.budget.maxFailures) {
        await Promise.allSettled(inFlight);
        throw tooManyFailures(o.name, this.tally.failed, o.budget.maxFailures);
      }
    }
    // A halted backend (simulated time is up) abandons what runs; otherwise the runs in flight end first.
    if (!this.backend.halted) await Promise.all(inFlight);
    const complete = !o.signal?.aborted && !this.backend.halted && (this.tally.done >= o.budget.trials || (exhausted && queue.length === 0));
    if (complete) await store.setExperimentStatus(experiment.id, "done");
    return this.tally.summary(o.name, complete);
  }

  /** Trials created in the experiment so far (this run's and earlier ones). */
  get trialsCreated(): number {
    return this.created;
  }

  /** A paused trial the scheduler will never promote (its rung is closed): pruned, keeping its last metrics. */
  private async endPaused(t: TrialRecord): Promise<void> {
    const completion: TrialCompletion = { status: "pruned", metrics: t.metrics, hidden: t.hidden, costSeconds: t.costSeconds };
    await this.locked(async () => {
      this.driver.tellRun({ ...t, status: "pruned" }, t.fidelity ?? undefined);
      this.driver.markHeard(t.number);
      await this.o.store.completeTrial(t.id, completion, this.state());
    });
    this.runner.dropCheckpoint(t.number);
    const record: TrialRecord = { ...t, status: "pruned", finishedAt: Date.now() };
    this.tally.account(record);
    this.o.onEvent?.({ type: "trial", trial: record, progress: this.tally.progress() });
  }

  private async runTrial(trial: TrialRecord): Promise<void> {
    const o = this.o;
    const { fidelity, resumeFrom } = this.driver.startRun(trial);
    const outcome = await this.runner.evaluate(trial, fidelity, { worker: o.worker ?? `pid${process.pid}`, resumeFrom, scheduler: this.driver.scheduler });
    if (!outcome) return; // interrupted (stop now): back to pending in the store, for the resume
    const { completion, reached } = outcome;
    const record = this.runner.endedRecord(trial, completion, fidelity, reached);
    this.driver.endRun({ number: trial.number, status: completion.status, metrics: completion.metrics });
    // In the same tick as onEnd: the scheduler may hand this paused trial out (resume / stop) at once.
    if (record.status === "paused") this.paused.set(record.number, record);
    const written = this.locked(async () => {
      this.driver.tellRun({ ...trial, status: completion.status, metrics: completion.metrics }, reached ?? fidelity);
      if (this.driver.promoting) this.driver.markHeard(trial.number);
      await o.store.completeTrial(trial.id, completion, this.state());
    });
    if (record.status === "paused") this.pauseWrites.set(record.number, written);
    await written;
    if (this.pauseWrites.get(record.number) === written) this.pauseWrites.delete(record.number);
    if (record.status !== "paused") this.runner.dropCheckpoint(trial.number);
    this.tally.account(record);
    o.onEvent?.({ type: "trial", trial: record, progress: this.tally.progress() });
  }
}
