import { z } from "zod";
import type { Json } from "../core/json.js";
import { deriveSeed, Rng } from "../core/rng.js";
import type { AskContext, PartialOutcome, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { retryWhileTaken, Taken } from "./kit/fresh.js";
import { anyNumber, rngState, stateCodec } from "./kit/state.js";
import { Tpe, tpe } from "./tpe.js";

const options = z.strictObject({
  random_fraction: z.number().min(0).max(1).default(1 / 3).describe("share of suggestions drawn at random, whatever the models say"),
  min_points: z
    .number()
    .int()
    .min(2)
    .optional()
    .describe("results a fidelity needs before its model is used (default: decisions + 2, as Falkner et al.)"),
  top_fraction: z.number().gt(0).max(1).default(0.15).describe("share of a fidelity's results (best first) that form the good density"),
  candidates: z.number().int().min(1).default(64).describe("candidates drawn from the good density per model-based suggestion"),
});
export type BohbOptions = z.infer<typeof options>;

const codec = stateCodec(
  z.object({
    rng: rngState,
    /** Per fidelity level: its model's state (a TPE state, as `Tpe.state()` wrote it) and the trials it was told. */
    models: z.array(z.object({ budget: anyNumber, tpe: z.json(), told: z.array(z.number().int()) })),
  }),
);

/**
 * BOHB's searcher (Falkner et al. 2018): one tree-structured Parzen model per fidelity level,
 * fitted on the results seen at that level (a trial paused at a rung included); a suggestion
 * comes from the model of the highest level that has `min_points` results, else (and for a
 * `random_fraction` of suggestions) at random. With `scheduler: hyperband` (type: promotion)
 * this is BOHB; with any other scheduler it is TPE on whatever results arrive.
 */
export class Bohb implements Strategy {
  readonly name = bohb.name;
  private rng: Rng;
  private readonly models = new Map<number, { tpe: Tpe; told: Set<number> }>();
  private readonly minPoints: number;

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: BohbOptions,
  ) {
    this.rng = Rng.derive(ctx.seed, "bohb");
    this.minPoints = opts.min_points ?? (ctx.space.dimensions?.().length ?? 1) + 2;
    // Checks the space once, with the error a TPE gives.
    new Tpe(ctx, this.tpeOptions());
  }

  private tpeOptions() {
    return tpe.options.parse({ n_startup: this.minPoints, gamma: this.opts.top_fraction, n_ei_candidates: this.opts.candidates, max_good: 1_000_000 });
  }

  private model(budget: number) {
    let m = this.models.get(budget);
    if (!m) {
      m = { tpe: new Tpe({ ...this.ctx, seed: deriveSeed(this.ctx.seed, "bohb-level", budget) }, this.tpeOptions()), told: new Set() };
      this.models.set(budget, m);
    }
    return m;
  }

  /** The level of a result: its fidelity's single resource (0 when the evaluator has none). */
  private budgetOf(fidelity: Record<string, number> | undefined): number {
    const values = Object.values(fidelity ?? {});
    return values.length ? values[0] : 0;
  }

  private observe(number: number, point: Json, score: number, budget: number): void {
    const m = this.model(budget);
    if (m.told.has(number)) return;
    m.told.add(number);
    m.tpe.tell({ number, point, status: "finished", metrics: {}, score });
  }

  tellPartial(outcome: PartialOutcome): void {
    this.observe(outcome.number, outcome.point, outcome.score, this.budgetOf(outcome.fidelity));
  }

  tell(outcome: TrialOutcome): void {
    // A stopped trial still has a result at the level it reached; a failed one counts as the worst there.
    const score = outcome.status === "failed" ? -Infinity : this.ctx.objectives.score(outcome.metrics);
    this.observe(outcome.number, outcome.point, score, this.budgetOf(outcome.fidelity));
  }

  /** The model of the highest level with enough results, if any. */
  private usable(): Tpe | undefined {
    let best: number | undefined;
    for (const [budget, m] of this.models) if (m.told.size >= this.minPoints && (best === undefined || budget > best)) best = budget;
    return best === undefined ? undefined : this.models.get(best)!.tpe;
  }

  ask(n: number, ctx: AskContext): Json[] {
    const space = this.ctx.space;
    const taken = new Taken(space, ctx);
    const out: Json[] = [];
    for (let i = 0; i < n; i++) {
      const model = this.usable();
      if (model && this.rng.next() >= this.opts.random_fraction) {
        const picked = model.ask(1, { pending: [...ctx.pending, ...out], seen: ctx.seen });
        for (const p of picked) taken.add(p);
        out.push(...picked);
        continue;
      }
      const sample = () => space.sample(this.rng);
      const point = retryWhileTaken(taken, sample(), 10, sample);
      taken.add(point);
      out.push(point);
    }
    return out;
  }

  state(): Json {
    return codec.save({
      rng: this.rng.state(),
      models: [...this.models].map(([budget, m]) => ({ budget, tpe: m.tpe.state(), told: [...m.told] })),
    });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.models.clear();
    for (const m of s.models) {
      const model = this.model(m.budget);
      model.tpe.restore(m.tpe);
      model.told = new Set(m.told);
    }
  }
}

export const bohb: StrategyComponent<BohbOptions> = {
  name: "bohb",
  description: "BOHB's searcher (Falkner et al. 2018): a TPE model per fidelity level, the highest with enough results used; pair with scheduler hyperband (type: promotion).",
  requires: ["sample", "dimensions"],
  options,
  create: (opts, ctx) => new Bohb(ctx, opts),
};
