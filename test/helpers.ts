import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Evaluator } from "../src/core/evaluator.js";
import { Experiment, type ExperimentOptions } from "../src/core/experiment.js";
import { Objectives } from "../src/core/objectives.js";
import type { Strategy } from "../src/core/strategy.js";
import type { Store } from "../src/core/store.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";
import { RandomSearch } from "../src/strategies/random.js";
import { RegularizedEvolution } from "../src/strategies/regularized-evolution.js";

export const objectives = new Objectives([{ metric: "valid_acc", direction: "max" }]);
export const space = new Nb201Space();
export const simulator = new Nb201Simulator({ dataset: "cifar10", noise: false });

export function makeStrategy(name: "random" | "rea", seed: number): Strategy {
  const ctx = { space, objectives, seed };
  return name === "random" ? new RandomSearch(ctx) : new RegularizedEvolution(ctx, { population_size: 20, sample_size: 5, dedupe_tries: 10 });
}

/** An NB201 simulator experiment with the given strategy, budget and store. */
export function nb201Experiment(strategy: "random" | "rea", seed: number, trials: number, store: Store = new SqliteStore(":memory:"), extra: Partial<ExperimentOptions> = {}) {
  return new Experiment({
    name: `nb201-${strategy}`,
    seed,
    space,
    strategy: makeStrategy(strategy, seed),
    scheduler: new FifoScheduler({ fidelity: simulator.fidelity, seed }),
    evaluator: simulator,
    objectives,
    store,
    budget: { trials },
    ...extra,
  });
}

/** What must be equal between two runs of the same search: every trial's point and result. */
export async function trialDigest(store: Store, name: string) {
  const exp = await store.getExperiment(name);
  const trials = await store.getTrials(exp!.id);
  return trials.map((t) => ({ n: t.number, status: t.status, point: t.point, metrics: t.metrics, hidden: t.hidden, cachedFrom: t.cachedFrom }));
}

/** The NB201 simulator sleeping `ms` per run, so that the trials of several workers overlap. */
export function sleepySimulator(ms: number): Evaluator {
  return {
    name: "slow-sim",
    fidelity: simulator.fidelity,
    run: async (spec, ctx) => {
      await new Promise((r) => setTimeout(r, ms));
      return simulator.run(spec, ctx);
    },
  };
}

export const PG_URL = process.env.ARCHSEARCH_PG_URL ?? "postgres://root@127.0.0.1:5432/test";

/**
 * Runs `fn` with the URL of a fresh PostgreSQL schema (and its name, and a connection for reading
 * it directly), dropped afterwards; fails (not skips) when the server is unreachable.
 */
export async function inPgSchema(prefix: string, fn: (url: string, db: { schema: string; admin: pg.Client }) => Promise<void>): Promise<void> {
  const schema = `archsearch_${prefix}${process.pid}_${randomBytes(3).toString("hex")}`;
  const u = new URL(PG_URL);
  u.searchParams.set("schema", schema);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await fn(u.toString(), { schema, admin });
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}
