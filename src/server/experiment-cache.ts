import type { ExperimentRecord, IntermediateValue, StoreReader, TrialRecord, TrialStatus } from "../core/store.js";
import { TRIAL_STATUSES } from "../core/store.js";
import { Objectives, type Constraint, type Objective } from "../core/objectives.js";
import { trialColumns, type Cell } from "./columns.js";
import { compareCells, matcher, type TrialQuery } from "./trial-query.js";

/** A cached trial: the store's record, its columns, and the update sequence it was read at. */
export interface CachedTrial {
  rec: TrialRecord;
  cols: Record<string, Cell>;
  seq: number;
}

/** Trials read per `changedSince` call: a first load of a large experiment comes in slices. */
const BATCH = 5000;

/**
 * One experiment as the dashboard sees it, kept up to date incrementally: `refresh` asks the
 * store only for the trials changed since its watermark (never a rescan), and updates the
 * counts, the best trial and the column set as trials arrive.
 */
export class ExperimentCache {
  exp: ExperimentRecord;
  readonly objectives: Objectives;
  readonly trials = new Map<number, CachedTrial>();
  /** Watermark of the trials read (StoreReader.changedSince). */
  seq = 0;
  /** Bumped on every change seen: memoised queries check it. */
  version = 0;
  readonly counts: Record<TrialStatus, number> = Object.fromEntries(TRIAL_STATUSES.map((s) => [s, 0])) as Record<TrialStatus, number>;
  best: { number: number; value: number } | undefined;
  /** Latest time a trial was created, started or ended (ms). */
  lastActivity = 0;
  /** Every column seen, with whether all its values so far are numbers. */
  readonly columns = new Map<string, { numeric: boolean }>();
  private inflight: Promise<boolean> | undefined;
  private sorted: { key: string; version: number; rows: CachedTrial[] } | undefined;
  private readonly curves = new Map<number, { seq: number; values: IntermediateValue[] }>();

  constructor(
    private readonly store: StoreReader,
    exp: ExperimentRecord,
  ) {
    this.exp = exp;
    const config = exp.config as { objectives?: Objective[]; constraints?: Constraint[] };
    this.objectives = new Objectives(config.objectives?.length ? config.objectives : [{ metric: "value", direction: "max" }], config.constraints ?? []);
  }

  /** Reads what changed since the last refresh; true when anything did. One read at a time (callers share it). */
  refresh(): Promise<boolean> {
    this.inflight ??= this.readChanges().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async readChanges(): Promise<boolean> {
    let changed = false;
    const exp = await this.store.getExperiment(this.exp.name);
    if (exp && (exp.status !== this.exp.status || exp.updatedAt !== this.exp.updatedAt || exp.seq !== this.exp.seq)) {
      this.exp = exp;
      changed = true;
    }
    if (this.seq === 0 && this.store.allTrials) {
      // the first load: one fast read of everything; slices of changedSince from then on
      const all = await this.store.allTrials(this.exp.id);
      for (const t of all.trials) this.apply(t);
      if (all.trials.length) changed = true;
      this.seq = all.seq;
    }
    for (;;) {
      const batch = await this.store.changedSince(this.exp.id, this.seq, BATCH);
      for (const t of batch.trials) this.apply(t);
      if (batch.trials.length) changed = true;
      this.seq = batch.seq;
      if (batch.trials.length < BATCH) break;
    }
    if (changed) this.version++;
    return changed;
  }

  private apply(rec: TrialRecord & { seq: number }): void {
    const old = this.trials.get(rec.number);
    if (old) this.counts[old.rec.status]--;
    this.counts[rec.status]++;
    const cols = trialColumns(rec);
    for (const [k, v] of Object.entries(cols)) {
      const c = this.columns.get(k);
      const numeric = v === null || typeof v === "number";
      if (!c) this.columns.set(k, { numeric });
      else if (!numeric) c.numeric = false;
    }
    this.trials.set(rec.number, { rec, cols, seq: rec.seq });
    this.lastActivity = Math.max(this.lastActivity, rec.createdAt, rec.startedAt ?? 0, rec.finishedAt ?? 0);
    const score = this.score(rec);
    if (score !== undefined && (this.best === undefined || score > this.best.value || (score === this.best.value && rec.number < this.best.number))) {
      this.best = { number: rec.number, value: score };
    } else if (old && this.best?.number === rec.number && score === undefined) {
      this.recomputeBest(); // the best trial is no longer finished (rare: a store rewrote it)
    }
  }

  /** The primary objective oriented larger-is-better, for a finished, feasible, evaluated (not cache-hit) trial. */
  score(rec: TrialRecord): number | undefined {
    if (rec.status !== "finished" || !rec.metrics || rec.cachedFrom !== null) return undefined;
    if (!this.objectives.feasible(rec.metrics)) return undefined;
    const s = this.objectives.orient(rec.metrics, 0);
    return Number.isFinite(s) ? s : undefined;
  }

  private recomputeBest(): void {
    this.best = undefined;
    for (const t of this.trials.values()) {
      const s = this.score(t.rec);
      if (s !== undefined && (this.best === undefined || s > this.best.value)) this.best = { number: t.rec.number, value: s };
    }
  }

  /** The primary objective's value of the best trial, in its own direction. */
  bestValue(): number | null {
    if (!this.best) return null;
    return this.objectives.primary.direction === "max" ? this.best.value : -this.best.value;
  }

  /** Filtered, sorted rows and the total matching; the sorted order is memoised until a trial changes. */
  query(q: TrialQuery): { total: number; rows: CachedTrial[] } {
    const key = JSON.stringify([q.filters, q.sort, q.desc]);
    if (!this.sorted || this.sorted.key !== key || this.sorted.version !== this.version) {
      const tests = q.filters.map(matcher);
      const rows: CachedTrial[] = [];
      for (const t of this.trials.values()) if (tests.every((f) => f(t.cols))) rows.push(t);
      const sign = q.desc ? -1 : 1;
      const col = q.sort;
      // nulls stay last whatever the direction; ties by trial number
      rows.sort((a, b) => {
        const x = a.cols[col];
        const y = b.cols[col];
        const missing = (x === null || x === undefined ? 1 : 0) - (y === null || y === undefined ? 1 : 0);
        if (missing !== 0) return missing;
        return sign * compareCells(x, y) || a.rec.number - b.rec.number;
      });
      this.sorted = { key, version: this.version, rows };
    }
    return { total: this.sorted.rows.length, rows: this.sorted.rows.slice(q.offset, q.offset + q.limit) };
  }

  /**
   * A trial's intermediate values. A trial's reports change only while it runs (they bump no
   * sequence), so values are kept for trials that are not running, until the trial changes again.
   */
  async intermediate(t: CachedTrial): Promise<IntermediateValue[]> {
    const hit = this.curves.get(t.rec.id);
    if (hit && hit.seq === t.seq && t.rec.status !== "running") return hit.values;
    const values = await this.store.getIntermediate(t.rec.id);
    this.curves.set(t.rec.id, { seq: t.seq, values });
    return values;
  }
}
