import { z } from "zod";
import type { Json } from "../core/json.js";
import { stableStringify } from "../core/json.js";
import { Rng, type RngState } from "../core/rng.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import { UserError } from "../core/errors.js";
import type { StrategyComponent } from "./component.js";
import { ExponentialKernelFamily, WlFeaturizer, WlKernelFamily, type KernelFamily } from "./gp/kernels.js";
import { fitBest, logExpectedImprovement, rankWarp, upperConfidenceBound, type GaussianProcess } from "./gp/gp.js";
import { loadNb201, NB201_DATASETS } from "../benchmarks/nb201.js";
import { NB201_TABLE_FEATURES, nb201TableFeatures } from "../predictors/features.js";
import { FeatureKernelFamily } from "../predictors/gp.js";
import { firstFresh, Taken, type Keyed } from "./kit/fresh.js";
import { keepBestAndRecent } from "./kit/observations.js";
import { candidatePool } from "./kit/pool.js";
import { member, rngState, stateCodec, type Member } from "./kit/state.js";
import { trainingSet } from "./kit/training.js";

const options = z.strictObject({
  kernel: z
    .enum(["wl", "hamming"])
    .optional()
    .describe(
      "wl: Weisfeiler-Lehman graph kernel on the space's graph (needs `graph`); hamming: exponential kernel on the space's " +
        "encoding. Default: wl when the space has a graph, else hamming",
    ),
  wl_iterations: z
    .number()
    .int()
    .min(0)
    .max(6)
    .default(2)
    .describe("largest number h of WL label-refinement iterations; h in 0..this is chosen by marginal likelihood at each refit"),
  drop_ops: z
    .array(z.string())
    .default(["none"])
    .describe("node labels that mean 'no operation' (zero edges): WL removes them, and what they cut off, from the graph"),
  acquisition: z.enum(["ei", "ucb"]).default("ei").describe("expected improvement, or upper confidence bound mean + ucb_beta * std"),
  ucb_beta: z.number().min(0).default(2).describe("UCB exploration weight (standard deviations), for acquisition ucb"),
  xi: z.number().min(0).default(0).describe("EI margin: improvement counts above best + xi (in standard deviations of the scores)"),
  initial_samples: z.number().int().min(1).default(10).describe("random suggestions before the first model"),
  candidates: z.number().int().min(1).default(300).describe("candidates scored by the acquisition function per ask"),
  top_k: z.number().int().min(1).default(5).describe("candidates are mutations of the best top_k observed points (plus random samples)"),
  mutation_steps: z.number().int().min(1).default(3).describe("a mutated candidate applies 1 to this many random mutations to its parent"),
  random_fraction: z.number().min(0).max(1).default(0.2).describe("share of the candidates that are fresh random samples rather than mutations"),
  max_train: z
    .number()
    .int()
    .min(2)
    .default(300)
    .describe("observations kept for the model (half the best, the rest the most recent): bounds ask time and state size"),
  liar: z
    .enum(["min", "mean"])
    .default("min")
    .describe("constant liar for pending points and earlier picks of a batch: the worst or the mean observed score"),
  failed: z
    .enum(["worst", "drop"])
    .default("worst")
    .describe("failed or infeasible trials (score -Infinity) join the model with the worst observed score, or are left out"),
  warp: z
    .enum(["none", "rank"])
    .default("rank")
    .describe("rank: model the normal scores of the scores' ranks instead of the scores (robust to outliers such as collapsed architectures)"),
  dedupe_tries: z.number().int().min(1).default(50).describe("random draws tried for a point not yet seen before giving up"),
  features: z
    .array(z.enum(NB201_TABLE_FEATURES))
    .default([])
    .describe(
      "ProxyBO (Shen et al. 2023): cheap NAS-Bench-201 table features (params, flops, naswot) as extra surrogate input, through a kernel on them " +
        "combined with the architecture kernel (or left out) by marginal likelihood. Needs the nb201 space. Default: none",
    ),
  features_dataset: z.enum(NB201_DATASETS).default("cifar10").describe("dataset whose params / FLOPs columns the features use"),
});
export type GpBoOptions = z.infer<typeof options>;

/** Noise variance relative to the signal variance: the grid searched at each refit. */
const NOISE_RATIOS = [1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1];
/** Reset the WL label dictionary beyond this many labels (bounds memory on endless spaces). */
const MAX_WL_LABELS = 500_000;

const codec = stateCodec(z.object({ rng: rngState, asked: z.number().int().min(0), observations: z.array(member) }));

interface Candidate {
  point: Json;
  key: string;
  features: unknown;
  /** Base-kernel values against the model's points (training, then fake observations). */
  kx: Float64Array;
}

/**
 * Bayesian optimisation with a Gaussian process over architectures (as NAS-BOWL, Ru et al.
 * 2021): a Weisfeiler-Lehman graph kernel (or an exponential kernel on encodings), expected
 * improvement maximised over mutations of the best points plus random samples, and the constant
 * liar for batches and pending trials. The model is refitted (noise and kernel variant by
 * marginal likelihood on a grid) once per ask; its state is only the random generator, a count
 * and the bounded observation list, so caches are rebuilt on restore.
 *
 * Targets: scores are (by default) replaced by the normal scores of their ranks, then
 * standardised. Failed or infeasible trials (-Infinity) count as the worst finite score seen
 * (`failed: worst`: the model learns to avoid their region) or are left out (`failed: drop`);
 * with no finite score yet, suggestions stay random.
 */
