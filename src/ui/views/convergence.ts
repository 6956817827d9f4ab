import uPlot from "uplot";
import { h, fmt, clear } from "../dom.js";
import { chart, PALETTE, pointSeries, strictlyIncreasing } from "../chart.js";
import { pointsOf } from "../points.js";
import type { Objective, PointRow } from "../types.js";

export interface ConvergenceSource {
  name: string;
  objective: Objective;
}

interface Series {
  name: string;
  byNumber: { x: number[]; best: number[]; value: number[] };
  byTime: { x: number[]; best: number[]; value: number[] };
  finished: number;
  best: number | null;
  bestTrial: number | null;
}

/** Best-so-far of the primary objective over finished trials, by trial number and by time (wall or summed trial cost). */
export function convergenceSeries(name: string, rows: PointRow[], objective: Objective, clock: "wall" | "cost"): Series {
  const better = (a: number, b: number) => (objective.direction === "max" ? a > b : a < b);
  const done = rows.filter((r) => r[1] === "finished" && typeof r[6] === "number") as PointRow[];
  const byNumber = { x: [] as number[], best: [] as number[], value: [] as number[] };
  let best: number | null = null;
  let bestTrial: number | null = null;
  for (const r of done) {
    const v = r[6] as number;
    // infeasible trials are shown but cannot be the best
    if (r[5] === 1 && (best === null || better(v, best))) {
      best = v;
      bestTrial = r[0];
    }
    byNumber.x.push(r[0]);
    byNumber.value.push(v);
    byNumber.best.push(best ?? NaN);
  }
  const ordered = done
    .map((r) => ({ r, t: r[2] ?? 0 }))
    .sort((a, b) => a.t - b.t || a.r[0] - b.r[0]);
  const byTime = { x: [] as number[], best: [] as number[], value: [] as number[] };
  let b2: number | null = null;
  let cost = 0;
  for (const { r, t } of ordered) {
    const v = r[6] as number;
    if (r[5] === 1 && (b2 === null || better(v, b2))) b2 = v;
    cost += r[3] ?? 0;
    byTime.x.push(clock === "wall" ? t : cost);
    byTime.value.push(v);
    byTime.best.push(b2 ?? NaN);
  }
  byTime.x = strictlyIncreasing(byTime.x);
  return { name, byNumber, byTime, finished: done.length, best, bestTrial };
}

/** The convergence view of one or several experiments (overlaid). */
export function convergenceView(root: HTMLElement, sources: ConvergenceSource[]) {
  let clock: "wall" | "cost" = "wall";
  const summary = h("div", { class: "summary", "data-testid": "convergence-summary" });
  const byNumberEl = h("div", { class: "chart", "data-testid": "chart-by-number" });
  const byTimeEl = h("div", { class: "chart", "data-testid": "chart-by-time" });
  const clockSel = h("select", { "data-testid": "clock" }, h("option", { value: "wall" }, "wall time since the experiment started (s)"), h("option", { value: "cost" }, "summed trial cost (s; simulated for benchmark tables)"));
  clockSel.addEventListener("change", () => {
    clock = clockSel.value as "wall" | "cost";
    draw();
  });
  root.append(h("h2", {}, "Convergence"), summary, h("h3", {}, "Best so far vs trial number"), byNumberEl, h("h3", {}, "Best so far vs time ", clockSel), byTimeEl);
  let plots: uPlot[] = [];

  function draw() {
    const series = sources.map((src) => convergenceSeries(src.name, pointsOf(src.name).sorted(), src.objective, clock));
    clear(summary);
    for (const [i, s] of series.entries()) {
      summary.append(
        h("div", { class: "line", "data-exp": s.name, "data-finished": s.finished, "data-best": s.best ?? "", "data-best-trial": s.bestTrial ?? "" },
          h("span", { class: "swatch", style: `background:${PALETTE[(2 * i) % PALETTE.length]}` }),
          h("b", {}, s.name), `: ${s.finished} finished trials; best ${sources[i].objective.metric} `, h("span", { class: "best" }, s.best === null ? "none yet" : fmt(s.best)), s.bestTrial === null ? "" : ` (trial ${s.bestTrial})`),
      );
    }
    for (const p of plots) p.destroy();
    plots = [];
    clear(byNumberEl);
    clear(byTimeEl);
    const metric = sources[0]?.objective.metric ?? "value";
    const plotOf = (el: HTMLElement, key: "byNumber" | "byTime", xLabel: string) => {
      const tables = series.map((s) => [s[key].x, s[key].best, s[key].value] as uPlot.AlignedData);
      if (tables.every((t) => t[0].length === 0)) {
        el.append(h("p", { class: "empty" }, "no finished trial yet"));
        return;
      }
      const data = tables.length === 1 ? tables[0] : uPlot.join(tables as uPlot.AlignedData[]);
      const ser: uPlot.Series[] = [{ label: xLabel }];
      series.forEach((s, i) => {
        const c = PALETTE[(2 * i) % PALETTE.length];
        ser.push({ label: `${s.name} best`, stroke: c, width: 2, spanGaps: true, points: { show: false } });
        ser.push(pointSeries(`${s.name} trials`, `${PALETTE[(2 * i + 1) % PALETTE.length]}99`, 5));
      });
      plots.push(chart(el, { series: ser, scales: { x: { time: false } }, axes: [{ label: xLabel }, { label: metric }] }, data));
    };
    plotOf(byNumberEl, "byNumber", "trial number");
    plotOf(byTimeEl, "byTime", clock === "wall" ? "seconds since start" : "summed trial cost (s)");
    root.setAttribute("data-rendered", String(Date.now()));
  }

  return {
    async update() {
      await Promise.all(sources.map((s) => pointsOf(s.name).update()));
      draw();
    },
    dispose() {
      for (const p of plots) p.destroy();
    },
  };
}
