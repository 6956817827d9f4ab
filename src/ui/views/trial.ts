import uPlot from "uplot";
import { h, fmt, fmtTime, fmtDuration, clear, append, type Child } from "../dom.js";
import { expPath, getJson, enc } from "../api.js";
import { chart, PALETTE } from "../chart.js";
import { archSvg } from "./arch.js";
import type { ArchView } from "../types.js";

interface TrialDetail {
  experiment: string;
  number: number;
  status: string;
  point: unknown;
  arch: unknown;
  hp: Record<string, unknown>;
  fidelity: Record<string, number> | null;
  metrics: Record<string, number> | null;
  hidden: Record<string, number> | null;
  feasible: boolean | null;
  costSeconds: number | null;
  wallSeconds: number | null;
  worker: string | null;
  error: string | null;
  cachedFrom: number | null;
  cachedFromExperiment: string | null;
  dataVersion: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  intermediate: { step: number; metrics: Record<string, number> }[];
  artifacts: { id: string; name: string; bytes: number; sha256: string }[];
  view: ArchView;
  pytorch: boolean;
}

function kv(rows: [string, unknown][]): HTMLElement {
  return h("table", { class: "kv" }, ...rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { "data-key": k }, v instanceof Node ? v : fmt(v)))));
}

/** A trial's page: everything the store knows of it, its learning curve and its architecture. */
export function trialView(root: HTMLElement, name: string, number: number) {
  let plot: uPlot | undefined;
  async function update() {
    const t = await getJson<TrialDetail>(`${expPath(name)}/trials/${number}`);
    plot?.destroy();
    clear(root);
    const base = `${expPath(name)}/trials/${number}`;
    const add = (...children: Child[]) => append(root, children);
    add(
      h("h2", {}, `Trial ${t.number} `, h("span", { class: `badge st-${t.status}`, "data-testid": "trial-status" }, t.status)),
      kv([
        ["experiment", t.experiment],
        ["fidelity", t.fidelity],
        ["cost", fmtDuration(t.costSeconds)],
        ["wall time", fmtDuration(t.wallSeconds)],
        ["worker", t.worker],
        ["cached from", t.cachedFrom === null ? null : `${t.cachedFromExperiment ? `${t.cachedFromExperiment}#` : "trial "}${t.cachedFrom}`],
        ["feasible", t.feasible],
        ["data version", t.dataVersion],
        ["created", fmtTime(t.createdAt)],
        ["started", fmtTime(t.startedAt)],
        ["finished", fmtTime(t.finishedAt)],
      ]),
      t.error ? h("div", {}, h("h3", {}, "Error"), h("pre", { class: "error", "data-testid": "trial-error" }, t.error)) : null,
      h("h3", {}, "Metrics"),
      kv(Object.entries(t.metrics ?? {}).map(([k, v]) => [k, v])),
      t.hidden && Object.keys(t.hidden).length ? h("div", {}, h("h3", {}, "Hidden metrics (reporting only)"), kv(Object.entries(t.hidden))) : null,
      h("h3", {}, "Architecture"),
      h("div", { class: "arch-box", "data-testid": "arch" }, archSvg(t.view, t.arch)),
      h("p", {}, h("a", { href: `${base}/export.json`, download: "" }, "download JSON"), t.pytorch ? " · " : "", t.pytorch ? h("a", { href: `${base}/export.py`, download: "" }, "download PyTorch code") : null, " · ONNX: `archsearch export --format onnx` (needs the tensor engine)"),
      h("h3", {}, "Point"),
      h("pre", { class: "json", "data-testid": "trial-point" }, JSON.stringify(t.point, null, 2)),
      Object.keys(t.hp).length ? h("div", {}, h("h3", {}, "Hyperparameters"), kv(Object.entries(t.hp))) : null,
    );
    const curveEl = h("div", { class: "chart" });
    root.append(h("h3", {}, `Intermediate values (${t.intermediate.length})`), curveEl);
    if (t.intermediate.length) {
      const keys = [...new Set(t.intermediate.flatMap((p) => Object.keys(p.metrics)))];
      const data = [t.intermediate.map((p) => p.step), ...keys.map((k) => t.intermediate.map((p) => p.metrics[k] ?? null))] as uPlot.AlignedData;
      plot = chart(curveEl, { height: 240, series: [{ label: "step" }, ...keys.map((k, i) => ({ label: k, stroke: PALETTE[i % PALETTE.length], width: 2 }))], scales: { x: { time: false } } }, data);
      root.append(h("table", { class: "trials", "data-testid": "intermediate" }, h("tr", {}, h("th", {}, "step"), ...keys.map((k) => h("th", {}, k))), ...t.intermediate.map((p) => h("tr", {}, h("td", {}, p.step), ...keys.map((k) => h("td", {}, fmt(p.metrics[k])))))));
    } else curveEl.append(h("p", { class: "empty" }, "none reported"));
    root.append(
      h("h3", {}, "Artifacts"),
      t.artifacts.length
        ? h("ul", { "data-testid": "artifacts" }, ...t.artifacts.map((a) => h("li", {}, h("a", { href: `${expPath(name)}/artifacts/${enc(a.id)}`, download: "" }, a.name), ` (${a.bytes} bytes, sha256 ${a.sha256.slice(0, 12)}…)`)))
        : h("p", { class: "empty" }, "none"),
    );
    root.setAttribute("data-rendered", String(Date.now()));
  }
  return { update, dispose: () => plot?.destroy() };
}