export class GpBo implements Strategy {
  readonly name = gpBo.name;
  private rng: Rng;
  private asked = 0;
  private observations: Member[] = [];
  private readonly family: KernelFamily<unknown>;
  private readonly featurize: (point: Json) => unknown;
  private readonly wl?: WlFeaturizer;
  /** Features of observed points by stableStringify(point): derived data, never saved. */
  private featureCache = new Map<string, unknown>();

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: GpBoOptions,
  ) {
    const space = ctx.space;
    const hasGraph = typeof space.graph === "function";
    const kernel = opts.kernel ?? (hasGraph ? "wl" : "hamming");
    if (kernel === "wl") {
      if (!hasGraph) throw new UserError(`gp_bo kernel "wl" needs a space with a graph; space "${space.name}" has none. Use kernel "hamming".`);
      const wl = new WlFeaturizer(opts.wl_iterations, new Set(opts.drop_ops));
      this.wl = wl;
      this.family = new WlKernelFamily(0, opts.wl_iterations) as KernelFamily<unknown>;
      this.featurize = (p) => wl.features(space.graph!(p));
    } else {
      if (typeof space.encode !== "function") throw new UserError(`gp_bo kernel "hamming" needs a space with an encoding; space "${space.name}" has none.`);
      this.family = new ExponentialKernelFamily() as KernelFamily<unknown>;
      this.featurize = (p) => Float64Array.from(space.encode!(p));
    }
    if (opts.features.length > 0) {
      if (space.name !== "nb201") throw new UserError(`gp_bo features come from the NAS-Bench-201 table and need the nb201 space; space "${space.name}" is not it. Leave features empty.`);
      const provider = nb201TableFeatures({ dataset: opts.features_dataset, features: opts.features });
      const scale = tableScaling(provider);
      const base = this.featurize;
      // Convex sums (1 - w) k_arch + w k_features, w in {0.2, 0.5}, or k_arch alone ("off"), by marginal likelihood.
      this.family = new FeatureKernelFamily(this.family, new ExponentialKernelFamily(), [0.2, 0.5], false) as KernelFamily<unknown>;
      this.featurize = (p) => ({ a: base(p), f: Float64Array.from(provider.features(p), (v, j) => (Number.isFinite(v) ? (v - scale.mean[j]) / scale.sd[j] : 0)) });
    }
    this.rng = Rng.derive(ctx.seed, "gp-bo");
  }

  private features(point: Json): unknown {
    const key = stableStringify(point);
    let f = this.featureCache.get(key);
    if (f === undefined) {
      f = this.featurize(point);
      this.featureCache.set(key, f);
    }
    return f;
  }

  ask(n: number, ctx: AskContext): Json[] {
    const space = this.ctx.space;
    if (this.wl && this.wl.size > MAX_WL_LABELS) {
      // Feature values do not depend on label ids, so resetting changes no result.
      this.wl.reset();
      this.featureCache.clear();
    }
    const taken = new Taken(space, ctx);
    const batch: Json[] = [];
    let model: BatchModel | null | undefined;
    for (let i = 0; i < n; i++) {
      let pick: Keyed | undefined;
      if (this.asked >= this.opts.initial_samples) {
        if (model === undefined) model = this.buildModel([...ctx.pending, ...batch], taken);
        pick = model?.next(taken);
      }
      if (!pick) {
        pick = firstFresh(taken, this.opts.dedupe_tries, () => space.sample(this.rng));
        if (!pick) break; // nothing left that was not tried: a small space fully explored
        model?.addLie(this.featurize(pick.point));
      }
      batch.push(pick.point);
      taken.add(pick.point, pick.key);
      this.asked++;
    }
    return batch;
  }

  /** The GP on the observations (plus pending points as lies) and this ask's candidates; null when no model can be fitted. */
  private buildModel(pending: readonly Json[], taken: Taken): BatchModel | null {
    const train = trainingSet(this.observations, this.opts.failed);
    if (train.length < 2) return null;

    const raw = this.opts.warp === "rank" ? rankWarp(train.map((o) => o.value)) : train.map((o) => o.value);
    const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
    const sd = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / raw.length) || 1;
    const y = raw.map((s) => (s - mean) / sd);
    const trainFeatures = train.map((o) => this.features(o.point));
    const fit = fitBest(this.family.gram(trainFeatures), y, NOISE_RATIOS);
    if (!fit) return null;

    const incumbent = Math.max(...y);
    const lie = this.opts.liar === "min" ? Math.min(...y) : 0;
    const model = new BatchModel(this.family, fit.gp, fit.variant, trainFeatures, lie, (m, v) =>
      this.opts.acquisition === "ei" ? logExpectedImprovement(m, v, incumbent, this.opts.xi) : upperConfidenceBound(m, v, this.opts.ucb_beta),
    );
    for (const p of pending) model.addLie(this.featurize(p));
    model.setCandidates(this.candidates(taken).map((c) => ({ ...c, features: this.featurize(c.point) })));
    return model;
  }

  /** Mutations (1..mutation_steps) of random members of the top_k observed points, plus random samples; untried and distinct. */
  private candidates(taken: Taken): Keyed[] {
    return candidatePool(taken, this.rng, this.observations, {
      total: this.opts.candidates,
      topK: this.opts.top_k,
      mutationSteps: this.opts.mutation_steps,
      randomFraction: this.opts.random_fraction,
      parent: "random",
    });
  }

  tell(outcome: TrialOutcome): void {
    this.observations.push({ point: outcome.point, score: outcome.score });
    if (this.observations.length > this.opts.max_train) this.prune();
  }

  /** Keeps the best half of max_train and the most recent for the rest, in arrival order. */
  private prune(): void {
    this.observations = keepBestAndRecent(this.observations, this.opts.max_train);
    const live = new Set(this.observations.map((o) => stableStringify(o.point)));
    for (const key of this.featureCache.keys()) if (!live.has(key)) this.featureCache.delete(key);
  }

  state(): Json {
    return codec.save({ rng: this.rng.state(), asked: this.asked, observations: this.observations });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.load(s.rng, s.asked, s.observations);
  }

  /**
   * Continues from a generator state, an ask count and observations (oldest first, at most
   * max_train): for strategies that drive this one's model on observations of their own (parego).
   */
  load(rng: RngState, asked: number, observations: readonly Member[]): void {
    this.rng = new Rng(rng);
    this.asked = asked;
    this.observations = [...observations];
    this.featureCache.clear();
  }

  /** The generator's state and the ask count (what `load` takes back). */
  progress(): { rng: RngState; asked: number } {
    return { rng: this.rng.state(), asked: this.asked };
  }
}

