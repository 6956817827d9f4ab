import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { AskContext, PartialOutcome, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { retryWhileTaken, Taken } from "./kit/fresh.js";
import { tournamentFitsPopulation } from "./kit/options.js";
import { point, rngState, score, stateCodec } from "./kit/state.js";

const options = z
  .strictObject({
  population_size: z.number().int().min(2).default(20).describe("models kept alive (the oldest dies when a child is added)"),
  sample_size: z.number().int().min(1).default(5).describe("tournament size: the best of this many random members is the parent"),
  dedupe_tries: z
    .number()
    .int()
    .min(0)
    .default(10)
    .describe("re-draw a child (or initial sample) up to this many times when its canonical architecture was already tried"),
  })
  .superRefine(tournamentFitsPopulation);
export type RegularizedEvolutionOptions = z.infer<typeof options>;

const member = z.object({
  point,
  score,
  /** Trial number, so that a trial heard of at a low fidelity is updated, not added twice. */
  number: z.number().int().optional(),
});
type Member = z.infer<typeof member>;

const codec = stateCodec(z.object({ rng: rngState, population: z.array(member), initialAsked: z.number().int().min(0) }));

/**
 * Regularized (aging) evolution, Real et al. 2019: the first `population_size` suggestions are
 * random; afterwards a tournament of `sample_size` random members picks the best as parent and
 * its mutation is the child. Every told result joins the population and the oldest member leaves,
 * so results arriving out of order are fine.
 */
export class RegularizedEvolution implements Strategy {
  readonly name = regularizedEvolution.name;
  private rng: Rng;
  private population: Member[] = [];
  private initialAsked = 0;

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: RegularizedEvolutionOptions,
  ) {
    this.rng = Rng.derive(ctx.seed, "regularized-evolution");
  }

  ask(n: number, ctx: AskContext): Json[] {
    const space = this.ctx.space;
    const taken = new Taken(space, ctx);
    const batch: Json[] = [];
    for (let i = 0; i < n; i++) {
      let make: () => Json;
      if (this.initialAsked < this.opts.population_size || this.population.length === 0) {
        this.initialAsked++;
        make = () => space.sample(this.rng);
      } else {
        const parent = this.tournament();
        make = () => space.mutate!(parent.point, this.rng);
      }
      const point = retryWhileTaken(taken, make(), this.opts.dedupe_tries, make);
      taken.add(point);
      batch.push(point);
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

  tell(outcome: TrialOutcome): void {
    const known = this.population.find((m) => m.number === outcome.number);
    if (known) {
      // Heard of at a lower fidelity before: a final result replaces that score; a stop keeps it.
      if (outcome.status === "finished") known.score = outcome.score;
      return;
    }
    this.add({ point: outcome.point, score: outcome.score, number: outcome.number });
  }

  /**
   * Under a promotion scheduler a trial paused at a rung joins the population with its score
   * there (syne-tune's searchers likewise use every reported result), so evolution is driven by
   * cheap results and the scheduler decides which children are trained further.
   */
  tellPartial(outcome: PartialOutcome): void {
    const known = this.population.find((m) => m.number === outcome.number);
    if (known) known.score = outcome.score;
    else this.add({ point: outcome.point, score: outcome.score, number: outcome.number });
  }

  private add(m: Member): void {
    this.population.push(m);
    if (this.population.length > this.opts.population_size) this.population.shift();
  }

  state(): Json {
    return codec.save({ rng: this.rng.state(), population: this.population, initialAsked: this.initialAsked });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.population = s.population;
    this.initialAsked = s.initialAsked;
  }
}

export const regularizedEvolution: StrategyComponent<RegularizedEvolutionOptions> = {
  name: "rea",
  description: "Regularized (aging) evolution, Real et al. 2019: tournament selection, mutation, oldest member dies.",
  requires: ["sample", "mutate"],
  options,
  create: (opts, ctx) => new RegularizedEvolution(ctx, opts),
};
