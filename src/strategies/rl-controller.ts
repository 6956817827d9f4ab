import { z } from "zod";
import type { Json } from "../core/json.js";
import { stableStringify } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { Dimension, SearchSpace } from "../core/space.js";
import type { AskContext, PrepareContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import { UserError } from "../core/errors.js";
import type { Tensor } from "../engine/tensor.js";
import { tensor, tidy } from "../engine/tensor.js";
import type { StrategyComponent } from "./component.js";
import { ControllerPolicy, OwnAdam, fromBase64, toBase64 } from "./rl/policy.js";
import { retryWhileTaken, Taken } from "./kit/fresh.js";
import { anyNumber, rngState, stateCodec } from "./kit/state.js";

const options = z.strictObject({
  hidden_size: z.number().int().min(4).max(512).default(32).describe("LSTM hidden (and embedding) size"),
  lr: z.number().positive().default(0.1).describe("Adam learning rate of the policy"),
  batch_size: z.number().int().min(1).default(5).describe("results per policy update (REINFORCE batch)"),
  entropy_weight: z.number().min(0).default(0.001).describe("weight of the entropy bonus (mean entropy per decision)"),
  baseline_decay: z.number().min(0).max(1).default(0.9).describe("exponential moving average factor of the reward baseline"),
  failure_reward: z.number().default(-3).describe("normalised reward of a failed or infeasible trial (finished ones are clipped to [-3, 3])"),
  grad_clip: z.number().min(0).default(5).describe("clip the gradient to this global norm (0: off)"),
  bins: z.number().int().min(2).max(256).default(8).describe("choices an int or float decision is binned into"),
  temperature: z.number().positive().default(1).describe("sampling temperature (logits divided by it)"),
  dedupe_tries: z.number().int().min(0).default(10).describe("re-draws, at rising temperatures, when a sample was already tried or is in flight; then uniform samples"),
  policy_from: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .optional()
    .describe("start from the trained policy of this earlier rl_controller experiment in the same store (policy reuse)"),
});
export type RlControllerOptions = z.infer<typeof options>;

/** A decision as the controller sees it: a fixed list of choices (ints and floats binned). */
interface Decision {
  values: Json[];
  index(value: Json): number;
}

function nearest(values: number[], v: number, log: boolean): number {
  const f = (x: number) => (log ? Math.log(x) : x);
  let best = 0;
  for (let i = 1; i < values.length; i++) if (Math.abs(f(values[i]) - f(v)) < Math.abs(f(values[best]) - f(v))) best = i;
  return best;
}

function decisionOf(d: Dimension, bins: number): Decision {
  if (d.kind === "categorical") {
    const keys = new Map(d.choices.map((c, i) => [stableStringify(c), i]));
    return { values: [...d.choices], index: (v) => keys.get(stableStringify(v)) ?? -1 };
  }
  const log = d.log && d.low > 0;
  const at = (u: number) => (log ? Math.exp(Math.log(d.low) + u * (Math.log(d.high) - Math.log(d.low))) : d.low + u * (d.high - d.low));
  let values: number[];
  if (d.kind === "int") {
    values = d.high - d.low + 1 <= bins ? Array.from({ length: d.high - d.low + 1 }, (_, i) => d.low + i) : [...new Set(Array.from({ length: bins }, (_, i) => Math.round(at(i / (bins - 1)))))];
  } else {
    values = Array.from({ length: bins }, (_, i) => at((i + 0.5) / bins)); // bin centres
  }
  return { values, index: (v) => (typeof v === "number" && Number.isFinite(v) ? nearest(values, v, log) : -1) };
}

const bufferedResult = z.object({
  seq: z.array(z.number().int()),
  /** Primary objective; null when failed or infeasible. */
  score: anyNumber.nullable(),
});
type Sample = z.infer<typeof bufferedResult>;

const rlState = z.object({
  kind: z.literal("rl_controller"),
  version: z.literal(1),
  /** Choices per decision and hidden size: a policy fits another search only when these match. */
  signature: z.object({ choices: z.array(z.number().int()), hidden: z.number().int() }),
  rng: rngState,
  params: z.record(z.string(), z.string()),
  adam: z.object({ t: z.number().int().min(0), m: z.array(z.string()), v: z.array(z.string()) }),
  baseline: anyNumber,
  stats: z.object({ n: z.number().int().min(0), mean: anyNumber, m2: anyNumber }),
  buffer: z.array(bufferedResult),
  updates: z.number().int().min(0),
  /** Experiment whose policy this one started from, if any. */
  reused: z.string().nullable(),
});
type RlState = z.infer<typeof rlState>;
const codec = stateCodec(rlState);
/** Just enough of a state to tell whether an rl_controller wrote it. */
const ofRlController = z.looseObject({ kind: z.literal("rl_controller") });

/**
 * RL controller (Zoph & Le 2017; policy reuse across datasets after Cassimon et al. 2024): an LSTM
 * policy samples the space's decisions one after another; after every `batch_size` results it
 * takes a REINFORCE step on the normalised rewards minus an exponential moving-average baseline,
 * with an entropy bonus, by Adam. Sampling draws from the policy's probabilities with the
 * strategy's own seeded generator, so a search is reproducible, and the whole policy (weights,
 * Adam moments, baseline, reward statistics, unused results, generator) is in `state()`.
 */
export class RlController implements Strategy {
  readonly name = rlController.name;
  private rng: Rng;
  private readonly decisions: Decision[];
  private readonly policy: ControllerPolicy;
  private readonly named: [string, Tensor][];
  private readonly adam: OwnAdam;
  private baseline = 0;
  private stats = { n: 0, mean: 0, m2: 0 };
  private buffer: Sample[] = [];
  private updates = 0;
  private reused: string | null = null;
  /** Serialised weights and moments, refreshed only when they change (state() is called on every trial). */
  private saved!: { params: Record<string, string>; m: string[]; v: string[] };

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: RlControllerOptions,
  ) {
    const space = ctx.space as SearchSpace & Required<Pick<SearchSpace, "dimensions" | "toValues" | "fromValues">>;
    if (!space.dimensions || !space.toValues || !space.fromValues) {
      throw new UserError(`rl_controller needs a space with the "dimensions" capability; space "${space.name}" lacks it`);
    }
    this.decisions = space.dimensions().map((d) => decisionOf(d, opts.bins));
    if (this.decisions.length === 0) throw new UserError(`rl_controller: space "${space.name}" has no decisions`);
    this.rng = Rng.derive(ctx.seed, "rl-controller");
    const init = Rng.derive(ctx.seed, "rl-controller-init");
    this.policy = new ControllerPolicy(this.decisions.map((d) => d.values.length), opts.hidden_size, init);
    this.named = this.policy.namedParameters();
    this.adam = new OwnAdam(this.named.map(([, t]) => t), opts.lr);
    this.serialise();
  }

  private get space() {
    return this.ctx.space as SearchSpace & Required<Pick<SearchSpace, "dimensions" | "toValues" | "fromValues">>;
  }

  private signature(): RlState["signature"] {
    return { choices: this.decisions.map((d) => d.values.length), hidden: this.opts.hidden_size };
  }

  private serialise(): void {
    this.saved = {
      params: Object.fromEntries(this.named.map(([k, t]) => [k, toBase64(t)])),
      m: this.adam.m.map(toBase64),
      v: this.adam.v.map(toBase64),
    };
  }

  private draw = (probs: Float32Array): number => {
    const u = this.rng.next();
    let acc = 0;
    let last = 0;
    for (let k = 0; k < probs.length; k++) {
      if (!(probs[k] > 0)) continue;
      acc += probs[k];
      last = k;
      if (u < acc) return k;
    }
    return last;
  };

  private toPoint(seq: number[]): Json {
    return this.space.fromValues(seq.map((k, t) => this.decisions[t].values[k]));
  }

  /** Choice index per decision of any point (-1 where a decision is inactive or off the grid). */
  private toSeq(point: Json): number[] {
    const values = this.space.toValues(point);
    return this.decisions.map((d, t) => (values[t] === null || values[t] === undefined ? -1 : d.index(values[t])));
  }

  ask(n: number, ctx: AskContext): Json[] {
    const taken = new Taken(this.space, ctx);
    const batch: Json[] = [];
    const tries = this.opts.dedupe_tries;
    for (let i = 0; i < n; i++) {
      // A peaked policy keeps proposing what was tried: redraw at rising temperatures (still near the
      // policy), and only then uniformly, instead of wasting the trial on a repeat.
      const first = this.toPoint(this.policy.sample(this.draw, this.opts.temperature));
      const near = retryWhileTaken(taken, first, tries, (r) => this.toPoint(this.policy.sample(this.draw, this.opts.temperature * (1 + r / 2))));
      const point = retryWhileTaken(taken, near, tries, () => this.space.sample(this.rng));
      taken.add(point);
      batch.push(point);
    }
    return batch;
  }

  tell(outcome: TrialOutcome): void {
    const ok = outcome.status === "finished" && Number.isFinite(outcome.score);
    if (ok) {
      // Welford's running mean and variance of the rewards, for normalisation.
      const s = this.stats;
      s.n++;
      const d = outcome.score - s.mean;
      s.mean += d / s.n;
      s.m2 += d * (outcome.score - s.mean);
    }
    this.buffer.push({ seq: this.toSeq(outcome.point), score: ok ? outcome.score : null });
    if (this.buffer.length >= this.opts.batch_size) this.update();
  }

  private normalised(score: number | null): number {
    if (score === null) return this.opts.failure_reward;
    const s = this.stats;
    const std = s.n > 1 ? Math.sqrt(s.m2 / (s.n - 1)) : 0;
    if (!(std > 0)) return 0;
    return Math.max(-3, Math.min(3, (score - s.mean) / std));
  }

  /** One REINFORCE step on the buffered results: loss = -mean((r - b) log p) - entropy_weight * mean(H). */
  private update(): void {
    const batch = this.buffer;
    this.buffer = [];
    const rewards = batch.map((b) => this.normalised(b.score));
    const advantages = rewards.map((r) => r - this.baseline);
    const meanReward = rewards.reduce((a, b) => a + b, 0) / rewards.length;
    this.baseline = this.opts.baseline_decay * this.baseline + (1 - this.opts.baseline_decay) * meanReward;
    tidy(() => {
      const { logp, entropy } = this.policy.logProb(batch.map((b) => b.seq));
      const adv = tensor(advantages);
      const loss = logp.mul(adv).mean().neg().sub(entropy.mean().mul(this.opts.entropy_weight));
      loss.backward();
    });
    this.adam.step(this.opts.grad_clip);
    this.updates++;
    this.serialise();
  }

  async prepare(ctx: PrepareContext): Promise<void> {
    const from = this.opts.policy_from;
    if (!from) return;
    const prev = await ctx.previous(from).catch((e: unknown) => {
      throw e instanceof UserError ? new UserError(`strategy.policy_from: ${e.message}`) : e;
    });
    if (prev.strategy === undefined || !ofRlController.safeParse(prev.strategy).success) {
      throw new UserError(`strategy.policy_from: experiment "${from}" was not searched by rl_controller, so it has no policy to reuse`);
    }
    const s = codec.load(prev.strategy, this.name);
    const mine = this.signature();
    if (stableStringify(s.signature) !== stableStringify(mine)) {
      throw new UserError(
        `strategy.policy_from: the policy of "${from}" does not fit this search (its decisions have ${s.signature.choices.join("/")} choices and hidden size ${s.signature.hidden}; ` +
          `this one ${mine.choices.join("/")} and ${mine.hidden}). Reuse a policy from a search of the same space with the same hidden_size.`,
      );
    }
    // The weights carry over; Adam moments, baseline and reward statistics start afresh (rewards of another dataset).
    for (const [k, t] of this.named) fromBase64(t, s.params[k], `policy of "${from}", ${k}`);
    this.reused = from;
    this.serialise();
  }

  state(): Json {
    return codec.save({
      kind: "rl_controller",
      version: 1,
      signature: this.signature(),
      rng: this.rng.state(),
      params: this.saved.params,
      adam: { t: this.adam.t, m: this.saved.m, v: this.saved.v },
      baseline: this.baseline,
      stats: { ...this.stats },
      buffer: this.buffer.map((b) => ({ seq: [...b.seq], score: b.score })),
      updates: this.updates,
      reused: this.reused,
    });
  }

  restore(state: Json): void {
    if (!ofRlController.safeParse(state).success) {
      throw new UserError("rl_controller: the saved search state does not belong to this controller (space or hidden_size changed)");
    }
    const s = codec.load(state, this.name);
    if (stableStringify(s.signature) !== stableStringify(this.signature())) {
      throw new UserError("rl_controller: the saved search state does not belong to this controller (space or hidden_size changed)");
    }
    this.rng = new Rng(s.rng);
    for (const [k, t] of this.named) fromBase64(t, s.params[k], `saved policy ${k}`);
    this.adam.t = s.adam.t;
    this.adam.m.forEach((t, i) => fromBase64(t, s.adam.m[i], "saved Adam moment"));
    this.adam.v.forEach((t, i) => fromBase64(t, s.adam.v[i], "saved Adam moment"));
    this.baseline = s.baseline;
    this.stats = { ...s.stats };
    this.buffer = s.buffer.map((b) => ({ seq: [...b.seq], score: b.score }));
    this.updates = s.updates;
    this.reused = s.reused;
    this.serialise();
  }

  /** Frees the policy's and optimiser's tensors now (the garbage collector would, later). */
  dispose(): void {
    this.policy.dispose();
    this.adam.dispose();
  }

  /** Policy updates taken so far. */
  get updateCount(): number {
    return this.updates;
  }
}

export const rlController: StrategyComponent<RlControllerOptions> = {
  name: "rl_controller",
  description: "RL controller (Zoph & Le 2017): LSTM policy over the space's decisions, REINFORCE with baseline and entropy bonus; policy_from reuses an earlier search's policy.",
  requires: ["sample", "dimensions"],
  options,
  create: (opts, ctx) => new RlController(ctx, opts),
};
