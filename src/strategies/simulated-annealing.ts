import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { freshOrFallback, Taken } from "./kit/fresh.js";
import { anyNumber, member, rngState, stateCodec, type Member } from "./kit/state.js";

const options = z
  .strictObject({
    initial_samples: z.number().int().min(1).default(10).describe("random points evaluated first; the best of them starts the walk"),
    initial_temperature: z
      .number()
      .positive()
      .default(0.5)
      .describe("start temperature, in units of the typical score change of one mutation (so it fits any metric scale)"),
    final_temperature: z.number().positive().default(0.02).describe("temperature at the end of each cooling cycle, same units"),
    expected_trials: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe("trials the cooling schedule spans (set it to the budget); cooling is geometric from initial to final temperature"),
    restarts: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe("reheats within expected_trials: the schedule is split into restarts + 1 cycles, each starting again from the best point"),
    dedupe_tries: z.number().int().min(0).default(20).describe("re-draw a mutation up to this many times when it was already tried"),
  })
  .superRefine((o, ctx) => {
    if (o.final_temperature > o.initial_temperature) {
      ctx.addIssue({ code: "custom", message: `final_temperature (${o.final_temperature}) must not exceed initial_temperature (${o.initial_temperature})` });
    }
  });
export type SimulatedAnnealingOptions = z.infer<typeof options>;

const codec = stateCodec(
  z.object({
    rng: rngState,
    current: member.nullable(),
    best: member.nullable(),
    initialAsked: z.number().int().min(0),
    initialTold: z.number().int().min(0),
    step: z.number().int().min(0),
    /** null until a first score change was seen. */
    scale: anyNumber.nullable(),
  }),
);

/** Weight of the newest |score change| in the running scale (an exponential average over about 10 moves). */
const SCALE_RATE = 0.1;
/** A change larger than this many times the running scale counts as only that much (a broken cell must not heat the search). */
const SCALE_CLIP = 4;

/**
 * Simulated annealing over mutations: after `initial_samples` random points, each suggestion is
 * a mutation of the current point; a result replaces the current point when it is better, or
 * when worse by d with probability exp(-d / (T * scale)) (Metropolis). T cools geometrically from
 * `initial_temperature` to `final_temperature` over `expected_trials / (restarts + 1)` results,
 * then reheats from the best point found.
 *
 * Temperature scale: NAS scores can be accuracies in percent, fractions, or negated losses, so T
 * is relative to `scale`, a running average of |score(child) - score(current)| over recent
 * mutations (each change clipped to 4x the running value, so the rare collapse of a cell to
 * chance accuracy does not make the walk accept anything). T = 1 thus accepts a typical worse
 * move with probability 1/e. Failed trials score -Infinity: never accepted, never in the scale.
 *
 * Asynchronous: results are judged against the current point when they arrive, whichever point
 * they were mutated from.
 */
export class SimulatedAnnealing implements Strategy {
  readonly name = simulatedAnnealing.name;
  private rng: Rng;
  private current: Member | null = null;
  private best: Member | null = null;
  private initialAsked = 0;
  private initialTold = 0;
  /** Results since the cycle began (after the initial samples). */
  private step = 0;
  private scale: number | null = null;

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: SimulatedAnnealingOptions,
  ) {
    this.rng = Rng.derive(ctx.seed, "simulated-annealing");
  }

  private get cycleLength(): number {
    return Math.max(1, Math.round(this.opts.expected_trials / (this.opts.restarts + 1)));
  }

  /** Temperature now, in units of `scale`. */
  temperature(): number {
    const { initial_temperature: t0, final_temperature: t1 } = this.opts;
    return t0 * (t1 / t0) ** Math.min(1, this.step / this.cycleLength);
  }

  ask(n: number, ctx: AskContext): Json[] {
    const space = this.ctx.space;
    const taken = new Taken(space, ctx);
    const batch: Json[] = [];
    for (let i = 0; i < n; i++) {
      const cur = this.current;
      // Random points until the initial ones are asked, and while none has come back yet.
      const initial = this.initialAsked < this.opts.initial_samples || !cur;
      const propose = initial ? () => space.sample(this.rng) : () => space.mutate!(cur!.point, this.rng);
      const anchors = [cur, this.best].filter((m): m is Member => m !== null).map((m) => m.point);
      const found = freshOrFallback(taken, this.rng, initial ? 20 : this.opts.dedupe_tries + 1, propose, anchors);
      // Every point tried, or only repeats left: stop here (a repeat only when the batch would be empty).
      if (found.point === undefined || (found.repeat && batch.length > 0)) break;
      if (initial) this.initialAsked++;
      taken.add(found.point);
      batch.push(found.point);
    }
    return batch;
  }

  tell(outcome: TrialOutcome): void {
    const m: Member = { point: outcome.point, score: outcome.score };
    if (!this.best || m.score > this.best.score) this.best = m;
    const cur = this.current;
    if (this.initialTold < this.opts.initial_samples || !cur) {
      // Initial phase: keep the best random point.
      this.initialTold++;
      if (!cur || m.score > cur.score) this.current = m;
      return;
    }
    const delta = m.score - cur.score;
    if (Number.isFinite(delta)) {
      const change = Math.abs(delta);
      // The first non-zero change sets the scale (a zero one would pin it at 0 through the clip).
      this.scale = !this.scale ? change : (1 - SCALE_RATE) * this.scale + SCALE_RATE * Math.min(change, SCALE_CLIP * this.scale);
    }
    if (delta >= 0 || (cur.score === -Infinity && m.score === -Infinity)) {
      this.current = m;
    } else if (Number.isFinite(delta) && this.scale !== null && this.scale > 0) {
      if (this.rng.next() < Math.exp(delta / (this.temperature() * this.scale))) this.current = m;
    }
    this.step++;
    if (this.step >= this.cycleLength && this.opts.restarts > 0) {
      this.step = 0; // reheat from the best point
      this.current = this.best;
    }
  }

  state(): Json {
    return codec.save({
      rng: this.rng.state(),
      current: this.current,
      best: this.best,
      initialAsked: this.initialAsked,
      initialTold: this.initialTold,
      step: this.step,
      scale: this.scale,
    });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.current = s.current;
    this.best = s.best;
    this.initialAsked = s.initialAsked;
    this.initialTold = s.initialTold;
    this.step = s.step;
    this.scale = s.scale;
  }
}

export const simulatedAnnealing: StrategyComponent<SimulatedAnnealingOptions> = {
  name: "simulated_annealing",
  description: "Simulated annealing over mutations: Metropolis acceptance, geometric cooling scaled to the observed score changes, reheats.",
  requires: ["sample", "mutate"],
  options,
  create: (opts, ctx) => new SimulatedAnnealing(ctx, opts),
};
