import type { TrialRecord } from "../core/store.js";

const MAX_REASON = 240;

/**
 * A trial's stored error as one line for the screen: its first line, and for a program that
 * failed the last line of its stderr tail (where the real error usually is); no log paths.
 */
export function oneLineReason(error: string | null | undefined): string {
  if (!error) return "no reason recorded";
  const lines = error
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("(full logs"));
  if (lines.length === 0) return "no reason recorded";
  let text = lines[0];
  if (lines.length > 1) text = `${text.replace(/[;:]?\s*stderr ends with:$/, "")}: ${lines[lines.length - 1]}`;
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 3)}...` : text;
}

/** The reason without what differs between trials (their numbers), so that equal causes group together. */
function reasonKey(reason: string): string {
  return reason.replace(/\btrial[- ]\d+/g, "trial N");
}

/** The most common reasons of failed (and error-carrying pruned) trials, most frequent first. */
export function commonReasons(trials: readonly Pick<TrialRecord, "status" | "error" | "number">[], top = 3): { reason: string; count: number; example: number }[] {
  const groups = new Map<string, { reason: string; count: number; example: number }>();
  for (const t of trials) {
    if (t.status !== "failed") continue;
    const reason = oneLineReason(t.error);
    const key = reasonKey(reason);
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { reason: key, count: 1, example: t.number });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.example - b.example).slice(0, top);
}

/** Counts of trials that ended, by how they ended. */
export function endCounts(trials: readonly Pick<TrialRecord, "status">[]): { finished: number; failed: number; pruned: number } {
  const c = { finished: 0, failed: 0, pruned: 0 };
  for (const t of trials) if (t.status === "finished" || t.status === "failed" || t.status === "pruned") c[t.status]++;
  return c;
}
