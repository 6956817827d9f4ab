import type { Json, JsonObject } from "./json.js";
import { stableStringify } from "./json.js";
import type { Evaluator, EvalResult, Metrics, TrialSpec } from "./evaluator.js";
import type { Decision, Fidelity, NextJob, Scheduler } from "./scheduler.js";
import { promotes } from "./scheduler.js";
import type { SearchSpace } from "./space.js";
import { pointHash, splitPoint } from "./space.js";
import type { PreviousExperiment, Strategy } from "./strategy.js";
import { Objectives } from "./objectives.js";
import type { ClaimedTrial, ExperimentRecord, Store, TrialCompletion, TrialRecord, TrialStatus } from "./store.js";
import { StaleAttemptError, TERMINAL_STATUSES } from "./store.js";
import { hostname } from "node:os";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { deriveSeed } from "./rng.js";
import { UserError } from "./errors.js";
import { median } from "./stats.js";
import { SchedulerFeed } from "./scheduler-feed.js";
import { TrialWindow } from "./trial-window.js";
import { AHEAD_FRACTION, driverDemand } from "./worker-demand.js";

export interface Budget {
  /** Trials to finish (finished, failed or pruned all count). */
  trials: number;
  /** Trials run at the same time in this process. */
  concurrency?: number;
  /** A trial running longer than this is aborted and marked failed. */
  trialTimeoutSeconds?: number;
  /** Stop the experiment with an error once more than this many trials have failed. */
  maxFailures?: number;
}

/**
 * The first suggestions of a new experiment: `points` as given, then the `topK` best distinct
 * architectures of each experiment in `experiments` (same store), before the strategy is asked.
 */
export interface WarmStart {
  points?: Json[];
  experiments?: string[];
  /** Best trials taken from each named experiment (default 10). */
  topK?: number;
}

export interface ExperimentOptions {
  name: string;
  seed: number;
  space: SearchSpace;
  strategy: Strategy;
  scheduler: Scheduler;
  evaluator: Evaluator;
  objectives: Objectives;
  store: Store;
  budget: Budget;
  /** The config stored with the experiment; `configHash` identifies the search it defines. */
  config?: JsonObject;
  configHash?: string;
  /** Where evaluators keep a paused trial's checkpoint (one directory per trial below it). */
  checkpointDir?: string;
  /**
   * Reuse the result of an equal (canonical) architecture with equal hyperparameters and fidelity:
   * within the experiment (true, the default), also from the store's other experiments with the
   * same space and evaluator ("shared"), or never (false).
   */
  cache?: boolean | "shared";
  /** Points to evaluate first, from a list and from earlier experiments' best; served once, resumes included. */
  warmStart?: WarmStart;
  worker?: string;
  onEvent?: (event: ExperimentEvent) => void;
  /** Abort to stop after the trials in flight (they are left to be resumed). */
  signal?: AbortSignal;
}

export interface BestTrial {
  number: number;
  point: Json;
  arch: Json;
  hp: JsonObject;
  metrics: Metrics;
  hidden: Metrics;
  score: number;
}

export interface Progress {
  done: number;
  budget: number;
  failed: number;
  best?: BestTrial;
  elapsedMs: number;
  /** Sum of the trials' cost (simulated training time on a benchmark). */
  costSeconds: number;
}

export type ExperimentEvent =
  | { type: "opened"; experiment: ExperimentRecord; created: boolean; done: number; resumed: number; progress: Progress }
  | { type: "trial"; trial: TrialRecord; progress: Progress };

export interface ExperimentSummary {
  experiment: string;
  trials: number;
  failed: number;
  best?: BestTrial;
  costSeconds: number;
  elapsedMs: number;
  complete: boolean;
}

/** Settings of worker mode (`Experiment.runWorker`): many processes sharing one experiment through the store. */
export interface WorkerOptions {
  /** Seconds between heartbeats of a running trial (default 2). */
  heartbeatSeconds?: number;
  /** A running trial whose heartbeat is older than this is reclaimed (default 30; more than heartbeatSeconds). */
  graceSeconds?: number;
  /** Times a reclaimed trial is given back as pending before it is failed (default 2). */
  maxRetries?: number;
  /** Milliseconds between looks at the store while there is nothing to claim (default 250). */
  pollMs?: number;
  /** Milliseconds between reads of the other workers' reports for a stopping scheduler (default 500; FIFO reads none). */
  schedulerSyncMs?: number;
}

export const WORKER_DEFAULTS = { heartbeatSeconds: 2, graceSeconds: 30, maxRetries: 2, pollMs: 250, schedulerSyncMs: 500 } as const;

class TrialTimeout extends Error {}
class TrialLost extends Error {}

/** The search state as driver steps store it (`run()` writes only strategy, scheduler and warm). */
interface DriverState {
  strategy: Json;
  scheduler: Json;
  warm?: Json[];
  /** Trials the strategy was told of (written by driver steps). */
  told?: number[];
  /** Promotion schedulers: how each trial's last run that the scheduler heard of ended (runKey). */
  runs?: [number, string][];
  /** Promotion schedulers: the state's version, the fence of commitDriverStep. */
  v?: number;
}

/** Trials the strategy was told of; a state without `told` was written by `run()`, which tells at every completion: all that ended. */
function toldSet(saved: DriverState | undefined, trials: readonly TrialRecord[]): Set<number> {
  return new Set(saved?.told ?? (saved ? trials.filter((t) => TERMINAL_STATUSES.includes(t.status)).map((t) => t.number) : []));
}

/** A run of a trial is known by how it ended: a continued trial ends again at another fidelity, or for good. */
function runKey(t: { status: string; fidelity: Fidelity | null }): string {
  return `${t.status}@${stableStringify(t.fidelity ?? null)}`;
}

/**
 * A copy of a scheduler in the given state, for one run in worker mode. `restore` replaces all
 * of a scheduler's mutable state (its contract), so a shallow copy of the rest (settings) is enough.
 */
