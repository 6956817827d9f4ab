import { UserError } from "../errors.js";

/** A run's error as text for the trial's record. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** The error that stops an experiment once more trials failed than `max_failures` allows. */
export function tooManyFailures(name: string, failed: number, maxFailures: number): UserError {
  return new UserError(`Stopped experiment "${name}": ${failed} trials failed (max_failures is ${maxFailures}). See \`archsearch trials ${name}\` for their errors.`);
}
