import uPlot from "uplot";
import { h, fmt, clear } from "../dom.js";
import { expPath, getJson } from "../api.js";
import { chart } from "../chart.js";

interface Curves {
  metric: string;
  scheduler: Record<string, unknown>;
  rungs: { step: number; paused: number; pruned: number }[];
  candidates: number;
  trials: { number: number; status: string; points: [number, number][] }[];
}

const STATUS_COLOUR: Record<string, string> = { finished: "#1f77b4", pruned: "#d62728", paused: "#ff7f0e", running: "#2ca02c", failed: "#7f7f7f" };

/** Learning curves of the top k trials, rungs as vertical lines, where each trial was stopped (×) or paused (□), and promotions (▲). */
export function curvesView(root: HTMLElement, name: string) {
  let top = 20;
  let plot: uPlot | undefined;
  const sel = h("select", { "data-testid": "top-k" }, ...[10, 20, 50, 100, 500, 2000].map((k) => h("option", { value: String(k), selected: k === top }, `top ${k}`)));
  sel.addEventListener("change", () => {
    top = Number(sel.value);
    void update();
  });
  const info = h("div", { class: "summary", "data-testid": "curves-info" });
  const el = h("div", { class: "chart", "data-testid": "chart-curves" });
  root.append(h("h2", {}, "Intermediate values ", sel), info, el);

  async function update() {
    const c = await getJson<Curves>(`${expPath(name)}/curves?top=${top}`);
    plot?.destroy();
    clear(info);
    clear(el);
    const rungSteps = c.rungs.map((r) => r.step);
    info.append(
      h("div", {}, `${c.trials.length} curves of ${c.candidates} trials with ${c.metric} (best first), scheduler ${String(c.scheduler.name ?? "fifo")}${c.scheduler.type ? ` (${String(c.scheduler.type)})` : ""}`),
      c.rungs.length
        ? h("ul", { "data-testid": "rungs" }, ...c.rungs.map((r) => h("li", { "data-step": r.step, "data-paused": r.paused, "data-pruned": r.pruned }, `rung at step ${r.step}: ${r.paused} paused, ${r.pruned} stopped there`)))
        : h("div", {}, "no trial was stopped or paused early"),
    );
    info.setAttribute("data-curves", String(c.trials.length));
    const withPoints = c.trials.filter((t) => t.points.length);
    if (!withPoints.length) {
      el.append(h("p", { class: "empty" }, "no intermediate values reported yet"));
      return;
    }
    const tables = withPoints.map((t) => [t.points.map((p) => p[0]), t.points.map((p) => p[1])] as uPlot.AlignedData);
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const marks = (u: uPlot) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = "#999";
      ctx.setLineDash([5, 5]);
      for (const s of rungSteps) {
        const x = u.valToPos(s, "x", true);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      }
      ctx.setLineDash([]);
      ctx.lineWidth = 2;
      withPoints.forEach((t) => {
        const [sx, sy] = t.points[t.points.length - 1];
        const x = u.valToPos(sx, "x", true);
        const y = u.valToPos(sy, "y", true);
        ctx.strokeStyle = STATUS_COLOUR[t.status] ?? "#333";
        if (t.status === "pruned") {
          ctx.beginPath();
          ctx.moveTo(x - 5, y - 5);
          ctx.lineTo(x + 5, y + 5);
          ctx.moveTo(x + 5, y - 5);
          ctx.lineTo(x - 5, y + 5);
          ctx.stroke();
        } else if (t.status === "paused") ctx.strokeRect(x - 4, y - 4, 8, 8);
        // promoted: passed a rung and went on
        for (const r of rungSteps) {
          const at = t.points.find((p) => p[0] === r);
          if (at && sx > r) {
            const px = u.valToPos(at[0], "x", true);
            const py = u.valToPos(at[1], "y", true);
            ctx.fillStyle = "#2ca02c";
            ctx.beginPath();
            ctx.moveTo(px, py - 6);
            ctx.lineTo(px - 5, py + 3);
            ctx.lineTo(px + 5, py + 3);
            ctx.fill();
          }
        }
      });
      ctx.restore();
    };
    plot = chart(
      el,
      {
        height: 380,
        legend: { show: false },
        scales: { x: { time: false } },
        axes: [{ label: "step" }, { label: c.metric }],
        series: [{}, ...withPoints.map((t) => ({ label: `trial ${t.number}`, stroke: STATUS_COLOUR[t.status] ?? "#333", width: 1, spanGaps: true, points: { show: withPoints.length <= 50 } }))],
        hooks: { draw: [marks] },
      },
      data,
    );
    el.append(h("p", { class: "legend" }, "colour: ", ...Object.entries(STATUS_COLOUR).map(([s, c]) => h("span", { style: `color:${c}` }, `${s} `)), "· × stopped · □ paused · ▲ promoted past a rung · dashed: rungs"));
    el.append(h("table", { class: "trials small", "data-testid": "curve-table" }, h("tr", {}, h("th", {}, "trial"), h("th", {}, "status"), h("th", {}, "last step"), h("th", {}, c.metric)), ...withPoints.slice(0, 20).map((t) => h("tr", { "data-number": t.number }, h("td", {}, t.number), h("td", {}, t.status), h("td", {}, t.points[t.points.length - 1][0]), h("td", {}, fmt(t.points[t.points.length - 1][1]))))));
    root.setAttribute("data-rendered", String(Date.now()));
  }
  return { update, dispose: () => plot?.destroy() };
}
