import type { Json } from "./json.js";
import type { PreviousExperiment } from "./strategy.js";
import { UserError } from "./errors.js";
import type { Backend } from "./backend.js";
import { LocalBackend } from "./backends/local.js";
import { SearchDriver } from "./search-driver.js";
import type { ExperimentOptions, ExperimentSummary, WorkerOptions } from "./experiment/options.js";
import { previousExperiment, warmPoints } from "./experiment/warm-start.js";
import { LocalLoop } from "./experiment/local-loop.js";
import { WorkerLoop } from "./experiment/worker-loop.js";

export type { Budget, WarmStart, ExperimentOptions, BestTrial, Progress, ExperimentEvent, ExperimentSummary, WorkerOptions } from "./experiment/options.js";
export { WORKER_DEFAULTS } from "./experiment/options.js";

/**
 * An experiment: a search (space, strategy, scheduler, evaluator, objectives) kept in a store.
 * `run()` is the loop of one process over a backend (real trials by default, or simulated
 * time); `runWorker()` is one of many processes sharing the experiment through the store. Both
 * go through one SearchDriver, so whatever the search does (warm starts, caching, cheap
 * constraints, promotions) works the same in every way of running.
 */
export class Experiment {
  private readonly o: ExperimentOptions;
  private readonly driver: SearchDriver;
  private readonly backend: Backend;

  constructor(options: ExperimentOptions) {
    if (!(options.budget.trials >= 0)) throw new UserError(`budget.trials must be >= 0, got ${options.budget.trials}`);
    this.o = options;
    this.backend = options.backend ?? new LocalBackend(options.evaluator);
    const previous = (name: string): Promise<PreviousExperiment> => previousExperiment(options.store, options, name);
    this.driver = new SearchDriver({
      space: options.space,
      strategy: options.strategy,
      scheduler: options.scheduler,
      objectives: options.objectives,
      resource: options.evaluator.fidelity?.resource,
      warmStart: options.warmStart !== undefined,
      intermediate: (trialId) => options.store.getIntermediate(trialId),
      prepare: async (): Promise<Json[]> => {
        await options.strategy.prepare?.({ previous });
        return options.warmStart ? warmPoints(options.space, options.warmStart, previous) : [];
      },
    });
  }

  /** Runs the search in this process until the budget is done (or `signal`); resumes a stored one. */
  async run(): Promise<ExperimentSummary> {
    return new LocalLoop(this.o, this.driver, this.backend).run();
  }

  /** Worker mode: one of any number of processes sharing this experiment through the store (see WorkerLoop). */
  async runWorker(w: WorkerOptions = {}): Promise<ExperimentSummary> {
    return new WorkerLoop(this.o, this.driver, this.backend).run(w);
  }
}
