import type { Metrics } from "../core/evaluator.js";
import type { Json } from "../core/json.js";
import type { Objective } from "../core/objectives.js";
import type { Decision, Fidelity, NextJob, Scheduler, StartingTrial } from "../core/scheduler.js";
import { oriented } from "./common.js";
import { jsonNumber } from "../core/state-codec.js";
import { rankOrder } from "./rank.js";

/** One bracket of synchronous successive halving. */
interface Bracket {
  /** Halvings: the bracket starts at level (levels.length - 1 - s). */
  s: number;
  /** Index of its current stage (0 = first rung). */
  stage: number;
  /** Configurations it wants at its first stage (lowered when the trial budget runs out). */
  size: number;
  /** Trials of the current stage. */
  members: number[];
  /** Trials of the current stage whose run has ended (paused, finished, failed or stopped). */
  ended: number[];
  /** Results of the current stage's trials: [trial, oriented vector]. */
  results: [number, number[]][];
  /** Decided at the end of a stage, handed out by `next`: trials to continue, trials to end. */
  promote: number[];
  stop: number[];
  done: boolean;
}

/**
 * Successive halving and Hyperband, synchronous with promotion (Jamieson & Talwalkar 2016;
 * Li et al. 2018): a bracket with s halvings starts n = ceil((S+1)/(s+1) * eta^s) trials at its
 * first rung, pauses them there and, once every one has ended, continues the best
 * floor(n / eta^i) to the next rung and ends the rest; until the last trials reach the maximum.
 * Hyperband cycles through s = S, S-1, ..., 0; successive halving uses s = S only. With several
 * workers a bracket waiting on its stage does not idle them: the next bracket opens (as BOHB's
 * parallel scheme does), and the oldest bracket with work always goes first.
 */
export class SyncHyperband implements Scheduler {
  /** Fidelity levels: the rungs, then the maximum. */
  private readonly levels: number[];
  private brackets: Bracket[] = [];
  /** Position in the cycle of bracket sizes for the next bracket to open. */
  private cycle = 0;
  /** Per trial: index of its bracket. */
  private owner = new Map<number, number>();

  constructor(
    readonly name: string,
    rungs: readonly number[],
    max: number,
    private readonly resource: string,
    private readonly eta: number,
    private readonly objectives: readonly Objective[],
    /** Halvings of the brackets, in the order they open (repeated). */
    private readonly schedule: readonly number[],
  ) {
    this.levels = [...rungs, max];
  }

  /** Brackets opened so far (for tests and progress). */
  get opened(): number {
    return this.brackets.length;
  }

  private stageSize(b: Bracket, i: number): number {
    return Math.max(1, Math.floor(b.size / this.eta ** i));
  }

  private levelOf(b: Bracket, stage: number): number {
    return this.levels[this.levels.length - 1 - b.s + stage];
  }

  private bracketOf(trial: number): Bracket | undefined {
    const i = this.owner.get(trial);
    return i === undefined ? undefined : this.brackets[i];
  }

  private open(): Bracket {
    const sMax = this.levels.length - 1;
    const s = Math.min(sMax, this.schedule[this.cycle % this.schedule.length]);
    this.cycle++;
    const size = Math.ceil(((sMax + 1) / (s + 1)) * this.eta ** s);
    const b: Bracket = { s, stage: 0, size, members: [], ended: [], results: [], promote: [], stop: [], done: false };
    this.brackets.push(b);
    return b;
  }

  /** Ends a stage whose every trial has ended: the best go on, the other paused ones end. */
  private close(b: Bracket): void {
    if (b.stage >= b.s) {
      b.done = true;
      for (const t of b.members) this.owner.delete(t);
      b.members = b.ended = [];
      b.results = [];
      return;
    }
    const keep = this.stageSize(b, b.stage + 1);
    const order = rankOrder(b.results.map(([, v]) => v)).map((i) => b.results[i]);
    b.promote = order.filter(([, v]) => Number.isFinite(v[0])).slice(0, keep).map(([t]) => t);
    const goOn = new Set(b.promote);
    // Only trials that paused can be ended or continued; failed ones are over already.
    b.stop = order.filter(([t, v]) => !goOn.has(t) && Number.isFinite(v[0])).map(([t]) => t);
    for (const [t, v] of order) if (!Number.isFinite(v[0])) this.owner.delete(t);
    b.stage++;
    b.members = [...b.promote];
    b.ended = [];
    b.results = [];
    if (b.members.length === 0) b.done = true;
  }

