/**
 * How well performance predictors rank unseen architectures: for each seed, a held-out set of
 * NAS-Bench-201 cells (fixed per seed) and nested training sets of the given sizes drawn from the
 * other cells; every predictor is fitted on (cell, validation accuracy) pairs and scored by
 * Kendall's tau and Spearman's rho between its predicted means and the true validation accuracies
 * of the held-out cells. Mean and std over seeds, fit and predict time.
 *
 *   npm run bench -- predictors --dataset cifar10 --train-sizes 20,50,100,200,1000 --seeds 10 [--predictors gp,gp+zc] [--test-size 1000] [--csv FILE]
 *
 * Variants: NAME is a registry predictor on the encoding alone; NAME+zc also gets the table's
 * cheap features (log params, log FLOPs, NASWOT score; src/predictors/features.ts). Predictors
 * that need the tensor engine are skipped (with the reason) when it cannot be loaded. Two
 * learning-curve rows use the 12-epoch accuracies of the held-out cells (a partial training run,
 * so not comparable with the predictors that see only the architecture): lc_12ep ranks by the
 * 12-epoch accuracy, lc_early_to_final maps it (with the encoding) to the final one.
 */
import { performance } from "node:perf_hooks";
import { writeFileSync } from "node:fs";
import { Rng } from "../src/core/rng.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { loadNb201, NB201_COLUMNS, NB201_DATASETS, type Nb201Dataset } from "../src/benchmarks/nb201.js";
import { predictors } from "../src/predictors/registry.js";
import { nb201TableFeatures } from "../src/predictors/features.js";
import { EarlyToFinalModel } from "../src/predictors/learning-curve.js";
import type { Predictor, PredictorContext } from "../src/predictors/predictor.js";
import { kendallTau, spearman } from "../src/proxies/rank.js";
import { benchArgs, intList, meanStd } from "./args.js";

interface Variant {
  label: string;
  base: string;
  features: boolean;
}

/**
 * Learning-curve rows (not registry predictors): `lc_12ep` ranks by the 12-epoch validation
 * accuracy itself (no training), `lc_early_to_final` is EarlyToFinalModel (GP on the architecture
 * with the 12-epoch accuracy as a feature) trained on the n training cells' 12/200-epoch pairs.
 */
const LC_VARIANTS: Variant[] = [
  { label: "lc_12ep", base: "lc_12ep", features: false },
  { label: "lc_early_to_final", base: "lc_early_to_final", features: false },
];

/** Options the bench passes to predictors that need to know the task (transfer: which dataset is the target). */
function benchOptions(base: string, dataset: Nb201Dataset): Record<string, unknown> | undefined {
  return base.startsWith("transfer") ? { target: dataset } : undefined;
}

