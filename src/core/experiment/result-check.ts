import type { Metrics } from "../evaluator.js";
import type { Objectives } from "../objectives.js";

/** A result an evaluator returned or reported that cannot be stored: the trial fails with this message. */
export class InvalidResult extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidResult";
  }
}

/** A value as the user wrote it, for messages: strings quoted, NaN and Infinity by name. */
export function shown(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (v === undefined) return "undefined";
  try {
    const text = JSON.stringify(v);
    return text.length > 60 ? `${text.slice(0, 60)}...` : text;
  } catch {
    return String(v);
  }
}

/**
 * Checks an object of metrics: an object whose every value is a finite number. `what` names it
 * in the message ("result", "report at step 3", "hidden metrics"). A string such as "91.2" is
 * refused, not converted: the evaluator's contract is numbers.
 */
export function checkNumbers(metrics: unknown, what: string): Metrics {
  if (metrics === null || typeof metrics !== "object" || Array.isArray(metrics)) {
    throw new InvalidResult(`invalid ${what}: expected an object of numbers ({"valid_acc": 91.2}), got ${shown(metrics)}`);
  }
  for (const [name, v] of Object.entries(metrics as Record<string, unknown>)) {
    if (typeof v !== "number") throw new InvalidResult(`invalid ${what}: metric "${name}" must be a number, got ${shown(v)}${typeof v === "string" ? " (a string)" : ""}`);
    if (!Number.isFinite(v)) throw new InvalidResult(`invalid ${what}: metric "${name}" is ${v} (not a finite number)`);
  }
  return metrics as Metrics;
}

/** A final result: finite numbers only, and every objective's metric present. */
export function checkFinal(metrics: unknown, hidden: unknown, objectives: Objectives): void {
  const m = checkNumbers(metrics, "result");
  const missing = objectives.list.map((o) => o.metric).filter((k) => !(k in m));
  if (missing.length) {
    const have = Object.keys(m);
    throw new InvalidResult(
      `invalid result: objective metric${missing.length > 1 ? "s" : ""} ${missing.map((k) => `"${k}"`).join(", ")} missing (the result has ${have.length ? have.map((k) => `"${k}"`).join(", ") : "no metrics"})`,
    );
  }
  if (hidden !== undefined && hidden !== null) checkNumbers(hidden, "hidden metrics");
}