  next(opts: { canStartNew: boolean }): NextJob {
    for (const b of this.brackets) {
      if (b.done) continue;
      if (b.stop.length) {
        const t = b.stop.shift()!;
        this.owner.delete(t);
        return { kind: "stop", trial: t };
      }
      if (b.promote.length) return { kind: "resume", trial: b.promote.shift()! };
      if (b.stage === 0 && b.members.length < b.size) {
        if (opts.canStartNew) return { kind: "new" };
        b.size = b.members.length; // no more trials will come: halve what it has
        if (b.size === 0) {
          b.done = true;
          continue;
        }
      }
      if (b.ended.length === b.members.length) {
        this.close(b);
        return this.next(opts);
      }
    }
    if (opts.canStartNew) {
      this.open();
      return { kind: "new" };
    }
    return { kind: "wait" };
  }

  onStart(trial: StartingTrial): Fidelity {
    let b = this.bracketOf(trial.number);
    if (!b) {
      b = this.brackets.find((x) => !x.done && x.stage === 0 && x.members.length < x.size) ?? this.open();
      b.members.push(trial.number);
      this.owner.set(trial.number, this.brackets.indexOf(b));
    }
    return { [this.resource]: this.levelOf(b, b.stage) };
  }

  resumeFrom(trial: number): Fidelity | undefined {
    const b = this.bracketOf(trial);
    return b && b.stage > 0 ? { [this.resource]: this.levelOf(b, b.stage - 1) } : undefined;
  }

  promoted(): number[] {
    const out: number[] = [];
    for (const b of this.brackets) {
      if (b.done || b.stage === 0) continue;
      for (const t of b.members) if (!b.ended.includes(t) && !b.promote.includes(t)) out.push(t);
    }
    return out;
  }

  onReport(trial: { number: number }, step: number, metrics: Metrics): Decision {
    const b = this.bracketOf(trial.number);
    if (!b || b.stage >= b.s || step < this.levelOf(b, b.stage)) return "continue";
    if (!b.results.some(([t]) => t === trial.number)) this.record(b, trial.number, metrics);
    return "pause";
  }

  onEnd(trial: { number: number; status: string; metrics: Metrics | null }): void {
    const b = this.bracketOf(trial.number);
    if (!b || !b.members.includes(trial.number) || b.ended.includes(trial.number)) return;
    b.ended.push(trial.number);
    // Finished at the maximum, or failed / stopped early: its result counts as it is.
    if (trial.status !== "paused" && !b.results.some(([t]) => t === trial.number)) {
      this.record(b, trial.number, trial.status === "finished" && trial.metrics ? trial.metrics : null);
    }
  }

  private record(b: Bracket, trial: number, metrics: Metrics | null): void {
    b.results.push([trial, this.objectives.map((o) => (metrics ? oriented(metrics, o) : -Infinity))]);
  }

  state(): Json {
    return {
      brackets: this.brackets.map((b) => ({ ...b, results: b.results.map(([t, v]) => [t, v.map(jsonNumber)]) })) as unknown as Json,
      cycle: this.cycle,
      owner: [...this.owner],
    };
  }

  restore(state: Json): void {
    const s = state as unknown as { brackets: (Omit<Bracket, "results"> & { results: [number, (number | null)[]][] })[]; cycle: number; owner: [number, number][] };
    this.brackets = s.brackets.map((b) => ({ ...b, results: b.results.map(([t, v]) => [t, v.map((x) => x ?? -Infinity)] as [number, number[]]) }));
    this.cycle = s.cycle;
    this.owner = new Map(s.owner);
  }
}
