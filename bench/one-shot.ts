/**
 * One-shot and differentiable NAS on real images, NB201 protocol: each method searches the NB201
 * cell space on Fashion-MNIST (the search's data), and the derived cell is then looked up in the
 * NAS-Bench-201 table (its CIFAR-10 / CIFAR-100 / ImageNet16-120 test accuracy: the standard
 * NB201 report) and trained from scratch on Fashion-MNIST with one fixed recipe (its Fashion-MNIST
 * test accuracy, on the official test split). Beside them, random search with real training
 * and REA (the same recipe, cells scored on the validation part) given the mean CPU time of the searches.
 *
 * (`--space fbnet`: FBNet's hardware-aware DNAS at several latency weights, see one-shot-fbnet.ts.)
 *
 *   npm run bench -- one-shot [--dataset fashion-mnist] [--seeds 1] [--methods darts,beta_darts,gdas,spos,rsws]
 *        [--max-train 4000] [--channels 8] [--cells 1] [--epochs 10] [--batch 64] [--trials 30]
 *        [--retrain-epochs 4] [--no-retrain] [--no-same-time] [--same-time-s S] (--methods none --same-time-s S: only the same-time searches)
 *
 * The published figures printed beside come from searches on CIFAR-10 itself at full size (C 16,
 * N 5, 50 epochs, 25,000 images per half); a 2-core machine searches far smaller supernets, so
 * compare methods with each other here, and with the published figures only as a direction.
 * Ends with {"dataset","seeds","methods":{"<m>":{"search_s","nb201_test":{"cifar10","cifar100","imagenet16"},"fmnist_test","skips"}},"same_time":{"random","rea"}}.
 */
import { performance } from "node:perf_hooks";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Json } from "../src/core/json.js";
import { Objectives } from "../src/core/objectives.js";
import { Experiment } from "../src/core/experiment.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { registry } from "../src/registry.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { NB201_COLUMNS, loadNb201, parseArchString } from "../src/benchmarks/nb201.js";
import { DifferentiableSearcher, differentiableOptions, type DifferentiableMethod } from "../src/oneshot/differentiable.js";
import type { SearcherJob } from "../src/core/searcher.js";
import type { Evaluator } from "../src/core/evaluator.js";
import { benchArgs } from "./args.js";

const PUBLISHED: Record<string, [number, number, number]> = {
  "DARTS (1st)": [54.3, 38.97, 18.41],
  SNAS: [92.77, 69.34, 43.16],
  "PC-DARTS": [93.41, 67.48, 41.31],
  DrNAS: [94.36, 73.51, 46.34],
  optimum: [94.37, 73.51, 47.31],
};

interface Row {
  method: string;
  seed: number;
  searchS: number;
  cell: string;
  skips: number;
  nones: number;
  nb201: [number, number, number];
  fmnist?: number;
}