export async function predictorsBench(argv: string[]) {
  const { values } = benchArgs(argv, {
    dataset: { type: "string", default: "cifar10" },
    "train-sizes": { type: "string", default: "20,50,100,200,1000" },
    seeds: { type: "string", default: "10" },
    "test-size": { type: "string", default: "1000" },
    predictors: { type: "string" },
    csv: { type: "string" },
  });
  const dataset = String(values.dataset) as Nb201Dataset;
  if (!NB201_DATASETS.includes(dataset)) throw new Error(`--dataset must be one of ${NB201_DATASETS.join(", ")}`);
  const sizes = intList(String(values["train-sizes"]));
  const seeds = intList(String(values.seeds))[0];
  const testSize = intList(String(values["test-size"]))[0];

  const all: Variant[] = Object.keys(predictors).flatMap((base) => [
    { label: base, base, features: false },
    { label: `${base}+zc`, base, features: true },
  ]);
  all.push(...LC_VARIANTS);
  let variants = all;
  if (values.predictors) {
    const wanted = String(values.predictors).split(",").map((s) => s.trim());
    for (const w of wanted) if (!all.some((v) => v.label === w)) throw new Error(`unknown predictor ${w}; known: ${all.map((v) => v.label).join(", ")}`);
    variants = all.filter((v) => wanted.includes(v.label));
  }

  const table = loadNb201();
  const target = table.column(NB201_COLUMNS[dataset].valid);
  const space = new Nb201Space();
  const features = nb201TableFeatures({ dataset, table });
  if (sizes.some((s) => s + testSize > table.rows)) throw new Error(`train size + test size exceed the ${table.rows} cells`);

  type Cell = { tau: number[]; rho: number[]; fitMs: number[]; predictMs: number[]; skipped?: string };
  const results = new Map<string, Map<number, Cell>>(variants.map((v) => [v.label, new Map(sizes.map((s) => [s, { tau: [], rho: [], fitMs: [], predictMs: [] }]))]));

  for (let seed = 0; seed < seeds; seed++) {
    const order = new Rng(seed).shuffle(Array.from({ length: table.rows }, (_, i) => i));
    const test = order.slice(0, testSize);
    const pool = order.slice(testSize);
    const testPoints = test.map((i) => table.archStrings[i]);
    const testTruth = test.map((i) => target[i]);
    for (const v of variants) {
      if (v.base.startsWith("lc_")) {
        const early = table.column(NB201_COLUMNS[dataset].valid12);
        for (const n of sizes) {
          const cell = results.get(v.label)!.get(n)!;
          const t0 = performance.now();
          let means: number[];
          if (v.base === "lc_12ep") means = test.map((i) => early[i]);
          else {
            const model = new EarlyToFinalModel(space, 12, { seed });
            model.fit(pool.slice(0, n).map((i) => ({ point: table.archStrings[i], early: early[i], final: target[i] })));
            means = model.predictManyFromEarly(testPoints, test.map((i) => early[i])).map((p) => p.mean);
          }
          cell.tau.push(kendallTau(means, testTruth));
          cell.rho.push(spearman(means, testTruth));
          cell.fitMs.push(performance.now() - t0);
          cell.predictMs.push(0);
        }
        continue;
      }
      const factory = predictors[v.base];
      for (const n of sizes) {
        const cell = results.get(v.label)!.get(n)!;
        if (cell.skipped) continue;
        const train = pool.slice(0, n).map((i) => ({ point: table.archStrings[i] as string, value: target[i] }));
        const ctx: PredictorContext = { space, seed, features: v.features ? features : undefined };
        let predictor: Predictor | undefined;
        try {
          predictor = factory.create(ctx, benchOptions(v.base, dataset));
          const t0 = performance.now();
          await predictor.fit(train);
          const t1 = performance.now();
          const pred = await predictor.predict(testPoints);
          const t2 = performance.now();
          const means = pred.map((p) => p.mean);
          cell.tau.push(kendallTau(means, testTruth));
          cell.rho.push(spearman(means, testTruth));
          cell.fitMs.push(t1 - t0);
          cell.predictMs.push(t2 - t1);
        } catch (e) {
          if (!factory.needsEngine) throw e;
          cell.skipped = (e as Error).message.split("\n")[0];
        } finally {
          predictor?.dispose?.();
        }
      }
      process.stderr.write(`seed ${seed} ${v.label} done\n`);
    }
  }

  const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "nan");
  console.log(`predictors on NAS-Bench-201 ${dataset} (${NB201_COLUMNS[dataset].valid}): ${seeds} seeds, ${testSize} held-out cells per seed`);
  console.log("Kendall tau / Spearman rho (mean ± std over seeds) of predicted vs true validation accuracy, by training-set size");
  console.log(["predictor", ...sizes.map((s) => `n=${s} tau`.padEnd(14) + `rho`)].map((h, i) => (i === 0 ? h.padEnd(20) : h.padEnd(30))).join(""));
  const csv = ["predictor,train_size,tau_mean,tau_std,spearman_mean,spearman_std,fit_ms,predict_ms_per_1000,seeds"];
  const summary: Record<string, Record<string, { tau: number; spearman: number; tau_std: number; spearman_std: number; fit_ms: number } | { skipped: string }>> = {};
  for (const v of variants) {
    const row = [v.label.padEnd(20)];
    summary[v.label] = {};
    for (const n of sizes) {
      const c = results.get(v.label)!.get(n)!;
      if (c.skipped) {
        row.push("skipped".padEnd(30));
        summary[v.label][n] = { skipped: c.skipped };
        continue;
      }
      const t = meanStd(c.tau);
      const r = meanStd(c.rho);
      const fit = meanStd(c.fitMs).mean;
      const pr = meanStd(c.predictMs).mean * (1000 / testSize);
      row.push(`${fmt(t.mean)}±${fmt(t.std)}`.padEnd(14) + `${fmt(r.mean)}±${fmt(r.std)}`.padEnd(16));
      csv.push([v.label, n, fmt(t.mean, 4), fmt(t.std, 4), fmt(r.mean, 4), fmt(r.std, 4), fmt(fit, 1), fmt(pr, 1), c.tau.length].join(","));
      summary[v.label][n] = { tau: round(t.mean), spearman: round(r.mean), tau_std: round(t.std), spearman_std: round(r.std), fit_ms: round(fit, 1) };
    }
    console.log(row.join(""));
  }
  const skipped = variants.filter((v) => [...results.get(v.label)!.values()].some((c) => c.skipped));
  for (const v of skipped) console.log(`${v.label} skipped: ${[...results.get(v.label)!.values()].find((c) => c.skipped)!.skipped}`);
  console.log("\nfit time (ms, mean over seeds) by training-set size");
  for (const v of variants) {
    console.log(v.label.padEnd(20) + sizes.map((n) => fmt(meanStd(results.get(v.label)!.get(n)!.fitMs).mean, 1).padEnd(12)).join(""));
  }
  console.log("\nCSV");
  console.log(csv.join("\n"));
  if (values.csv) writeFileSync(String(values.csv), csv.join("\n") + "\n");
  console.log(JSON.stringify({ dataset, seeds, test_size: testSize, results: summary }));
}

function round(x: number, d = 4): number {
  return Number.isFinite(x) ? Number(x.toFixed(d)) : NaN;
}
