import type { z } from "zod";

/**
 * A named, configurable building block (a space, strategy, scheduler, evaluator). Its options
 * are validated by `options`; the CLI finds it by `name` in a registry, so adding one never
 * edits the experiment loop.
 */
export interface Component<Options, Context, Product> {
  readonly name: string;
  readonly description: string;
  readonly options: z.ZodType<Options>;
  create(options: Options, ctx: Context): Product;
}
