import { h, clear, fmt } from "../dom.js";
import { expPath, getJson } from "../api.js";
import { tableHash, type FilterT } from "./table.js";
import type { Cell, ExperimentDetail } from "../types.js";

interface Columns {
  total: number;
  numbers: number[];
  columns: { name: string; numeric: boolean; values: Cell[] }[];
}

interface Axis {
  name: string;
  numeric: boolean;
  values: Cell[];
  lo: number;
  hi: number;
  cats: string[];
  /** position of each row's value on the axis, 0 (bottom) .. 1 (top); NaN when missing */
  pos: Float64Array;
}

const H = 380;
const PAD = 30;

/** Parallel coordinates over objectives, operations and hyperparameters; brushing an axis filters, and links to the trial table. */
export function parallelView(root: HTMLElement, exp: ExperimentDetail) {
  const info = h("div", { class: "summary", "data-testid": "parallel-info" });
  const canvas = h("canvas", { class: "pc", "data-testid": "parallel-canvas", height: H });
  const link = h("a", { "data-testid": "parallel-link", href: tableHash(exp.name, { filters: [], sort: "number", desc: false, offset: 0 }) }, "show the selected trials in the table");
  root.append(h("h2", {}, "Parallel coordinates"), info, h("div", { class: "scroll" }, canvas), h("p", {}, "Drag along an axis to brush it (click an axis to clear its brush). ", link));
  let axes: Axis[] = [];
  let numbers: number[] = [];
  const brushes = new Map<number, [number, number]>();
  let total = 0;

  const axisX = (i: number) => PAD + 40 + i * Math.max(110, Math.min(160, 1000 / Math.max(1, axes.length - 1)));
  const yOf = (p: number) => H - PAD - p * (H - 2 * PAD);

  function selected(r: number): boolean {
    for (const [a, [b0, b1]] of brushes) {
      const p = axes[a].pos[r];
      if (!(p >= b0 && p <= b1)) return false;
    }
    return true;
  }

  function draw() {
    canvas.width = axisX(Math.max(axes.length - 1, 0)) + 120;
    const ctx = canvas.getContext("2d")!;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const primary = axes[0];
    let count = 0;
    // unselected lines first, in grey; selected ones over them, coloured by the first objective
    for (const pass of [false, true]) {
      for (let r = 0; r < numbers.length; r++) {
        const sel = selected(r);
        if (sel !== pass) continue;
        if (sel) count++;
        ctx.strokeStyle = sel ? `hsla(${Math.round(240 - 240 * (primary?.pos[r] || 0))}, 70%, 45%, 0.35)` : "rgba(180,180,180,0.12)";
        ctx.beginPath();
        let started = false;
        axes.forEach((a, i) => {
          const p = a.pos[r];
          if (Number.isNaN(p)) {
            started = false;
            return;
          }
          const x = axisX(i);
          const y = yOf(p);
          if (started) ctx.lineTo(x, y);
          else ctx.moveTo(x, y);
          started = true;
        });
        ctx.stroke();
      }
    }
    ctx.fillStyle = "#222";
    ctx.font = "11px system-ui";
    axes.forEach((a, i) => {
      const x = axisX(i);
      ctx.strokeStyle = "#333";
      ctx.beginPath();
      ctx.moveTo(x, yOf(0));
      ctx.lineTo(x, yOf(1));
      ctx.stroke();
      ctx.textAlign = "center";
      ctx.fillText(a.name, x, 14);
      ctx.textAlign = "left";
      if (a.numeric) {
        ctx.fillText(fmt(a.hi, 3), x + 4, yOf(1) + 4);
        ctx.fillText(fmt(a.lo, 3), x + 4, yOf(0) + 4);
      } else a.cats.forEach((c, k) => ctx.fillText(c, x + 4, yOf(a.cats.length === 1 ? 0.5 : k / (a.cats.length - 1)) + 4));
      const b = brushes.get(i);
      if (b) {
        ctx.fillStyle = "rgba(31,119,180,0.25)";
        ctx.fillRect(x - 7, yOf(b[1]), 14, yOf(b[0]) - yOf(b[1]));
        ctx.fillStyle = "#222";
      }
    });
    clear(info);
    info.setAttribute("data-selected", String(count));
    info.setAttribute("data-shown", String(numbers.length));
    info.append(`${count} of ${numbers.length} finished trials selected${total > numbers.length ? ` (an even sample of the ${total} finished trials)` : ""}`);
    link.setAttribute("href", tableHash(exp.name, { filters: filters(), sort: "number", desc: false, offset: 0 }));
  }

  /** The brushes as trial-table filters. */
  function filters(): FilterT[] {
    const out: FilterT[] = [];
    for (const [i, [b0, b1]] of brushes) {
      const a = axes[i];
      if (a.numeric) {
        out.push([a.name, ">=", String(a.lo + b0 * (a.hi - a.lo))], [a.name, "<=", String(a.lo + b1 * (a.hi - a.lo))]);
      } else {
        const cats = a.cats.filter((_, k) => {
          const p = a.cats.length === 1 ? 0.5 : k / (a.cats.length - 1);
          return p >= b0 && p <= b1;
        });
        out.push([a.name, "=", cats.join("|")]);
      }
    }
    return out;
  }

  let drag: { axis: number; from: number } | undefined;
  const posAt = (ev: MouseEvent) => {
    const r = canvas.getBoundingClientRect();
    const y = ev.clientY - r.top;
    return Math.min(1, Math.max(0, (H - PAD - y) / (H - 2 * PAD)));
  };
  canvas.addEventListener("mousedown", (ev) => {
    const x = ev.clientX - canvas.getBoundingClientRect().left;
    const axis = axes.findIndex((_, i) => Math.abs(axisX(i) - x) < 12);
    if (axis < 0) return;
    drag = { axis, from: posAt(ev) };
  });
  canvas.addEventListener("mousemove", (ev) => {
    if (!drag) return;
    const p = posAt(ev);
    brushes.set(drag.axis, [Math.min(drag.from, p), Math.max(drag.from, p)]);
    draw();
  });
  canvas.addEventListener("mouseup", (ev) => {
    if (!drag) return;
    const p = posAt(ev);
    if (Math.abs(p - drag.from) < 0.01) brushes.delete(drag.axis);
    drag = undefined;
    draw();
  });

  async function update() {
    const r = await getJson<Columns>(`${expPath(exp.name)}/columns?max=5000`);
    total = r.total;
    numbers = r.numbers;
    axes = r.columns.map((c) => {
      const nums = c.values.filter((v): v is number => typeof v === "number");
      const cats = c.numeric ? [] : [...new Set(c.values.filter((v) => v !== null).map(String))].sort();
      const lo = nums.length ? Math.min(...nums) : 0;
      const hi = nums.length ? Math.max(...nums) : 1;
      const pos = new Float64Array(c.values.length);
      c.values.forEach((v, k) => {
        if (v === null) pos[k] = NaN;
        else if (c.numeric) pos[k] = hi > lo ? ((v as number) - lo) / (hi - lo) : 0.5;
        else pos[k] = cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1);
      });
      return { name: c.name, numeric: c.numeric, values: c.values, lo, hi, cats, pos };
    });
    draw();
    root.setAttribute("data-rendered", String(Date.now()));
  }
  return { update };
}
