import { compareCells, matcher, parseFilters } from "../server/trial-query.js";
import type { Cell } from "./types.js";

/**
 * A report (`archsearch report`): the server's answers inlined in the page, so it opens from a
 * file with no server. The table's filter, sort and pages run here, over every trial's columns,
 * with the server's own filter and order code.
 */
export interface ReportData {
  /** The answer to each API path the report holds (path with its query, as the views ask). */
  answers: Record<string, unknown>;
  /** Per experiment: every trial's table columns, in trial order. */
  tables: Record<string, Record<string, Cell>[]>;
  /** Shown when a path is not in the report. */
  note: string;
}

let data: ReportData | null | undefined;

/** The inlined report data, or null in the live dashboard. */
export function report(): ReportData | null {
  if (data === undefined) {
    const el = document.getElementById("archsearch-report");
    data = el ? (JSON.parse(el.textContent ?? "null") as ReportData) : null;
  }
  return data;
}

/** The answer to an API path from the report; throws a message for the page when the report does not hold it. */
export function offlineAnswer(r: ReportData, path: string): unknown {
  if (path in r.answers) return r.answers[path];
  // points asked since the report's own watermark: nothing changed since (the report is a snapshot)
  const since = /^(.*\/points)\?since=(\d+)$/.exec(path);
  const first = since ? (r.answers[`${since[1]}?since=0`] as { seq: number; columns: string[] } | undefined) : undefined;
  if (since && first && Number(since[2]) >= first.seq) return { seq: first.seq, columns: first.columns, rows: [] };
  const m = /^\/api\/experiments\/([^/?]+)\/trials\?(.*)$/.exec(path);
  const rows = m ? r.tables[decodeURIComponent(m[1])] : undefined;
  if (m && rows) return tablePage(rows, new URLSearchParams(m[2]));
  throw new Error(`this report does not hold that view (${path}): ${r.note}`);
}

function tablePage(all: Record<string, Cell>[], q: URLSearchParams) {
  const tests = parseFilters(q.get("filters")).map(matcher);
  const sort = q.get("sort") || "number";
  const sign = q.get("desc") === "1" ? -1 : 1;
  const offset = Math.max(0, Number(q.get("offset")) || 0);
  const limit = Math.min(1000, Math.max(1, Number(q.get("limit")) || 50));
  const rows = all.filter((c) => tests.every((f) => f(c)));
  // as the server orders them: missing values last whatever the direction, ties by trial number
  rows.sort((a, b) => {
    const x = a[sort];
    const y = b[sort];
    const missing = (x === null || x === undefined ? 1 : 0) - (y === null || y === undefined ? 1 : 0);
    if (missing !== 0) return missing;
    return sign * compareCells(x, y) || (a.number as number) - (b.number as number);
  });
  return { total: rows.length, all: all.length, seq: 0, offset, rows: rows.slice(offset, offset + limit) };
}
