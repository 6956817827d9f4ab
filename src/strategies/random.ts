import { z } from "zod";
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { AskContext, Strategy, StrategyContext, TrialOutcome } from "../core/strategy.js";
import type { StrategyComponent } from "./component.js";
import { rngState, stateCodec } from "./kit/state.js";

const options = z.strictObject({});
export type RandomSearchOptions = z.infer<typeof options>;

const codec = stateCodec(z.object({ rng: rngState }));

/** Uniform random sampling, independent draws: the baseline every strategy must beat. */
export class RandomSearch implements Strategy {
  readonly name = randomSearch.name;
  private rng: Rng;

  constructor(private readonly ctx: StrategyContext) {
    this.rng = Rng.derive(ctx.seed, "random-search");
  }

  ask(n: number, _ctx: AskContext): Json[] {
    return Array.from({ length: n }, () => this.ctx.space.sample(this.rng));
  }

  tell(_outcome: TrialOutcome): void {}

  state(): Json {
    return codec.save({ rng: this.rng.state() });
  }

  restore(state: Json): void {
    this.rng = new Rng(codec.load(state, this.name).rng);
  }
}

export const randomSearch: StrategyComponent<RandomSearchOptions> = {
  name: "random",
  description: "Uniform random sampling (independent draws).",
  requires: ["sample"],
  options,
  create: (_opts, ctx) => new RandomSearch(ctx),
};
