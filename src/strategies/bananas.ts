import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng, type RngState } from "../core/rng.js";
import { pointHash, type Capability } from "../core/space.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import { UserError } from "../core/errors.js";
import type { StrategyComponent } from "./component.js";
import type { Predictor } from "../predictors/predictor.js";
import { predictors } from "../predictors/registry.js";
import { EnsemblePredictor } from "../predictors/ensemble.js";
import { native } from "../engine/native.js";
import { keepBestAndRecent } from "./observations.js";

const options = z.strictObject({
  initial_samples: z.number().int().min(2).default(10).describe("random suggestions before the first model"),
  predictor: z
    .string()
    .default("mlp")
    .describe("registered predictor of the ensemble members (default: MLP on the path encoding, as in BANANAS)"),
  predictor_options: z
    .record(z.string(), z.unknown())
    .default({})
    .describe("options of the member predictor (for mlp, defaults to { epochs: 30 } and members = ensemble)"),
  ensemble: z.number().int().min(1).default(5).describe("ensemble members (different seeds); their spread is the uncertainty"),
  acquisition: z
    .enum(["its", "ucb", "mean"])
    .default("its")
    .describe("its: independent Thompson sampling (one draw from N(mean, std) per candidate); ucb: mean + ucb_beta * std; mean: exploit"),
  ucb_beta: z.number().min(0).default(1).describe("exploration weight of acquisition ucb"),
  candidates: z.number().int().min(1).default(100).describe("candidates scored per ask"),
  top_k: z.number().int().min(1).default(3).describe("candidates are mutations of the best top_k observed points (plus random samples)"),
  mutation_steps: z.number().int().min(1).default(2).describe("a candidate applies 1 to this many random mutations to its parent"),
  random_fraction: z.number().min(0).max(1).default(0.1).describe("share of the candidates that are fresh random samples"),
  refit_every: z.number().int().min(1).default(1).describe("retrain the ensemble once this many new results have arrived since the last fit"),
  max_train: z.number().int().min(4).default(400).describe("observations the ensemble trains on (the best half and the most recent): bounds fit time"),
  failed: z
    .enum(["worst", "drop"])
    .default("worst")
    .describe("failed or infeasible trials (score -Infinity) train the model with the worst observed score, or are left out"),
  dedupe_tries: z.number().int().min(1).default(50).describe("random draws tried for a point not yet seen before giving up"),
});
export type BananasOptions = z.infer<typeof options>;

interface Observation {
  point: Json;
  score: number;
}

interface BananasState {
  rng: RngState;
  asked: number;
  /** Observations the current model was fitted on (a prefix of `observations`), 0 before any fit. */
  fitted: number;
  observations: { point: Json; score: number | null }[];
}

/**
 * BANANAS (White, Neiswanger & Savani, AAAI 2021): Bayesian optimisation with an ensemble of
 * neural predictors on the path encoding. After `initial_samples` random points, each ask
 * (re)trains the ensemble on the results so far, makes candidates by mutating the best observed
 * architectures (plus a few random samples), and picks by independent Thompson sampling: one
 * draw per candidate from N(ensemble mean, ensemble std), best draw wins. Batches take the best
 * distinct draws; candidates already tried (`ctx.seen`) or in flight (`ctx.pending`) are skipped.
 *
 * The model is a function of the observations it was fitted on and the seed, so the state is only
 * the observations, how many the model used, the generator and a counter: `restore` refits the
 * same model on the next ask. Needs the tensor engine (libtorch).
 */
