/**
 * Hardware-aware DNAS on the FBNet space (`npm run bench -- one-shot --space fbnet`): FBNet's
 * search (src/oneshot/fbnet-dnas.ts) on Fashion-MNIST at several latency weights (beta of
 * CE * alpha * log(1 + LAT)^beta, LAT from HW-NAS-Bench's lookup table of one device), each
 * derived architecture's LUT latency and its Fashion-MNIST test accuracy when trained from
 * scratch with one fixed recipe; beside each, random FBNet architectures of similar LUT latency
 * (within 10 %, drawn from samples with a random share of skip layers) trained with the same recipe: the gain
 * of the search at that latency.
 *
 *   npm run bench -- one-shot --space fbnet [--betas 0,0.6,3] [--seeds 1] [--random 2] [--max-train 4000]
 *        [--width 0.25] [--epochs 10] [--warmup 2] [--retrain-epochs 4] [--device latency_ms_pixel3]
 *
 * Ends with {"space":"fbnet","device","betas":{"<beta>":{"lut_latency","fmnist_test","search_s","random":{"lut_latency","fmnist_test"}}}} (means over seeds).
 */
import { performance } from "node:perf_hooks";
import { deriveSeed, Rng } from "../src/core/rng.js";
import type { SearcherJob } from "../src/core/searcher.js";
import { FBNET_LAYERS, FBNET_OPS, fbnetLayerCosts, loadFbnetLut } from "../src/benchmarks/hwnas.js";
import { FbnetDnasSearcher, fbnetDnasOptions } from "../src/oneshot/fbnet-dnas.js";
import type { ImageDataset } from "../src/data/datasets.js";
import { benchArgs } from "./args.js";

/** Trains one FBNet architecture from scratch (a fresh supernet along the fixed path: only that path's weights exist for it) and returns its test accuracy. */
async function trainFromScratch(ops: readonly number[], train: ImageDataset, test: ImageDataset, o: { width: number; epochs: number; batch: number; lr: number; seed: number }): Promise<number> {
  const E = await import("../src/engine/index.js");
  const D = await import("../src/data/datasets.js");
  const { FbnetSupernet } = await import("../src/oneshot/fbnet-supernet.js");
  const { Sgd, clipGradNorm } = await import("../src/engine/optim-state.js");
  E.manualSeed(deriveSeed(o.seed, "fbnet-retrain"));
  const net = new FbnetSupernet({ width: o.width, classes: train.classes, inputChannels: train.shape[0] });
  const weights = net.parameters();
  const opt = new Sgd(weights, { lr: o.lr, momentum: 0.9, weightDecay: 1e-4 });
  const steps = o.epochs * Math.ceil(train.labels.length / o.batch);
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const { x, y } of D.batches(train, o.batch, new Rng(deriveSeed(o.seed, "fbnet-retrain-order", epoch)))) {
      opt.learningRate = E.cosineLr(step++, steps, o.lr);
      E.tidy(() => {
        opt.zeroGrad();
        E.F.crossEntropy(net.run(x, ops), y).backward();
        clipGradNorm(weights, 5);
        opt.step();
      });
      x.dispose();
      y.dispose();
    }
  }
  net.eval();
  let correct = 0;
  E.noGrad(() => {
    for (const { x, y } of D.batches(test, 256)) {
      correct += E.tidy(() => net.run(x, ops).argmax(1).eq(y).cast("float32").sum().item());
      x.dispose();
      y.dispose();
    }
  });
  net.dispose();
  opt.dispose();
  return (100 * correct) / test.labels.length;
}

