import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { Dimension, DimensionValues } from "../core/space.js";
import type { AskContext, Strategy, StrategyContext, StrategyHistory, TrialOutcome } from "../core/strategy.js";
import { UserError } from "../core/errors.js";
import { Heap } from "../core/heap.js";
import type { StrategyComponent } from "./component.js";
import { firstFresh, Taken, type Keyed } from "./kit/fresh.js";
import { rngState, score, stateCodec, toldHistory } from "./kit/state.js";

const options = z.strictObject({
  n_startup: z.number().int().min(1).default(10).describe("random suggestions (space.sample) until this many results have been told"),
  n_ei_candidates: z.number().int().min(1).default(24).describe("candidates drawn from the good density l(x) per suggestion; the one with the largest l(x)/g(x) is taken"),
  gamma: z.number().gt(0).max(1).default(0.1).describe("share of the results (best first) that form the good set: good = min(ceil(gamma * n), max_good)"),
  max_good: z.number().int().min(1).default(25).describe("largest good set"),
  prior_weight: z.number().gt(0).default(1).describe("weight of the uniform prior in every density (as that many pseudo-observations)"),
  pending: z
    .enum(["bad", "ignore"])
    .default("bad")
    .describe("constant liar: points in flight and earlier picks of the same batch count as bad observations (bad), or are not modelled (ignore)"),
  max_bad_kernels: z
    .number()
    .int()
    .min(1)
    .default(128)
    .describe("numeric decisions: above this many bad observations, the bad density is a mixture over a fixed grid of 512 bins (bounded cost)"),
  dedupe_tries: z.number().int().min(1).default(10).describe("rounds of fresh candidates (then random draws) tried when every candidate was already tried"),
});
export type TpeOptions = z.infer<typeof options>;

/** Bound on the cache of candidate points (derived data: clearing it changes no result). */
const MAX_CACHE = 100_000;

interface CandidateInfo {
  point: Json;
  active: boolean[];
  hash?: string;
}

