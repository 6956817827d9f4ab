import type { JsonObject } from "../core/json.js";
import { stableStringify } from "../core/json.js";
import type { Metrics } from "../core/evaluator.js";
import type { Fidelity } from "../core/scheduler.js";
import type { IntermediateValue } from "../core/store.js";

/**
 * The key under which a finished result can be reused: canonical architecture, hyperparameters,
 * fidelity and, when one is declared, the data version (a result is never reused across versions;
 * without one the key is the one of earlier releases, so their stored results still match).
 */
export function cacheKey(archHash: string, hp: JsonObject, fidelity: Fidelity, dataVersion?: string | null): string {
  const base = `${archHash}|${stableStringify(hp)}|${stableStringify(fidelity)}`;
  return dataVersion == null ? base : `${base}|data=${dataVersion}`;
}

/** Metrics as a JSON object: NaN and infinities become the strings "NaN", "Infinity", "-Infinity". */
export function metricsToJson(m: Metrics | null | undefined): Record<string, number | string> | null {
  if (!m) return null;
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(m)) out[k] = Number.isFinite(v) ? v : String(v);
  return out;
}

/** The inverse of `metricsToJson`. */
export function metricsFromJson(raw: Record<string, number | string> | null | undefined): Metrics | null {
  if (raw == null) return null;
  const out: Metrics = {};
  for (const [k, v] of Object.entries(raw)) out[k] = typeof v === "string" ? Number(v) : v;
  return out;
}

/** Intermediate value rows (ordered by step) grouped into one metrics object per step; a null value is NaN. */
export function groupValues(rows: readonly { step: number; name: string; value: number | null }[]): IntermediateValue[] {
  const out: IntermediateValue[] = [];
  for (const r of rows) {
    if (out.length === 0 || out[out.length - 1].step !== r.step) out.push({ step: r.step, metrics: {} });
    out[out.length - 1].metrics[r.name] = r.value ?? NaN;
  }
  return out;
}

/** A changedSince limit: a positive integer, or undefined (or Infinity) for none. */
export function checkLimit(limit: number | undefined): number | undefined {
  if (limit === undefined || limit === Infinity) return undefined;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`changedSince: limit must be a positive integer, got ${limit}`);
  return limit;
}
