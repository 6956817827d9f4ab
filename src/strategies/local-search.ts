import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import { pointHash } from "../core/space.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { freshOrFallback, Taken } from "./kit/fresh.js";
import { member, point, rngState, score, stateCodec, type Member } from "./kit/state.js";

const options = z.strictObject({
  initial_samples: z
    .number()
    .int()
    .min(1)
    .default(10)
    .describe("random points evaluated before the first climb; the best of them is the starting point"),
  restart_samples: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe("random points evaluated for each restart after a local optimum; the best of them starts the next climb"),
  first_improvement: z
    .boolean()
    .default(false)
    .describe("move as soon as a neighbour beats the current point, instead of after the whole neighbourhood is evaluated"),
});
export type LocalSearchOptions = z.infer<typeof options>;

const role = z.enum(["pool", "local"]);
type Role = z.infer<typeof role>;

const codec = stateCodec(
  z.object({
    rng: rngState,
    current: member.nullable(),
    bestNeighbour: member.nullable(),
    queue: z.array(point),
    outstanding: z.array(z.tuple([z.string(), role])),
    pool: z.object({ told: z.number().int().min(0), best: member.nullable() }),
    recent: z.array(z.tuple([z.string(), score])),
    recentCap: z.number().int().min(0),
    climbs: z.number().int().min(0),
  }),
);

/**
 * Local search (hill climbing with restarts), White et al. 2021: the best of `initial_samples`
 * random points is the start; all its neighbours are evaluated and the search moves to the best
 * one if it improves on the current point (or to the first better one with `first_improvement`);
 * at a local optimum it restarts from the best of `restart_samples` new random points.
 *
 * Asynchronous: neighbours in flight are waited for before the step is decided, and meanwhile
 * the strategy suggests neighbours of the best neighbour so far (the likely next centre) or
 * random points that will seed the next restart, so no worker idles and nothing is wasted.
 * Results of the last few dozen points are remembered (by canonical key) so a neighbour that
 * was already evaluated counts with its score instead of being evaluated again.
 */
export class LocalSearch implements Strategy {
  readonly name = localSearch.name;
  private rng: Rng;
  private current: Member | null = null;
  private currentKey = "";
  /** Canonical keys of the current point's neighbours (derived from `current`, not saved). */
  private neighbourKeys = new Set<string>();
  private bestNeighbour: Member | null = null;
  /** Neighbours of the current point not yet suggested, in random order. */
  private queue: Json[] = [];
  /** Points suggested and not yet told, by canonical key. */
  private outstanding = new Map<string, Role>();
  /** Random points collected for the next (re)start. */
  private pool: { told: number; best: Member | null } = { told: 0, best: null };
  /** Scores of recently told points by canonical key, oldest first; bounded by a few neighbourhoods. */
  private recent = new Map<string, number>();
  private recentCap = 32;
  private climbs = 0;

  constructor(
    private readonly ctx: StrategyContext,
    private readonly opts: LocalSearchOptions,
  ) {
    this.rng = Rng.derive(ctx.seed, "local-search");
  }

  private key(point: Json): string {
    return pointHash(this.ctx.space, point);
  }

  private remember(key: string, score: number): void {
    this.recent.delete(key);
    this.recent.set(key, score);
    while (this.recent.size > this.recentCap) this.recent.delete(this.recent.keys().next().value!);
  }

  private consider(m: Member): void {
    if (!this.bestNeighbour || m.score > this.bestNeighbour.score) this.bestNeighbour = m;
  }

  /** Makes `m` the current point: builds its neighbourhood, counting neighbours already known or in flight. */
  private moveTo(m: Member): void {
    this.bestNeighbour = null;
    this.queue = [];
    for (const [k, nb] of this.setCurrent(m)) {
      const known = this.recent.get(k);
      if (known !== undefined) this.consider({ point: nb, score: known });
      else if (!this.outstanding.has(k)) this.queue.push(nb);
    }
    this.rng.shuffle(this.queue);
  }

  /** Sets the current point and its neighbour keys; returns its distinct neighbours by key. */
  private setCurrent(m: Member | null): Map<string, Json> {
    this.current = m;
    this.currentKey = m ? this.key(m.point) : "";
    const neighbours = new Map<string, Json>();
    for (const nb of m ? this.ctx.space.neighbours!(m.point) : []) {
      const k = this.key(nb);
      if (k !== this.currentKey && !neighbours.has(k)) neighbours.set(k, nb);
    }
    this.neighbourKeys = new Set(neighbours.keys());
    this.recentCap = Math.max(this.recentCap, 2 * neighbours.size + 32);
    return neighbours;
  }