/** Grid of the binned bad density for numeric decisions, on the unit interval. */
const BINS = 512;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Standard normal CDF through erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * A Parzen estimator over [0, 1]: gaussians truncated to the interval, one per centre (with a
 * weight), plus a prior N(0.5, 1) of weight `prior`. Bandwidths follow Bergstra et al. / Optuna:
 * the larger gap to the neighbouring centre (the interval ends and the prior's centre included),
 * clipped to [1 / min(100, 1 + centres), 1].
 */
class Mixture {
  readonly mu: Float64Array;
  readonly sigma: Float64Array;
  readonly logW: Float64Array;
  private readonly cumulative: Float64Array;

  constructor(centres: readonly number[], weights: readonly number[], prior: number) {
    // Centres sorted with their weights, the prior among them.
    const items = centres.map((c, i) => ({ c, w: weights[i], prior: false }));
    items.push({ c: 0.5, w: prior, prior: true });
    items.sort((a, b) => a.c - b.c || Number(a.prior) - Number(b.prior));
    const n = items.length;
    const minSigma = 1 / Math.min(100, 1 + n);
    this.mu = new Float64Array(n);
    this.sigma = new Float64Array(n);
    this.logW = new Float64Array(n);
    this.cumulative = new Float64Array(n);
    let total = 0;
    for (const it of items) total += it.w;
    let acc = 0;
    items.forEach((it, i) => {
      const left = it.c - (i > 0 ? items[i - 1].c : 0);
      const right = (i < n - 1 ? items[i + 1].c : 1) - it.c;
      const s = it.prior ? 1 : Math.min(1, Math.max(minSigma, left, right));
      const z = normalCdf((1 - it.c) / s) - normalCdf(-it.c / s);
      this.mu[i] = it.c;
      this.sigma[i] = s;
      this.logW[i] = Math.log(it.w / total) - Math.log(Math.max(z, 1e-300)) - Math.log(s) - LOG_SQRT_2PI;
      acc += it.w / total;
      this.cumulative[i] = acc;
    });
  }

  logDensity(x: number): number {
    let max = -Infinity;
    const terms = new Float64Array(this.mu.length);
    for (let i = 0; i < this.mu.length; i++) {
      const d = (x - this.mu[i]) / this.sigma[i];
      terms[i] = this.logW[i] - 0.5 * d * d;
      if (terms[i] > max) max = terms[i];
    }
    let sum = 0;
    for (let i = 0; i < terms.length; i++) sum += Math.exp(terms[i] - max);
    return max + Math.log(sum);
  }

  sample(rng: Rng): number {
    const r = rng.next() * this.cumulative[this.cumulative.length - 1];
    let k = 0;
    while (k < this.cumulative.length - 1 && this.cumulative[k] <= r) k++;
    for (let tries = 0; tries < 100; tries++) {
      const x = rng.normal(this.mu[k], this.sigma[k]);
      if (x >= 0 && x <= 1) return x;
    }
    return Math.min(1, Math.max(0, this.mu[k]));
  }
}

/** How one decision is coded internally: a choice index, or a position on [0, 1] (log scale for log dimensions). */
interface Coder {
  dim: Dimension;
  /** Number of choices for a categorical decision, 0 for numeric ones. */
  k: number;
  /** Index among the numeric decisions, -1 for categorical ones. */
  numeric: number;
  /** Raw decision value (a choice, a number) to its code; NaN when unknown. */
  code(v: Json): number;
  /** Code (choice index) or unit position to the decision value. */
  value(c: number): Json;
  /** Unit position of a numeric raw value. */
  unit(v: number): number;
}

function coderFor(dim: Dimension, numericIndex: number): Coder {
  if (dim.kind === "categorical") {
    const index = new Map<unknown, number>();
    dim.choices.forEach((c, i) => index.set(typeof c === "object" && c !== null ? JSON.stringify(c) : c, i));
    return {
      dim,
      k: dim.choices.length,
      numeric: -1,
      code: (v) => index.get(typeof v === "object" && v !== null ? JSON.stringify(v) : v) ?? NaN,
      value: (c) => dim.choices[c],
      unit: () => NaN,
    };
  }
  // An int decision covers [low - 0.5, high + 0.5] so that every integer has the same share.
  const lo = dim.kind === "int" ? dim.low - 0.5 : dim.low;
  const hi = dim.kind === "int" ? dim.high + 0.5 : dim.high;
  const log = dim.log && lo > 0;
  const [a, b] = log ? [Math.log(lo), Math.log(hi)] : [lo, hi];
  const unit = (v: number) => (b === a ? 0.5 : Math.min(1, Math.max(0, ((log ? Math.log(v) : v) - a) / (b - a))));
  const fromUnit = (u: number) => {
    const x = b === a ? (log ? Math.exp(a) : a) : log ? Math.exp(a + u * (b - a)) : a + u * (b - a);
    const v = dim.kind === "int" ? Math.round(x) : x;
    return Math.min(dim.high, Math.max(dim.low, v));
  };
  return {
    dim,
    k: 0,
    numeric: numericIndex,
    code: (v) => (typeof v === "number" && Number.isFinite(v) ? v : NaN),
    value: (u) => fromUnit(u),
    unit,
  };
}

const codec = stateCodec(
  z.object({
    rng: rngState,
    /** How many of the history's results the model holds (the restore's history must hold as many). */
    told: z.number().int().min(0).optional(),
    /**
     * Results written into the state by the previous release, which still carries them: per
     * result, in the order told, the decision codes (choice index or number; null when inactive)
     * and its score. They stand for the first `covers` results of the history (all of it, in a
     * state of the previous release), which are then not replayed again.
     */
    codes: z.array(z.array(z.number().nullable())).optional(),
    scores: z.array(score).optional(),
    covers: z.number().int().min(0).optional(),
  }),
);

/** One ask's model: per decision, log l(x) - log g(x) tables (categorical) or the two mixtures (numeric). */
interface CategoricalModel {
  good: Float64Array;
  bad: Float64Array;
  goodTotal: number;
  badTotal: number;
  /** Cumulative sampling weights of l (unnormalised). */
  cumulative: Float64Array;
  logRatio: Float64Array;
}

interface NumericModel {
  l: Mixture;
  g: Mixture;
  /** Lies (pending points, earlier batch picks) as unit positions: extra bad observations. */
  lies: number[];
}

/**
 * Tree-structured Parzen estimator (Bergstra et al. 2011), independent per decision as Optuna's
 * default TPE: the results are split into a good set (the best min(ceil(gamma n), max_good)) and a
 * bad set; per decision a density l(x) is fitted to the good values and g(x) to the bad ones
 * (categorical: counts smoothed by a uniform prior of weight `prior_weight`; numeric: truncated
 * gaussian mixtures with a prior component, on a log scale for log dimensions). Each suggestion
 * draws `n_ei_candidates` points from l and takes the untried one with the largest l(x)/g(x),
 * summed over the decisions active in it. A conditional decision is fitted only on the results
 * where it is active. When every candidate of a round was tried already, later rounds (up to
 * `dedupe_tries`) draw each decision uniformly with a growing probability, then random points.
 *
 * Everything is incremental so that asking and telling stay fast after tens of thousands of
 * results: the good / bad split is two heaps (good: worst on top; rest: best on top), so a result
 * moves the boundary in O(log n); categorical counts of all results and of the good set are kept
 * per decision, so an ask costs O(decisions x choices) for them; numeric decisions keep a
 * 512-bin histogram of all results, so the bad density never has more than 512 + 1 kernels.
 * Pending points and earlier picks of a batch count as bad (constant liar).
 */
export class Tpe implements Strategy {
  readonly name = tpe.name;
  private rng: Rng;
  private readonly coders: Coder[];
  private readonly numericDims: number[];
  private codes: Float64Array[] = [];
  private scores: number[] = [];
  private finite = 0;
  /** Good set: `before` puts the worse first, so its root is the first to leave. */
  private good: Heap<number>;
  /** Everything else: the best on top, the next to join the good set. */
  private rest: Heap<number>;
  private isGood: Uint8Array = new Uint8Array(1024);
  /** Per categorical decision: counts over all results and over the good set (active ones only). */
  private allCounts: Float64Array[];
  private goodCounts: Float64Array[];
  /** Per numeric decision: a histogram of all active results' unit positions, and their number. */
  private allBins: Float64Array[];
  private allActive: Float64Array;
  /**
   * Derived caches, never saved: candidate points by their decision codes, and hashes that
   * `ctx.seen` confirmed (the experiment's history only grows, so a seen point stays seen).
   */
  private candidateCache = new Map<string | number, CandidateInfo>();
  private knownSeen = new Set<string>();
  /** Mixed-radix weights making one number of the choice indices, when every decision is categorical and it fits. */
  private readonly radix: number[] | null;

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: TpeOptions,
  ) {
    const space = ctx.space;
    if (!space.dimensions || !space.toValues || !space.fromValues) {
      throw new UserError(`tpe needs a space with dimensions; space "${space.name}" has none`);
    }
    const dims = space.dimensions();
    if (dims.length === 0) throw new UserError(`tpe needs at least one decision; space "${space.name}" has none`);
    let nNumeric = 0;
    this.coders = dims.map((d) => coderFor(d, d.kind === "categorical" ? -1 : nNumeric++));
    this.numericDims = this.coders.flatMap((c, i) => (c.numeric >= 0 ? [i] : []));
    for (const c of this.coders) {
      if (c.dim.kind === "categorical" && c.k === 0) throw new UserError(`tpe: decision "${c.dim.name}" has no choices`);
    }
    const better = (a: number, b: number) => this.scores[a] > this.scores[b] || (this.scores[a] === this.scores[b] && a < b);
    this.good = new Heap((a, b) => better(b, a));
    this.rest = new Heap(better);
    this.allCounts = this.coders.map((c) => new Float64Array(c.k));
    this.goodCounts = this.coders.map((c) => new Float64Array(c.k));
    this.allBins = this.numericDims.map(() => new Float64Array(BINS));
    this.allActive = new Float64Array(this.numericDims.length);
    let product = 1;
    const radix: number[] = [];
    for (const c of this.coders) {
      radix.push(product);
      product *= c.k;
    }
    this.radix = this.numericDims.length === 0 && product < Number.MAX_SAFE_INTEGER ? radix : null;
    this.rng = Rng.derive(ctx.seed, "tpe");
  }

  /** Cache key of candidate codes: one number for small all-categorical spaces, else a string. */
  private keyOf(codes: Float64Array): string | number {
    if (this.radix) {
      let key = 0;
      for (let d = 0; d < codes.length; d++) key += codes[d] * this.radix[d];
      return key;
    }
    return codes.join(",");
  }

  /** Size of the good set for the results told so far. */
  goodSize(): number {
    const n = this.scores.length;
    return Math.min(Math.ceil(this.opts.gamma * n), this.opts.max_good, this.finite);
  }

  // -------------------------------------------------------------------------------------------
  // Results

  private codesOf(point: Json): (number | null)[] {
    const values = this.ctx.space.toValues!(point);
    return this.coders.map((c, d) => {
      const v = values[d];
      if (v === null || v === undefined) return null;
      const code = c.code(v);
      return Number.isNaN(code) ? null : code;
    });
  }

  /** Internal form of raw codes: choice indices, unit positions for numeric decisions, NaN when inactive. */
  private internal(raw: readonly (number | null)[]): Float64Array {
    const out = new Float64Array(this.coders.length);
    this.coders.forEach((c, d) => {
      const v = raw[d];
      out[d] = v === null || v === undefined ? NaN : c.numeric >= 0 ? c.unit(v) : v;
    });
    return out;
  }

  private ingest(raw: (number | null)[], score: number): void {
    const i = this.scores.length;
    const x = this.internal(raw);
    this.codes.push(x);
    this.scores.push(score);
    if (score > -Infinity) this.finite++;
    if (i >= this.isGood.length) {
      const grown = new Uint8Array(this.isGood.length * 2);
      grown.set(this.isGood);
      this.isGood = grown;
    }
    this.coders.forEach((c, d) => {
      const v = x[d];
      if (Number.isNaN(v)) return;
      if (c.numeric >= 0) {
        this.allBins[c.numeric][Math.min(BINS - 1, Math.floor(v * BINS))]++;
        this.allActive[c.numeric]++;
      } else this.allCounts[d][v]++;
    });
    const better = (a: number, b: number) => this.scores[a] > this.scores[b] || (this.scores[a] === this.scores[b] && a < b);
    if (this.good.size > 0 && better(i, this.good.peek()!)) this.enterGood(i);
    else this.rest.push(i);
    const target = this.goodSize();
    while (this.good.size > target) {
      const j = this.good.pop()!;
      this.leaveGood(j);
      this.rest.push(j);
    }
    while (this.good.size < target && this.rest.size > 0 && this.scores[this.rest.peek()!] > -Infinity) this.enterGood(this.rest.pop()!);
  }

  private enterGood(i: number): void {
    this.good.push(i);
    this.isGood[i] = 1;
    const x = this.codes[i];
    this.coders.forEach((c, d) => {
      if (c.numeric < 0 && !Number.isNaN(x[d])) this.goodCounts[d][x[d]]++;
    });
  }

  private leaveGood(i: number): void {
    this.isGood[i] = 0;
    const x = this.codes[i];
    this.coders.forEach((c, d) => {
      if (c.numeric < 0 && !Number.isNaN(x[d])) this.goodCounts[d][x[d]]--;
    });
  }

  tell(outcome: TrialOutcome): void {
    const score = Number.isNaN(outcome.score) ? -Infinity : outcome.score;
    this.ingest(this.codesOf(outcome.point), score);
  }

  // -------------------------------------------------------------------------------------------
  // The model

  private categoricalModel(d: number): CategoricalModel {
    const k = this.coders[d].k;
    const good = Float64Array.from(this.goodCounts[d]);
    const bad = new Float64Array(k);
    let goodTotal = 0;
    let badTotal = 0;
    for (let c = 0; c < k; c++) {
      bad[c] = this.allCounts[d][c] - good[c];
      goodTotal += good[c];
      badTotal += bad[c];
    }
    const m: CategoricalModel = { good, bad, goodTotal, badTotal, cumulative: new Float64Array(k), logRatio: new Float64Array(k) };
    this.refreshCategorical(m);
    return m;
  }

  private refreshCategorical(m: CategoricalModel): void {
    const k = m.good.length;
    const pw = this.opts.prior_weight;
    let acc = 0;
    for (let c = 0; c < k; c++) {
      const l = (m.good[c] + pw / k) / (m.goodTotal + pw);
      const g = (m.bad[c] + pw / k) / (m.badTotal + pw);
      acc += l;
      m.cumulative[c] = acc;
      m.logRatio[c] = Math.log(l) - Math.log(g);
    }
  }

  private goodMembers(): number[] {
    return this.good.items;
  }

  /** Indices (in the order told) of the results in the good set, ascending: for inspection and tests. */
  goodSet(): number[] {
    return [...this.good.items].sort((a, b) => a - b);
  }

  /** Unit positions of the good results where numeric decision `d` is active, sorted (order-independent model). */
  private goodValues(d: number): number[] {
    const out: number[] = [];
    for (const i of this.goodMembers()) {
      const v = this.codes[i][d];
      if (!Number.isNaN(v)) out.push(v);
    }
    return out.sort((a, b) => a - b);
  }

  private badMixture(d: number, lies: readonly number[]): Mixture {
    const n = this.coders[d].numeric;
    const goodVals = this.goodValues(d);
    const badCount = this.allActive[n] - goodVals.length + lies.length;
    const pw = this.opts.prior_weight;
    if (badCount <= this.opts.max_bad_kernels) {
      const vals: number[] = [...lies];
      for (let i = 0; i < this.codes.length; i++) {
        if (this.isGood[i]) continue;
        const v = this.codes[i][d];
        if (!Number.isNaN(v)) vals.push(v);
      }
      vals.sort((a, b) => a - b);
      return new Mixture(vals, vals.map(() => 1), pw);
    }
    const bins = Float64Array.from(this.allBins[n]);
    const binOf = (v: number) => Math.min(BINS - 1, Math.floor(v * BINS));
    for (const v of goodVals) bins[binOf(v)]--;
    for (const v of lies) bins[binOf(v)]++;
    const centres: number[] = [];
    const weights: number[] = [];
    for (let b = 0; b < BINS; b++) {
      if (bins[b] > 0) {
        centres.push((b + 0.5) / BINS);
        weights.push(bins[b]);
      }
    }
    return new Mixture(centres, weights, pw);
  }

  private numericModel(d: number, lies: number[]): NumericModel {
    const goodVals = this.goodValues(d);
    return { l: new Mixture(goodVals, goodVals.map(() => 1), this.opts.prior_weight), g: this.badMixture(d, lies), lies };
  }

  // -------------------------------------------------------------------------------------------
  // Suggestions

  ask(n: number, ctx: AskContext): Json[] {
    const taken = new Taken(this.ctx.space, ctx);
    const batch: Json[] = [];
    let model: { cat: (CategoricalModel | null)[]; num: (NumericModel | null)[] } | undefined;
    for (let b = 0; b < n; b++) {
      let pick: Keyed | undefined;
      if (this.scores.length >= this.opts.n_startup) {
        if (!model) {
          const lies = this.opts.pending === "bad" ? ctx.pending.map((p) => this.codesOf(p)) : [];
          model = this.buildModel(lies);
        }
        pick = this.fromModel(model, ctx, taken);
      }
      pick ??= firstFresh(taken, this.opts.dedupe_tries * 5, () => this.ctx.space.sample(this.rng));
      if (!pick) break; // every point the space holds was tried, or nearly so
      taken.add(pick.point, pick.key);
      batch.push(pick.point);
      if (model && this.opts.pending === "bad") this.addLie(model, this.codesOf(pick.point));
    }
    return batch;
  }

  private buildModel(lies: (number | null)[][]) {
    const cat = this.coders.map((c, d) => (c.numeric < 0 ? this.categoricalModel(d) : null));
    const num = this.coders.map(() => null as NumericModel | null);
    for (const d of this.numericDims) {
      const c = this.coders[d];
      const unitLies = lies.flatMap((raw) => (raw[d] === null || raw[d] === undefined ? [] : [c.unit(raw[d]!)]));
      num[d] = this.numericModel(d, unitLies);
    }
    const model = { cat, num };
    for (const raw of lies) this.addCategoricalLie(model, raw);
    return model;
  }

  private addCategoricalLie(model: { cat: (CategoricalModel | null)[] }, raw: (number | null)[]): void {
    this.coders.forEach((c, d) => {
      const m = model.cat[d];
      const v = raw[d];
      if (!m || v === null || v === undefined) return;
      m.bad[v]++;
      m.badTotal++;
      this.refreshCategorical(m);
    });
  }

  private addLie(model: { cat: (CategoricalModel | null)[]; num: (NumericModel | null)[] }, raw: (number | null)[]): void {
    this.addCategoricalLie(model, raw);
    for (const d of this.numericDims) {
      const v = raw[d];
      if (v === null || v === undefined) continue;
      const m = model.num[d]!;
      m.lies.push(this.coders[d].unit(v));
      m.g = this.badMixture(d, m.lies);
    }
  }

  /** The point of a candidate's decision values, with the decisions active in it and (once needed) its hash; cached. */
  private candidate(key: string | number, codes: Float64Array, values: DimensionValues): CandidateInfo {
    let info = this.candidateCache.get(key);
    if (!info) {
      const space = this.ctx.space;
      // Choice indices become choices; numeric decisions already hold their values.
      for (let d = 0; d < codes.length; d++) values[d] = this.coders[d].numeric >= 0 ? codes[d] : this.coders[d].value(codes[d]);
      const point = space.fromValues!(values);
      // Only the decisions that matter in the point count (fromValues ignored the others).
      const back = space.toValues!(point);
      info = { point, active: back.map((v) => v !== null && v !== undefined) };
      if (this.candidateCache.size >= MAX_CACHE) this.candidateCache.clear();
      this.candidateCache.set(key, info);
    }
    return info;
  }

  /** Draws candidates from l, best l/g first; the first untried one, over up to `dedupe_tries` rounds. */
  private fromModel(
    model: { cat: (CategoricalModel | null)[]; num: (NumericModel | null)[] },
    ctx: AskContext,
    taken: Taken,
  ): Keyed | undefined {
    const nd = this.coders.length;
    const values: DimensionValues = new Array(nd);
    const ratio = new Float64Array(nd);
    const codes = new Float64Array(nd);
    for (let round = 0; round < this.opts.dedupe_tries; round++) {
      // When every candidate of a round was already tried, l's best region is used up: later
      // rounds draw each decision uniformly with a growing probability (still scored by l/g).
      const widen = round / this.opts.dedupe_tries;
      const cands: { info: CandidateInfo; score: number; order: number }[] = [];
      const inRound = new Set<string | number>();
      for (let c = 0; c < this.opts.n_ei_candidates; c++) {
        for (let d = 0; d < nd; d++) {
          const cm = model.cat[d];
          const uniform = widen > 0 && this.rng.next() < widen;
          if (cm) {
            let k = 0;
            if (uniform) k = this.rng.int(cm.cumulative.length);
            else {
              const r = this.rng.next() * cm.cumulative[cm.cumulative.length - 1];
              while (k < cm.cumulative.length - 1 && cm.cumulative[k] <= r) k++;
            }
            codes[d] = k;
            ratio[d] = cm.logRatio[k];
          } else {
            const nm = model.num[d]!;
            const coder = this.coders[d];
            const v = coder.value(uniform ? this.rng.next() : nm.l.sample(this.rng)) as number;
            const u = coder.unit(v);
            codes[d] = v;
            ratio[d] = nm.l.logDensity(u) - nm.g.logDensity(u);
          }
        }
        const key = this.keyOf(codes);
        if (inRound.has(key)) continue; // the same point again: same score, nothing new
        inRound.add(key);
        const info = this.candidate(key, codes, values);
        let score = 0;
        for (let d = 0; d < nd; d++) if (info.active[d]) score += ratio[d];
        cands.push({ info, score, order: c });
      }
      cands.sort((a, b) => b.score - a.score || a.order - b.order);
      for (const { info } of cands) {
        info.hash ??= taken.key(info.point);
        if (taken.holds(info.hash) || this.knownSeen.has(info.hash)) continue;
        if (ctx.seen(info.point)) {
          this.knownSeen.add(info.hash);
          continue;
        }
        return { point: info.point, key: info.hash };
      }
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // State: the generator and how many results it holds; the results themselves are the
  // experiment's trials, given back to `restore` as history, and replayed into the heaps and counts.

  readonly rebuildsFromHistory = true;
  /** Results a state of the previous release carried (kept in the state, a fixed size), and how many history results they stand for. */
  private legacy?: { codes: (number | null)[][]; scores: number[]; covers: number };

  state(): Json {
    const l = this.legacy;
    if (!l) return codec.save({ rng: this.rng.state(), told: this.scores.length });
    return codec.save({ rng: this.rng.state(), told: l.covers + this.scores.length - l.scores.length, codes: l.codes, scores: l.scores, covers: l.covers });
  }

  restore(state: Json, history?: StrategyHistory): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.candidateCache.clear();
    this.knownSeen.clear();
    this.codes = [];
    this.scores = [];
    this.finite = 0;
    // Results the state carries (written by the previous release) first, then the history's others.
    const given = history?.outcomes ?? [];
    this.legacy = s.codes && s.scores ? { codes: s.codes, scores: s.scores, covers: s.covers ?? given.length } : undefined;
    const covers = this.legacy?.covers ?? 0;
    const outcomes = toldHistory(this.name, s.told ?? covers, history).slice(covers);
    const results: { raw: (number | null)[]; score: number }[] = [
      ...(this.legacy?.codes ?? []).map((raw, i) => ({ raw, score: this.legacy!.scores[i] })),
      ...outcomes.map((o) => ({ raw: this.codesOf(o.point), score: Number.isNaN(o.score) ? -Infinity : o.score })),
    ];
    this.isGood = new Uint8Array(Math.max(1024, results.length));
    const better = (a: number, b: number) => this.scores[a] > this.scores[b] || (this.scores[a] === this.scores[b] && a < b);
    this.good = new Heap((a, b) => better(b, a));
    this.rest = new Heap(better);
    this.allCounts = this.coders.map((c) => new Float64Array(c.k));
    this.goodCounts = this.coders.map((c) => new Float64Array(c.k));
    this.allBins = this.numericDims.map(() => new Float64Array(BINS));
    this.allActive = new Float64Array(this.numericDims.length);
    for (const r of results) this.ingest(r.raw, r.score);
  }
}

export const tpe: StrategyComponent<TpeOptions> = {
  name: "tpe",
  description: "Tree-structured Parzen estimator (Bergstra et al. 2011), independent per decision, incremental good/bad split; constant liar for batches.",
  requires: ["sample", "dimensions"],
  options,
  create: (opts, ctx) => new Tpe(ctx, opts),
};
