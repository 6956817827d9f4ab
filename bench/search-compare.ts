/**
 * `npm run bench -- search --strategies all|a,b,...`: every strategy (and Optuna 3.1's TPE) on the
 * same NB201 table, protocol and seeds; a table, a CSV of anytime curves, an SVG plot, a JSON line.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { NB201_COLUMNS, type Nb201Dataset } from "../src/benchmarks/nb201.js";
import { dataDir } from "../src/benchmarks/data-dir.js";
import { registry } from "../src/registry.js";
import { meanStd } from "./args.js";
import { peerPython, peerScript, type PeerUse } from "./peers.js";
import { exactRandomFor, runStrategy } from "./search.js";
import type { SearchTarget } from "./search-targets.js";

export interface CompareOptions {
  strategies: string;
  target: SearchTarget;
  queries: number;
  seeds: number;
  checkpoints: number[];
  /** Optuna's TPE on the same protocol, or the note saying it was left out (from requirePeer). */
  optuna: PeerUse;
  out: string;
}

interface Result {
  name: string;
  /** Per query (1..Q): mean and std over seeds of the best-by-validation test accuracy. */
  mean: number[];
  std: number[];
  overheadMs?: number;
  seconds: number;
  note?: string;
}

function summarise(name: string, curves: ArrayLike<number>[], queries: number): Result {
  const mean: number[] = [];
  const std: number[] = [];
  for (let q = 0; q < queries; q++) {
    const s = meanStd(curves.map((c) => c[q]));
    mean.push(s.mean);
    std.push(s.std);
  }
  return { name, mean, std, seconds: 0 };
}

/** Mean ± std at each checkpoint, for the progress lines on stderr (nothing is lost if a long run is stopped). */
function progressLine(r: Result, checkpoints: number[]): string {
  return checkpoints.map((c) => `@${c} ${r.mean[c - 1].toFixed(3)} ± ${r.std[c - 1].toFixed(3)}`).join(", ");
}

