import type { z } from "zod";

/**
 * Constraints between options, as schema refinements: a contradiction is then a config error
 * at the strategy's section (with its line), found before anything is built.
 */

/** A tournament cannot draw more members than the population holds. */
export function tournamentFitsPopulation(o: { sample_size: number; population_size: number }, ctx: z.RefinementCtx): void {
  if (o.sample_size > o.population_size) {
    ctx.addIssue({ code: "custom", message: `sample_size (${o.sample_size}) must not exceed population_size (${o.population_size})` });
  }
}
