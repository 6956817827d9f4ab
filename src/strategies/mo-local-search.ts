import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { rngState, stateCodec } from "./kit/state.js";
import { bounds, chebyshev, Fresh, memberOf, moMember, normaliseWeights, rankMembers, weightsOption, type MoMember } from "./mo-common.js";

const options = z.strictObject({
  initial_samples: z.number().int().min(1).default(10).describe("random suggestions before the local search starts"),
  dedupe_tries: z.number().int().min(0).default(20).describe("re-draw a random point up to this many times when already tried or known infeasible from cheap metrics"),
  weights: weightsOption,
});
export type MoLocalSearchOptions = z.infer<typeof options>;

/** The archive is the non-dominated front: bounded by the front's size, not by the trials. */
const codec = stateCodec(z.object({ rng: rngState, asked: z.number().int().min(0), archive: z.array(moMember) }));

/**
 * Pareto local search (Paquete et al. 2004): keeps the archive of non-dominated results
 * (constrained rank 0) and suggests an untried neighbour of an archive member (members in random
 * order; with `weights`, the member closest to the preference first). When every archive member's
 * neighbourhood is exhausted it restarts from a random point.
 */
export class MoLocalSearch implements Strategy {
  readonly name = moLocalSearch.name;
  private rng: Rng;
  private asked = 0;
  private archive: MoMember[] = [];
  private readonly weights?: number[];

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: MoLocalSearchOptions,
  ) {
    this.weights = normaliseWeights(opts.weights, ctx.objectives, "mo_local_search");
    this.rng = Rng.derive(ctx.seed, "mo-local-search");
  }

  ask(n: number, actx: AskContext): Json[] {
    const space = this.ctx.space;
    const fresh = new Fresh(this.ctx, actx, this.opts.dedupe_tries);
    const batch: Json[] = [];
    for (let i = 0; i < n; i++) {
      this.asked++;
      const next = this.asked > this.opts.initial_samples ? this.neighbour(fresh) : undefined;
      batch.push(next ?? fresh.next(() => space.sample(this.rng)));
    }
    return batch;
  }

  /** An untried, cheap-feasible neighbour of an archive member, or undefined when none is left. */
  private neighbour(fresh: Fresh): Json | undefined {
    const order = this.rng.shuffle(this.archive.map((_, i) => i));
    if (this.weights) {
      const m = this.ctx.objectives.list.length;
      const { lo, hi } = bounds(this.archive, m);
      const d = this.archive.map((x) => chebyshev(x.vec, this.weights!, lo, hi));
      order.sort((a, b) => (d[a] < d[b] ? -1 : d[a] > d[b] ? 1 : 0));
    }
    for (const i of order) {
      const options = this.ctx.space.neighbours!(this.archive[i].point);
      this.rng.shuffle(options);
      for (const p of options) if (fresh.tryAccept(p)) return p;
    }
    return undefined;
  }

  tell(outcome: TrialOutcome): void {
    const pool = [...this.archive, memberOf(this.ctx.objectives, outcome)];
    const { rank } = rankMembers(pool);
    this.archive = pool.filter((_, i) => rank[i] === 0);
  }

  state(): Json {
    return codec.save({ rng: this.rng.state(), asked: this.asked, archive: this.archive });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.asked = s.asked;
    this.archive = s.archive;
  }
}

export const moLocalSearch: StrategyComponent<MoLocalSearchOptions> = {
  name: "mo_local_search",
  description: "Pareto local search: untried neighbours of the non-dominated archive (or of the member nearest a preference vector); random restarts.",
  requires: ["sample", "neighbours"],
  options,
  create: (opts, ctx) => new MoLocalSearch(ctx, opts),
};
