import { z } from "zod";
import type { Json, JsonObject } from "../core/json.js";
import { deriveSeed, Rng } from "../core/rng.js";
import type { AskContext, PartialOutcome, Strategy, StrategyContext, StrategyHistory, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { retryWhileTaken, Taken } from "./kit/fresh.js";
import { anyNumber, rngState, score, stateCodec, toldHistory } from "./kit/state.js";
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
    /** Per fidelity level: its model's state (a TPE state, as `Tpe.state()` wrote it: its generator and how many results it holds). */
    models: z.array(
      z.object({
        budget: anyNumber,
        tpe: z.json(),
        /** States of the previous release: the trials the level was told (their results are in its TPE state). */
        told: z.array(z.number().int()).optional(),
        /** The trials whose results the level's TPE state carries from the previous release (not replayed from the history). */
        legacy: z.array(z.number().int()).optional(),
      }),
    ),
    /**
     * Results of paused runs (a trial at a rung), which are not in the restore's history: each
     * with `at`, how many ended trials were told before it, so a restore replays every result in
     * the order it was heard. Absent in states of the previous release.
     */
    partials: z.array(z.object({ number: z.number().int(), point: z.json(), score, budget: anyNumber, at: z.number().int().min(0) })).optional(),
    /** How many ended trials were told (they come back as the history). */
    told: z.number().int().min(0).optional(),
  }),
);

interface Partial {
  number: number;
  point: Json;
  score: number;
  budget: number;
  at: number;
}

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
  private readonly models = new Map<number, { tpe: Tpe; told: Set<number>; legacy?: number[] }>();
  private readonly minPoints: number;
  /** Results of paused runs, kept in the state (they grow with the rungs reached, not with every result). */
  private partials: Partial[] = [];
  /** Ended trials told so far (the history's length). */
  private told = 0;
  readonly rebuildsFromHistory = true;

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
    const budget = this.budgetOf(outcome.fidelity);
    if (this.model(budget).told.has(outcome.number)) return;
    this.partials.push({ number: outcome.number, point: outcome.point, score: outcome.score, budget, at: this.told });
    this.observe(outcome.number, outcome.point, outcome.score, budget);
  }

  tell(outcome: TrialOutcome): void {
    this.told++;
    this.observe(outcome.number, outcome.point, this.finalScore(outcome), this.budgetOf(outcome.fidelity));
  }

  /** A stopped trial still has a result at the level it reached; a failed one counts as the worst there. */
  private finalScore(outcome: TrialOutcome): number {
    return outcome.status === "failed" ? -Infinity : this.ctx.objectives.score(outcome.metrics);
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
      models: [...this.models].map(([budget, m]) => ({ budget, tpe: m.tpe.state(), ...(m.legacy ? { legacy: m.legacy } : {}) })),
      partials: this.partials,
      told: this.told,
    });
  }

  restore(state: Json, history?: StrategyHistory): void {
    const s = codec.load(state, this.name);
    // A state of the previous release keeps every level's results in its TPE state, for all it was told.
    const previousRelease = s.partials === undefined;
    this.rng = new Rng(s.rng);
    this.partials = s.partials ?? [];
    this.told = s.told ?? history?.outcomes.length ?? 0;
    const outcomes = toldHistory(this.name, this.told, history);
    const legacyOf = (m: (typeof s.models)[number]) => (previousRelease ? (m.told ?? []) : m.legacy);
    // Every result in the order it was heard (paused results before the ended trial told after them), per level;
    // results a level's TPE state carries already are not replayed.
    const perLevel = new Map<number, { seen: Set<number>; outcomes: TrialOutcome[] }>();
    for (const m of s.models) perLevel.set(m.budget, { seen: new Set(legacyOf(m) ?? []), outcomes: [] });
    const add = (number: number, point: Json, score: number, budget: number) => {
      let level = perLevel.get(budget);
      if (!level) perLevel.set(budget, (level = { seen: new Set(), outcomes: [] }));
      if (level.seen.has(number)) return;
      level.seen.add(number);
      level.outcomes.push({ number, point, status: "finished", metrics: {}, score });
    };
    let p = 0;
    for (let k = 0; k <= outcomes.length; k++) {
      for (; p < this.partials.length && this.partials[p].at <= k; p++) add(this.partials[p].number, this.partials[p].point, this.partials[p].score, this.partials[p].budget);
      if (k < outcomes.length) add(outcomes[k].number, outcomes[k].point, this.finalScore(outcomes[k]), this.budgetOf(outcomes[k].fidelity));
    }
    this.models.clear();
    for (const m of s.models) {
      const level = perLevel.get(m.budget)!;
      const model = this.model(m.budget);
      const legacy = legacyOf(m);
      // A previous release's TPE state: its results stand for none of the level's outcomes here (those were left out above).
      model.tpe.restore(previousRelease ? { ...(m.tpe as JsonObject), covers: 0, told: level.outcomes.length } : m.tpe, { outcomes: level.outcomes });
      model.told = level.seen;
      if (legacy) model.legacy = legacy;
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
