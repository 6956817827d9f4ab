import { UserError } from "../core/errors.js";
import { EngineError } from "../engine/errors.js";

/**
 * The exit status of a command that ended with this error: 2 for the user's mistakes (a bad
 * config, store or argument), 3 when trials failed (TrialsFailedError), 1 for a bug.
 */
export function exitCodeOf(e: unknown): number {
  // The tensor engine's own error (src/engine imports nothing of archsearch's) is a user-facing message too.
  if (e instanceof UserError || e instanceof EngineError) return (e as { exitCode?: number }).exitCode ?? 2;
  return 1;
}
