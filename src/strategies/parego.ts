import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng, type RngState } from "../core/rng.js";
import type { AskContext, Strategy, StrategyContext, StrategyHistory, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { GpBo, gpBo } from "./gp-bo.js";
import { keepBestAndRecent } from "./kit/observations.js";
import { rngState, stateCodec, toldHistory } from "./kit/state.js";
import { bounds, chebyshev, cheapConstraintViolation, memberOf, moMember, normaliseWeights, weightsOption, type MoMember } from "./mo-common.js";

const options = z.strictObject({
  weights: weightsOption,
  rho: z.number().min(0).default(0.05).describe("augmentation of the Chebyshev scalarisation: rho * sum of weighted gaps is added to the largest one"),
  kernel: z.enum(["wl", "hamming"]).optional().describe("GP kernel (as gp_bo): wl when the space has a graph, else hamming"),
  initial_samples: z.number().int().min(1).default(10).describe("random suggestions before the first model"),
  candidates: z.number().int().min(1).default(300).describe("candidates (mutations of the best scalarised points plus random samples) scored by EI per ask"),
  top_k: z.number().int().min(1).default(5).describe("candidates are mutations of the best top_k points under this ask's scalarisation"),
  max_train: z.number().int().min(2).default(300).describe("observations given to the GP (best half under the scalarisation, then the most recent)"),
});
export type ParegoOptions = z.infer<typeof options>;

const codec = stateCodec(
  z.object({
    rng: rngState,
    /** The inner GP strategy's generator. */
    gp: z.object({ rng: rngState }),
    asked: z.number().int().min(0),
    /** How many results were told (they come back as the restore's history). */
    told: z.number().int().min(0).optional(),
    /**
     * Results a state of the previous release carried, kept as they are (in the order told): they
     * stand for the first `covers` results of the history (all of it in such a state).
     */
    observations: z.array(moMember).optional(),
    covers: z.number().int().min(0).optional(),
  }),
);

/**
 * ParEGO-style random-scalarisation Bayesian optimisation (Knowles 2006): each ask draws a weight
 * vector uniformly from the simplex (or uses the fixed preference `weights`), scalarises every
 * observation by the augmented Chebyshev function of its objectives normalised to the observed
 * range, and lets the GP of `gp_bo` (WL or Hamming kernel, expected improvement maximised over
 * mutations of the best points) pick the next points on that scalar. Infeasible or failed trials
 * get the worst scalar. Points known infeasible from cheap metrics are never suggested.
 */
export class Parego implements Strategy {
  readonly name = parego.name;
  private rng: Rng;
  private asked = 0;
  private observations: MoMember[] = [];
  private legacy?: { observations: MoMember[]; covers: number };
  private readonly inner: GpBo;
  private gpRng: RngState;
  private readonly weights?: number[];

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: ParegoOptions,
  ) {
    this.weights = normaliseWeights(opts.weights, ctx.objectives, "parego");
    const gpOpts = gpBo.options.parse({
      kernel: opts.kernel,
      initial_samples: opts.initial_samples,
      candidates: opts.candidates,
      top_k: opts.top_k,
      max_train: opts.max_train,
    });
    this.inner = new GpBo({ space: ctx.space, objectives: ctx.objectives, seed: ctx.seed }, gpOpts);
    this.gpRng = this.inner.progress().rng;
    this.rng = Rng.derive(ctx.seed, "parego");
  }

  /** A weight vector uniform on the simplex (normalised exponential draws). */
  private drawWeights(m: number): number[] {
    const e = Array.from({ length: m }, () => -Math.log(1 - this.rng.next()));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  }

  ask(n: number, actx: AskContext): Json[] {
    const m = this.ctx.objectives.list.length;
    const w = this.weights ?? this.drawWeights(m);
    const { lo, hi } = bounds(this.observations, m);
    const scored = this.observations.map((o) => ({ point: o.point, score: o.violation === 0 ? -chebyshev(o.vec, w, lo, hi, this.opts.rho) : -Infinity }));
    this.inner.load(this.gpRng, this.asked, keepBestAndRecent(scored, this.opts.max_train));
    const lookup = this.ctx.cheapMetrics;
    const objectives = this.ctx.objectives;
    const filtered: AskContext =
      lookup && objectives.constraints.length > 0
        ? {
            pending: actx.pending,
            seen: (p) => {
              if (actx.seen(p)) return true;
              const known = lookup(p);
              return known !== undefined && cheapConstraintViolation(objectives, known) > 0;
            },
          }
        : actx;
    const batch = this.inner.ask(n, filtered);
    this.gpRng = this.inner.progress().rng;
    this.asked += batch.length;
    return batch;
  }

  tell(outcome: TrialOutcome): void {
    this.observations.push(memberOf(this.ctx.objectives, outcome));
  }

  /** The observations are the told results: the state counts them, `restore` reads them back from the history. */
  readonly rebuildsFromHistory = true;

  state(): Json {
    const l = this.legacy;
    const told = l ? l.covers + this.observations.length - l.observations.length : this.observations.length;
    return codec.save({ rng: this.rng.state(), gp: { rng: this.gpRng }, asked: this.asked, told, ...(l ? { observations: l.observations, covers: l.covers } : {}) });
  }

  restore(state: Json, history?: StrategyHistory): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.gpRng = s.gp.rng;
    this.asked = s.asked;
    this.legacy = s.observations ? { observations: s.observations, covers: s.covers ?? history?.outcomes.length ?? 0 } : undefined;
    const covers = this.legacy?.covers ?? 0;
    const newer = toldHistory(this.name, s.told ?? covers, history).slice(covers);
    this.observations = [...(this.legacy?.observations ?? []), ...newer.map((o) => memberOf(this.ctx.objectives, o))];
  }
}

export const parego: StrategyComponent<ParegoOptions> = {
  name: "parego",
  description: "ParEGO-style BO: a random (or preferred) augmented Chebyshev scalarisation per ask, GP (WL / Hamming kernel) + EI over mutations.",
  requires: ["sample", "mutate", "encode"],
  options,
  create: (opts, ctx) => new Parego(ctx, opts),
};
