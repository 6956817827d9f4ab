import type { Store } from "../core/store.js";
import { TrialsFailedError } from "../core/errors.js";
import { commonReasons, endCounts } from "./reasons.js";

export interface Outcome {
  finished: number;
  failed: number;
  pruned: number;
  reasons: { reason: string; count: number; example: number }[];
}

/** How an experiment's trials ended, from the store (every run's and every worker's trials). */
export async function readOutcome(store: Store, name: string): Promise<Outcome> {
  const exp = await store.getExperiment(name);
  if (!exp) return { finished: 0, failed: 0, pruned: 0, reasons: [] };
  const trials = await store.getTrials(exp.id, { status: ["finished", "failed", "pruned"] });
  return { ...endCounts(trials), reasons: commonReasons(trials) };
}

/** The end summary's lines: counts, and the most common reasons of failure. */
export function outcomeLines(o: Outcome): string[] {
  const lines = [`  ${o.finished} finished, ${o.failed} failed, ${o.pruned} pruned`];
  if (o.reasons.length) {
    lines.push("  most common failure reasons:");
    for (const r of o.reasons) lines.push(`    ${r.count}x ${r.reason} (e.g. trial ${r.example})`);
  }
  return lines;
}

/**
 * The error of a run that ended with trials but none finished (all failed or were pruned), so
 * that the CLI exits non-zero; undefined when some trial finished, or none ended (interrupted).
 */
export function noneFinished(name: string, o: Outcome): TrialsFailedError | undefined {
  if (o.finished > 0 || o.failed + o.pruned === 0) return undefined;
  const why = o.reasons[0] ? `; most common reason: ${o.reasons[0].reason}` : "";
  return new TrialsFailedError(`no trial of experiment "${name}" finished (${o.failed} failed, ${o.pruned} pruned)${why}. See \`archsearch status ${name}\` and \`archsearch trials ${name} --status failed\`.`);
}
