import { h, fmt, fmtTime, clear } from "../dom.js";
import { archSvg } from "./arch.js";
import { enc } from "../api.js";
import type { ExperimentDetail } from "../types.js";

/** The experiment page's first tab: what it is, where it stands, its best architecture. */
export function overviewView(root: HTMLElement, exp: ExperimentDetail) {
  const o = exp.objectives[0];
  root.append(
    h("h2", {}, "Overview"),
    h("table", { class: "kv", "data-testid": "overview" },
      ...([
        ["space", exp.space], ["strategy", exp.strategy], ["scheduler", exp.scheduler], ["evaluator", exp.evaluator],
        ["objectives", exp.objectives.map((x) => `${x.direction} ${x.metric}`).join(", ")],
        ["constraints", exp.constraints.map((c) => `${c.min ?? "-inf"} <= ${c.metric} <= ${c.max ?? "inf"}`).join(", ")],
        ["started", fmtTime(exp.createdAt)], ["last activity", fmtTime(exp.updatedAt)],
      ] as [string, unknown][]).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { "data-key": k }, fmt(v))))),
    h("h3", {}, "Best architecture"),
    exp.bestArch
      ? h("div", { "data-testid": "best-arch" }, h("p", {}, h("a", { href: `#/e/${enc(exp.name)}/trial/${exp.bestArch.number}` }, `trial ${exp.bestArch.number}`), `: ${o.metric} ${fmt(exp.best)}`), h("div", { class: "arch-box" }, archSvg(exp.bestArch.view, exp.bestArch.arch)))
      : h("p", { class: "empty" }, "no finished trial yet"),
    h("details", {}, h("summary", {}, "config (storage password hidden)"), h("pre", { class: "json" }, JSON.stringify(exp.config, null, 2))),
  );
  root.setAttribute("data-rendered", String(Date.now()));
  void clear;
  return { update: async () => {} };
}
