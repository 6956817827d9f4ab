import { h, fmt, clear } from "../dom.js";
import { expPath, getJson } from "../api.js";

interface Importance {
  metric: string;
  trials: number;
  decisions: { column: string; share: number; levels: { value: string; mean: number; count: number }[] }[];
}

/** What the search learned: the share of the objective's variance each decision explains alone, and the mean per choice. */
export function importanceView(root: HTMLElement, name: string) {
  const body = h("div", { "data-testid": "importance" });
  root.append(h("h2", {}, "What the search learned"), body);
  async function update() {
    const r = await getJson<Importance>(`${expPath(name)}/importance`);
    clear(body);
    body.append(h("p", {}, `Share of the variance of ${r.metric} over ${r.trials} finished trials explained by each decision alone (one-way ANOVA, eta²; interactions ignored). Trials sampled by a strategy are not a uniform design: read it as a summary of what was tried.`));
    if (!r.decisions.length) body.append(h("p", { class: "empty" }, "not enough finished trials"));
    for (const d of r.decisions) {
      body.append(
        h("div", { class: "imp", "data-column": d.column, "data-share": d.share },
          h("div", { class: "imp-name" }, d.column),
          h("div", { class: "bar" }, h("div", { style: `width:${Math.round(d.share * 100)}%` })),
          h("div", { class: "imp-val" }, `${(d.share * 100).toFixed(1)} %`),
          h("div", { class: "levels" }, ...d.levels.slice(0, 8).map((l) => h("span", { class: "level" }, `${l.value}: ${fmt(l.mean)} (${l.count})`))),
        ),
      );
    }
    body.append(h("p", { class: "note" }, "One-shot runs: architecture weights per edge over epochs will plug in here once the searchers record them in the store."));
    root.setAttribute("data-rendered", String(Date.now()));
  }
  return { update };
}
