import uPlot from "uplot";

export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

/** A uPlot chart sized to its container's width. */
export function chart(el: HTMLElement, opts: Omit<uPlot.Options, "width" | "height"> & { height?: number }, data: uPlot.AlignedData): uPlot {
  const width = Math.max(320, Math.min(el.clientWidth || 900, 1100));
  return new uPlot({ width, height: opts.height ?? 320, ...opts } as uPlot.Options, data, el);
}

/** A series drawn as points only (no line), all of them however dense. */
export function pointSeries(label: string, stroke: string, size = 4): uPlot.Series {
  return { label, stroke, fill: stroke, paths: () => null, points: { show: true, size, space: 0, stroke, fill: stroke } };
}

/** Makes x strictly increasing (uPlot joins and draws by x; trials may end in the same millisecond). */
export function strictlyIncreasing(xs: number[]): number[] {
  const out = xs.slice();
  for (let i = 1; i < out.length; i++) if (out[i] <= out[i - 1]) out[i] = out[i - 1] + 1e-6;
  return out;
}
