import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import { pointHash } from "../core/space.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { freshOrFallback, Taken } from "./kit/fresh.js";
import { tournamentFitsPopulation } from "./kit/options.js";
import { anyNumber, member, rngState, stateCodec, type Member } from "./kit/state.js";

const options = z
  .strictObject({
    population_size: z.number().int().min(2).default(20).describe("models kept alive (the oldest dies when a child is added)"),
    sample_size: z.number().int().min(1).default(10).describe("tournament size: the best of this many random members is a parent"),
    max_mutations: z.number().int().min(1).default(3).describe("mutations applied to a child at full exploration (1 when exploiting)"),
    immigrant_rate: z.number().min(0).max(1).default(0.2).describe("chance that a child is a random point instead, at full exploration (0 when exploiting)"),
    crossover_rate: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe("chance of a crossover child of two distinct good parents when exploiting (falls to 0 at full exploration; needs space crossover)"),
    patience: z.number().int().min(1).default(30).describe("results without a new best after which exploration starts rising (full at twice this)"),
    diversity_floor: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe("population diversity, relative to the initial random population, below which exploration rises (full at 0)"),
    dedupe_tries: z.number().int().min(0).default(10).describe("re-draw a child up to this many times when its canonical architecture was already tried"),
  })
  .superRefine(tournamentFitsPopulation);
export type AdaptiveEvolutionOptions = z.infer<typeof options>;

const codec = stateCodec(
  z
    .object({
      rng: rngState,
      population: z.array(member),
      initialAsked: z.number().int().min(0),
      /** The best score so far; null before the first result. */
      best: anyNumber.nullable(),
      sinceBest: z.number().int().min(0),
      baseline: anyNumber.nullable(),
    })
    // Earlier releases wrote a best of -Infinity (every result failed) as null, like "no result
    // yet": whether anything was told tells the two apart.
    .transform((s) => (s.best === null && s.population.length > 0 ? { ...s, best: -Infinity } : s)),
);

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/**
 * Aging evolution (as REA: tournament parents, the oldest member dies) whose operators adapt to
 * the state of the search. Exploration e in [0, 1] is the larger of two signals:
 * - diversity: mean pairwise L1 distance of the members' `encode` vectors (Hamming distance for
 *   one-hot encodings), relative to that of the first, random population; e rises as it falls
 *   below `diversity_floor`;
 * - stagnation: results since the best score last improved; e rises from `patience` to twice it.
 * A child is a random immigrant with probability `immigrant_rate * e`; otherwise, when the space
 * has crossover and the top quarter of the population holds at least two distinct points, a
 * crossover of two tournament winners with probability `crossover_rate * (1 - e)`; otherwise a
 * tournament winner mutated 1 + Binomial(max_mutations - 1, e) times.
 *
 * Diversity is recomputed from the population (O(population^2 * encoding length), microseconds
 * for the usual 20 members), so nothing grows with the number of trials.
 */