/** Runs Optuna's TPE on the same table and seeds through a peer script (NB201's own; the generic table script for the others). */
async function optunaRun(target: SearchTarget, queries: number, seeds: number): Promise<{ curves: number[][]; ms: number; version: string }> {
  if (target.benchmark !== "nb201") {
    const dir = mkdtempSync(join(tmpdir(), "archsearch-optuna-"));
    try {
      const file = join(dir, "table.json");
      writeFileSync(file, JSON.stringify(target.peerTable()));
      const { stdout } = await promisify(execFile)(peerPython(), [peerScript("optuna_table.py"), file, String(queries), String(seeds), target.direction], { maxBuffer: 1 << 28 });
      const res = JSON.parse(stdout.trim().split("\n").pop()!) as { curves: number[][]; ms_per_trial: number; optuna: string };
      return { curves: res.curves, ms: res.ms_per_trial, version: res.optuna };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const dataset = target.task as Nb201Dataset;
  const cols = NB201_COLUMNS[dataset];
  const file = join(dataDir(), "nas-bench-201", "nb201_results.csv.gz");
  const { stdout } = await promisify(execFile)(peerPython(), [peerScript("optuna_search.py"), file, cols.valid, cols.test, String(queries), String(seeds)], {
    maxBuffer: 1 << 28,
  });
  const res = JSON.parse(stdout.trim().split("\n").pop()!) as { curves: number[][]; ms_per_trial: number; optuna: string };
  return { curves: res.curves, ms: res.ms_per_trial, version: res.optuna };
}

export async function compareStrategies(o: CompareOptions): Promise<void> {
  // "all": the black-box strategies (searchers train a supernet on real images: bench one-shot compares them).
  const names = o.strategies === "all" ? Object.keys(registry.strategies).filter((n) => !registry.strategies[n].requires.includes("supernet")) : o.strategies.split(",").map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!registry.strategies[n]) throw new Error(`unknown strategy ${n}; known: ${Object.keys(registry.strategies).join(", ")}`);
  const target = o.target;

  const results: Result[] = [];
  // Optuna runs in its own process while ours run here.
  const t0 = performance.now();
  const optuna = o.optuna.use
    ? optunaRun(target, o.queries, o.seeds).then(
        (r) => ({ ...r, seconds: (performance.now() - t0) / 1000 }),
        (e: Error) => ({ error: e.message.split("\n")[0] }),
      )
    : undefined;
  for (const name of names) {
    const started = performance.now();
    try {
      const component = registry.strategies[name];
      const run = await runStrategy(name, component.options.parse({}), target, o.queries, o.seeds);
      const r = summarise(name, run.curves, o.queries);
      r.overheadMs = run.overheadMs;
      r.seconds = (performance.now() - started) / 1000;
      results.push(r);
      console.error(`  ${name}: ${progressLine(r, o.checkpoints)} (${r.seconds.toFixed(1)} s, ${r.overheadMs!.toFixed(3)} ms/trial)`);
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0];
      results.push({ name, mean: [], std: [], seconds: (performance.now() - started) / 1000, note: `unavailable: ${msg}` });
      console.error(`  ${name}: unavailable (${msg})`);
    }
  }
  if (!o.optuna.use) {
    results.push({ name: "optuna_tpe", mean: [], std: [], seconds: 0, note: o.optuna.note });
  } else if (optuna) {
    const r = await optuna;
    if ("error" in r) {
      results.push({ name: "optuna_tpe", mean: [], std: [], seconds: 0, note: `unavailable: ${r.error}` });
      console.error(`  optuna_tpe: unavailable (${r.error})`);
    } else {
      const s = summarise("optuna_tpe", r.curves, o.queries);
      s.overheadMs = r.ms;
      s.seconds = r.seconds;
      s.note = `optuna ${r.version}`;
      results.push(s);
      console.error(`  optuna_tpe: ${progressLine(s, o.checkpoints)} (${r.seconds.toFixed(1)} s, ${r.ms.toFixed(3)} ms/trial)`);
    }
  }
  const pop = target.population();
  const exact = Array.from({ length: o.queries }, (_, q) => exactRandomFor(target, q + 1, pop));

  // Table.
  console.log(`${target.label}: ${o.seeds} seeds x ${o.queries} queries; ${target.test} of the best-by-validation (${target.metric}, ${target.direction}) architecture (mean ± std over seeds)`);
  const w = [22, ...o.checkpoints.map(() => 17), 12, 0];
  console.log(["strategy", ...o.checkpoints.map((c) => `@${c}`), "ms/trial", "note"].map((h, i) => h.padEnd(w[i])).join(""));
  for (const r of results) {
    const cells = [
      r.name,
      ...o.checkpoints.map((c) => (r.mean.length ? `${r.mean[c - 1].toFixed(2)} ± ${r.std[c - 1].toFixed(2)}` : "-")),
      r.overheadMs === undefined ? "-" : r.overheadMs.toFixed(3),
      r.note ?? "",
    ];
    console.log(cells.map((x, i) => x.padEnd(w[i])).join(""));
  }
  console.log(["random (exact)", ...o.checkpoints.map((c) => exact[c - 1].toFixed(2))].map((x, i) => x.padEnd(w[i])).join(""));

  // CSV of the anytime curves and the plot.
  const outDir = resolve(o.out);
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `search-${target.benchmark === "nb201" ? "" : `${target.benchmark}-`}${target.task}-q${o.queries}-s${o.seeds}`);
  const ok = results.filter((r) => r.mean.length > 0);
  const lines = ["strategy,query,mean,std"];
  for (const r of ok) r.mean.forEach((m, q) => lines.push(`${r.name},${q + 1},${m.toFixed(4)},${r.std[q].toFixed(4)}`));
  exact.forEach((m, q) => lines.push(`random_exact,${q + 1},${m.toFixed(4)},`));
  writeFileSync(`${base}.csv`, `${lines.join("\n")}\n`);
  writeFileSync(
    `${base}.svg`,
    plotSvg(
      [...ok.map((r) => ({ name: r.name, ys: r.mean })), { name: "random (exact)", ys: exact, dashed: true }],
      `${target.label}: best-by-validation ${target.test}, mean of ${o.seeds} seeds`,
    ),
  );
  console.log(`anytime curves: ${base}.csv; plot: ${base}.svg`);

  const at = Math.min(100, o.queries);
  const key = (s: string) => `${s}_at_${at}`;
  console.log(
    JSON.stringify({
      benchmark: target.benchmark,
      dataset: target.task,
      metric: target.test,
      direction: target.direction,
      queries: o.queries,
      seeds: o.seeds,
      results: Object.fromEntries(
        ok.map((r) => [
          r.name,
          {
            [key("mean")]: Number(r.mean[at - 1].toFixed(4)),
            [key("std")]: Number(r.std[at - 1].toFixed(4)),
            [`mean_at_${o.queries}`]: Number(r.mean[o.queries - 1].toFixed(4)),
          },
        ]),
      ),
      random_exact: { [key("mean")]: Number(exact[at - 1].toFixed(4)) },
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// A small line chart as SVG, written by hand (no plotting dependency).

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** "Nice" tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, target: number): number[] {
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

export function plotSvg(series: { name: string; ys: number[]; dashed?: boolean }[], title: string): string {
  const W = 900;
  const H = 560;
  const m = { left: 64, right: 210, top: 40, bottom: 52 };
  const n = Math.max(...series.map((s) => s.ys.length));
  // The y range: from the value most curves reach after ~10% of the queries to the top, so early
  // random-looking queries do not flatten the interesting part.
  const from = Math.max(0, Math.floor(n / 10) - 1);
  const all = series.flatMap((s) => s.ys.slice(from).filter(Number.isFinite));
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  const pad = (hi - lo) * 0.05 || 0.5;
  lo -= pad;
  hi += pad;
  const x = (q: number) => m.left + ((q - 1) / Math.max(1, n - 1)) * (W - m.left - m.right);
  const y = (v: number) => m.top + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (H - m.top - m.bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2 - m.right / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  for (const t of ticks(lo, hi, 8)) {
    parts.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
  }
  for (const t of ticks(1, n, 10)) {
    parts.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${m.top}" y2="${H - m.bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${H - m.bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 14}" text-anchor="middle">queries</text>`);
  parts.push(`<text transform="translate(18 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">test accuracy (%)</text>`);
  series.forEach((s, i) => {
    const color = s.dashed ? "#000" : PALETTE[i % PALETTE.length];
    const pts = s.ys.map((v, q) => (Number.isFinite(v) ? `${x(q + 1).toFixed(1)},${y(v).toFixed(1)}` : "")).filter(Boolean);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="${s.dashed ? 1.5 : 2}"${s.dashed ? ' stroke-dasharray="5 4"' : ""} points="${pts.join(" ")}"/>`);
    const ly = m.top + 10 + i * 20;
    parts.push(`<line x1="${W - m.right + 14}" x2="${W - m.right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ""}/>`);
    const last = s.ys[s.ys.length - 1];
    parts.push(`<text x="${W - m.right + 46}" y="${ly + 4}">${esc(s.name)} (${Number.isFinite(last) ? last.toFixed(2) : "-"})</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
