import { h, fmt, clear } from "../dom.js";
import { expPath, getJson, enc } from "../api.js";
import type { Cell, ExperimentDetail } from "../types.js";

export type FilterT = [string, string, string];
export interface TableState {
  filters: FilterT[];
  sort: string;
  desc: boolean;
  offset: number;
}

const PAGE = 50;
const OPS = ["=", "!=", ">", ">=", "<", "<=", "~"];

/** Default columns: number, status, objectives, hidden metrics, cost, worker, then decisions (the first 12). */
function defaultColumns(exp: ExperimentDetail): string[] {
  const names = exp.columns.map((c) => c.name);
  const objs = exp.objectives.map((o) => `m.${o.metric}`);
  const first = ["number", "status", ...objs.filter((c) => names.includes(c))];
  const rest = names.filter((n) => !first.includes(n));
  const metrics = rest.filter((n) => n.startsWith("m.") || n.startsWith("h."));
  const decisions = rest.filter((n) => n.startsWith("arch.") || n.startsWith("hp.")).slice(0, 12);
  return [...first, ...metrics.slice(0, 6), "cost_s", "worker", ...decisions, "cached_from"];
}

export function tableStateFromQuery(q: URLSearchParams): TableState {
  let filters: FilterT[] = [];
  try {
    filters = JSON.parse(q.get("filters") ?? "[]") as FilterT[];
  } catch {
    filters = [];
  }
  return { filters, sort: q.get("sort") ?? "number", desc: q.get("desc") === "1", offset: Number(q.get("offset") ?? 0) || 0 };
}

export function tableHash(name: string, st: TableState): string {
  const q = new URLSearchParams();
  if (st.filters.length) q.set("filters", JSON.stringify(st.filters));
  if (st.sort !== "number") q.set("sort", st.sort);
  if (st.desc) q.set("desc", "1");
  if (st.offset) q.set("offset", String(st.offset));
  const qs = q.toString();
  return `#/e/${enc(name)}/trials${qs ? `?${qs}` : ""}`;
}

/** The trial table: server-side filter, sort and pagination; the state lives in the address. */
export function tableView(root: HTMLElement, exp: ExperimentDetail, st: TableState) {
  const cols = defaultColumns(exp);
  const colSel = h("select", { "data-testid": "filter-column" }, ...exp.columns.map((c) => h("option", { value: c.name }, c.name)));
  const opSel = h("select", { "data-testid": "filter-op" }, ...OPS.map((o) => h("option", { value: o }, o)));
  const valIn = h("input", { "data-testid": "filter-value", placeholder: "value (a|b: one of)" });
  const go = (next: TableState) => (location.hash = tableHash(exp.name, next));
  const add = h("button", { "data-testid": "filter-add", onclick: () => go({ ...st, offset: 0, filters: [...st.filters, [colSel.value, opSel.value, valIn.value]] }) }, "add filter");
  const chips = h("div", { class: "chips" }, ...st.filters.map((f, i) => h("span", { class: "chip", "data-testid": "filter-chip" }, `${f[0]} ${f[1]} ${f[2]} `, h("button", { title: "remove", onclick: () => go({ ...st, offset: 0, filters: st.filters.filter((_, j) => j !== i) }) }, "×"))));
  const info = h("div", { class: "info", "data-testid": "table-info" });
  const table = h("table", { class: "trials", "data-testid": "trial-table" });
  const pager = h("div", { class: "pager" });
  root.append(h("h2", {}, "Trials"), h("div", { class: "filters" }, colSel, opSel, valIn, add), chips, info, h("div", { class: "scroll" }, table), pager);

  async function update() {
    const q = new URLSearchParams({ sort: st.sort, offset: String(st.offset), limit: String(PAGE) });
    if (st.desc) q.set("desc", "1");
    if (st.filters.length) q.set("filters", JSON.stringify(st.filters));
    const r = await getJson<{ total: number; all: number; rows: Record<string, Cell>[] }>(`${expPath(exp.name)}/trials?${q}`);
    clear(info);
    info.append(`${r.total} of ${r.all} trials match; rows ${r.total ? st.offset + 1 : 0}–${Math.min(st.offset + PAGE, r.total)}`);
    info.setAttribute("data-total", String(r.total));
    clear(table);
    table.append(
      h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", { class: st.sort === c ? "sorted" : "", "data-col": c, onclick: () => go({ ...st, offset: 0, sort: c, desc: st.sort === c ? !st.desc : false }) }, c, st.sort === c ? (st.desc ? " ▼" : " ▲") : "")))),
      h("tbody", {}, ...r.rows.map((row) => h("tr", { "data-number": String(row.number), onclick: () => (location.hash = `#/e/${enc(exp.name)}/trial/${row.number}`) }, ...cols.map((c) => h("td", { "data-col": c, class: c === "status" ? `st-${String(row[c])}` : "" }, fmt(row[c]))))))
    );
    clear(pager);
    pager.append(
      h("button", { disabled: st.offset === 0, onclick: () => go({ ...st, offset: Math.max(0, st.offset - PAGE) }) }, "‹ previous"),
      h("button", { "data-testid": "next-page", disabled: st.offset + PAGE >= r.total, onclick: () => go({ ...st, offset: st.offset + PAGE }) }, "next ›"),
    );
    root.setAttribute("data-rendered", String(Date.now()));
  }
  return { update };
}
