import type { EvalContext, EvalResult, Evaluator, FidelitySpec, Metrics, TrialSpec } from "../core/evaluator.js";

export type EvalFunction = (spec: TrialSpec, ctx: EvalContext) => EvalResult | Metrics | Promise<EvalResult | Metrics>;

function isResult(v: EvalResult | Metrics): v is EvalResult {
  return typeof (v as EvalResult).metrics === "object" && (v as EvalResult).metrics !== null;
}

/** Runs trials in this process by calling a function; it may return metrics or a full EvalResult. */
export class FunctionEvaluator implements Evaluator {
  constructor(
    readonly name: string,
    private readonly fn: EvalFunction,
    readonly fidelity?: FidelitySpec,
  ) {}

  async run(spec: TrialSpec, ctx: EvalContext): Promise<EvalResult> {
    const out = await this.fn(spec, ctx);
    if (out === null || typeof out !== "object") {
      throw new TypeError(`evaluator function ${this.name} returned ${String(out)}, expected metrics ({name: number}) or {metrics}`);
    }
    return isResult(out) ? out : { metrics: out };
  }
}
