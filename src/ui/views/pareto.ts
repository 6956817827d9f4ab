import uPlot from "uplot";
import { h, fmt, clear } from "../dom.js";
import { chart, pointSeries, strictlyIncreasing } from "../chart.js";
import { pointsOf } from "../points.js";
import { ParetoFront2D } from "../../objectives/pareto-incremental.js";
import type { ExperimentDetail } from "../types.js";
import { enc } from "../api.js";

/**
 * The Pareto front of the first two objectives, kept incrementally as trials finish (feasible
 * trials only; infeasible ones are drawn apart), and the hypervolume of the front over trials.
 */
export function paretoView(root: HTMLElement, exp: ExperimentDetail) {
  const [o1, o2] = exp.objectives;
  const info = h("div", { class: "summary", "data-testid": "pareto-info" });
  const scatterEl = h("div", { class: "chart", "data-testid": "chart-pareto" });
  const hvEl = h("div", { class: "chart", "data-testid": "chart-hv" });
  const frontTable = h("table", { class: "trials small", "data-testid": "front-table" });
  root.append(h("h2", {}, "Pareto front"), info, scatterEl, h("h3", {}, "Hypervolume of the front over finished trials"), hvEl, h("h3", {}, "Trials on the front"), frontTable);
  let plots: uPlot[] = [];
  const front = new ParetoFront2D<number>();
  const seen = new Set<number>();
  const sign = (d: "max" | "min") => (d === "max" ? 1 : -1);

  function draw() {
    const rows = pointsOf(exp.name).sorted();
    // insert trials not seen yet, in trial order (a finished trial does not change again)
    const fresh = rows.filter((r) => r[1] === "finished" && !seen.has(r[0]) && typeof r[6] === "number" && typeof r[7] === "number");
    for (const r of fresh) {
      seen.add(r[0]);
      // cache hits repeat an earlier trial's result: left out, as `archsearch best` does
      if (r[5] === 1 && r[4] === 0) front.add(sign(o1.direction) * (r[6] as number), sign(o2.direction) * (r[7] as number), r[0]);
    }
    const done = rows.filter((r) => r[1] === "finished" && typeof r[6] === "number" && typeof r[7] === "number");
    const feasible = done.filter((r) => r[5] === 1);
    const infeasible = done.length - feasible.length;
    const fp = front.points();
    clear(info);
    info.setAttribute("data-front", fp.map((p) => p.item).join(","));
    info.append(`${done.length} finished trials (${feasible.length} feasible, ${infeasible} infeasible); ${fp.length} on the front of ${o1.direction} ${o1.metric} and ${o2.direction} ${o2.metric}`);
    for (const p of plots) p.destroy();
    plots = [];
    clear(scatterEl);
    clear(hvEl);
    if (!done.length) {
      scatterEl.append(h("p", { class: "empty" }, "no finished trial yet"));
      return;
    }
    // scatter: x sorted; three y series (feasible, infeasible, front)
    const onFront = new Set(fp.map((p) => p.item));
    const sorted = done.slice().sort((a, b) => (a[6] as number) - (b[6] as number));
    const xs = strictlyIncreasing(sorted.map((r) => r[6] as number));
    const yF = sorted.map((r) => (r[5] === 1 && !onFront.has(r[0]) ? (r[7] as number) : null));
    const yI = sorted.map((r) => (r[5] === 0 ? (r[7] as number) : null));
    const yP = sorted.map((r) => (onFront.has(r[0]) ? (r[7] as number) : null));
    plots.push(
      chart(scatterEl, { height: 360, scales: { x: { time: false } }, axes: [{ label: `${o1.metric} (${o1.direction})` }, { label: `${o2.metric} (${o2.direction})` }], series: [{ label: o1.metric }, pointSeries("feasible", "#1f77b488", 4), pointSeries("infeasible", "#aaaaaa", 4), { ...pointSeries("front", "#d62728", 7), fill: undefined, paths: uPlot.paths.stepped!({ align: 1 }), spanGaps: true, width: 2 }] }, [xs, yF, yI, yP] as uPlot.AlignedData),
    );
    // hypervolume over trials: the reference is the worst feasible value of each objective seen so far (fixed per drawing)
    if (feasible.length) {
      const rx = Math.min(...feasible.map((r) => sign(o1.direction) * (r[6] as number)));
      const ry = Math.min(...feasible.map((r) => sign(o2.direction) * (r[7] as number)));
      const replay = new ParetoFront2D<number>();
      const xsH: number[] = [];
      const ysH: number[] = [];
      for (const r of done) {
        if (r[5] === 1 && r[4] === 0) replay.add(sign(o1.direction) * (r[6] as number), sign(o2.direction) * (r[7] as number), r[0]);
        xsH.push(r[0]);
        ysH.push(replay.hypervolume(rx, ry));
      }
      plots.push(chart(hvEl, { height: 220, scales: { x: { time: false } }, axes: [{ label: "trial number" }, { label: "hypervolume" }], series: [{ label: "trial" }, { label: "hypervolume", stroke: "#9467bd", width: 2 }] }, [xsH, ysH]));
      info.setAttribute("data-hv", String(replay.hypervolume(rx, ry)));
    }
    clear(frontTable);
    frontTable.append(h("tr", {}, h("th", {}, "trial"), h("th", {}, o1.metric), h("th", {}, o2.metric)), ...fp.map((p) => {
      const r = pointsOf(exp.name).rows.get(p.item)!;
      return h("tr", { "data-number": p.item }, h("td", {}, h("a", { href: `#/e/${enc(exp.name)}/trial/${p.item}` }, String(p.item))), h("td", {}, fmt(r[6])), h("td", {}, fmt(r[7])));
    }));
    root.setAttribute("data-rendered", String(Date.now()));
  }
  return {
    async update() {
      await pointsOf(exp.name).update();
      draw();
    },
    dispose() {
      for (const p of plots) p.destroy();
    },
  };
}
