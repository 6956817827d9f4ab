import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import { UserError } from "../core/errors.js";
import { supports } from "../core/space.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import type { Predictor } from "../predictors/predictor.js";
import { predictors } from "../predictors/registry.js";
import { retryWhileTaken, Taken, type Keyed } from "./kit/fresh.js";
import { keepBestAndRecent } from "./kit/observations.js";
import { tournamentFitsPopulation } from "./kit/options.js";
import { member, point, rngState, stateCodec, type Member } from "./kit/state.js";
import { trainingSet } from "./kit/training.js";

const options = z
  .strictObject({
    predictor: z.string().default("gp").describe("registry name of the predictor that screens the offspring (src/predictors/registry.ts)"),
    predictor_options: z.record(z.string(), z.unknown()).default({}).describe("options of that predictor"),
    population_size: z.number().int().min(2).default(20).describe("members kept alive (the oldest dies when a result arrives); also the number of initial random samples"),
    sample_size: z.number().int().min(1).default(5).describe("tournament size: the best of this many random members is a parent"),
    offspring: z.number().int().min(1).default(200).describe("children made per generation (mutation and crossover), all screened by the predictor"),
    evaluate_fraction: z
      .number()
      .gt(0)
      .max(1)
      .default(0.05)
      .describe("share of each generation's children, the best by the predictor, that are evaluated (at least one)"),
    crossover_rate: z.number().min(0).max(1).default(0.3).describe("chance that a child is the crossover of two tournament winners (then mutated with chance 1/2); needs space crossover"),
    max_mutations: z.number().int().min(1).default(2).describe("a mutated child gets 1 to this many mutations"),
    acquisition: z.enum(["mean", "ucb"]).default("ucb").describe("children ranked by predicted mean, or by mean + ucb_beta * std"),
    ucb_beta: z.number().min(0).default(1).describe("exploration weight for acquisition ucb"),
    max_train: z.number().int().min(2).default(300).describe("observations the predictor is refitted on (the best half and the most recent): bounds refit cost"),
    dedupe_tries: z.number().int().min(0).default(10).describe("re-draw a random initial point up to this many times when it was already tried"),
  })
  .superRefine(tournamentFitsPopulation);
export type PredictorEvolutionOptions = z.infer<typeof options>;

const codec = stateCodec(
  z.object({
    rng: rngState,
    population: z.array(member),
    observations: z.array(member),
    initialAsked: z.number().int().min(0),
    queue: z.array(point),
    generations: z.number().int().min(0),
  }),
);

/**
 * Predictor-guided evolution (Guo et al. 2024): an aging population as in regularized
 * evolution; each generation makes `offspring` children from tournament parents (mutation, and
 * crossover when the space has it), a performance predictor refitted on every observation so far
 * (at most `max_train`) screens them, and only the most promising `evaluate_fraction` are
 * evaluated. Children already tried, pending or picked earlier are skipped.
 *
 * The predictor is refitted at a generation only when results arrived since its last fit, and its
 * fit is a pure function of the seed and the data, so the state saves only the observations and
 * a restored search refits it and continues exactly as the uninterrupted one.
 */