export class Bananas implements Strategy {
  static readonly requires: Capability[] = ["sample", "mutate", "graph"];
  readonly name = "bananas";
  private rng: Rng;
  private asked = 0;
  private fitted = 0;
  private observations: Observation[] = [];
  private model?: Predictor;
  private modelFitted = -1;

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: BananasOptions,
  ) {
    try {
      native();
    } catch (e) {
      throw new UserError(`strategy "bananas" trains neural predictors on the tensor engine: ${(e as Error).message}`);
    }
    const factory = predictors[opts.predictor];
    if (!factory || factory.name === "ensemble") {
      throw new UserError(`bananas: unknown predictor "${opts.predictor}" (known: ${Object.keys(predictors).filter((k) => k !== "ensemble").join(", ")})`);
    }
    for (const cap of factory.requires) {
      if (typeof (ctx.space as unknown as Record<string, unknown>)[cap] !== "function") {
        throw new UserError(`bananas: predictor "${opts.predictor}" needs the space capability "${cap}", which space "${ctx.space.name}" lacks`);
      }
    }
    this.rng = Rng.derive(ctx.seed, "bananas");
    // Validate the predictor options now rather than at the first fit.
    this.newModel().dispose?.();
  }

  private newModel(): Predictor {
    const factory = predictors[this.opts.predictor];
    const pctx = { space: this.ctx.space, seed: this.ctx.seed };
    if (this.opts.predictor === "mlp") {
      // The MLP trains its members together (one batched network): much faster than K fits.
      // 30 epochs suffice at BANANAS' training-set sizes and keep a refit per ask cheap.
      return factory.create(pctx, { members: this.opts.ensemble, epochs: 30, ...this.opts.predictor_options });
    }
    if (this.opts.ensemble === 1) return factory.create(pctx, this.opts.predictor_options);
    return EnsemblePredictor.of(factory, pctx, this.opts.ensemble, this.opts.predictor_options);
  }

  /** The observations a fit uses: failed ones as the worst score, or dropped. */
  private trainingSet(upTo: number): { point: Json; value: number }[] {
    const obs = this.observations.slice(0, upTo);
    const finite = obs.filter((o) => Number.isFinite(o.score));
    if (finite.length === 0) return [];
    const worst = Math.min(...finite.map((o) => o.score));
    return (this.opts.failed === "drop" ? finite : obs).map((o) => ({ point: o.point, value: Number.isFinite(o.score) ? o.score : worst }));
  }

  /** Keeps at most max_train observations: the best half and the most recent, in arrival order (bounds fit time and state size). */
  private prune(): void {
    this.observations = keepBestAndRecent(this.observations, this.opts.max_train);
  }

  /** Fits the model when enough new results arrived; returns it, or undefined when there is nothing to learn from yet. */
  private async ensureModel(): Promise<Predictor | undefined> {
    const n = this.observations.length;
    if (this.fitted === 0 || n - this.fitted >= this.opts.refit_every) {
      this.prune();
      this.fitted = this.observations.length;
      this.modelFitted = -1;
    }
    if (this.model && this.modelFitted === this.fitted) return this.model;
    const data = this.trainingSet(this.fitted);
    const distinct = new Set(data.map((d) => d.value)).size;
    if (data.length < 2 || distinct < 2) return undefined;
    this.model?.dispose?.();
    this.model = this.newModel();
    await this.model.fit(data);
    this.modelFitted = this.fitted;
    return this.model;
  }

  async ask(n: number, ctx: AskContext): Promise<Json[]> {
    const space = this.ctx.space;
    const pendingKeys = new Set(ctx.pending.map((p) => pointHash(space, p)));
    const batchKeys = new Set<string>();
    const taken = (point: Json, key: string) => batchKeys.has(key) || pendingKeys.has(key) || ctx.seen(point);
    const batch: Json[] = [];
    const model = this.asked >= this.opts.initial_samples && this.observations.length > 0 ? await this.ensureModel() : undefined;
    if (model) {
      const cands = this.candidates(taken);
      if (cands.length > 0) {
        const preds = await model.predict(cands.map((c) => c.point));
        const scored = cands.map((c, i) => ({ c, v: this.acquire(preds[i].mean, preds[i].std), i }));
        scored.sort((a, b) => b.v - a.v || a.i - b.i);
        for (const s of scored) {
          if (batch.length >= n) break;
          batch.push(s.c.point);
          batchKeys.add(s.c.key);
        }
      }
    }
    while (batch.length < n) {
      const pick = this.randomFresh(taken);
      if (!pick) break; // a small space fully explored
      batch.push(pick.point);
      batchKeys.add(pick.key);
    }
    this.asked += batch.length;
    return batch;
  }

  private acquire(mean: number, std: number): number {
    if (this.opts.acquisition === "its") return mean + std * this.rng.normal();
    if (this.opts.acquisition === "ucb") return mean + this.opts.ucb_beta * std;
    return mean;
  }

  private randomFresh(taken: (point: Json, key: string) => boolean): { point: Json; key: string } | undefined {
    const space = this.ctx.space;
    for (let i = 0; i < this.opts.dedupe_tries; i++) {
      const point = space.sample(this.rng);
      const key = pointHash(space, point);
      if (!taken(point, key)) return { point, key };
    }
    return undefined;
  }

  /** Mutations (1..mutation_steps) of the best top_k observed points plus random samples; untried and distinct. */
  private candidates(taken: (point: Json, key: string) => boolean): { point: Json; key: string }[] {
    const space = this.ctx.space;
    const top = this.observations
      .map((o, i) => ({ o, i }))
      .filter((e) => Number.isFinite(e.o.score))
      .sort((a, b) => b.o.score - a.o.score || a.i - b.i)
      .slice(0, this.opts.top_k)
      .map((e) => e.o.point);
    const total = this.opts.candidates;
    const randoms = top.length === 0 ? total : Math.round(total * this.opts.random_fraction);
    const out: { point: Json; key: string }[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < total; i++) {
      let point: Json;
      if (i < total - randoms) {
        point = top[i % top.length];
        const steps = 1 + this.rng.int(this.opts.mutation_steps);
        for (let s = 0; s < steps; s++) point = space.mutate!(point, this.rng);
      } else {
        point = space.sample(this.rng);
      }
      const key = pointHash(space, point);
      if (keys.has(key) || taken(point, key)) continue;
      keys.add(key);
      out.push({ point, key });
    }
    return out;
  }

  tell(outcome: TrialOutcome): void {
    this.observations.push({ point: outcome.point, score: outcome.score });
  }

  state(): Json {
    const s: BananasState = {
      rng: this.rng.state(),
      asked: this.asked,
      fitted: this.fitted,
      observations: this.observations.map((o) => ({ point: o.point, score: Number.isFinite(o.score) ? o.score : null })),
    };
    return s as unknown as Json;
  }

  restore(state: Json): void {
    const s = state as unknown as BananasState;
    this.rng = new Rng(s.rng);
    this.asked = s.asked;
    this.fitted = s.fitted;
    this.observations = s.observations.map((o) => ({ point: o.point, score: o.score === null ? -Infinity : o.score }));
    this.model?.dispose?.();
    this.model = undefined;
    this.modelFitted = -1;
  }
}

export const bananas: StrategyComponent<BananasOptions> = {
  name: "bananas",
  description: "BANANAS (White et al. 2021): ensemble of neural predictors on path encodings, mutation candidates, independent Thompson sampling.",
  requires: Bananas.requires,
  options,
  create: (opts, ctx) => new Bananas(ctx, opts),
};
