import { z } from "zod";
import type { Json } from "../../core/json.js";
import { decodeState, encodeState } from "../../core/state-codec.js";
import type { StrategyHistory, TrialOutcome } from "../../core/strategy.js";

/**
 * Typed strategy states: each strategy declares the schema of its state, and `stateCodec` writes
 * it through the state codec (non-finite numbers kept) and reads it back through the schema, so a
 * state that does not fit is a clear error naming the strategy, never a half-restored search.
 */

/** Any number, -Infinity, Infinity and NaN included (zod's `z.number()` refuses those). */
export const anyNumber = z.custom<number>((v) => typeof v === "number", { message: "expected a number" });

/** A score: -Infinity for a failed or infeasible trial, which states of earlier releases wrote as null. */
export const score = z.union([anyNumber, z.null().transform(() => -Infinity)]);

/** A value whose non-finite form is +Infinity (a failed trial's constraint violation); null in earlier releases. */
export const positiveInfinity = z.union([anyNumber, z.null().transform(() => Infinity)]);

/** The four words of a random generator (core/rng.ts). */
export const rngState = z.tuple([z.number(), z.number(), z.number(), z.number()]);

/** A point of the search space, as the space made it (any JSON value). */
export const point = z.json();

/** A point with its score: the member of a population. */
export const member = z.object({ point, score });
export type Member = z.infer<typeof member>;

export interface StateCodec<S> {
  /** The state as JSON (what `Strategy.state()` returns). */
  save(state: S): Json;
  /** The state from `save`'s JSON, checked; throws an Error naming `strategy` when it does not fit. */
  load(json: Json, strategy: string): S;
}

export function stateCodec<S>(schema: z.ZodType<S>): StateCodec<S> {
  return {
    save: (state) => encodeState(state),
    load: (json, strategy) => {
      const r = schema.safeParse(decodeState(json));
      if (r.success) return r.data;
      const where = r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
        .join("; ");
      throw new Error(`strategy "${strategy}": the saved search state does not fit this strategy (${where})`);
    },
  };
}

/**
 * The results a strategy that rebuilds from history restores: the outcomes the store gives, which
 * must be as many as its state says it was told (else the state and the trials disagree, and a
 * silently different model would follow).
 */
export function toldHistory(strategy: string, told: number, history: StrategyHistory | undefined): readonly TrialOutcome[] {
  const outcomes = history?.outcomes ?? [];
  if (outcomes.length !== told) {
    throw new Error(`strategy "${strategy}": its saved state was told ${told} results, but the store gives back ${outcomes.length}; the state and the trials disagree`);
  }
  return outcomes;
}
