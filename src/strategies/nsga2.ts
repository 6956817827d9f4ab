import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { samePoint } from "./kit/fresh.js";
import { anyNumber, rngState, stateCodec } from "./kit/state.js";
import { beats, Fresh, memberOf, moMember, normaliseWeights, rankMembers, weightsOption, type MoMember } from "./mo-common.js";

const options = z.strictObject({
  population_size: z.number().int().min(2).default(20).describe("parents kept each generation; a generation is this many offspring"),
  crossover_prob: z.number().min(0).max(1).default(0.9).describe("chance that a child is the crossover of two tournament winners (else a copy of one)"),
  mutation_prob: z.number().min(0).max(1).default(1).describe("chance that a child is mutated (always when it equals a parent)"),
  dedupe_tries: z.number().int().min(0).default(20).describe("re-draw a child up to this many times when already tried or known infeasible from cheap metrics"),
  weights: weightsOption,
});
export type Nsga2Options = z.infer<typeof options>;

interface Parent extends MoMember {
  rank: number;
  key: number;
}

const codec = stateCodec(
  z.object({
    rng: rngState,
    initialAsked: z.number().int().min(0),
    population: z.array(
      z.object({
        m: moMember,
        rank: z.number().int().min(0),
        // Crowding distance (Infinity at a front's ends); earlier releases wrote an infinite one as a string.
        key: z.union([anyNumber, z.string().transform(Number)]),
      }),
    ),
    offspring: z.array(moMember),
  }),
);

/**
 * NSGA-II (Deb et al. 2002), steady over asynchronous results: the first `population_size`
 * suggestions are random; each further child comes from two binary tournaments (lower
 * constrained non-dominated rank wins, then larger crowding distance) by crossover and mutation
 * from the space. Each time `population_size` results have been told, parents and those offspring
 * are merged and the best `population_size` survive (whole fronts, the last one cut by crowding
 * distance). Constraints by Deb's rule: feasible beats infeasible, infeasible by smaller violation.
 * With `weights`, the preference's Chebyshev distance replaces crowding (one trade-off, not a spread).
 */
export class Nsga2 implements Strategy {
  readonly name = nsga2.name;
  private rng: Rng;
  private initialAsked = 0;
  private population: Parent[] = [];
  private offspring: MoMember[] = [];
  private readonly weights?: number[];

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: Nsga2Options,
  ) {
    this.weights = normaliseWeights(opts.weights, ctx.objectives, "nsga2");
    this.rng = Rng.derive(ctx.seed, "nsga2");
  }

  ask(n: number, actx: AskContext): Json[] {
    const space = this.ctx.space;
    const fresh = new Fresh(this.ctx, actx, this.opts.dedupe_tries);
    const batch: Json[] = [];
    for (let i = 0; i < n; i++) {
      if (this.initialAsked < this.opts.population_size || this.population.length === 0) {
        this.initialAsked++;
        batch.push(fresh.next(() => space.sample(this.rng)));
        continue;
      }
      batch.push(
        fresh.next(() => {
          const a = this.tournament();
          const b = this.tournament();
          let child = this.rng.next() < this.opts.crossover_prob ? space.crossover!(a.point, b.point, this.rng) : a.point;
          const same = samePoint(child, a.point) || samePoint(child, b.point);
          if (same || this.rng.next() < this.opts.mutation_prob) child = space.mutate!(child, this.rng);
          return child;
        }),
      );
    }
    return batch;
  }

  private tournament(): Parent {
    const p = this.population;
    const i = this.rng.int(p.length);
    const j = this.rng.int(p.length);
    const better = (x: Parent, y: Parent) => x.rank < y.rank || (x.rank === y.rank && x.key > y.key);
    if (better(p[i], p[j])) return p[i];
    if (better(p[j], p[i])) return p[j];
    return this.rng.bool() ? p[i] : p[j];
  }

  tell(outcome: TrialOutcome): void {
    this.offspring.push(memberOf(this.ctx.objectives, outcome));
    if (this.offspring.length >= this.opts.population_size) this.select();
  }

  /** Environmental selection: parents + offspring, best population_size by (rank, crowding / preference). */
  private select(): void {
    const pool: MoMember[] = [...this.population.map((p) => ({ point: p.point, vec: p.vec, violation: p.violation })), ...this.offspring];
    this.offspring = [];
    const { rank, key } = rankMembers(pool, this.weights);
    const order = pool.map((_, i) => i).sort((a, b) => (beats(rank, key, a, b) ? -1 : 1));
    const kept = order.slice(0, this.opts.population_size).map((i) => pool[i]);
    // Ranks and crowding distances of the survivors among themselves (Deb: crowding is per front, the last front cut).
    const again = rankMembers(kept, this.weights);
    this.population = kept.map((m, i) => ({ ...m, rank: again.rank[i], key: again.key[i] }));
  }

  state(): Json {
    return codec.save({
      rng: this.rng.state(),
      initialAsked: this.initialAsked,
      population: this.population.map((p) => ({ m: { point: p.point, vec: p.vec, violation: p.violation }, rank: p.rank, key: p.key })),
      offspring: this.offspring,
    });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.initialAsked = s.initialAsked;
    this.population = s.population.map((p) => ({ ...p.m, rank: p.rank, key: p.key }));
    this.offspring = s.offspring;
  }
}

export const nsga2: StrategyComponent<Nsga2Options> = {
  name: "nsga2",
  description: "NSGA-II (Deb et al. 2002): non-dominated sorting, crowding distance, binary tournaments, crossover + mutation; constraints by violation.",
  requires: ["sample", "mutate", "crossover"],
  options,
  create: (opts, ctx) => new Nsga2(ctx, opts),
};
