import { median } from "./stats.js";
import type { TrialRecord } from "./store.js";

/** A running trial expected to end within this fraction of a typical trial's duration gets its successor suggested already. */
export const PREFETCH_FRACTION = 0.1;

/**
 * A worker busy with its own trial wakes up this fraction of its typical trial duration before
 * the trial is expected to end and, when nothing is pending, runs a driver step for the trials
 * ending soon ("suggest ahead"), so that when a round of trials ends together the next ones are
 * already there: the driver step is off the critical path. The window such a step counts trials
 * in is twice as wide, so that trials started a little later than its own are served by it too.
 */
export const AHEAD_FRACTION = PREFETCH_FRACTION;

/**
 * How many new trials one driver step of worker mode should add: at least the driving worker's
 * own free slots (`room`), and enough for every other worker that is idle right now, so that N
 * workers finishing together cost one driver step, not N steps one after another under the lease.
 *
 * Idle workers are counted two ways, and the larger count is used: the workers waiting for the
 * driver (`waiting`, when the store can tell; each wants `concurrency` trials), and the workers
 * known from the trials they ran (their `worker` field) by the slots they are not using, counted
 * only while they were active within `recentMs` of the store's latest activity, so that a worker
 * that died or left stops drawing suggestions. Every worker runs the same config, so the same
 * `concurrency`.
 *
 * Running trials expected to end within PREFETCH_FRACTION of the median finished trial's
 * duration count too (their worker would otherwise find nothing and wait for the next driver
 * step), so a suggestion is made at most that much earlier than it is needed (trials overdue
 * by more than that duration do not count: no telling when they end). Times are the
 * store's, and "now" is the store's clock when the caller knows it, else its latest recorded event. Trials already pending are subtracted: they
 * are there for idle slots already.
 */
export function driverDemand(
  trials: readonly TrialRecord[],
  o: {
    self: string;
    room: number;
    concurrency: number;
    recentMs: number;
    waiting: number;
    /** The store's clock now; without it, now is the latest event recorded (fine while workers come and go often). */
    now?: number;
    /** Running trials expected to end within this fraction of a typical duration count (default PREFETCH_FRACTION). */
    window?: number;
  },
): number {
  let latest = -Infinity;
  const lastSeen = new Map<string, number>();
  const running = new Map<string, number>();
  const durations: number[] = [];
  let pending = 0;
  for (const t of trials) {
    const at = t.finishedAt ?? t.startedAt ?? t.createdAt;
    if (at > latest) latest = at;
    if (t.status === "pending") pending++;
    if (t.status === "finished" && t.startedAt !== null && t.finishedAt !== null && t.cachedFrom === null) durations.push(t.finishedAt - t.startedAt);
    if (!t.worker || t.worker === o.self) continue;
    if (at > (lastSeen.get(t.worker) ?? -Infinity)) lastSeen.set(t.worker, at);
    if (t.status === "running") running.set(t.worker, (running.get(t.worker) ?? 0) + 1);
  }
  let known = 0;
  for (const [worker, at] of lastSeen) {
    if (at < latest - o.recentMs) continue;
    known += Math.max(0, o.concurrency - (running.get(worker) ?? 0));
  }
  if (o.now !== undefined && o.now > latest) latest = o.now;
  const window = o.window ?? PREFETCH_FRACTION;
  let endingSoon = 0;
  if (durations.length >= 3) {
    const typical = median(durations);
    for (const t of trials) {
      if (t.status !== "running" || t.startedAt === null) continue;
      const left = t.startedAt + typical - latest; // expected time to its end (negative: overdue)
      if (left <= window * typical && left > -typical) endingSoon++; // long overdue: no telling when it ends
    }
  }
  const others = Math.max(known, o.waiting * o.concurrency);
  return Math.max(o.room, o.room + others + endingSoon - pending);
}
