import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng, type RngState } from "../core/rng.js";
import type { Capability } from "../core/space.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";

const options = z.strictObject({});
export type RandomSearchOptions = z.infer<typeof options>;

/** Uniform random sampling, independent draws: the baseline every strategy must beat. */
export class RandomSearch implements Strategy {
  static readonly requires: Capability[] = ["sample"];
  readonly name = "random";
  private rng: Rng;

  constructor(private readonly ctx: StrategyContext) {
    this.rng = Rng.derive(ctx.seed, "random-search");
  }

  ask(n: number, _ctx: AskContext): Json[] {
    return Array.from({ length: n }, () => this.ctx.space.sample(this.rng));
  }

  tell(_outcome: TrialOutcome): void {}

  state(): Json {
    return { rng: this.rng.state() };
  }

  restore(state: Json): void {
    this.rng = new Rng((state as { rng: RngState }).rng);
  }
}

export const randomSearch: StrategyComponent<RandomSearchOptions> = {
  name: "random",
  description: "Uniform random sampling (independent draws).",
  requires: RandomSearch.requires,
  options,
  create: (_opts, ctx) => new RandomSearch(ctx),
};
