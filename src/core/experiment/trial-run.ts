import type { Json, JsonObject } from "../json.js";
import { stableStringify } from "../json.js";
import type { EvalResult, Metrics, TrialSpec } from "../evaluator.js";
import type { Decision, Fidelity, Scheduler } from "../scheduler.js";
import type { ExperimentRecord, TrialCompletion, TrialRecord } from "../store.js";
import type { Backend } from "../backend.js";
import { deriveSeed } from "../rng.js";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { errorText } from "./errors.js";
import { checkFinal, checkNumbers, InvalidResult } from "./result-check.js";
import { FileArtifacts, safeName } from "../artifacts.js";
import type { ExperimentOptions } from "./options.js";

/** A run's end was dropped: the trial was reclaimed from this worker and another one owns it now. */
export class TrialLost extends Error {}

/** A run stopped because the process stops now (SIGTERM): the trial goes back to pending. */
export class TrialInterrupted extends Error {}

/** How one run of a trial ended, and the fidelity its last report reached. */
export interface RunOutcome {
  completion: TrialCompletion;
  reached?: Fidelity;
}


/**
 * Runs one trial, the same way for the local loop and for workers: a cheap constraint that
 * already fails (cheap before expensive), else an equal finished trial (the cache), else the
 * backend, with the timeout, the reports (stored, fenced by `attempt` in worker mode) and the
 * scheduler's answers. A failing evaluation is a "failed" completion, not an error.
 */
export class TrialRunner {
  /** Experiments whose results this one may reuse (`cache: "shared"`), and when that list was read. */
  private cacheSources: { id: number; name: string }[] = [];
  private cacheSourcesAt = -Infinity;
  /** The data version results are measured on (null: none declared). */
  readonly dataVersion: string | null;
  readonly artifacts: FileArtifacts;

  constructor(
    private readonly o: ExperimentOptions,
    private readonly experiment: ExperimentRecord,
    private readonly backend: Backend,
  ) {
    this.dataVersion = o.dataVersion ?? o.evaluator.dataVersion ?? null;
    this.artifacts = new FileArtifacts(o.store, o.artifactDir ?? "archsearch-artifacts", experiment.id, o.name);
  }

