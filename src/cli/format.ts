import type { Metrics } from "../core/evaluator.js";
import type { Json } from "../core/json.js";
import type { TrialRecord } from "../core/store.js";

export function fmtNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "-";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(digits + 2)).toString();
}

export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "-";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 86400 * 2) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

export function fmtPoint(point: Json): string {
  return typeof point === "string" ? point : JSON.stringify(point);
}

export function fmtMetrics(m: Metrics | null | undefined, keys?: string[]): string {
  if (!m) return "-";
  return (keys ?? Object.keys(m)).filter((k) => k in m).map((k) => `${k}=${fmtNumber(m[k])}`).join(" ");
}

/** A plain text table with aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Trials as CSV: one column per metric (metrics.*, hidden.*) so spreadsheets read it directly. */
export function trialsCsv(trials: TrialRecord[]): string {
  const metricKeys = [...new Set(trials.flatMap((t) => Object.keys(t.metrics ?? {})))].sort();
  const hiddenKeys = [...new Set(trials.flatMap((t) => Object.keys(t.hidden ?? {})))].sort();
  const header = ["number", "status", "arch", "hp", "fidelity", ...metricKeys.map((k) => `metrics.${k}`), ...hiddenKeys.map((k) => `hidden.${k}`), "cost_s", "cached_from", "error", "worker", "started_at", "finished_at"];
  const iso = (t: number | null) => (t === null ? "" : new Date(t).toISOString());
  const rows = trials.map((t) => [
    String(t.number),
    t.status,
    fmtPoint(t.arch),
    Object.keys(t.hp).length ? JSON.stringify(t.hp) : "",
    t.fidelity ? JSON.stringify(t.fidelity) : "",
    ...metricKeys.map((k) => (t.metrics && k in t.metrics ? String(t.metrics[k]) : "")),
    ...hiddenKeys.map((k) => (t.hidden && k in t.hidden ? String(t.hidden[k]) : "")),
    t.costSeconds === null ? "" : String(t.costSeconds),
    t.cachedFrom === null ? "" : t.cachedFromExperiment ? `${t.cachedFromExperiment}#${t.cachedFrom}` : String(t.cachedFrom),
    t.error ?? "",
    t.worker ?? "",
    iso(t.startedAt),
    iso(t.finishedAt),
  ]);
  return [header, ...rows].map((r) => r.map(csvCell).join(",")).join("\n") + "\n";
}
