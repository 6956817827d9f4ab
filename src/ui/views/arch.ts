import { h, s } from "../dom.js";
import type { ArchView } from "../types.js";

const OP_COLOURS: Record<string, string> = {
  none: "#bbb",
  skip_connect: "#2a9d8f",
  nor_conv_1x1: "#e9c46a",
  nor_conv_3x3: "#e76f51",
  avg_pool_3x3: "#457b9d",
};

/** The architecture drawn as inline SVG: a cell DAG with labelled edges, a chain of blocks, or a graph with ops on nodes. */
export function archSvg(view: ArchView, point: unknown): Element {
  if (view.kind === "cell") return cellSvg(view);
  if (view.kind === "chain") return chainSvg(view.blocks);
  if (view.kind === "graph") return graphSvg(view.ops, view.adjacency);
  return h("pre", { class: "json" }, JSON.stringify(point, null, 2));
}

function cellSvg(view: { nodes: number; edges: { from: number; to: number; op: string }[] }): Element {
  const gap = 170;
  const W = gap * (view.nodes - 1) + 80;
  const H = 250;
  const cy = 150;
  const x = (i: number) => 40 + i * gap;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "arch cell", role: "img" });
  svg.appendChild(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#555" }))));
  for (const e of view.edges) {
    const span = e.to - e.from;
    // longer edges arc higher so that no two edges overlap
    const lift = span === 1 ? 0 : 45 * span;
    const x1 = x(e.from) + 18;
    const x2 = x(e.to) - 18;
    const mx = (x1 + x2) / 2;
    const my = cy - lift * 1.3;
    const colour = OP_COLOURS[e.op] ?? "#333";
    svg.appendChild(s("path", { d: `M${x1},${cy} Q${mx},${my} ${x2},${cy}`, fill: "none", stroke: colour, "stroke-width": e.op === "none" ? 1.5 : 3, "stroke-dasharray": e.op === "none" ? "4 4" : "none", "marker-end": "url(#arrow)" }));
    const ly = span === 1 ? cy - 8 : cy - lift * 0.65 - 4;
    svg.appendChild(s("text", { x: mx, y: ly, "text-anchor": "middle", class: "edge-label", "data-edge": `${e.from}->${e.to}` }, e.op));
  }
  for (let i = 0; i < view.nodes; i++) {
    svg.appendChild(s("circle", { cx: x(i), cy, r: 18, fill: i === 0 || i === view.nodes - 1 ? "#264653" : "#fff", stroke: "#264653", "stroke-width": 2 }));
    svg.appendChild(s("text", { x: x(i), y: cy + 5, "text-anchor": "middle", fill: i === 0 || i === view.nodes - 1 ? "#fff" : "#264653", class: "node-label" }, String(i)));
  }
  svg.appendChild(s("text", { x: x(0), y: cy + 40, "text-anchor": "middle", class: "caption" }, "input"));
  svg.appendChild(s("text", { x: x(view.nodes - 1), y: cy + 40, "text-anchor": "middle", class: "caption" }, "output"));
  return svg;
}

function chainSvg(blocks: string[]): Element {
  // wide enough for the longest label: labels are shown whole
  const bw = Math.max(130, 7 * Math.max(...blocks.map((b) => b.length)) + 16);
  const bh = 44;
  const perRow = Math.max(1, Math.min(6, Math.floor(1100 / (bw + 30))));
  const rows = Math.ceil(blocks.length / perRow);
  const W = perRow * (bw + 30) + 20;
  const H = rows * (bh + 40) + 20;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "arch chain", role: "img" });
  blocks.forEach((b, i) => {
    const r = Math.floor(i / perRow);
    const c = i % perRow;
    const x = 10 + c * (bw + 30);
    const y = 10 + r * (bh + 40);
    svg.appendChild(s("rect", { x, y, width: bw, height: bh, rx: 6, fill: b === "skip" ? "#eee" : "#e9f5f2", stroke: "#2a9d8f" }));
    svg.appendChild(s("text", { x: x + bw / 2, y: y + 17, "text-anchor": "middle", class: "caption" }, `#${i}`));
    svg.appendChild(s("text", { x: x + bw / 2, y: y + 34, "text-anchor": "middle", class: "block-label" }, b));
    if (i + 1 < blocks.length && c + 1 < perRow) svg.appendChild(s("line", { x1: x + bw, y1: y + bh / 2, x2: x + bw + 30, y2: y + bh / 2, stroke: "#555", "stroke-width": 2 }));
  });
  return svg;
}

/** Ops on nodes in topological order, on a line; each edge an arc above it. */
function graphSvg(ops: string[], adj: number[][]): Element {
  const gap = 110;
  const W = gap * ops.length + 40;
  const H = 260;
  const cy = 200;
  const x = (i: number) => 40 + i * gap;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "arch graph", role: "img" });
  adj.forEach((row, i) =>
    row.forEach((v, j) => {
      if (!v) return;
      const lift = 30 * (j - i);
      svg.appendChild(s("path", { d: `M${x(i)},${cy - 14} Q${(x(i) + x(j)) / 2},${cy - 14 - lift} ${x(j)},${cy - 14}`, fill: "none", stroke: "#777" }));
    }),
  );
  ops.forEach((op, i) => {
    svg.appendChild(s("rect", { x: x(i) - 48, y: cy - 14, width: 96, height: 28, rx: 5, fill: "#fff", stroke: "#264653" }));
    svg.appendChild(s("text", { x: x(i), y: cy + 5, "text-anchor": "middle", class: "block-label" }, op));
  });
  return svg;
}