export async function oneShotBench(argv: string[]) {
  const spaceArg = argv.findIndex((a) => a === "--space" || a.startsWith("--space="));
  const spaceName = spaceArg < 0 ? "nb201" : argv[spaceArg].includes("=") ? argv[spaceArg].split("=")[1] : argv[spaceArg + 1];
  if (spaceName === "fbnet") return (await import("./one-shot-fbnet.js")).fbnetDnasBench(argv);
  if (spaceName !== "nb201") throw new Error(`--space must be nb201 or fbnet, got ${spaceName}`);
  const { values } = benchArgs(argv, {
    space: { type: "string", default: "nb201" },
    dataset: { type: "string", default: "fashion-mnist" },
    seeds: { type: "string", default: "1" },
    methods: { type: "string", default: "darts,beta_darts,gdas,spos,rsws" },
    "max-train": { type: "string", default: "4000" },
    channels: { type: "string", default: "8" },
    cells: { type: "string", default: "1" },
    epochs: { type: "string", default: "10" },
    batch: { type: "string", default: "64" },
    trials: { type: "string", default: "30" },
    "retrain-epochs": { type: "string", default: "4" },
    "no-retrain": { type: "boolean", default: false },
    "no-same-time": { type: "boolean", default: false },
    "same-time-s": { type: "string", default: "" },
  });
  const num = (k: string) => {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer, got ${String(values[k])}`);
    return v;
  };
  const dataset = String(values.dataset);
  const seeds = num("seeds");
  const methods = String(values.methods).split(",").map((m) => m.trim()).filter((m) => m !== "" && m !== "none");
  for (const m of methods) if (!["darts", "darts2", "beta_darts", "drnas", "gdas", "spos", "rsws", "fair_spos", "dna"].includes(m)) throw new Error(`unknown method ${m}: darts, darts2, beta_darts, drnas, gdas, spos, fair_spos, rsws, dna`);
  const size = { max_train: num("max-train"), channels: num("channels"), cells_per_stage: num("cells"), epochs: num("epochs"), batch_size: num("batch") };
  const table = loadNb201();
  const test = (cell: string): [number, number, number] => {
    const r = table.indexOf.get(cell)!;
    return [table.column(NB201_COLUMNS.cifar10.test)[r], table.column(NB201_COLUMNS.cifar100.test)[r], table.column(NB201_COLUMNS.imagenet16.test)[r]];
  };
  const objectives = new Objectives([{ metric: "valid_acc", direction: "max" }]);
  const space = new Nb201Space();
  // The fixed recipe a derived cell is trained with from scratch (and random search trains with).
  const recipe = (epochs: number) =>
    registry.evaluators.train.create(
      registry.evaluators.train.options.parse({ dataset, max_train: size.max_train, channels: size.channels, cells_per_stage: size.cells_per_stage, epochs, batch_size: size.batch_size, test_fraction: 0.1 }),
      { configDir: process.cwd(), seed: 0 },
    );
  const retrainEpochs = num("retrain-epochs");
  const retrainer = values["no-retrain"] ? undefined : recipe(retrainEpochs);
  const fmnistTest = async (cell: string, seed: number): Promise<number> => {
    const r = await retrainer!.run({ experiment: "retrain", number: 0, point: cell, arch: cell, hp: {}, fidelity: { epochs: retrainEpochs }, seed }, { report: () => "continue", signal: new AbortController().signal });
    return r.hidden!.test_acc;
  };

  const scratch = mkdtempSync(join(tmpdir(), "archsearch-one-shot-"));
  const rows: Row[] = [];
  for (const method of methods) {
    for (let seed = 0; seed < seeds; seed++) {
      const t0 = performance.now();
      let cell: string;
      if (method === "spos" || method === "rsws" || method === "fair_spos" || method === "dna") {
        const evaluator = registry.evaluators.supernet.create(
          // A cache of its own per method and run: each search pays for its supernet's training (RS-WS would reuse SPOS' otherwise).
          registry.evaluators.supernet.options.parse({
            dataset,
            ...size,
            sampling: method === "fair_spos" ? "fair" : "uniform",
            eval_images: 1000,
            cache_dir: join(scratch, `${method}-${seed}`),
            // dna: block-wise distillation from a teacher (every edge a 3x3 convolution) trained as long as the supernet
            ...(method === "dna" ? { distill: {} } : {}),
          }),
          { configDir: process.cwd(), seed },
        ) as Evaluator;
        const strategyName = method === "rsws" ? "random" : "rea";
        const c = registry.strategies[strategyName];
        const strategy = c.create(c.options.parse(strategyName === "rea" ? { population_size: 10, sample_size: 3 } : {}), { space, objectives, seed });
        const summary = await new Experiment({ name: `${method}-${seed}`, seed, space, strategy, scheduler: new FifoScheduler({ seed }), evaluator, objectives, store: new SqliteStore(":memory:"), budget: { trials: num("trials") } }).run();
        cell = String(summary.best!.arch);
      } else {
        const kind = (method === "darts2" ? "darts" : method) as DifferentiableMethod;
        const searcher = new DifferentiableSearcher(kind, differentiableOptions.parse({ dataset, ...size, order: method === "darts2" ? 2 : 1 }));
        const job: SearcherJob = { seed, signal: new AbortController().signal, report: async () => undefined, checkpoint: async () => undefined, saveArtifact: async () => undefined };
        cell = String(((await searcher.search(job)) as Json[])[0]);
      }
      const searchS = (performance.now() - t0) / 1000;
      const ops = parseArchString(cell)!;
      const row: Row = { method, seed, searchS, cell, skips: ops.filter((o) => o === "skip_connect").length, nones: ops.filter((o) => o === "none").length, nb201: test(cell) };
      if (retrainer) row.fmnist = await fmnistTest(cell, seed);
      rows.push(row);
      console.error(`  ${method} seed ${seed}: ${searchS.toFixed(0)} s, ${cell}, NB201 C10 ${row.nb201[0].toFixed(2)}${row.fmnist !== undefined ? `, FMNIST ${row.fmnist.toFixed(2)}` : ""}`);
    }
  }

  // Random search and REA with real training, given the mean search time (cells scored by validation accuracy).
  type SameTime = { nb201: [number, number, number]; fmnist: number; trials: number };
  const sameTime: Record<string, SameTime> = {};
  // (--same-time-s sets the time instead: the searches' own times are only fair on an otherwise idle machine.)
  const givenS = values["same-time-s"] ? Number(values["same-time-s"]) : undefined;
  if (givenS !== undefined && !(givenS > 0)) throw new Error(`--same-time-s must be a positive number of seconds, got ${String(values["same-time-s"])}`);
  if (!values["no-same-time"] && (rows.length > 0 || givenS !== undefined)) {
    const budgetS = givenS ?? rows.reduce((a, r) => a + r.searchS, 0) / rows.length;
    const evaluator = recipe(retrainEpochs);
    for (const name of ["random", "rea"] as const) {
      const c = registry.strategies[name];
      const acc: SameTime[] = [];
      for (let seed = 0; seed < seeds; seed++) {
        // Stopped once the time is spent (checked as each trial ends: the training keeps timers from firing).
        const abort = new AbortController();
        const started = performance.now();
        const onEvent = () => {
          if ((performance.now() - started) / 1000 >= budgetS) abort.abort();
        };
        const strategy = c.create(c.options.parse(name === "rea" ? { population_size: 10, sample_size: 3 } : {}), { space, objectives, seed });
        const summary = await new Experiment({ name: `${name}-${seed}`, seed, space, strategy, scheduler: new FifoScheduler({ seed }), evaluator, objectives, store: new SqliteStore(":memory:"), budget: { trials: 10_000 }, signal: abort.signal, onEvent }).run();
        const cell = String(summary.best!.arch);
        acc.push({ nb201: test(cell), fmnist: summary.best!.hidden.test_acc, trials: summary.trials });
        console.error(`  ${name} (same time, ${budgetS.toFixed(0)} s) seed ${seed}: ${summary.trials} trials, ${cell}`);
      }
      const mean = (f: (x: SameTime) => number) => acc.reduce((a, x) => a + f(x), 0) / acc.length;
      sameTime[name] = { nb201: [mean((x) => x.nb201[0]), mean((x) => x.nb201[1]), mean((x) => x.nb201[2])], fmnist: mean((x) => x.fmnist), trials: mean((x) => x.trials) };
    }
  }

  rmSync(scratch, { recursive: true, force: true });
  const byMethod = methods.map((m) => {
    const rs = rows.filter((r) => r.method === m);
    const mean = (f: (r: Row) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    return {
      method: m,
      search_s: mean((r) => r.searchS),
      nb201_test: { cifar10: mean((r) => r.nb201[0]), cifar100: mean((r) => r.nb201[1]), imagenet16: mean((r) => r.nb201[2]) },
      fmnist_test: rs.every((r) => r.fmnist !== undefined) ? mean((r) => r.fmnist!) : null,
      skips: mean((r) => r.skips),
      cells: rs.map((r) => r.cell),
    };
  });
  console.log(`NB201 cells searched on ${dataset} (${size.max_train} images, C=${size.channels}, ${size.cells_per_stage} cell(s) per stage, ${size.epochs} epochs), ${seeds} seed(s); test accuracy of the derived cell`);
  const w = [14, 10, 10, 10, 12, 10, 8, 0];
  const line = (cells: string[]) => console.log(cells.map((c, i) => c.padEnd(w[i])).join(""));
  line(["method", "search s", "C10", "C100", "IN16-120", "FMNIST", "skips", "cell (first seed)"]);
  for (const m of byMethod) line([m.method, m.search_s.toFixed(0), m.nb201_test.cifar10.toFixed(2), m.nb201_test.cifar100.toFixed(2), m.nb201_test.imagenet16.toFixed(2), m.fmnist_test === null ? "-" : m.fmnist_test.toFixed(2), m.skips.toFixed(1), m.cells[0]]);
  for (const [name, st] of Object.entries(sameTime)) line([`${name}+train`, "(same)", st.nb201[0].toFixed(2), st.nb201[1].toFixed(2), st.nb201[2].toFixed(2), st.fmnist.toFixed(2), "", `${st.trials.toFixed(0)} trials trained`]);
  console.log("published (searched on CIFAR-10, full size):");
  for (const [name, [a, b, c]] of Object.entries(PUBLISHED)) line([name, "", a.toFixed(2), b.toFixed(2), c.toFixed(2)]);
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  console.log(
    JSON.stringify({
      dataset,
      seeds,
      methods: Object.fromEntries(
        byMethod.map((m) => [
          m.method,
          { search_s: r3(m.search_s), nb201_test: { cifar10: r3(m.nb201_test.cifar10), cifar100: r3(m.nb201_test.cifar100), imagenet16: r3(m.nb201_test.imagenet16) }, fmnist_test: m.fmnist_test === null ? null : r3(m.fmnist_test), skips: m.skips },
        ]),
      ),
      same_time: Object.fromEntries(
        Object.entries(sameTime).map(([name, st]) => [name, { nb201_test: { cifar10: r3(st.nb201[0]), cifar100: r3(st.nb201[1]), imagenet16: r3(st.nb201[2]) }, fmnist_test: r3(st.fmnist), trials: st.trials }]),
      ),
    }),
  );
}