function schedulerCopy(s: Scheduler, state: Json): Scheduler {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(s) as object) as Scheduler, s);
  copy.restore!(state);
  return copy;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** A file-system-safe form of an experiment name. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** Fields of two configs that differ, as dotted paths (for a clear "config changed" error). */
function differingPaths(a: Json, b: Json, prefix = ""): string[] {
  if (stableStringify(a) === stableStringify(b)) return [];
  const isObj = (x: Json): x is JsonObject => x !== null && typeof x === "object" && !Array.isArray(x);
  if (!isObj(a) || !isObj(b)) return [prefix || "(root)"];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((k) => differingPaths(a[k] ?? null, b[k] ?? null, prefix ? `${prefix}.${k}` : k));
}

/**
 * The experiment loop: ask the strategy, let the scheduler grant budget, run the evaluator,
 * record everything in the store, tell the strategy. It knows no concrete strategy, space,
 * evaluator or store. Resuming is the same call: unfinished trials are run again and the
 * strategy continues from its last snapshot.
 */
export class Experiment {
  private readonly o: ExperimentOptions;
  private experiment!: ExperimentRecord;
  private done = 0;
  private failed = 0;
  private created = 0;
  private costSeconds = 0;
  private best?: BestTrial;
  private startedAt = 0;
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
  /** Warm-start points not served yet; part of the search state, so a resume never serves one twice. */
  private warmQueue: Json[] = [];

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.searchLock.then(fn);
    this.searchLock = next.catch(() => undefined);
    return next;
  }

  constructor(options: ExperimentOptions) {
    if (!(options.budget.trials >= 0)) throw new UserError(`budget.trials must be >= 0, got ${options.budget.trials}`);
    this.o = options;
  }

  private searchState(): Json {
    const state: JsonObject = { strategy: this.o.strategy.state(), scheduler: this.o.scheduler.state?.() ?? null };
    if (this.o.warmStart) state.warm = this.warmQueue;
    return state;
  }

  /** An earlier experiment of the store: its last strategy state and finished trials, scored by its own objectives. */
  private async previous(name: string): Promise<PreviousExperiment> {
    const store = this.o.store;
    if (name === this.o.name) throw new UserError(`Experiment "${name}" cannot start from itself`);
    const exp = await store.getExperiment(name);
    if (!exp) {
      const known = (await store.listExperiments()).map((e) => e.name).filter((n) => n !== this.o.name);
      throw new UserError(`No experiment "${name}" in the store to start from${known.length ? ` (it holds: ${known.slice(0, 10).join(", ")}${known.length > 10 ? ", ..." : ""})` : " (it holds no other experiment)"}`);
    }
    const cfg = exp.config as { objectives?: unknown; constraints?: unknown };
    let objectives = this.o.objectives;
    if (Array.isArray(cfg.objectives) && cfg.objectives.length > 0) {
      objectives = new Objectives(cfg.objectives as never, (Array.isArray(cfg.constraints) ? cfg.constraints : []) as never);
    }
    const saved = (await store.loadSearchState(exp.id)) as { strategy?: Json } | undefined;
    const trials = (await store.getTrials(exp.id, { status: ["finished"] }))
      .filter((t) => t.metrics)
      .map((t) => ({ number: t.number, point: t.point, metrics: t.metrics!, score: objectives.score(t.metrics!) }));
    return { name, strategy: saved?.strategy ?? undefined, trials };
  }

  /** The warm-start list of a new experiment: given points, then each named experiment's top_k, distinct, validated. */
  private async warmPoints(ws: WarmStart): Promise<Json[]> {
    const space = this.o.space;
    const out: Json[] = [];
    const hashes = new Set<string>();
    const add = (value: unknown, where: string) => {
      let point: Json;
      try {
        point = space.validate(value);
      } catch (e) {
        throw new UserError(`warm_start: ${where} is not a point of space "${space.name}": ${errorText(e)}`);
      }
      const h = pointHash(space, point);
      if (!hashes.has(h)) {
        hashes.add(h);
        out.push(point);
      }
    };
    (ws.points ?? []).forEach((p, i) => add(p, `points[${i}]`));
    for (const name of ws.experiments ?? []) {
      const prev = await this.previous(name).catch((e: unknown) => {
        throw e instanceof UserError ? new UserError(`warm_start.experiments: ${e.message}`) : e;
      });
      const best = prev.trials.filter((t) => Number.isFinite(t.score)).sort((a, b) => b.score - a.score || a.number - b.number);
      const own = new Set<string>();
      for (const t of best) {
        if (own.size >= (ws.topK ?? 10)) break;
        const h = pointHash(space, t.point);
        if (own.has(h)) continue;
        own.add(h);
        add(t.point, `trial ${t.number} of experiment "${name}"`);
      }
    }
    return out;
  }

  /** What a search does once, before its first ask: the strategy's `prepare` and the warm-start list. */
  private async prepareFresh(): Promise<void> {
    await this.o.strategy.prepare?.({ previous: (name) => this.previous(name) });
    if (this.o.warmStart) this.warmQueue = await this.warmPoints(this.o.warmStart);
  }

  private progress(): Progress {
    return {
      done: this.done,
      budget: this.o.budget.trials,
      failed: this.failed,
      best: this.best,
      elapsedMs: Date.now() - this.startedAt,
      costSeconds: this.costSeconds,
    };
  }

  /** Takes a paused trial out of the counts before it runs again (promoted) or ends for good. */
  private unaccount(t: TrialRecord): void {
    this.done--;
    this.costSeconds -= t.costSeconds ?? 0;
  }

  /** A paused trial the scheduler will never promote (its rung is closed): pruned, keeping its last metrics. */
  private async endPaused(t: TrialRecord): Promise<void> {
    const o = this.o;
    const completion: TrialCompletion = { status: "pruned", metrics: t.metrics, hidden: t.hidden, costSeconds: t.costSeconds };
    await this.locked(async () => {
      this.tellRun({ ...t, status: "pruned" }, t.fidelity ?? undefined);
      await o.store.completeTrial(t.id, completion, this.searchState());
    });
    this.dropCheckpoint(t.number);
    const record: TrialRecord = { ...t, status: "pruned", finishedAt: Date.now() };
    this.account(record);
    o.onEvent?.({ type: "trial", trial: record, progress: this.progress() });
  }

  private account(t: TrialRecord): void {
    this.done++;
    if (t.status === "failed") this.failed++;
    this.costSeconds += t.costSeconds ?? 0;
    if (t.status === "finished" && t.metrics) {
      const score = this.o.objectives.score(t.metrics);
      if (!this.best || score > this.best.score) {
        this.best = { number: t.number, point: t.point, arch: t.arch, hp: t.hp, metrics: t.metrics, hidden: t.hidden ?? {}, score };
      }
    }
  }

  async run(): Promise<ExperimentSummary> {
    const o = this.o;
    const store = o.store;
    this.startedAt = Date.now();
    const config = o.config ?? {};
    const configHash = o.configHash ?? "";
    // A new experiment reads the earlier ones it starts from before it is created, so a bad
    // reference (an unknown experiment, a policy that does not fit) leaves nothing behind.
    const isNew = !(await store.getExperiment(o.name));
    if (isNew) await this.prepareFresh();
    const { experiment, created } = await store.openExperiment(o.name, config, configHash);
    if (!created && experiment.configHash !== configHash) {
      const paths = differingPaths(experiment.config, config).filter((p) => !p.startsWith("budget") && !p.startsWith("storage"));
      throw new UserError(
        `Experiment "${o.name}" already exists with a different search definition` +
          (paths.length ? ` (differs in: ${paths.join(", ")})` : "") +
          `. Use a new name, or the original config to resume it.`,
      );
    }
    this.experiment = experiment;

    const saved = (await store.loadSearchState(experiment.id)) as { strategy: Json; scheduler: Json } | undefined;
    if (saved) {
      o.strategy.restore(saved.strategy);
      if (saved.scheduler !== null && o.scheduler.restore) o.scheduler.restore(saved.scheduler);
      this.warmQueue = (saved as { warm?: Json[] }).warm ?? [];
    } else if (!isNew) {
      await this.prepareFresh(); // created before, but stopped before its first trial was stored
    }
    const queue: TrialRecord[] = [];
    const all = await store.getTrials(experiment.id);
    // A state written by workers lists the trials its strategy was told; ones that ended after it
    // (workers do not tell at completion) are told now, so a run after workers misses none.
    const toldByWorkers = (saved as { told?: number[] } | undefined)?.told;
    const runsByWorkers = (saved as { runs?: [number, string][] } | undefined)?.runs;
    // Written by workers with a promotion scheduler: the scheduler hears the runs ended since, too.
    if (runsByWorkers) await this.hearEndedRuns(all, new Set(toldByWorkers ?? []), new Map(runsByWorkers));
    else if (toldByWorkers) this.tellUntold(all, new Set(toldByWorkers));
    for (const t of all) {
      this.created++;
      this.seenHashes.add(t.archHash);
      if (TERMINAL_STATUSES.includes(t.status) || t.status === "paused") this.account(t);
      else queue.push(t); // asked but never finished: a crashed run; run it again
      if (t.status === "paused") this.paused.set(t.number, t);
    }
    // A promotion decided just before a crash: the saved scheduler state has the trial running, the store still has it paused.
    for (const n of o.scheduler.promoted?.() ?? []) {
      const t = this.paused.get(n);
      if (!t) continue;
      this.paused.delete(n);
      this.unaccount(t);
      queue.push(t);
    }
    o.onEvent?.({ type: "opened", experiment, created, done: this.done, resumed: queue.length, progress: this.progress() });

    const concurrency = Math.max(1, o.budget.concurrency ?? 1);
    const promoting = promotes(o.scheduler);
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
      while (inFlight.size < concurrency && !o.signal?.aborted) {
        const restarted = queue.shift();
        if (restarted) {
          launch(restarted);
          continue;
        }
        const room = Math.min(concurrency - inFlight.size, o.budget.trials - this.created);
        const canStartNew = room > 0 && !exhausted;
        const job: NextJob = promoting ? o.scheduler.next!({ canStartNew }) : canStartNew ? { kind: "new" } : { kind: "wait" };
        if (job.kind === "resume" || job.kind === "stop") {
          const t = this.paused.get(job.trial);
          if (!t) throw new Error(`scheduler "${o.scheduler.name}" asked to ${job.kind} trial ${job.trial}, which is not paused`);
          this.paused.delete(job.trial);
          await this.pauseWrites.get(job.trial); // its pause is stored (and counted) before it goes on
          this.unaccount(t);
          if (job.kind === "stop") await this.endPaused(t);
          else launch(t);
          continue;
        }
        if (job.kind === "wait" || !canStartNew) break;
        const records = await this.locked(async () => {
          // Warm-start points first (skipping any already tried), then the strategy's own.
          const want = promoting ? 1 : room; // a promotion scheduler places each new trial in a bracket
          const points = await this.newPoints(want, (hash) => this.seenHashes.has(hash), [...this.inFlightPoints.values()]);
          if (points.length === 0) return [];
          return store.addTrials(
            experiment.id,
            points.map((point) => ({ point, ...splitPoint(o.space, point), archHash: pointHash(o.space, point) })),
            this.searchState(),
          );
        });
        if (records.length === 0) {
          exhausted = true; // the strategy has nothing more to suggest (a finite space fully explored)
          if (promoting) continue; // paused trials may still be promoted
          break;
        }
        this.created += records.length;
        for (const r of records) this.seenHashes.add(r.archHash);
        queue.push(...records);
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight);
      if (o.budget.maxFailures !== undefined && this.failed > o.budget.maxFailures) {
        await Promise.allSettled(inFlight);
        throw new UserError(`Stopped experiment "${o.name}": ${this.failed} trials failed (max_failures is ${o.budget.maxFailures}). See \`archsearch trials ${o.name}\` for their errors.`);
      }
    }
    await Promise.all(inFlight);
    const complete = !o.signal?.aborted && (this.done >= o.budget.trials || (exhausted && queue.length === 0));
    if (complete) await store.setExperimentStatus(experiment.id, "done");
    return this.summary(complete);
  }

  /**
   * Worker mode: one of any number of processes sharing this experiment through the store. Each
   * process claims pending trials (atomically), runs them with heartbeats and completes them with
   * its attempt number (a late write after its trial was reclaimed is rejected). When there is
   * nothing to claim, the process that takes the experiment's driver lease restores the latest
   * search state, tells the strategy the trials finished since, asks it for new trials and stores
   * them with the new state, so suggestions are never duplicated. budget.trials counts the
   * store's trials, so the budget is global. Returns once the budget is done (or `signal`).
   */
  async runWorker(w: WorkerOptions = {}): Promise<ExperimentSummary> {
    const o = this.o;
    const store = o.store;
    if (!store.claimTrial || !store.heartbeat || !store.reclaimStale || !store.withDriverLease) {
      throw new UserError("this store cannot run workers (it lacks claimTrial / heartbeat / reclaimStale / withDriverLease); use SQLite or PostgreSQL");
    }
    if (promotes(o.scheduler) && (!store.commitDriverStep || !o.scheduler.state || !o.scheduler.restore)) {
      throw new UserError(
        `scheduler "${o.scheduler.name}" pauses and promotes trials: in worker mode that needs a store with commitDriverStep (SQLite, PostgreSQL) and a scheduler with state() and restore()`,
      );
    }
    const heartbeatMs = (w.heartbeatSeconds ?? WORKER_DEFAULTS.heartbeatSeconds) * 1000;
    const graceMs = (w.graceSeconds ?? WORKER_DEFAULTS.graceSeconds) * 1000;
    const maxRetries = w.maxRetries ?? WORKER_DEFAULTS.maxRetries;
    const pollMs = w.pollMs ?? WORKER_DEFAULTS.pollMs;
    const syncMs = w.schedulerSyncMs ?? WORKER_DEFAULTS.schedulerSyncMs;
    if (!(syncMs > 0)) throw new UserError(`worker scheduler sync interval must be > 0 ms, got ${syncMs}`);
    if (!(heartbeatMs > 0)) throw new UserError(`worker heartbeat must be > 0 s, got ${heartbeatMs / 1000}`);
    if (!(graceMs > heartbeatMs)) throw new UserError(`worker grace period (${graceMs / 1000} s) must be longer than the heartbeat interval (${heartbeatMs / 1000} s)`);
    if (!(Number.isInteger(maxRetries) && maxRetries >= 0)) throw new UserError(`worker max retries must be an integer >= 0, got ${maxRetries}`);
    const worker = o.worker ?? `${hostname()}:${process.pid}`;
    this.startedAt = Date.now();

    const config = o.config ?? {};
    const configHash = o.configHash ?? "";
    const { experiment, created } = await store.openExperiment(o.name, config, configHash);
    if (!created && experiment.configHash !== configHash) {
      const paths = differingPaths(experiment.config, config).filter((p) => !p.startsWith("budget") && !p.startsWith("storage"));
      throw new UserError(
        `Experiment "${o.name}" already exists with a different search definition` +
          (paths.length ? ` (differs in: ${paths.join(", ")})` : "") +
          `. Every worker must use the experiment's config.`,
      );
    }
    this.experiment = experiment;
    o.onEvent?.({ type: "opened", experiment, created, done: 0, resumed: 0, progress: this.progress() });
    // A stopping scheduler with memory hears every worker's reports (FIFO has none to share).
    const promoting = promotes(o.scheduler);
    this.promotingWorker = promoting;
    const feed = !promoting && o.scheduler.name !== "fifo" && store.getProgress ? new SchedulerFeed(store as Store & Required<Pick<Store, "getProgress">>, experiment.id, o.scheduler) : undefined;
    this.feed = feed;
    await feed?.sync();
    const syncTimer = feed ? setInterval(() => feed.sync().catch(() => undefined), syncMs) : undefined; // a failed read: the next one catches up

    const budget = o.budget.trials;
    const concurrency = Math.max(1, o.budget.concurrency ?? 1);
    const inFlight = new Set<Promise<void>>();
    let exhausted = false;
    let lastReclaim = 0;
    let complete = false;
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    // Suggest ahead (see AHEAD_FRACTION): this worker's running trials (local start times), the
    // ones it already woke up for, and its recent trial durations.
    const startedAt = new Map<Promise<void>, number>();
    const wokeFor = new Set<Promise<void>>();
    const durations: number[] = [];
    let allCreated = false;
    const launch = (claim: ClaimedTrial) => {
      feed?.markLocal(claim.trial.number);
      const t0 = Date.now();
      const p: Promise<void> = this.runClaimed(claim, worker, heartbeatMs).finally(() => {
        inFlight.delete(p);
        startedAt.delete(p);
        wokeFor.delete(p);
        durations.push(Date.now() - t0);
        if (durations.length > 20) durations.shift();
      });
      inFlight.add(p);
      startedAt.set(p, t0);
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
    /** One driver step: promotion schedulers decide the jobs (continue, end, new) under the lease; others only add trials. */
    const driveStep = (want: (trials: readonly TrialRecord[]) => Promise<number>) => (promoting ? this.drivePromotion(want) : this.drive(want));
    // When nothing is pending, one driver step for the trials expected to end soon (this worker's
    // among them); skipped when another worker is driving, or has suggested ahead already.
    const suggestAhead = () =>
      store.withDriverLease!(experiment.id, worker, async (lease) => {
        const counts = await store.countTrials(experiment.id);
        const total = counts.finished + counts.failed + counts.pruned + counts.paused + counts.pending + counts.running;
        if (total >= budget && !promoting) allCreated = true; // for good: trials are never removed (promotions go on)
        if (counts.pending > 0 || allCreated) return 0;
        return driveStep(async (trials) =>
          driverDemand(trials, { self: worker, room: 0, concurrency, recentMs: graceMs, waiting: await lease.waiting(), now: lease.now(), window: 2 * AHEAD_FRACTION }),
        );
      });
    /** Gives stale trials back (once per heartbeat interval at most); true when some were, to be claimed. */
    const reclaimIfDue = async () => {
      if (Date.now() - lastReclaim < heartbeatMs) return false;
      const reclaimed = await store.reclaimStale!(experiment.id, graceMs, maxRetries);
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
        if (r.acquired && r.value === "exhausted") exhausted = true;
        if (this.strategyExhausted) exhausted = true;
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
        this.done = terminal; // progress events show the experiment's count, every worker's trials
        this.failed = counts.failed;
        if (o.budget.maxFailures !== undefined && counts.failed > o.budget.maxFailures) {
          throw new UserError(`Stopped experiment "${o.name}": ${counts.failed} trials failed (max_failures is ${o.budget.maxFailures}). See \`archsearch trials ${o.name}\` for their errors.`);
        }
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
              (await store.claimTrial!(experiment.id, worker)) ??
              driveStep(async (trials) => driverDemand(trials, { self: worker, room, concurrency, recentMs: graceMs, waiting: await lease.waiting() })),
            idle ? pollMs : 0,
          );
          if (this.strategyExhausted) exhausted = true;
          if (r.acquired) {
            if (typeof r.value === "object") {
              launch(r.value);
              continue;
            }
            if (r.value === "exhausted") exhausted = true; // the strategy has nothing more to suggest
            else if (r.value === "stale") continue; // another driver moved on: look again
            else if (r.value > 0) continue; // claim what was just added
            else if (promoting && quiet && (total >= budget || exhausted)) {
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
    if (complete) await store.withDriverLease(experiment.id, worker, () => driveStep(async () => 0));
    // The summary is the experiment's, from the store: every worker's trials.
    this.done = this.failed = this.costSeconds = 0;
    this.best = undefined;
    for (const t of await store.getTrials(experiment.id)) if (TERMINAL_STATUSES.includes(t.status) || t.status === "paused") this.account(t);
    if (complete) await store.setExperimentStatus(experiment.id, "done");
    return this.summary(complete);
  }

  private summary(complete: boolean): ExperimentSummary {
    return {
      experiment: this.o.name,
      trials: this.done,
      failed: this.failed,
      best: this.best,
      costSeconds: this.costSeconds,
      elapsedMs: Date.now() - this.startedAt,
      complete,
    };
  }

  private prepared = false;
  private window: TrialWindow | undefined;
  /** Worker mode: the experiment's trials, read incrementally by the driver steps of this process. */
  private trialWindow(id: number): TrialWindow {
    this.window ??= new TrialWindow(this.o.store, id);
    return this.window;
  }
  /** Worker mode: the other workers' reports for the scheduler. */
  private feed: SchedulerFeed | undefined;
  /** Worker mode with a promotion scheduler (its state is the store's: restored before each run and each driver step). */
  private promotingWorker = false;
  /** Worker mode with a promotion scheduler: the strategy had nothing more to suggest at a driver step. */
  private strategyExhausted = false;

  /**
   * The start of a driver step: the latest stored search state restored into the strategy (and
   * the scheduler, if asked) and the warm-start queue, or a fresh start when none is stored yet.
   */
  private async restoreDriverState(o: { scheduler: boolean }): Promise<DriverState | undefined> {
    const saved = (await this.o.store.loadSearchState(this.experiment.id)) as DriverState | undefined;
    if (saved) {
      this.o.strategy.restore(saved.strategy);
      if (o.scheduler && saved.scheduler !== null && saved.scheduler !== undefined) this.o.scheduler.restore?.(saved.scheduler);
      this.warmQueue = saved.warm ?? [];
    } else if (!this.prepared) {
      await this.prepareFresh();
      this.prepared = true;
    }
    return saved;
  }

  /**
   * One driver step, under the driver lease: restore the latest state, tell the strategy every
   * trial that ended since (the state records which were told), ask for as many new trials as
   * `want` says (given the store's trials) and store them with the new state. Returns how many
   * trials were added, or "exhausted" when the strategy was asked and had nothing more to suggest.
   */
  private async drive(want: (trials: readonly TrialRecord[]) => Promise<number>): Promise<number | "exhausted"> {
    const o = this.o;
    const store = o.store;
    const id = this.experiment.id;
    // Workers' stopping schedulers learn from the store's reports (the feed); a snapshot would undo that.
    const saved = await this.restoreDriverState({ scheduler: !this.feed });
    const trials = await this.trialWindow(id).read();
    const told = toldSet(saved, trials);
    this.tellUntold(trials, told);
    const seen = new Set(trials.map((t) => t.archHash));
    const n = Math.min(await want(trials), o.budget.trials - trials.length);
    const pending = trials.filter((t) => !TERMINAL_STATUSES.includes(t.status)).map((t) => t.point);
    const points = await this.newPoints(n, (hash) => seen.has(hash), pending);
    const state = { ...(this.searchState() as JsonObject), told: [...told].sort((a, b) => a - b) };
    const added = await store.addTrials(
      id,
      points.map((point) => ({ point, ...splitPoint(o.space, point), archHash: pointHash(o.space, point) })),
      state,
      trials.length, // adds nothing if another driver added trials meanwhile (this one lost its lease)
    );
    return n > 0 && points.length === 0 ? "exhausted" : added.length;
  }

  /**
   * Promotion schedulers: the scheduler and the strategy hear every run that ended (paused,
   * finished, failed) and is not in `runs` yet: its reports since the run's start, then its end,
   * as the copy that ran it heard them. `told` and `runs` are updated; returns how many runs.
   */
  private async hearEndedRuns(trials: readonly TrialRecord[], told: Set<number>, runs: Map<number, string>): Promise<number> {
    const o = this.o;
    const resource = o.evaluator.fidelity?.resource;
    let heard = 0;
    for (const t of trials) {
      if (!(t.status === "paused" || TERMINAL_STATUSES.includes(t.status)) || runs.get(t.number) === runKey(t)) continue;
      heard++;
      const from = o.scheduler.resumeFrom?.(t.number);
      const start = from && resource ? (from[resource] ?? -Infinity) : -Infinity;
      for (const v of await o.store.getIntermediate(t.id)) {
        if (v.step <= start) continue;
        if (o.scheduler.onReport(t, v.step, v.metrics) !== "continue") break;
      }
      o.scheduler.onEnd?.({ number: t.number, status: t.status, metrics: t.metrics });
      if (t.status === "paused" || !told.has(t.number)) this.tellRun(t, t.fidelity ?? undefined);
      if (t.status !== "paused") told.add(t.number);
      runs.set(t.number, runKey(t));
    }
    return heard;
  }

  /**
   * A driver step of a promotion scheduler in worker mode, under the driver lease. The scheduler's
   * state is the store's: restore it, let it hear every run that ended since (paused, finished,
   * failed: its reports since the run's start, then its end, as the worker's copy heard them),
   * tell the strategy, then ask the scheduler what each free slot runs (`want`): a paused trial
   * continued, a new trial (the strategy picks it; the scheduler places it at once, under the
   * number it will get), or a paused trial ended for good (no slot needed); until it says wait.
   * All of it is written at once, fenced by the state's version. Returns how many jobs it handed
   * out, or "stale" when another driver moved on meanwhile (nothing written).
   */
  private async drivePromotion(want: (trials: readonly TrialRecord[]) => Promise<number>): Promise<number | "stale"> {
    const o = this.o;
    const store = o.store;
    const id = this.experiment.id;
    const saved = await this.restoreDriverState({ scheduler: true });
    const trials = await this.trialWindow(id).read();
    const ended = (t: TrialRecord) => t.status === "paused" || TERMINAL_STATUSES.includes(t.status);
    const told = toldSet(saved, trials);
    // A state without `runs` was written by `run()`, whose scheduler and strategy heard every run.
    const runs = new Map<number, string>(saved?.runs ?? (saved ? trials.filter(ended).map((t) => [t.number, runKey(t)] as [number, string]) : []));
    const replayed = await this.hearEndedRuns(trials, told, runs);

    const slots = await want(trials);
    const byNumber = new Map(trials.map((t) => [t.number, t]));
    const seen = new Set(trials.map((t) => t.archHash));
    const added: Json[] = [];
    const resume: number[] = [];
    const end: number[] = [];
    let exhausted = false;
    for (let handed = 0; handed < slots; ) {
      const canStartNew = trials.length + added.length < o.budget.trials && !exhausted;
      const job = o.scheduler.next!({ canStartNew });
      if (job.kind === "wait") break;
      if (job.kind === "resume" || job.kind === "stop") {
        const t = byNumber.get(job.trial);
        if (t?.status !== "paused") throw new Error(`scheduler "${o.scheduler.name}" asked to ${job.kind} trial ${job.trial}, which is not paused`);
        if (job.kind === "stop") {
          end.push(t.number);
          this.tellRun({ ...t, status: "pruned" }, t.fidelity ?? undefined);
          told.add(t.number);
          runs.set(t.number, runKey({ status: "pruned", fidelity: t.fidelity }));
          continue; // no slot needed
        }
        resume.push(t.number);
        handed++;
        continue;
      }
      if (!canStartNew) break; // a scheduler that wants a new trial when none may start: nothing to hand out
      const [point] = await this.newPoints(1, (hash) => seen.has(hash), [...trials.filter((t) => !ended(t)).map((t) => t.point), ...added]);
      if (point === undefined) {
        exhausted = true; // the strategy has nothing more: only continuations from now on
        continue;
      }
      seen.add(pointHash(o.space, point));
      // Placed now, under the number it will get, so that the scheduler's next answer counts it.
      o.scheduler.onStart({ number: trials.length + added.length, point });
      added.push(point);
      handed++;
    }
    if (exhausted) this.strategyExhausted = true;
    // Nothing heard, nothing handed out: the stored state and the trials still say all of it (a
    // worker waiting on a synchronous stage asks often; it need not rewrite the state each time).
    if (saved && replayed === 0 && added.length + resume.length + end.length === 0) return 0;
    const state = { ...(this.searchState() as JsonObject), told: [...told].sort((a, b) => a - b), runs: [...runs], v: (saved?.v ?? 0) + 1 };
    const written = await store.commitDriverStep!(id, {
      add: added.map((point) => ({ point, ...splitPoint(o.space, point), archHash: pointHash(o.space, point) })),
      resume,
      end,
      state,
      stateVersion: saved?.v ?? 0,
    });
    if (!written) return "stale";
    for (const n of end) this.dropCheckpoint(n);
    return added.length + resume.length + end.length;
  }

  /** Runs one claimed trial with heartbeats; a trial reclaimed meanwhile is aborted and its result dropped. */
  private async runClaimed(claim: ClaimedTrial, worker: string, heartbeatMs: number): Promise<void> {
    const o = this.o;
    const store = o.store;
    const { trial, attempt } = claim;
    const abort = new AbortController();
    const beat = setInterval(() => {
      store.heartbeat!(trial.id, attempt).then(
        (held) => {
          if (!held) abort.abort(new TrialLost(`trial ${trial.number} was reclaimed from this worker (attempt ${attempt})`));
        },
        () => undefined, // a failed beat: the next one may pass; the grace period covers a few
      );
    }, heartbeatMs);
    try {
      let scheduler = o.scheduler;
      if (this.promotingWorker) {
        // The grant of a continued trial (and where it continues from) is the latest driver step's
        // decision, in the stored state. This run hears its reports on its own copy: the driver's
        // scheduler (a driver step may run in this process meanwhile) hears them from the store.
        const saved = (await store.loadSearchState(this.experiment.id)) as { scheduler?: Json } | undefined;
        if (saved?.scheduler === undefined || saved.scheduler === null) throw new Error(`trial ${trial.number} was claimed before any driver step stored the scheduler's state`);
        scheduler = schedulerCopy(o.scheduler, saved.scheduler);
      }
      const fidelity = scheduler.onStart(trial);
      const resumeFrom = this.promotingWorker ? scheduler.resumeFrom?.(trial.number) : undefined;
      const run = await this.evaluate(trial, fidelity, { worker, attempt, abort, resumeFrom, scheduler });
      if (!run) return; // reclaimed while it ran: another worker owns it now
      const { completion } = run;
      scheduler.onEnd?.({ number: trial.number, status: completion.status, metrics: completion.metrics });
      await store.completeTrial(trial.id, completion, undefined, attempt);
      if (completion.status !== "paused") this.dropCheckpoint(trial.number);
      const record = this.endedRecord(trial, completion, fidelity, run.reached);
      this.account(record);
      o.onEvent?.({ type: "trial", trial: { ...record, worker }, progress: this.progress() });
    } catch (e) {
      if (e instanceof StaleAttemptError) return; // reclaimed while it ran: another worker owns it now
      throw e;
    } finally {
      clearInterval(beat);
    }
  }

  private async runTrial(trial: TrialRecord): Promise<void> {
    const o = this.o;
    const store = o.store;
    const fidelity = o.scheduler.onStart(trial);
    const resumeFrom = o.scheduler.resumeFrom?.(trial.number);
    const { completion, reached } = (await this.evaluate(trial, fidelity, { worker: o.worker ?? `pid${process.pid}`, resumeFrom }))!;
    const record = this.endedRecord(trial, completion, fidelity, reached);
    o.scheduler.onEnd?.({ number: trial.number, status: completion.status, metrics: completion.metrics });
    // In the same tick as onEnd: the scheduler may hand this paused trial out (resume / stop) at once.
    if (record.status === "paused") this.paused.set(record.number, record);
    const written = this.locked(async () => {
      this.tellRun({ ...trial, status: completion.status, metrics: completion.metrics }, reached ?? fidelity);
      await store.completeTrial(trial.id, completion, this.searchState());
    });
    if (record.status === "paused") this.pauseWrites.set(record.number, written);
    await written;
    if (this.pauseWrites.get(record.number) === written) this.pauseWrites.delete(record.number);
    if (record.status !== "paused") this.dropCheckpoint(trial.number);
    this.account(record);
    o.onEvent?.({ type: "trial", trial: record, progress: this.progress() });
  }

  /**
   * One run of a trial, shared by `run()` and workers: a cheap constraint that already fails
   * (cheap before expensive), else an equal finished trial (the cache), else the evaluator, with
   * the timeout, the reports (stored, fenced by `attempt` in worker mode) and the scheduler's
   * answers. A failing evaluation is a "failed" completion, not an error. Undefined when `abort`
   * fired with TrialLost: the trial was reclaimed from this worker and its result is dropped.
   */
  private async evaluate(
    trial: TrialRecord,
    fidelity: Fidelity,
    run: { worker: string; attempt?: number; resumeFrom?: Fidelity; abort?: AbortController; scheduler?: Scheduler },
  ): Promise<{ completion: TrialCompletion; reached?: Fidelity } | undefined> {
    const o = this.o;
    const store = o.store;
    const scheduler = run.scheduler ?? o.scheduler;
    const { resumeFrom, attempt } = run;
    // Cost already spent on a continued trial: its record carries the cost up to the pause.
    const priorCost = resumeFrom ? (trial.costSeconds ?? 0) : 0;
    const infeasible = resumeFrom ? undefined : this.cheapViolation(trial);
    if (infeasible) return { completion: { status: "pruned", metrics: infeasible.metrics, costSeconds: 0, error: infeasible.error } };
    const hit = await this.cacheHit(trial, fidelity);
    if (hit) return { completion: hit };

    await store.startTrial(trial.id, fidelity, run.worker, attempt);
    const spec = this.specFor(trial, fidelity, resumeFrom);
    const abort = run.abort ?? new AbortController();
    const timeoutS = o.budget.trialTimeoutSeconds;
    const timer = timeoutS ? setTimeout(() => abort.abort(new TrialTimeout(`trial timed out after ${timeoutS} s`)), timeoutS * 1000) : undefined;
    let decision = "continue" as Decision;
    let last: Metrics | null = null;
    let reports = 0;
    let reached: Fidelity | undefined;
    const writes: Promise<void>[] = [];
    const resource = o.evaluator.fidelity?.resource;
    const report = (step: number, metrics: Metrics): Decision => {
      last = metrics;
      reports++;
      if (resource) reached = { [resource]: step };
      writes.push(store.reportIntermediate(trial.id, step, metrics, attempt));
      decision = scheduler.onReport(trial, step, metrics);
      return decision;
    };
    let completion: TrialCompletion;
    try {
      const result: EvalResult = await raceAbort(o.evaluator.run(spec, { signal: abort.signal, report }), abort.signal);
      // An evaluator without intermediate reports: its result is the report at the granted fidelity.
      if (reports === 0 && resource && fidelity[resource] !== undefined) report(fidelity[resource], result.metrics);
      const status = decision === "stop" ? "pruned" : decision === "pause" ? "paused" : "finished";
      completion = { status, metrics: result.metrics, hidden: result.hidden ?? null, costSeconds: priorCost + (result.costSeconds ?? 0) };
    } catch (e) {
      if (e instanceof TrialLost) return undefined;
      completion = { status: "failed", metrics: last, error: errorText(e), costSeconds: priorCost || null };
    } finally {
      if (timer) clearTimeout(timer);
    }
    await Promise.all(writes);
    return { completion, reached };
  }

  /** The record of a trial whose run just ended (a paused trial records the fidelity it reached). */
  private endedRecord(trial: TrialRecord, completion: TrialCompletion, fidelity: Fidelity, reached: Fidelity | undefined): TrialRecord {
    return {
      ...trial,
      status: completion.status,
      fidelity: completion.status === "paused" && reached ? reached : fidelity,
      metrics: completion.metrics,
      hidden: completion.hidden ?? null,
      costSeconds: completion.costSeconds ?? null,
      cachedFrom: completion.cachedFrom ?? null,
      cachedFromExperiment: completion.cachedFromExperiment ?? null,
      error: completion.error ?? null,
      finishedAt: Date.now(),
    };
  }

  /** Experiments whose results this one may reuse (`cache: "shared"`), and when that list was read. */
  private cacheSources: { id: number; name: string }[] = [];
  private cacheSourcesAt = -Infinity;

  /**
   * The result of an equal trial (canonical architecture, hyperparameters and fidelity) already
   * finished in this experiment or, with `cache: "shared"`, in another experiment of the store
   * that evaluates the same way (equal space and evaluator sections of its config).
   */
  private async cacheHit(trial: TrialRecord, fidelity: Fidelity): Promise<TrialCompletion | undefined> {
    const o = this.o;
    if (o.cache === false) return undefined;
    const own = await o.store.findFinished(this.experiment.id, trial.archHash, trial.hp, fidelity);
    if (own && own.number !== trial.number) return { status: "finished", metrics: own.metrics, hidden: own.hidden, costSeconds: 0, cachedFrom: own.number };
    if (o.cache !== "shared") return undefined;
    if (Date.now() - this.cacheSourcesAt > 10_000) {
      // Re-read now and then: experiments created while this one runs join the cache.
      const mine = this.experiment.config as { space?: Json; evaluator?: Json };
      const same = (c: JsonObject) => stableStringify(c.space ?? null) === stableStringify(mine.space ?? null) && stableStringify(c.evaluator ?? null) === stableStringify(mine.evaluator ?? null);
      this.cacheSources = (await o.store.listExperiments()).filter((e) => e.id !== this.experiment.id && same(e.config)).map((e) => ({ id: e.id, name: e.name }));
      this.cacheSourcesAt = Date.now();
    }
    for (const src of this.cacheSources) {
      const hit = await o.store.findFinished(src.id, trial.archHash, trial.hp, fidelity);
      if (hit) return { status: "finished", metrics: hit.metrics, hidden: hit.hidden, costSeconds: 0, cachedFrom: hit.number, cachedFromExperiment: src.name };
    }
    return undefined;
  }

  /**
   * Up to `n` new points: warm-start points first (skipping those already tried), then the
   * strategy's, which knows the `pending` ones and what was tried (`seen`, by canonical hash).
   */
  private async newPoints(n: number, seen: (hash: string) => boolean, pending: Json[]): Promise<Json[]> {
    const o = this.o;
    const points: Json[] = [];
    while (points.length < n && this.warmQueue.length > 0) {
      const p = this.warmQueue.shift()!;
      if (!seen(pointHash(o.space, p))) points.push(p);
    }
    if (points.length < n) points.push(...(await o.strategy.ask(n - points.length, { pending: [...pending, ...points], seen: (point) => seen(pointHash(o.space, point)) })));
    return points.slice(0, Math.max(0, n));
  }

  /** Tells the strategy every ended trial not in `told` (and adds it there). */
  private tellUntold(trials: readonly TrialRecord[], told: Set<number>): void {
    for (const t of trials) {
      if (!TERMINAL_STATUSES.includes(t.status) || told.has(t.number)) continue;
      this.tellRun(t, t.fidelity ?? undefined);
      told.add(t.number);
    }
  }

  /**
   * Tells the strategy how a run of a trial ended: its result when it ended for good (a score of
   * -Infinity unless finished), or its result so far when paused (strategies with tellPartial).
   */
  private tellRun(t: { number: number; point: Json; status: TrialStatus; metrics: Metrics | null }, fidelity: Fidelity | undefined): void {
    const o = this.o;
    const metrics = t.metrics ?? {};
    if (t.status === "paused") {
      o.strategy.tellPartial?.({ number: t.number, point: t.point, metrics, score: o.objectives.score(metrics), fidelity: fidelity ?? {} });
      return;
    }
    const status = t.status as "finished" | "failed" | "pruned";
    o.strategy.tell({ number: t.number, point: t.point, status, metrics, score: status === "finished" ? o.objectives.score(metrics) : -Infinity, fidelity });
  }

  /** What the evaluator gets for one run of a trial. */
  private specFor(trial: TrialRecord, fidelity: Fidelity, resumeFrom?: Fidelity): TrialSpec {
    const o = this.o;
    const spec: TrialSpec = { experiment: o.name, number: trial.number, point: trial.point, arch: trial.arch, hp: trial.hp, fidelity, seed: deriveSeed(o.seed, "trial", trial.number) };
    if (resumeFrom) spec.resumeFrom = resumeFrom;
    const dir = this.checkpointPath(trial.number);
    if (dir) spec.checkpointDir = dir;
    return spec;
  }

  /** The trial's checkpoint directory, when the experiment has a checkpoint root. */
  private checkpointPath(number: number): string | undefined {
    return this.o.checkpointDir ? join(this.o.checkpointDir, safeName(this.o.name), String(number)) : undefined;
  }

  /** A trial that will not be continued needs no checkpoint. */
  private dropCheckpoint(number: number): void {
    const dir = this.checkpointPath(number);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }

  /** The cheap metrics of a trial when they already break a constraint (checked before any training), else undefined. */
  private cheapViolation(trial: TrialRecord): { metrics: Metrics; error: string } | undefined {
    const o = this.o;
    if (o.objectives.constraints.length === 0 || !o.evaluator.cheapMetrics) return undefined;
    const cheap = o.evaluator.cheapMetrics({ arch: trial.arch, hp: trial.hp });
    if (!cheap) return undefined;
    const broken = o.objectives.broken(cheap);
    if (broken.length === 0) return undefined;
    return { metrics: cheap, error: `infeasible before evaluation: ${broken.join("; ")}` };
  }
}