/**
 * One ask's model: the fitted GP, the fake observations added so far, and the candidates with
 * their kernel rows (extended by one value per fake observation, so nothing is recomputed).
 */
class BatchModel {
  private readonly points: unknown[];
  private candidates: Candidate[] = [];

  constructor(
    private readonly family: KernelFamily<unknown>,
    private readonly gp: GaussianProcess,
    private readonly variant: number,
    train: unknown[],
    private readonly lie: number,
    private readonly acquisition: (mean: number, variance: number) => number,
  ) {
    this.points = [...train];
  }

  addLie(features: unknown): void {
    const kx = this.family.cross(this.variant, features, this.points);
    if (this.gp.add(kx, this.lie)) {
      this.points.push(features);
      for (const c of this.candidates) c.kx = append(c.kx, this.family.cross(this.variant, c.features, [features])[0]);
    }
  }

  setCandidates(list: { point: Json; key: string; features: unknown }[]): void {
    this.candidates = list.map((c) => ({ ...c, kx: this.family.cross(this.variant, c.features, this.points) }));
  }

  /**
   * The candidate with the best acquisition value that was not taken since (candidates were
   * checked against the experiment and pending points when made); it becomes a lie.
   */
  next(taken: Taken): Keyed | undefined {
    let best = -1;
    let bestValue = -Infinity;
    this.candidates.forEach((c, i) => {
      if (taken.holds(c.key)) return;
      const { mean, variance } = this.gp.predict(c.kx);
      const value = this.acquisition(mean, variance);
      if (best < 0 || value > bestValue) {
        best = i;
        bestValue = value;
      }
    });
    if (best < 0) return undefined;
    const [pick] = this.candidates.splice(best, 1);
    this.addLie(pick.features);
    return { point: pick.point, key: pick.key };
  }
}

function append(a: Float64Array, v: number): Float64Array {
  const out = new Float64Array(a.length + 1);
  out.set(a);
  out[a.length] = v;
  return out;
}

/** Mean and standard deviation of each feature over every NB201 cell (NaN left out): a fixed standardisation. */
function tableScaling(provider: { names: readonly string[]; features(p: Json): number[] }): { mean: number[]; sd: number[] } {
  const rows = loadNb201().archStrings.map((a) => provider.features(a));
  const d = provider.names.length;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(1);
  for (let j = 0; j < d; j++) {
    const xs = rows.map((r) => r[j]).filter((v) => Number.isFinite(v));
    if (xs.length === 0) continue;
    mean[j] = xs.reduce((a, b) => a + b, 0) / xs.length;
    sd[j] = Math.sqrt(xs.reduce((a, b) => a + (b - mean[j]) ** 2, 0) / xs.length) || 1;
  }
  return { mean, sd };
}

export const gpBo: StrategyComponent<GpBoOptions> = {
  name: "gp_bo",
  description: "Bayesian optimisation: Gaussian process with a Weisfeiler-Lehman graph kernel (NAS-BOWL) or Hamming kernel, expected improvement, constant liar for batches.",
  requires: ["sample", "mutate", "encode"],
  options,
  create: (opts, ctx) => new GpBo(ctx, opts),
};