export async function fbnetDnasBench(argv: string[]) {
  const { values } = benchArgs(argv, {
    space: { type: "string", default: "fbnet" },
    dataset: { type: "string", default: "fashion-mnist" },
    betas: { type: "string", default: "0,0.6,3" },
    seeds: { type: "string", default: "1" },
    random: { type: "string", default: "2" },
    "max-train": { type: "string", default: "4000" },
    "test-images": { type: "string", default: "2000" },
    width: { type: "string", default: "0.25" },
    epochs: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    "retrain-epochs": { type: "string", default: "4" },
    device: { type: "string", default: "latency_ms_pixel3" },
  });
  const int = (k: string) => {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be a non-negative integer, got ${String(values[k])}`);
    return v;
  };
  const betas = String(values.betas).split(",").map(Number);
  if (betas.some((b) => !Number.isFinite(b) || b < 0)) throw new Error(`--betas must be non-negative numbers, got ${String(values.betas)}`);
  const width = Number(values.width);
  const device = String(values.device);
  const costs = fbnetLayerCosts(loadFbnetLut(), "cifar100", device);
  const latencyOf = (ops: readonly number[]) => ops.reduce((s, op, l) => s + costs[l][op], 0);
  const D = await import("../src/data/datasets.js");
  const { data, test: ownTest } = D.loadImageData(String(values.dataset), process.cwd());
  // The recipe's images: a seeded part of the training split; test images from the official test split (or a held-out part).
  const train = D.splitDataset(data, 1e-9, 7, int("max-train")).train;
  const test = D.splitDataset(ownTest ?? D.splitDataset(data, 0.1, 8).valid, 1e-9, 9, int("test-images")).train;
  const recipe = { width, epochs: int("retrain-epochs"), batch: 64, lr: 0.05 };

  // Random architectures over the whole latency range, for random architectures of a given latency:
  // each draws a share p of skip layers (uniform in [0, 1]), its other layers uniform over the blocks
  // (uniform sampling alone almost never gives the light networks a large latency weight finds).
  const pool = new Rng(12345);
  const skip = FBNET_OPS.indexOf("skip");
  const samples = Array.from({ length: 200_000 }, () => {
    const p = pool.next();
    return Array.from({ length: FBNET_LAYERS }, () => (pool.next() < p ? skip : pool.int(FBNET_OPS.length - 1)));
  });
  const sampleLat = samples.map(latencyOf);
  const nearLatency = (target: number, n: number, rng: Rng) => {
    const close = samples.filter((_, i) => Math.abs(sampleLat[i] - target) <= 0.1 * target);
    const from = close.length >= n ? close : [...samples.keys()].sort((a, b) => Math.abs(sampleLat[a] - target) - Math.abs(sampleLat[b] - target)).slice(0, n).map((i) => samples[i]);
    return rng.shuffle(from.slice()).slice(0, n);
  };

  type Row = { beta: number; seed: number; searchS: number; ops: number[]; lat: number; acc: number; random: { lat: number; acc: number }[] };
  const rows: Row[] = [];
  for (const beta of betas) {
    for (let seed = 0; seed < int("seeds"); seed++) {
      const o = fbnetDnasOptions.parse({ dataset: String(values.dataset), max_train: Math.round(int("max-train") / 0.8), width, epochs: int("epochs"), warmup_epochs: int("warmup"), latency: device, latency_beta: beta });
      const job: SearcherJob = { seed, signal: new AbortController().signal, report: async () => undefined, checkpoint: async () => undefined, saveArtifact: async () => undefined };
      const t0 = performance.now();
      const [ops] = (await new FbnetDnasSearcher(o).search(job)) as number[][];
      const searchS = (performance.now() - t0) / 1000;
      const acc = await trainFromScratch(ops, train, test, { ...recipe, seed });
      const random = [];
      for (const r of nearLatency(latencyOf(ops), int("random"), new Rng(deriveSeed(seed, "fbnet-random", beta)))) random.push({ lat: latencyOf(r), acc: await trainFromScratch(r, train, test, { ...recipe, seed }) });
      rows.push({ beta, seed, searchS, ops, lat: latencyOf(ops), acc, random });
      console.error(`  beta ${beta} seed ${seed}: ${searchS.toFixed(0)} s, LUT ${latencyOf(ops).toFixed(2)} ms, FMNIST ${acc.toFixed(2)}; random at that latency ${random.map((r) => `${r.acc.toFixed(2)} (${r.lat.toFixed(2)} ms)`).join(", ")}`);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const byBeta = betas.map((beta) => {
    const rs = rows.filter((r) => r.beta === beta);
    const rand = rs.flatMap((r) => r.random);
    return { beta, searchS: mean(rs.map((r) => r.searchS)), lat: mean(rs.map((r) => r.lat)), acc: mean(rs.map((r) => r.acc)), rLat: mean(rand.map((r) => r.lat)), rAcc: mean(rand.map((r) => r.acc)), ops: rs[0].ops };
  });
  console.log(`FBNet DNAS on ${String(values.dataset)} (${int("max-train")} images, width ${width}, ${int("epochs")} epochs, ${int("warmup")} warm-up), latency from HW-NAS-Bench's ${device} LUT; derived and random architectures trained ${recipe.epochs} epochs from scratch, test accuracy on ${test.labels.length} test images`);
  const w = [8, 10, 14, 10, 18, 12, 0];
  const line = (cells: string[]) => console.log(cells.map((c, i) => c.padEnd(w[i])).join(""));
  line(["beta", "search s", "LUT latency", "test acc", "random: latency", "test acc", "derived blocks (first seed)"]);
  const opName = (k: number) => FBNET_OPS[k];
  for (const b of byBeta) line([String(b.beta), b.searchS.toFixed(0), b.lat.toFixed(2), b.acc.toFixed(2), b.rLat.toFixed(2), b.rAcc.toFixed(2), b.ops.map(opName).join(" ")]);
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  console.log(
    JSON.stringify({
      space: "fbnet",
      device,
      betas: Object.fromEntries(byBeta.map((b) => [String(b.beta), { lut_latency: r3(b.lat), fmnist_test: r3(b.acc), search_s: r3(b.searchS), random: { lut_latency: r3(b.rLat), fmnist_test: r3(b.rAcc) } }])),
    }),
  );
}
