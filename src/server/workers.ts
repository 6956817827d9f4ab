import type { ExperimentCache } from "./experiment-cache.js";

export interface WorkerLine {
  worker: string;
  trials: number;
  running: number[];
  finished: number;
  failed: number;
  pruned: number;
  paused: number;
  costSeconds: number;
  firstStart: number | null;
  lastActivity: number | null;
}

/**
 * Who ran what, from the trials' `worker` column (the worker that last held each trial).
 * Heartbeats and reclaimed attempts are not part of the store's reader, so they are not shown.
 */
export function workersOf(c: ExperimentCache): WorkerLine[] {
  const by = new Map<string, WorkerLine>();
  for (const { rec } of c.trials.values()) {
    if (!rec.worker) continue;
    let w = by.get(rec.worker);
    if (!w) {
      w = { worker: rec.worker, trials: 0, running: [], finished: 0, failed: 0, pruned: 0, paused: 0, costSeconds: 0, firstStart: null, lastActivity: null };
      by.set(rec.worker, w);
    }
    w.trials++;
    if (rec.status === "running") w.running.push(rec.number);
    else if (rec.status === "finished" || rec.status === "failed" || rec.status === "pruned" || rec.status === "paused") w[rec.status]++;
    w.costSeconds += rec.costSeconds ?? 0;
    if (rec.startedAt !== null) w.firstStart = Math.min(w.firstStart ?? Infinity, rec.startedAt);
    const last = Math.max(rec.startedAt ?? 0, rec.finishedAt ?? 0);
    if (last > 0) w.lastActivity = Math.max(w.lastActivity ?? 0, last);
  }
  return [...by.values()].sort((a, b) => (a.worker < b.worker ? -1 : 1));
}
