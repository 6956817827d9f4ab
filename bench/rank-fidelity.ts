/**
 * Rank fidelity of supernet training: how well the accuracy a cell gets with weights inherited
 * from a supernet ranks cells as training them from scratch does. `--archs` NB201 cells (seeded,
 * distinct) are each trained from scratch on Fashion-MNIST with one fixed recipe (their test
 * accuracy on the official test split is the reference), and scored by supernets trained the
 * same length on the same images in several ways:
 * - spos: uniform single paths (Guo et al. 2020);
 * - fair: FairNAS' strict fairness, every operation of every edge once per step (Chu et al. 2021);
 * - few_shot: spos, then one sub-supernet per operation of edge 0 fine-tuned with it fixed (Zhao et al. 2021);
 * - distill: block-wise distillation from a teacher (DNA, Li et al. 2020): cells rated by their
 *   accuracy through the teacher's stem and head, as the others by inherited accuracy
 *   ("distill_loss" rates them by DNA's distillation error instead, lower is better).
 * Kendall tau and Spearman between the two, per variant.
 *
 *   npm run bench -- rank-fidelity [--archs 30] [--dataset fashion-mnist] [--max-train 4000] [--channels 8] [--cells 1]
 *        [--epochs 10] [--few-shot-epochs 3] [--standalone-epochs 4] [--teacher-epochs 10] [--variants spos,fair,few_shot,distill]
 *
 * Ends with {"archs","kendall_tau":{"spos","fair","few_shot","distill","distill_loss"},"spearman":{...}}.
 */
import { performance } from "node:perf_hooks";
import { Rng } from "../src/core/rng.js";
import { registry } from "../src/registry.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { pointHash } from "../src/core/space.js";
import { kendallTau, spearman } from "../src/proxies/rank.js";
import type { Evaluator } from "../src/core/evaluator.js";
import { benchArgs } from "./args.js";

const ALL_VARIANTS = ["spos", "fair", "few_shot", "distill"] as const;

export async function rankFidelityBench(argv: string[]) {
  const { values } = benchArgs(argv, {
    archs: { type: "string", default: "30" },
    dataset: { type: "string", default: "fashion-mnist" },
    "max-train": { type: "string", default: "4000" },
    channels: { type: "string", default: "8" },
    cells: { type: "string", default: "1" },
    epochs: { type: "string", default: "10" },
    "few-shot-epochs": { type: "string", default: "3" },
    "teacher-epochs": { type: "string", default: "10" },
    "standalone-epochs": { type: "string", default: "4" },
    variants: { type: "string", default: ALL_VARIANTS.join(",") },
    seed: { type: "string", default: "0" },
  });
  const num = (k: string) => {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be a non-negative integer, got ${String(values[k])}`);
    return v;
  };
  const variants = String(values.variants).split(",").map((v) => v.trim());
  for (const v of variants) if (!(ALL_VARIANTS as readonly string[]).includes(v)) throw new Error(`unknown variant ${v}: ${ALL_VARIANTS.join(", ")}`);
  const dataset = String(values.dataset);
  const size = { max_train: num("max-train"), channels: num("channels"), cells_per_stage: num("cells"), batch_size: 64 };
  const seed = num("seed");
  const space = new Nb201Space();
  const rng = new Rng(seed);
  const cells: string[] = [];
  const seen = new Set<string>();
  while (cells.length < num("archs")) {
    const c = space.sample(rng);
    if (seen.has(pointHash(space, c))) continue;
    seen.add(pointHash(space, c));
    cells.push(c);
  }
  const ctx = { report: () => "continue" as const, signal: new AbortController().signal };
  const spec = (cell: string, n: number, fidelity = {}) => ({ experiment: "rank", number: n, point: cell, arch: cell, hp: {}, fidelity, seed: seed + n });

  // The reference: each cell trained from scratch, its test accuracy.
  const epochs = num("standalone-epochs");
  const trainer = registry.evaluators.train.create(registry.evaluators.train.options.parse({ dataset, ...size, epochs, test_fraction: 0.1 }), { configDir: process.cwd(), seed }) as Evaluator;
  const t0 = performance.now();
  const standalone: number[] = [];
  for (const [i, c] of cells.entries()) {
    standalone.push((await trainer.run(spec(c, i, { epochs }), ctx)).hidden!.test_acc);
    if ((i + 1) % 5 === 0) console.error(`  stand-alone: ${i + 1}/${cells.length} trained (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }

  const kendall: Record<string, number | null> = { spos: null, fair: null, few_shot: null, distill: null, distill_loss: null };
  const spear: Record<string, number | null> = { ...kendall };
  const times: Record<string, number> = {};
  for (const v of variants) {
    const t = performance.now();
    const opts = registry.evaluators.supernet.options.parse({
      dataset,
      ...size,
      epochs: num("epochs"),
      sampling: v === "fair" ? "fair" : "uniform",
      eval_images: 2000,
      report_nb201: false,
      ...(v === "few_shot" ? { few_shot: { edge: 0, epochs: num("few-shot-epochs") } } : {}),
      ...(v === "distill" ? { distill: { teacher_epochs: num("teacher-epochs") } } : {}),
    });
    const ev = registry.evaluators.supernet.create(opts, { configDir: process.cwd(), seed }) as Evaluator;
    const inherited: number[] = [];
    const distilled: number[] = [];
    for (const [i, c] of cells.entries()) {
      const m = (await ev.run(spec(c, i), ctx)).metrics;
      inherited.push(m.valid_acc);
      if (v === "distill") distilled.push(-m.distill_loss); // lower error ranks higher
    }
    times[v] = (performance.now() - t) / 1000;
    // Rated by inherited accuracy like the others; DNA's own rating, the distillation error, beside.
    const rated: [string, number[]][] = v === "distill" ? [["distill", inherited], ["distill_loss", distilled]] : [[v, inherited]];
    for (const [name, scores] of rated) {
      kendall[name] = kendallTau(scores, standalone);
      spear[name] = spearman(scores, standalone);
      console.error(`  ${name}: Kendall tau ${kendall[name]!.toFixed(3)}, Spearman ${spear[name]!.toFixed(3)} (${times[v].toFixed(0)} s)`);
    }
  }
  console.log(`rank fidelity on ${dataset}: ${cells.length} NB201 cells, supernets C=${size.channels} N=${size.cells_per_stage} ${num("epochs")} epochs on ${size.max_train} images; reference: each cell trained from scratch ${epochs} epochs, test accuracy`);
  console.log(`${"variant".padEnd(12)}${"Kendall tau".padEnd(14)}${"Spearman".padEnd(12)}seconds`);
  for (const v of [...ALL_VARIANTS, "distill_loss"]) {
    const k = kendall[v];
    const secs = times[v === "distill_loss" ? "distill" : v];
    console.log(`${v.padEnd(12)}${k === null ? "-".padEnd(14) : k.toFixed(3).padEnd(14)}${spear[v] === null ? "-".padEnd(12) : spear[v]!.toFixed(3).padEnd(12)}${secs !== undefined ? secs.toFixed(0) : "not run"}`);
  }
  const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
  console.log(JSON.stringify({ archs: cells.length, kendall_tau: Object.fromEntries(Object.entries(kendall).map(([k, x]) => [k, r3(x)])), spearman: Object.fromEntries(Object.entries(spear).map(([k, x]) => [k, r3(x)])) }));
}
