import type { Json } from "./json.js";
import { stableStringify } from "./json.js";
import type { Fidelity } from "./scheduler.js";
import type { Objectives } from "./objectives.js";
import type { StrategyHistory, TrialOutcome } from "./strategy.js";

/**
 * The search state as the store keeps it: the strategy's, the scheduler's and the warm-start
 * queue, each bounded. Which trials the strategy was told, and which runs a promotion scheduler
 * heard, are columns of the trial rows (`toldSeq`, `heard`), written with the state; the state's
 * version is a column of the experiment. None of them grows the state with the number of trials.
 */
export interface DriverState {
  strategy: Json;
  scheduler: Json;
  warm?: Json[];
  /** States of the previous release only: trials the strategy was told (now the trials' toldSeq). */
  told?: number[];
  /** States of the previous release only: the run of each trial a promotion scheduler heard (now the trials' heard). */
  runs?: [number, string][];
  /** States of the previous release only: the version (now a column). */
  v?: number;
}

/** The stored search state and its version (the fence of a worker's driver step). */
export interface StoredState {
  state: Json;
  version: number;
}

/**
 * What a write of the search state carries: the state, the trials whose end the strategy was
 * told since the last write (in the order told: the store numbers them, and a strategy that
 * rebuilds from history gets them back in that order), and the trials whose latest run the
 * scheduler heard (the store records that run's key, `runKey` of the row as written).
 */
export interface StateWrite {
  state: Json;
  told: readonly number[];
  heard: readonly number[];
}

/** The stored search state, as written by `SearchDriver.state` (undefined: none stored yet). */
export function decodeDriverState(raw: Json | undefined): DriverState | undefined {
  if (raw === undefined || raw === null) return undefined;
  return raw as unknown as DriverState;
}

/** A run of a trial is known by how it ended: a continued trial ends again at another fidelity, or for good. */
export function runKey(t: { status: string; fidelity: Fidelity | null }): string {
  return `${t.status}@${stableStringify(t.fidelity ?? null)}`;
}

/** What the driver reads of a trial to know whether it was told or heard, and to replay it. */
export interface TrialMarks {
  number: number;
  point: Json;
  status: string;
  fidelity: Fidelity | null;
  metrics: { [name: string]: number } | null;
  /** The order in which the strategy was told of its end; null (or absent) while not told. */
  toldSeq?: number | null;
  /** `runKey` of the run the scheduler last heard; null (or absent) when none. */
  heard?: string | null;
}

/** Trials the strategy was told of. */
export function toldSet(trials: readonly TrialMarks[]): Set<number> {
  return new Set(trials.filter((t) => t.toldSeq != null).map((t) => t.number));
}

/** The outcome a strategy is told of a trial that ended (the one rule for every path: a score of -Infinity unless finished). */
export function outcomeOf(t: Pick<TrialMarks, "number" | "point" | "status" | "metrics">, fidelity: Fidelity | undefined, objectives: Objectives): TrialOutcome {
  const metrics = t.metrics ?? {};
  const status = t.status as TrialOutcome["status"];
  return { number: t.number, point: t.point, status, metrics, score: status === "finished" ? objectives.score(metrics) : -Infinity, fidelity };
}

/** The told trials as a strategy's history: in the order told. */
export function historyOf(trials: readonly TrialMarks[], objectives: Objectives): StrategyHistory {
  const told = trials.filter((t) => t.toldSeq != null).sort((a, b) => a.toldSeq! - b.toldSeq!);
  return { outcomes: told.map((t) => outcomeOf(t, t.fidelity ?? undefined, objectives)) };
}