  /** Undefined when `abort` fired with TrialLost: the trial was reclaimed and its result is dropped. */
  async evaluate(
    trial: TrialRecord,
    fidelity: Fidelity,
    run: { worker: string; attempt?: number; resumeFrom?: Fidelity; abort?: AbortController; scheduler: Scheduler },
  ): Promise<RunOutcome | undefined> {
    const o = this.o;
    const store = o.store;
    const { resumeFrom, attempt, scheduler } = run;
    // Cost already spent on a continued trial: its record carries the cost up to the pause.
    const priorCost = resumeFrom ? (trial.costSeconds ?? 0) : 0;
    const dataVersion = this.dataVersion;
    const infeasible = resumeFrom ? undefined : this.cheapViolation(trial);
    if (infeasible) return { completion: { status: "pruned", metrics: infeasible.metrics, costSeconds: 0, error: infeasible.error, dataVersion, fidelity } };
    const hit = await this.cacheHit(trial, fidelity);
    if (hit) return { completion: { ...hit, dataVersion } };

    await store.startTrial(trial.id, fidelity, run.worker, attempt, dataVersion);
    const spec = this.specFor(trial, fidelity, resumeFrom);
    const abort = run.abort ?? new AbortController();
    const interrupt = o.interrupt;
    const onInterrupt = () => abort.abort(new TrialInterrupted(`trial ${trial.number} interrupted: the process stops now`));
    if (interrupt?.aborted) onInterrupt();
    else interrupt?.addEventListener("abort", onInterrupt, { once: true });
    let decision = "continue" as Decision;
    let last: Metrics | null = null;
    let reports = 0;
    let reached: Fidelity | undefined;
    const writes: Promise<void>[] = [];
    const resource = o.evaluator.fidelity?.resource;
    const report = (step: number, metrics: Metrics): Decision => {
      // Refused before anything is stored or heard: the evaluator gets the error (and the trial fails with it).
      if (typeof step !== "number" || !Number.isFinite(step)) throw new InvalidResult(`invalid report: step must be a finite number, got ${String(step)}`);
      checkNumbers(metrics, `report at step ${step}`);
      last = metrics;
      reports++;
      if (resource) reached = { [resource]: step };
      writes.push(store.reportIntermediate(trial.id, step, metrics, attempt));
      decision = scheduler.onReport(trial, step, metrics);
      return decision;
    };
    let completion: TrialCompletion;
    try {
      const result: EvalResult = await this.backend.run({ spec, report, signal: abort.signal, timeoutSeconds: o.budget.trialTimeoutSeconds });
      checkFinal(result.metrics, result.hidden, o.objectives);
      if (result.costSeconds !== undefined && !(typeof result.costSeconds === "number" && Number.isFinite(result.costSeconds) && result.costSeconds >= 0)) {
        throw new InvalidResult(`invalid result: costSeconds must be a finite number >= 0, got ${String(result.costSeconds)}`);
      }
      // An evaluator without intermediate reports: its result is the report at the granted fidelity.
      if (reports === 0 && resource && fidelity[resource] !== undefined) report(fidelity[resource], result.metrics);
      const status = decision === "stop" ? "pruned" : decision === "pause" ? "paused" : "finished";
      // Kept before the trial's end is stored: a finished trial's artifacts are always there.
      for (const [name, data] of Object.entries(result.artifacts ?? {})) await this.artifacts.put(trial.number, name, data);
      completion = { status, metrics: result.metrics, hidden: result.hidden ?? null, costSeconds: priorCost + (result.costSeconds ?? 0), dataVersion };
    } catch (e) {
      if (e instanceof TrialLost) return undefined;
      if (e instanceof TrialInterrupted || abort.signal.reason instanceof TrialInterrupted) {
        await Promise.allSettled(writes);
        await store.releaseTrial(trial.id, attempt);
        return undefined;
      }
      completion = { status: "failed", metrics: last, error: errorText(e), costSeconds: priorCost || null, dataVersion };
    } finally {
      interrupt?.removeEventListener("abort", onInterrupt);
    }
    await Promise.all(writes);
    completion.fidelity = reached ?? fidelity; // what the strategy is told, recorded
    return { completion, reached };
  }

  /** The record of a trial whose run just ended (a paused trial records the fidelity it reached). */
  endedRecord(trial: TrialRecord, completion: TrialCompletion, fidelity: Fidelity, reached: Fidelity | undefined): TrialRecord {
    return {
      ...trial,
      status: completion.status,
      fidelity: completion.fidelity ?? (completion.status === "paused" && reached ? reached : fidelity),
      metrics: completion.metrics,
      hidden: completion.hidden ?? null,
      costSeconds: completion.costSeconds ?? null,
      cachedFrom: completion.cachedFrom ?? null,
      cachedFromExperiment: completion.cachedFromExperiment ?? null,
      error: completion.error ?? null,
      finishedAt: Date.now(),
    };
  }

  /**
   * The result of an equal trial (canonical architecture, hyperparameters and fidelity) already
   * finished in this experiment or, with `cache: "shared"`, in another experiment of the store
   * that evaluates the same way (equal space and evaluator sections of its config).
   */
  private async cacheHit(trial: TrialRecord, fidelity: Fidelity): Promise<TrialCompletion | undefined> {
    const o = this.o;
    if (o.cache === false) return undefined;
    const own = await o.store.findFinished(this.experiment.id, trial.archHash, trial.hp, fidelity, this.dataVersion);
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
      const hit = await o.store.findFinished(src.id, trial.archHash, trial.hp, fidelity, this.dataVersion);
      if (hit) return { status: "finished", metrics: hit.metrics, hidden: hit.hidden, costSeconds: 0, cachedFrom: hit.number, cachedFromExperiment: src.name };
    }
    return undefined;
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
  dropCheckpoint(number: number): void {
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
