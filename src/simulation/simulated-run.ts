import type { Evaluator, Metrics } from "../core/evaluator.js";
import type { Json } from "../core/json.js";
import type { Objectives } from "../core/objectives.js";
import type { Fidelity, Scheduler } from "../core/scheduler.js";
import type { SearchSpace } from "../core/space.js";
import type { Strategy } from "../core/strategy.js";
import { UserError } from "../core/errors.js";
import { Experiment, type WarmStart } from "../core/experiment.js";
import { SimulatedBackend } from "../core/backends/simulated.js";
import { SqliteStore } from "../stores/sqlite.js";

/** A trial's run ending in simulated time (a pause at a rung, a stop, the end of training). */
export interface SimulatedResult {
  /** Simulated seconds since the search started, when the result is known. */
  time: number;
  number: number;
  point: Json;
  status: "finished" | "paused" | "pruned" | "failed";
  fidelity: Fidelity;
  metrics: Metrics;
  hidden: Metrics;
  /** The trial whose result this one reused (the cache), else null. */
  cachedFrom: number | null;
}

export interface SimulationOptions {
  space: SearchSpace;
  strategy: Strategy;
  scheduler: Scheduler;
  /** Must implement `simulate` (a benchmark table). */
  evaluator: Evaluator;
  objectives: Objectives;
  seed: number;
  /** Simulated workers running trials at the same time. */
  workers: number;
  /** New trials the strategy may start (default unlimited: stop by time or `stopWhen`). */
  maxTrials?: number;
  /** Stop once the simulated clock passes this many seconds. */
  maxSeconds?: number;
  /** Reuse the result of an equal architecture at an equal fidelity, as a real run does (default true). */
  cache?: boolean;
  /** Points to evaluate first, as in a real run (points only: a simulation has no other experiments). */
  warmStart?: WarmStart;
  /** Called on every result; return true to end the simulation there. */
  onResult?: (r: SimulatedResult) => boolean | void;
}

export interface SimulationSummary {
  /** Simulated seconds at the end. */
  time: number;
  trials: number;
  results: number;
  /** Sum of the workers' busy time: the compute a real run would have paid. */
  busySeconds: number;
}

/**
 * Runs a strategy and a scheduler against a benchmark evaluator in simulated time with N
 * workers: the experiment loop itself (the same driver, scheduler calls, cache and cheap
 * constraints as a real run) over the simulated backend, which delivers each report at the
 * moment real training would have produced it, with a throwaway in-memory store. The time to
 * a result and the order results arrive in are those of a real parallel run, at the cost of a
 * table lookup.
 */
export async function runSimulated(o: SimulationOptions): Promise<SimulationSummary> {
  if (!(o.workers >= 1)) throw new UserError(`simulated workers must be >= 1, got ${o.workers}`);
  const backend = new SimulatedBackend(o.evaluator, { maxSeconds: o.maxSeconds });
  const store = new SqliteStore(":memory:");
  let results = 0;
  try {
    await new Experiment({
      name: "simulation",
      seed: o.seed,
      space: o.space,
      strategy: o.strategy,
      scheduler: o.scheduler,
      evaluator: o.evaluator,
      objectives: o.objectives,
      store,
      budget: { trials: o.maxTrials ?? Infinity, concurrency: o.workers },
      cache: o.cache ?? true,
      warmStart: o.warmStart,
      backend,
      persistState: false,
      onEvent: (e) => {
        if (e.type !== "trial" || backend.halted) return;
        const t = e.trial;
        results++;
        const r: SimulatedResult = {
          time: backend.seconds,
          number: t.number,
          point: t.point,
          status: t.status as SimulatedResult["status"],
          fidelity: t.fidelity ?? {},
          metrics: t.metrics ?? {},
          hidden: t.hidden ?? {},
          cachedFrom: t.cachedFrom,
        };
        if (o.onResult?.(r) === true) backend.halt();
      },
    }).run();
    const exp = (await store.getExperiment("simulation"))!;
    const counts = await store.countTrials(exp.id);
    const trials = Object.values(counts).reduce((a, b) => a + b, 0);
    return { time: backend.seconds, trials, results, busySeconds: backend.busySeconds };
  } finally {
    await store.close();
  }
}
