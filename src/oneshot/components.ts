import type { StrategyComponent } from "../strategies/component.js";
import { SearcherStrategy } from "../core/searcher-strategy.js";
import { UserError } from "../core/errors.js";
import { FbnetDnasSearcher, fbnetDnasOptions, type FbnetDnasOptions } from "./fbnet-dnas.js";
import { DifferentiableSearcher, differentiableOptions, type DifferentiableMethod, type DifferentiableOptions } from "./differentiable.js";

const DESCRIPTIONS: Record<DifferentiableMethod, string> = {
  darts: "DARTS (Liu et al. 2019): a softmax mix of every operation per edge on the NB201 supernet, logits on the validation half, weights on the training half; derives the argmax cell (searcher)",
  gdas: "GDAS (Dong & Yang 2019): one Gumbel-softmax-sampled operation per edge (straight-through), temperature annealed 10 -> 0.1 (searcher)",
  beta_darts: "beta-DARTS (Ye et al. 2022): DARTS with the Beta-Decay regulariser on the logits against the collapse to skip connections (searcher)",
  drnas: "DrNAS (Chen et al. 2021): each edge's mixing weights sampled from a learnt Dirichlet distribution (logistic-normal approximation), an L2 penalty on its concentrations; derives from the Dirichlet's mean (searcher)",
};

/** A differentiable searcher as a strategy of the loop: its job trains the supernet once, then its derived cells are the trials. */
function differentiable(method: DifferentiableMethod): StrategyComponent<DifferentiableOptions> {
  return {
    name: method,
    description: DESCRIPTIONS[method],
    requires: ["sample", "supernet"],
    options: differentiableOptions,
    create: (opts, ctx) => {
      const kind = ctx.space.supernet?.();
      if (kind !== "nb201") throw new UserError(`${method} searches the NB201 supernet; space "${ctx.space.name}" has ${kind ? `a "${kind}" supernet` : "no supernet"}`);
      return new SearcherStrategy(new DifferentiableSearcher(method, opts, ctx.configDir), { seed: ctx.seed });
    },
  };
}

export const darts = differentiable("darts");
export const gdas = differentiable("gdas");
export const betaDarts = differentiable("beta_darts");
export const drnas = differentiable("drnas");

/** FBNet's hardware-aware DNAS as a strategy of the loop (space fbnet). */
export const fbnetDnas: StrategyComponent<FbnetDnasOptions> = {
  name: "fbnet_dnas",
  description: "FBNet DNAS (Wu et al. 2019): Gumbel-sampled blocks per layer of the FBNet supernet, loss CE * alpha * log(1 + LAT)^beta with LAT the expected latency from HW-NAS-Bench's LUT on a chosen device (searcher)",
  requires: ["sample", "supernet"],
  options: fbnetDnasOptions,
  create: (opts, ctx) => {
    const kind = ctx.space.supernet?.();
    if (kind !== "fbnet") throw new UserError(`fbnet_dnas searches the FBNet supernet; space "${ctx.space.name}" has ${kind ? `a "${kind}" supernet` : "no supernet"}`);
    return new SearcherStrategy(new FbnetDnasSearcher(opts, ctx.configDir), { seed: ctx.seed });
  },
};
