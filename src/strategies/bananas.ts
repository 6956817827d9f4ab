import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import { supports } from "../core/space.js";
import type { AskContext, Strategy, StrategyContext, StrategyHistory, TrialOutcome } from "../core/strategy.js";
import { UserError } from "../core/errors.js";
import type { StrategyComponent } from "./component.js";
import type { Predictor } from "../predictors/predictor.js";
import { predictors } from "../predictors/registry.js";
import { EnsemblePredictor } from "../predictors/ensemble.js";
import { native } from "../engine/native.js";
import { firstFresh, Taken, type Keyed } from "./kit/fresh.js";
import { keepBestAndRecent } from "./kit/observations.js";
import { candidatePool } from "./kit/pool.js";
import { member, rngState, stateCodec, toldHistory, type Member } from "./kit/state.js";
import { trainingSet } from "./kit/training.js";

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

const codec = stateCodec(
  z.object({
    rng: rngState,
    asked: z.number().int().min(0),
    /** Observations the current model was fitted on (a prefix of the told results), 0 before any fit. */
    fitted: z.number().int().min(0),
    /** How many results were told (they come back as the restore's history), and how many when the model was last fitted. */
    told: z.number().int().min(0).optional(),
    toldAtFit: z.number().int().min(0).optional(),
    /**
     * Observations a state of the previous release carried (pruned at its last fit), kept as they
     * are (a bounded list): they stand for the first `covers` results of the history (all of it
     * in a state of the previous release), which are not replayed.
     */
    observations: z.array(member).optional(),
    covers: z.number().int().min(0).optional(),
  }),
);

/**
 * BANANAS (White, Neiswanger & Savani, AAAI 2021): Bayesian optimisation with an ensemble of
 * neural predictors on the path encoding. After `initial_samples` random points, each ask
 * (re)trains the ensemble on the results so far, makes candidates by mutating the best observed
 * architectures (plus a few random samples), and picks by independent Thompson sampling: one
 * draw per candidate from N(ensemble mean, ensemble std), best draw wins. Batches take the best
 * distinct draws; candidates already tried (`ctx.seen`) or in flight (`ctx.pending`) are skipped.
 *
 * The model is a function of the observations it was fitted on and the seed, so the state is only
 * how many observations there are and how many the model used, the generator and a counter: the
 * observations are the experiment's told results (the restore's history), and `restore` refits
 * the same model on the next ask. Needs the tensor engine (libtorch).
 */
export class Bananas implements Strategy {
  readonly name = bananas.name;
  private rng: Rng;
  private asked = 0;
  private fitted = 0;
  private observations: Member[] = [];
  /** Results told in all, and when the model was last fitted (the observations then were the history up to there, pruned). */
  private told = 0;
  private toldAtFit = 0;
  private legacy?: { observations: Member[]; covers: number };
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
      if (!supports(ctx.space, cap)) {
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
      this.toldAtFit = this.told;
      this.modelFitted = -1;
    }
    if (this.model && this.modelFitted === this.fitted) return this.model;
    const data = trainingSet(this.observations.slice(0, this.fitted), this.opts.failed);
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
    const taken = new Taken(space, ctx);
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
          taken.add(s.c.point, s.c.key);
        }
      }
    }
    while (batch.length < n) {
      const pick = firstFresh(taken, this.opts.dedupe_tries, () => space.sample(this.rng));
      if (!pick) break; // a small space fully explored
      batch.push(pick.point);
      taken.add(pick.point, pick.key);
    }
    this.asked += batch.length;
    return batch;
  }

  private acquire(mean: number, std: number): number {
    if (this.opts.acquisition === "its") return mean + std * this.rng.normal();
    if (this.opts.acquisition === "ucb") return mean + this.opts.ucb_beta * std;
    return mean;
  }

  /** Mutations (1..mutation_steps) of the best top_k observed points, in turn, plus random samples; untried and distinct. */
  private candidates(taken: Taken): Keyed[] {
    return candidatePool(taken, this.rng, this.observations, {
      total: this.opts.candidates,
      topK: this.opts.top_k,
      mutationSteps: this.opts.mutation_steps,
      randomFraction: this.opts.random_fraction,
      parent: "cycle",
    });
  }

  tell(outcome: TrialOutcome): void {
    this.observations.push({ point: outcome.point, score: outcome.score });
    this.told++;
  }

  readonly rebuildsFromHistory = true;

  state(): Json {
    const legacy = this.legacy ? { observations: this.legacy.observations, covers: this.legacy.covers } : {};
    return codec.save({ rng: this.rng.state(), asked: this.asked, fitted: this.fitted, told: this.told, toldAtFit: this.toldAtFit, ...legacy });
  }

  restore(state: Json, history?: StrategyHistory): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.asked = s.asked;
    this.fitted = s.fitted;
    const given = history?.outcomes ?? [];
    this.legacy = s.observations ? { observations: s.observations, covers: s.covers ?? given.length } : undefined;
    const covers = this.legacy?.covers ?? 0;
    const outcomes = toldHistory(this.name, s.told ?? covers, history);
    this.told = outcomes.length;
    // The told results in order, the ones a previous release's state carries standing for the first `covers`.
    const prefix = this.legacy?.observations ?? [];
    const all = [...prefix, ...outcomes.slice(covers).map((o) => ({ point: o.point, score: o.score }))];
    const shift = covers - prefix.length; // results the carried list stands for but no longer holds (pruned)
    this.toldAtFit = s.toldAtFit ?? (this.legacy ? covers - (prefix.length - s.fitted) : 0);
    if (this.toldAtFit <= covers && this.legacy) {
      this.observations = all; // the last fit was within the carried list, which is as it was then
    } else if (this.toldAtFit > 0) {
      // The observations at the last fit were the results up to it, pruned (pruning again and again
      // gives what pruning once does: what one prune drops, no later one keeps); then the newer ones.
      const atFit = this.toldAtFit - shift;
      this.observations = [...keepBestAndRecent(all.slice(0, atFit), this.opts.max_train), ...all.slice(atFit)];
      if (this.observations.length - (all.length - atFit) !== s.fitted) {
        throw new Error(`strategy "${this.name}": the saved state says its model was fitted on ${s.fitted} observations, but the history gives ${this.observations.length - (all.length - atFit)}`);
      }
    } else {
      this.observations = all;
    }
    this.model?.dispose?.();
    this.model = undefined;
    this.modelFitted = -1;
  }
}

export const bananas: StrategyComponent<BananasOptions> = {
  name: "bananas",
  description: "BANANAS (White et al. 2021): ensemble of neural predictors on path encodings, mutation candidates, independent Thompson sampling.",
  requires: ["sample", "mutate", "graph"],
  options,
  create: (opts, ctx) => new Bananas(ctx, opts),
};
