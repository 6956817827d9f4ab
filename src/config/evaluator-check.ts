import { ConfigError, UserError } from "../core/errors.js";
import type { ExperimentParts } from "./build.js";

/**
 * The config check's asynchronous part: the evaluator's own check (a module evaluator loads its
 * module and looks for the exported function), its error reported as a config problem.
 */
export async function checkEvaluator(parts: ExperimentParts, file: string): Promise<void> {
  const ev = parts.evaluator;
  if (!ev.check) return;
  try {
    await ev.check();
  } catch (e) {
    if (e instanceof UserError) throw new ConfigError(file, [{ path: /no exported function/.test(e.message) ? "evaluator.export" : "evaluator.path", message: e.message }]);
    throw e;
  }
}