export class AdaptiveEvolution implements Strategy {
  readonly name = adaptiveEvolution.name;
  private rng: Rng;
  private population: Member[] = [];
  private initialAsked = 0;
  private best: number | null = null;
  private sinceBest = 0;
  /** Diversity of the first full population, the yardstick for later ones. */
  private baseline: number | null = null;
  /** Encodings by point key, a cache (not state): always derivable from the population. */
  private encodings = new Map<string, number[]>();

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: AdaptiveEvolutionOptions,
  ) {
    this.rng = Rng.derive(ctx.seed, "adaptive-evolution");
  }

  private encoding(point: Json): number[] {
    const k = JSON.stringify(point);
    let v = this.encodings.get(k);
    if (!v) {
      v = this.ctx.space.encode!(point);
      this.encodings.set(k, v);
    }
    return v;
  }

  /** Mean pairwise L1 distance between members' encodings. */
  diversity(): number {
    const vs = this.population.map((m) => this.encoding(m.point));
    if (this.encodings.size > 4 * this.opts.population_size) {
      const live = new Set(this.population.map((m) => JSON.stringify(m.point)));
      for (const k of [...this.encodings.keys()]) if (!live.has(k)) this.encodings.delete(k);
    }
    let total = 0;
    let pairs = 0;
    for (let i = 0; i < vs.length; i++) {
      for (let j = i + 1; j < vs.length; j++) {
        const a = vs[i];
        const b = vs[j];
        let d = 0;
        for (let k = 0; k < a.length; k++) d += Math.abs(a[k] - b[k]);
        total += d;
        pairs++;
      }
    }
    return pairs > 0 ? total / pairs : 0;
  }

  /** How much to explore now, from 0 (exploit) to 1. */
  exploration(): number {
    const stagnation = clamp01(this.sinceBest / this.opts.patience - 1);
    if (this.baseline === null || !(this.baseline > 0)) return stagnation;
    const floor = this.opts.diversity_floor;
    const relative = this.diversity() / this.baseline;
    const collapse = floor > 0 ? clamp01((floor - relative) / floor) : 0;
    // A stalled population that is already as diverse as random points gains nothing from more
    // randomness: stagnation counts fully at the floor and not at all at the random level.
    const room = floor < 1 ? clamp01((1 - relative) / (1 - floor)) : 1;
    return Math.max(collapse, stagnation * room);
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

  /** Whether the top quarter of the population holds at least two distinct points (worth crossing). */
  private severalGood(): boolean {
    const top = [...this.population].sort((a, b) => b.score - a.score).slice(0, Math.max(2, Math.ceil(this.population.length / 4)));
    const keys = new Set(top.filter((m) => m.score > -Infinity).map((m) => pointHash(this.ctx.space, m.point)));
    return keys.size >= 2;
  }

  private mutateTimes(point: Json, times: number): Json {
    let p = point;
    for (let i = 0; i < times; i++) p = this.ctx.space.mutate!(p, this.rng);
    return p;
  }

  /** The operator for the next child, as a proposal function (re-run for a fresh draw when the child was tried). */
  private operator(e: number, canCross: boolean): { propose: () => Json; anchors: Json[] } {
    const space = this.ctx.space;
    if (this.rng.bool(this.opts.immigrant_rate * e)) return { propose: () => space.sample(this.rng), anchors: [] };
    if (canCross && this.rng.bool(this.opts.crossover_rate * (1 - e))) {
      const a = this.tournament();
      const b = this.tournament();
      const ka = pointHash(space, a.point);
      const kb = pointHash(space, b.point);
      if (ka !== kb) {
        return {
          propose: () => {
            const child = space.crossover!(a.point, b.point, this.rng);
            const k = pointHash(space, child);
            // A child equal to a parent teaches nothing: nudge it.
            return k === ka || k === kb ? space.mutate!(child, this.rng) : child;
          },
          anchors: [a.point, b.point],
        };
      }
    }
    const parent = this.tournament();
    let times = 1;
    for (let i = 1; i < this.opts.max_mutations; i++) if (this.rng.bool(e)) times++;
    return { propose: () => this.mutateTimes(parent.point, times), anchors: [parent.point] };
  }

  ask(n: number, ctx: AskContext): Json[] {
    const space = this.ctx.space;
    const taken = new Taken(space, ctx);
    const batch: Json[] = [];
    // Computed once per batch (the population does not change while asking), when first needed.
    let adapt: { e: number; canCross: boolean } | undefined;
    for (let i = 0; i < n; i++) {
      const initial = this.initialAsked < this.opts.population_size || this.population.length === 0;
      let op: { propose: () => Json; anchors: Json[] } = { propose: () => space.sample(this.rng), anchors: [] };
      if (!initial) {
        adapt ??= { e: this.exploration(), canCross: typeof space.crossover === "function" && this.severalGood() };
        op = this.operator(adapt.e, adapt.canCross);
      }
      const found = freshOrFallback(taken, this.rng, this.opts.dedupe_tries + 1, op.propose, op.anchors);
      // Every point tried, or only repeats left: stop here (a repeat only when the batch would be empty).
      if (found.point === undefined || (found.repeat && batch.length > 0)) break;
      if (initial) this.initialAsked++;
      taken.add(found.point);
      batch.push(found.point);
    }
    return batch;
  }

  tell(outcome: TrialOutcome): void {
    this.population.push({ point: outcome.point, score: outcome.score });
    if (this.population.length > this.opts.population_size) this.population.shift();
    if (this.best === null || outcome.score > this.best) {
      this.best = outcome.score;
      this.sinceBest = 0;
    } else {
      this.sinceBest++;
    }
    if (this.baseline === null && this.population.length === this.opts.population_size) this.baseline = this.diversity();
  }

  state(): Json {
    return codec.save({
      rng: this.rng.state(),
      population: this.population,
      initialAsked: this.initialAsked,
      best: this.best,
      sinceBest: this.sinceBest,
      baseline: this.baseline,
    });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.population = s.population;
    this.initialAsked = s.initialAsked;
    this.best = s.best;
    this.sinceBest = s.sinceBest;
    this.baseline = s.baseline;
    this.encodings.clear();
  }
}

export const adaptiveEvolution: StrategyComponent<AdaptiveEvolutionOptions> = {
  name: "adaptive_evolution",
  description: "Aging evolution that adapts mutation strength, immigrants and crossover to population diversity and stagnation.",
  requires: ["sample", "mutate", "encode"],
  options,
  create: (opts, ctx) => new AdaptiveEvolution(ctx, opts),
};
