import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { tournamentFitsPopulation } from "./kit/options.js";
import { rngState, stateCodec } from "./kit/state.js";
import { beats, Fresh, memberOf, moMember, normaliseWeights, rankMembers, weightsOption, type MoMember } from "./mo-common.js";

const options = z
  .strictObject({
    population_size: z.number().int().min(2).default(20).describe("members kept alive (the oldest dies when a result arrives)"),
    sample_size: z.number().int().min(1).default(10).describe("tournament size: the best of this many random members (by Pareto rank, then crowding) is the parent"),
    initial_samples: z.number().int().min(1).optional().describe("random suggestions before evolution starts (default: population_size)"),
    dedupe_tries: z.number().int().min(0).default(20).describe("re-draw a child up to this many times when already tried or known infeasible from cheap metrics"),
    weights: weightsOption,
  })
  .superRefine(tournamentFitsPopulation);
export type MoReaOptions = z.infer<typeof options>;

const codec = stateCodec(z.object({ rng: rngState, initialAsked: z.number().int().min(0), population: z.array(moMember) }));

/**
 * Multi-objective regularized evolution: regularized (aging) evolution (Real et al. 2019) whose
 * tournament compares members by their constrained non-dominated rank within the whole living
 * population, then by crowding distance in that front (or, with `weights`, by closeness to the
 * preferred trade-off). The winner's mutation is the child; every result joins the population and
 * the oldest member leaves, so out-of-order results are fine.
 */
export class MoRea implements Strategy {
  readonly name = moRea.name;
  private rng: Rng;
  private initialAsked = 0;
  private population: MoMember[] = [];
  private readonly weights?: number[];

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: MoReaOptions,
  ) {
    this.weights = normaliseWeights(opts.weights, ctx.objectives, "mo_rea");
    this.rng = Rng.derive(ctx.seed, "mo-rea");
  }

  ask(n: number, actx: AskContext): Json[] {
    const space = this.ctx.space;
    const fresh = new Fresh(this.ctx, actx, this.opts.dedupe_tries);
    const initial = this.opts.initial_samples ?? this.opts.population_size;
    const batch: Json[] = [];
    let ranking: { rank: Int32Array; key: Float64Array } | undefined;
    for (let i = 0; i < n; i++) {
      if (this.initialAsked < initial || this.population.length === 0) {
        this.initialAsked++;
        batch.push(fresh.next(() => space.sample(this.rng)));
        continue;
      }
      ranking ??= rankMembers(this.population, this.weights);
      const { rank, key } = ranking;
      batch.push(
        fresh.next(() => {
          const k = Math.min(this.opts.sample_size, this.population.length);
          let best = -1;
          for (const j of this.rng.sampleIndices(this.population.length, k)) if (best < 0 || beats(rank, key, j, best)) best = j;
          return space.mutate!(this.population[best].point, this.rng);
        }),
      );
    }
    return batch;
  }

  tell(outcome: TrialOutcome): void {
    this.population.push(memberOf(this.ctx.objectives, outcome));
    if (this.population.length > this.opts.population_size) this.population.shift();
  }

  state(): Json {
    return codec.save({ rng: this.rng.state(), initialAsked: this.initialAsked, population: this.population });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.initialAsked = s.initialAsked;
    this.population = s.population;
  }
}

export const moRea: StrategyComponent<MoReaOptions> = {
  name: "mo_rea",
  description: "Multi-objective regularized evolution: aging population, tournament on Pareto rank then crowding distance (or a preference vector), mutation.",
  requires: ["sample", "mutate"],
  options,
  create: (opts, ctx) => new MoRea(ctx, opts),
};
