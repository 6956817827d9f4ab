import { z } from "zod";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Component } from "../core/component.js";
import type { EvalContext, EvalResult, Evaluator, FidelitySpec, TrialSpec } from "../core/evaluator.js";
import { ConfigError, UserError } from "../core/errors.js";
import { existsSync, statSync } from "node:fs";
import { FunctionEvaluator, type EvalFunction } from "./function.js";
import { fidelityOption } from "./fidelity-option.js";
import type { EvaluatorContext } from "./context.js";

const options = z.strictObject({
  path: z.string().min(1).describe("JavaScript module (relative to the config file) exporting the evaluation function"),
  export: z.string().default("default").describe("name of the exported function"),
  fidelity: fidelityOption.describe(
    "the resource the function understands (e.g. epochs 1..50): schedulers grant part of it in spec.fidelity, a continued trial has spec.resumeFrom, and ctx.report(step, metrics) reports along the way",
  ),
});
export type ModuleEvaluatorOptions = z.infer<typeof options>;

/** Calls a function exported by a user's JavaScript module, in this process. */
export class ModuleEvaluator implements Evaluator {
  readonly name = "module";
  private fn?: Promise<FunctionEvaluator>;

  constructor(
    private readonly file: string,
    private readonly exportName: string,
    readonly fidelity?: FidelitySpec,
  ) {}

  /** Loads the module and checks its export (at config check, before any trial). */
  async check(): Promise<void> {
    await this.load();
  }

  private load(): Promise<FunctionEvaluator> {
    this.fn ??= import(pathToFileURL(this.file).href).then(
      (mod: Record<string, unknown>) => {
        const f = mod[this.exportName];
        if (typeof f !== "function") {
          throw new UserError(`evaluator module ${this.file} has no exported function "${this.exportName}" (exports: ${Object.keys(mod).join(", ") || "none"})`);
        }
        return new FunctionEvaluator(this.file, f as EvalFunction, this.fidelity);
      },
      (e: Error) => {
        throw new UserError(`cannot load evaluator module ${this.file}: ${e.message}`);
      },
    );
    return this.fn;
  }

  async run(spec: TrialSpec, ctx: EvalContext): Promise<EvalResult> {
    return (await this.load()).run(spec, ctx);
  }
}

export const moduleEvaluator: Component<ModuleEvaluatorOptions, EvaluatorContext, Evaluator> = {
  name: "module",
  description: "Call a function exported by your own JavaScript module for each trial (in process).",
  options,
  create: (opts, ctx) => {
    const file = resolve(ctx.configDir, opts.path);
    if (!existsSync(file)) throw new ConfigError(undefined, [{ path: "evaluator.path", message: `no such file: ${file}` }]);
    if (!statSync(file).isFile()) throw new ConfigError(undefined, [{ path: "evaluator.path", message: `${file} is not a file` }]);
    return new ModuleEvaluator(file, opts.export, opts.fidelity);
  },
};
