import { h, fmt, fmtTime, clear } from "../dom.js";
import { getJson, enc } from "../api.js";
import type { Summary } from "../types.js";

/** Every experiment of the store; tick several and compare their convergence. */
export function experimentsView(root: HTMLElement) {
  const selected = new Set<string>();
  const storage = h("p", { class: "storage" });
  const table = h("table", { class: "trials", "data-testid": "experiments" });
  const compare = h("button", { "data-testid": "compare", onclick: () => (location.hash = `#/compare?names=${enc(JSON.stringify([...selected]))}`) }, "compare selected");
  root.append(h("h2", {}, "Experiments"), storage, table, h("p", {}, compare));
  async function update() {
    const r = await getJson<{ storage: string; experiments: Summary[] }>("/api/experiments");
    clear(storage);
    storage.append(`store ${r.storage}`);
    clear(table);
    table.append(h("tr", {}, ...["", "name", "space", "strategy", "scheduler", "status", "finished", "running", "pruned", "failed", "trials / budget", "best", "started", "last activity"].map((c) => h("th", {}, c))));
    if (!r.experiments.length) table.append(h("tr", {}, h("td", { colspan: 14, class: "empty" }, "this store has no experiments yet: start one with archsearch run")));
    for (const e of r.experiments) {
      const box = h("input", { type: "checkbox", checked: selected.has(e.name), "data-select": e.name });
      box.addEventListener("change", () => (box.checked ? selected.add(e.name) : selected.delete(e.name)));
      const o = e.objectives[0];
      table.append(
        h("tr", { "data-exp": e.name },
          h("td", {}, box),
          h("td", { "data-col": "name" }, h("a", { href: `#/e/${enc(e.name)}` }, e.name)),
          h("td", {}, e.space ?? ""), h("td", {}, e.strategy ?? ""), h("td", {}, e.scheduler),
          h("td", { "data-col": "status" }, e.status),
          h("td", { "data-col": "finished" }, e.counts.finished), h("td", { "data-col": "running" }, e.counts.running),
          h("td", { "data-col": "pruned" }, e.counts.pruned), h("td", { "data-col": "failed" }, e.counts.failed),
          h("td", { "data-col": "trials" }, `${e.trials} / ${e.budget ?? "?"}`),
          h("td", { "data-col": "best" }, e.best === null ? "" : `${o.metric} ${fmt(e.best)}`),
          h("td", {}, fmtTime(e.createdAt)), h("td", {}, fmtTime(e.updatedAt)),
        ),
      );
    }
    root.setAttribute("data-rendered", String(Date.now()));
  }
  return { update, poll: true };
}
