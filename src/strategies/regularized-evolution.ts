import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng, type RngState } from "../core/rng.js";
import type { Capability } from "../core/space.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";

const options = z.strictObject({
  population_size: z.number().int().min(2).default(20).describe("models kept alive (the oldest dies when a child is added)"),
  sample_size: z.number().int().min(1).default(5).describe("tournament size: the best of this many random members is the parent"),
  dedupe_tries: z
    .number()
    .int()
    .min(0)
    .default(10)
    .describe("re-draw a child (or initial sample) up to this many times when its canonical architecture was already tried"),
});
export type RegularizedEvolutionOptions = z.infer<typeof options>;

interface Member {
  point: Json;
  score: number;
}

interface ReaState {
  rng: RngState;
  population: Member[];
  initialAsked: number;
}

/**
 * Regularized (aging) evolution, Real et al. 2019: the first `population_size` suggestions are
 * random; afterwards a tournament of `sample_size` random members picks the best as parent and
 * its mutation is the child. Every told result joins the population and the oldest member leaves,
 * so results arriving out of order are fine.
 */
export class RegularizedEvolution implements Strategy {
  static readonly requires: Capability[] = ["sample", "mutate"];
  readonly name = "rea";
  private rng: Rng;
  private population: Member[] = [];
  private initialAsked = 0;

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: RegularizedEvolutionOptions,
  ) {
    if (opts.sample_size > opts.population_size) {
      throw new RangeError(`sample_size (${opts.sample_size}) must not exceed population_size (${opts.population_size})`);
    }
    this.rng = Rng.derive(ctx.seed, "regularized-evolution");
  }

  private fresh(ctx: AskContext, batch: Json[], make: () => Json): Json {
    let point = make();
    for (let i = 0; i < this.opts.dedupe_tries && (ctx.seen(point) || batch.some((b) => JSON.stringify(b) === JSON.stringify(point))); i++) {
      point = make();
    }
    return point;
  }

  ask(n: number, ctx: AskContext): Json[] {
    const space = this.ctx.space;
    const batch: Json[] = [];
    for (let i = 0; i < n; i++) {
      if (this.initialAsked < this.opts.population_size || this.population.length === 0) {
        this.initialAsked++;
        batch.push(this.fresh(ctx, batch, () => space.sample(this.rng)));
        continue;
      }
      const parent = this.tournament();
      batch.push(this.fresh(ctx, batch, () => space.mutate!(parent.point, this.rng)));
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
    this.population.push({ point: outcome.point, score: outcome.score });
    if (this.population.length > this.opts.population_size) this.population.shift();
  }

  state(): Json {
    const s: ReaState = { rng: this.rng.state(), population: this.population, initialAsked: this.initialAsked };
    return s as unknown as Json;
  }

  restore(state: Json): void {
    const s = state as unknown as ReaState;
    this.rng = new Rng(s.rng);
    this.population = s.population.map((m) => ({ point: m.point, score: m.score === null ? -Infinity : m.score }));
    this.initialAsked = s.initialAsked;
  }
}

export const regularizedEvolution: StrategyComponent<RegularizedEvolutionOptions> = {
  name: "rea",
  description: "Regularized (aging) evolution, Real et al. 2019: tournament selection, mutation, oldest member dies.",
  requires: RegularizedEvolution.requires,
  options,
  create: (opts, ctx) => new RegularizedEvolution(ctx, opts),
};
