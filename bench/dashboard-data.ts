/**
 * A large simulated experiment for the dashboard bench, written through the store's writer (the
 * same calls a run makes: add, start, report, complete) without the search loop: uniform random
 * NB201 cells answered by the NB201 simulator (12 and 200 epochs; latency on one device), two
 * objectives, and an ASHA-like rung at 12 epochs that stops about two trials in three.
 */
import { Rng } from "../src/core/rng.js";
import { pointHash } from "../src/core/space.js";
import type { JsonObject } from "../src/core/json.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { archString, loadNb201, NB201_EDGES, NB201_OPS } from "../src/benchmarks/nb201.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";

export const DEVICE = "pixel3";

export function benchConfig(name: string, trials: number): JsonObject {
  return {
    name,
    seed: 0,
    space: { name: "nb201" },
    strategy: { name: "random" },
    scheduler: { name: "asha", eta: 3 },
    evaluator: { name: "nb201", dataset: "cifar10", devices: [DEVICE] },
    objectives: [
      { metric: "valid_acc", direction: "max" },
      { metric: `latency_ms_${DEVICE}`, direction: "min" },
    ],
    budget: { trials },
  };
}

const NO_STATE = { state: null, told: [], heard: [] };

/** Writes one simulated trial's life: start, a report per level reached, the end. Returns its status. */
export class TrialWriter {
  private readonly sim: Nb201Simulator;
  private readonly rng: Rng;
  private readonly space = new Nb201Space();
  /** The 12-epoch accuracies seen so far, to stop trials below the running two-thirds quantile. */
  private readonly rung: number[] = [];

  constructor(
    readonly store: SqliteStore,
    readonly experimentId: number,
    seed = 0,
  ) {
    this.sim = new Nb201Simulator({ dataset: "cifar10", noise: false, devices: [DEVICE] }, loadNb201());
    this.rng = new Rng(seed);
  }

  /** Adds `n` pending trials with random cells; returns their ids and archs. */
  async add(n: number): Promise<{ id: number; number: number; arch: string }[]> {
    const trials = Array.from({ length: n }, () => {
      const arch = archString(NB201_EDGES.map(() => NB201_OPS[this.rng.int(NB201_OPS.length)]));
      return { point: arch, arch, hp: {}, archHash: pointHash(this.space, arch) };
    });
    const added = await this.store.addTrials(this.experimentId, trials, NO_STATE);
    return added.map((t) => ({ id: t.id, number: t.number, arch: t.arch as string }));
  }

  async run(t: { id: number; number: number; arch: string }, worker: string): Promise<"finished" | "pruned"> {
    const steps = this.sim.simulate({ experiment: "bench", number: t.number, point: t.arch, arch: t.arch, hp: {}, fidelity: { epochs: 200 }, seed: t.number });
    await this.store.startTrial(t.id, { epochs: 200 }, worker);
    const first = steps[0];
    await this.store.reportIntermediate(t.id, first.step, first.metrics);
    const acc12 = first.metrics.valid_acc;
    this.rung.push(acc12);
    // stop at the rung when below the best third seen so far (checked on a sample: cheap at 100k)
    const sample = this.rung.length > 300 ? this.rung.slice(-300) : this.rung;
    const better = sample.filter((v) => v > acc12).length;
    if (this.rung.length > 10 && better > sample.length / 3) {
      await this.store.completeTrial(t.id, { status: "pruned", metrics: first.metrics, hidden: first.hidden, costSeconds: first.elapsedSeconds, fidelity: { epochs: 12 } }, undefined);
      return "pruned";
    }
    const last = steps[steps.length - 1];
    await this.store.reportIntermediate(t.id, last.step, last.metrics);
    await this.store.completeTrial(t.id, { status: "finished", metrics: last.metrics, hidden: last.hidden, costSeconds: last.elapsedSeconds }, undefined);
    return "finished";
  }
}

/** Creates the experiment with `trials` trials run to their end, in batches; returns its id. */
export async function buildExperiment(path: string, name: string, trials: number, onProgress?: (done: number) => void): Promise<number> {
  const store = new SqliteStore(path);
  try {
    const { experiment } = await store.openExperiment(name, benchConfig(name, trials), "bench");
    const w = new TrialWriter(store, experiment.id);
    const BATCH = 1000;
    for (let done = 0; done < trials; ) {
      const batch = await w.add(Math.min(BATCH, trials - done));
      for (const [i, t] of batch.entries()) await w.run(t, `sim-${i % 8}`);
      done += batch.length;
      onProgress?.(done);
    }
    return experiment.id;
  } finally {
    await store.close();
  }
}