export class PredictorEvolution implements Strategy {
  readonly name = predictorEvolution.name;
  private rng: Rng;
  private population: Member[] = [];
  private observations: Member[] = [];
  private initialAsked = 0;
  private queue: Json[] = [];
  private generations = 0;
  private predictor?: Predictor;
  /** Number of observations (and their version) the predictor was last fitted on; -1: not fitted. */
  private fittedVersion = -1;
  private version = 0;

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: PredictorEvolutionOptions,
  ) {
    const factory = predictors[opts.predictor];
    if (!factory) throw new UserError(`predictor_evolution: unknown predictor "${opts.predictor}"; known: ${Object.keys(predictors).join(", ")}`);
    for (const cap of factory.requires) {
      if (!supports(ctx.space, cap)) {
        throw new UserError(`predictor_evolution: predictor "${opts.predictor}" needs the space to support ${cap}; space "${ctx.space.name}" does not`);
      }
    }
    // Options are validated now, so a bad option fails at config time rather than mid-search.
    this.predictor = factory.create({ space: ctx.space, seed: ctx.seed }, opts.predictor_options);
    this.rng = Rng.derive(ctx.seed, "predictor-evolution");
  }

  async ask(n: number, ctx: AskContext): Promise<Json[]> {
    const space = this.ctx.space;
    const batch: Json[] = [];
    const taken = new Taken(space, ctx);
    for (let i = 0; i < n; i++) {
      let point: Json | undefined;
      if (this.initialAsked < this.opts.population_size || this.population.length === 0) {
        this.initialAsked++;
        const sample = () => space.sample(this.rng);
        point = retryWhileTaken(taken, sample(), this.opts.dedupe_tries, sample);
      } else {
        while (this.queue.length > 0 && point === undefined) {
          const q = this.queue.shift()!;
          if (!taken.has(q)) point = q;
        }
        if (point === undefined) {
          await this.generation(taken);
          point = this.queue.shift() ?? space.mutate!(this.tournament().point, this.rng);
        }
      }
      batch.push(point);
      taken.add(point);
    }
    return batch;
  }

  private tournament(): Member {
    const k = Math.min(this.opts.sample_size, this.population.length);
    let best: Member | undefined;
    for (const i of this.rng.sampleIndices(this.population.length, k)) {
      const m = this.population[i];
      if (!best || m.score > best.score) best = m;
    }
    return best!;
  }

  private child(): Json {
    const space = this.ctx.space;
    let point: Json;
    let mutate = true;
    if (space.crossover && this.population.length >= 2 && this.rng.bool(this.opts.crossover_rate)) {
      point = space.crossover(this.tournament().point, this.tournament().point, this.rng);
      mutate = this.rng.bool(0.5);
    } else point = this.tournament().point;
    if (mutate) {
      const steps = 1 + this.rng.int(this.opts.max_mutations);
      for (let s = 0; s < steps; s++) point = space.mutate!(point, this.rng);
    }
    return point;
  }

  /** One generation: offspring, screened by the predictor (refitted when results arrived), the best fraction queued. */
  private async generation(taken: Taken): Promise<void> {
    this.generations++;
    const children: Keyed[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < this.opts.offspring; i++) {
      const point = this.child();
      const key = taken.key(point);
      if (keys.has(key) || taken.has(point, key)) continue;
      keys.add(key);
      children.push({ point, key });
    }
    if (children.length === 0) return;
    const keep = Math.max(1, Math.round(this.opts.offspring * this.opts.evaluate_fraction));
    const ready = await this.refit();
    if (!ready) {
      this.queue.push(...children.slice(0, keep).map((c) => c.point));
      return;
    }
    const preds = await this.predictor!.predict(children.map((c) => c.point));
    const beta = this.opts.acquisition === "ucb" ? this.opts.ucb_beta : 0;
    const ranked = children.map((c, i) => ({ c, i, v: preds[i].mean + beta * preds[i].std })).sort((a, b) => b.v - a.v || a.i - b.i);
    this.queue.push(...ranked.slice(0, keep).map((r) => r.c.point));
  }

  /** Refits the predictor on the observations when they changed; false when there is too little to fit on. */
  private async refit(): Promise<boolean> {
    if (this.fittedVersion === this.version) return true;
    if (this.observations.filter((o) => Number.isFinite(o.score)).length < 2) return false;
    await this.predictor!.fit(trainingSet(this.observations, "worst"));
    this.fittedVersion = this.version;
    return true;
  }

  tell(outcome: TrialOutcome): void {
    const o = { point: outcome.point, score: outcome.score };
    this.population.push(o);
    if (this.population.length > this.opts.population_size) this.population.shift();
    this.observations.push(o);
    if (this.observations.length > this.opts.max_train) this.prune();
    this.version++;
  }

  /** Keeps the best half of max_train and the most recent for the rest, in arrival order. */
  private prune(): void {
    this.observations = keepBestAndRecent(this.observations, this.opts.max_train);
  }

  state(): Json {
    return codec.save({
      rng: this.rng.state(),
      population: this.population,
      observations: this.observations,
      initialAsked: this.initialAsked,
      queue: this.queue,
      generations: this.generations,
    });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.population = s.population;
    this.observations = s.observations;
    this.initialAsked = s.initialAsked;
    this.queue = s.queue;
    this.generations = s.generations;
    // The predictor is refitted (deterministically) at the next generation.
    this.version++;
  }
}

export const predictorEvolution: StrategyComponent<PredictorEvolutionOptions> = {
  name: "predictor_evolution",
  description: "Predictor-guided evolution (Guo et al. 2024): aging population, many offspring per generation screened by a performance predictor, only the most promising evaluated.",
  requires: ["sample", "mutate"],
  options,
  create: (opts, ctx) => new PredictorEvolution(ctx, opts),
};
