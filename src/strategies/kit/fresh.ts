import { stableStringify, type Json } from "../../core/json.js";
import type { Rng } from "../../core/rng.js";
import { pointHash, type SearchSpace } from "../../core/space.js";
import type { AskContext } from "../../core/strategy.js";

/**
 * Fresh points: how every strategy avoids suggesting a point twice. Points are compared by
 * `pointHash` (the canonical form), so two points that compute the same function count as one
 * and object key order never matters.
 */

/** A point with its key (`pointHash`). */
export interface Keyed {
  point: Json;
  key: string;
}

/** What one ask must not suggest: tried before (`ctx.seen`), pending, or already taken into this batch. */
export class Taken {
  private readonly keys: Set<string>;

  constructor(
    readonly space: SearchSpace,
    private readonly ctx: AskContext,
  ) {
    this.keys = new Set(ctx.pending.map((p) => pointHash(space, p)));
  }

  key(point: Json): string {
    return pointHash(this.space, point);
  }

  /** True when `point` (of key `key`) is pending, in this batch, or was tried. */
  has(point: Json, key = this.key(point)): boolean {
    return this.keys.has(key) || this.ctx.seen(point);
  }

  /** True when the point of this key is pending or in this batch (the experiment's history not asked). */
  holds(key: string): boolean {
    return this.keys.has(key);
  }

  /** Takes a point into the batch. */
  add(point: Json, key = this.key(point)): void {
    this.keys.add(key);
  }
}

/** Up to `tries` proposals; the first one not taken, with its key; undefined when all were taken. */
export function firstFresh(taken: Taken, tries: number, propose: () => Json): Keyed | undefined {
  for (let i = 0; i < tries; i++) {
    const point = propose();
    const key = taken.key(point);
    if (!taken.has(point, key)) return { point, key };
  }
  return undefined;
}

/**
 * `first`, or while it is taken up to `retries` new proposals (`propose` gets the retry number,
 * 1 to `retries`); the last proposal when every one was taken.
 */
export function retryWhileTaken(taken: Taken, first: Json, retries: number, propose: (retry: number) => Json): Json {
  let point = first;
  for (let r = 1; r <= retries && taken.has(point); r++) point = propose(r);
  return point;
}

/**
 * Last resort when random proposals keep hitting tried points (a small or nearly exhausted
 * space): breadth-first over the neighbour graph from `from`, visiting at most `limit` points.
 * `complete` is true when the whole connected part was visited without finding a fresh point,
 * which (the one-change graph of a space being connected) means the space is exhausted.
 */
export function searchFresh(taken: Taken, from: readonly Json[], limit = 5000): { point?: Json; complete: boolean } {
  const space = taken.space;
  if (typeof space.neighbours !== "function") return { complete: false };
  const visited = new Set<string>();
  const frontier: Json[] = [];
  for (const p of from) {
    const k = taken.key(p);
    if (!visited.has(k)) {
      visited.add(k);
      frontier.push(p);
    }
  }
  for (let head = 0; head < frontier.length; head++) {
    const p = frontier[head];
    if (!taken.has(p)) return { point: p, complete: false };
    for (const nb of space.neighbours(p)) {
      const k = taken.key(nb);
      if (visited.has(k)) continue;
      if (visited.size >= limit) return { complete: false };
      visited.add(k);
      frontier.push(nb);
    }
  }
  return { complete: from.length > 0 };
}

/**
 * A fresh point by `propose`, then by random sampling, then by neighbour search from `anchors`.
 * When none is found: nothing if the space is provably exhausted, else a `repeat` of a tried
 * point (usually answered by the experiment's cache), since an empty answer would end the experiment.
 */
export function freshOrFallback(
  taken: Taken,
  rng: Rng,
  tries: number,
  propose: () => Json,
  anchors: readonly Json[],
): { point?: Json; repeat: boolean } {
  const space = taken.space;
  const p = firstFresh(taken, tries, propose) ?? firstFresh(taken, Math.max(tries, 20), () => space.sample(rng));
  if (p !== undefined) return { point: p.point, repeat: false };
  const found = searchFresh(taken, anchors.length > 0 ? anchors : [space.sample(rng)]);
  if (found.point !== undefined) return { point: found.point, repeat: false };
  return found.complete ? { repeat: false } : { point: propose(), repeat: true };
}

/** Whether two points are the same value (whatever their object key order); unlike `pointHash`, equivalent but different points differ. */
export function samePoint(a: Json, b: Json): boolean {
  return a === b || stableStringify(a) === stableStringify(b);
}