  private neighboursPending(): boolean {
    for (const k of this.neighbourKeys) if (this.outstanding.has(k)) return true;
    return false;
  }

  /** Applies every decision the known results allow: start a climb, move, or declare a local optimum. */
  private settle(): void {
    for (;;) {
      const cur = this.current;
      if (!cur) {
        const need = this.climbs === 0 ? this.opts.initial_samples : this.opts.restart_samples;
        if (this.pool.told < need || !this.pool.best) return;
        const start = this.pool.best;
        this.pool = { told: 0, best: null };
        this.climbs++;
        this.moveTo(start);
        continue;
      }
      const better = this.bestNeighbour && this.bestNeighbour.score > cur.score ? this.bestNeighbour : null;
      if (better && this.opts.first_improvement) {
        this.moveTo(better);
        continue;
      }
      if (this.queue.length > 0 || this.neighboursPending()) return;
      if (better) this.moveTo(better);
      else this.setCurrent(null); // local optimum: restart
    }
  }

  /** Drops suggestions the loop no longer runs (a paused trial is never told), so a step cannot wait forever. */
  private reconcile(taken: Taken): void {
    for (const k of [...this.outstanding.keys()]) if (!taken.holds(k)) this.outstanding.delete(k);
  }

  ask(n: number, ctx: AskContext): Json[] {
    const space = this.ctx.space;
    const taken = new Taken(space, ctx);
    this.reconcile(taken);
    const batch: Json[] = [];
    const take = (p: Json, role: Role) => {
      const k = this.key(p);
      taken.add(p, k);
      this.outstanding.set(k, role);
      batch.push(p);
    };
    while (batch.length < n) {
      this.settle();
      if (this.current && this.queue.length > 0) {
        const p = this.queue.shift()!;
        const k = this.key(p);
        // In flight: it is still awaited (outstanding). Tried long ago: skipped, its score is unknown here.
        if (!taken.has(p, k)) take(p, "local");
        continue;
      }
      // The neighbourhood is all in flight: explore around the likely next centre, else collect restart points.
      const cur = this.current;
      const next = cur && this.bestNeighbour && this.bestNeighbour.score > cur.score ? this.bestNeighbour : null;
      if (next) {
        const fresh = space.neighbours!(next.point).filter((p) => !taken.has(p));
        if (fresh.length > 0) {
          take(this.rng.choice(fresh), "local");
          continue;
        }
      }
      const anchors = [cur, this.pool.best].filter((m): m is Member => m !== null).map((m) => m.point);
      const found = freshOrFallback(taken, this.rng, 20, () => space.sample(this.rng), anchors);
      // Every point tried, or only repeats left: stop here (a repeat only when the batch would be empty).
      if (found.point === undefined || (found.repeat && batch.length > 0)) break;
      take(found.point, "pool");
    }
    return batch;
  }

  tell(outcome: TrialOutcome): void {
    const k = this.key(outcome.point);
    const role = this.outstanding.get(k);
    this.outstanding.delete(k);
    const m: Member = { point: outcome.point, score: outcome.score };
    if (role === "pool") {
      this.pool.told++;
      if (!this.pool.best || m.score > this.pool.best.score) this.pool.best = m;
    }
    if (this.current && this.neighbourKeys.has(k)) this.consider(m);
    this.remember(k, m.score);
    this.settle();
  }

  state(): Json {
    return codec.save({
      rng: this.rng.state(),
      current: this.current,
      bestNeighbour: this.bestNeighbour,
      queue: [...this.queue],
      outstanding: [...this.outstanding],
      pool: { ...this.pool },
      recent: [...this.recent],
      recentCap: this.recentCap,
      climbs: this.climbs,
    });
  }

  restore(state: Json): void {
    const s = codec.load(state, this.name);
    this.rng = new Rng(s.rng);
    this.setCurrent(s.current);
    this.bestNeighbour = s.bestNeighbour;
    this.queue = s.queue;
    this.outstanding = new Map(s.outstanding);
    this.pool = s.pool;
    this.recent = new Map(s.recent);
    this.recentCap = s.recentCap;
    this.climbs = s.climbs;
  }
}

export const localSearch: StrategyComponent<LocalSearchOptions> = {
  name: "local_search",
  description: "Local search, White et al. 2021: best-improvement hill climbing over all neighbours, random restarts at local optima.",
  requires: ["sample", "neighbours"],
  options,
  create: (opts, ctx) => new LocalSearch(ctx, opts),
};
