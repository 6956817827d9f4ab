import { TrialsFailedError, UserError } from "../errors.js";

/** A run's error as text for the trial's record. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** The error that stops an experiment once more trials failed than `max_failures` allows. */
export function tooManyFailures(name: string, failed: number, maxFailures: number): TrialsFailedError {
  return new TrialsFailedError(`Stopped experiment "${name}": ${failed} trials failed (max_failures is ${maxFailures}). See \`archsearch trials ${name}\` for their errors.`);
}

/** A budget below the trials an experiment has done already: said, not silently ignored. */
export function checkBudgetNotBelowDone(name: string, budget: number, done: number): void {
  if (done > budget) {
    throw new UserError(
      `experiment "${name}" has ${done} trials done already, more than the budget of ${budget} (budget.trials or --trials): give at least ${done} to resume it with more trials, or use a new experiment name`,
    );
  }
}
