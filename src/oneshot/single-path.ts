import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deriveSeed, Rng } from "../core/rng.js";
import { stableStringify } from "../core/json.js";
import { UserError } from "../core/errors.js";
import { NB201_EDGES, NB201_OPS } from "../benchmarks/nb201.js";
import type { ImageDataset } from "../data/datasets.js";
import type { Tensor } from "../engine/tensor.js";
import type { Nb201Supernet } from "./nb201-supernet.js";

/** How a single-path supernet is trained (SPOS, RS-WS, FairNAS). */
export interface SinglePathOptions {
  channels: number;
  cells_per_stage: number;
  epochs: number;
  batch_size: number;
  lr: number;
  lr_min: number;
  momentum: number;
  weight_decay: number;
  grad_clip: number;
  /**
   * uniform: one operation per edge drawn uniformly at each step (SPOS, Guo et al. 2020; RS-WS, Li &
   * Talwalkar 2019); fair: each step trains five paths in which every operation of every edge
   * appears exactly once, and updates once (FairNAS' strict fairness, Chu et al. 2021).
   */
  sampling: "uniform" | "fair";
  threads: number;
  /** A sub-supernet of few-shot NAS: this edge always takes this operation (the others are sampled). */
  fixed?: { edge: number; op: number };
}

type Engine = typeof import("../engine/index.js");

/** The paths of one step: one (uniform) or five covering every operation once per edge (fair). */
function pathsOfStep(rng: Rng, sampling: SinglePathOptions["sampling"], fixed?: SinglePathOptions["fixed"]): number[][] {
  const k = NB201_OPS.length;
  const paths =
    sampling === "uniform"
      ? [NB201_EDGES.map(() => rng.int(k))]
      : (() => {
          const perms = NB201_EDGES.map(() => rng.shuffle(Array.from({ length: k }, (_, i) => i)));
          return Array.from({ length: k }, (_, p) => perms.map((perm) => perm[p]));
        })();
  if (fixed) for (const p of paths) p[fixed.edge] = fixed.op;
  return paths;
}

/**
 * Trains the NB201 supernet along single paths and keeps it in a cache folder, by a hash of
 * everything that defines it (options, data, seed): a second search with the same supernet
 * loads it instead of training again, and a run killed during training resumes from its last
 * epoch (a checkpoint per epoch: weights, momentum buffers, epoch).
 */
export async function trainSinglePath(
  o: SinglePathOptions,
  data: ImageDataset,
  seed: number,
  cacheDir: string,
  log: (line: string) => void = () => undefined,
  /** Weights to start from (a few-shot sub-supernet starts from the one-shot supernet), and what defines them (for the cache key). */
  init?: { net: Nb201Supernet; key: string },
): Promise<Nb201Supernet & { cacheKey: string }> {
  const E: Engine = await import("../engine/index.js");
  const D = await import("../data/datasets.js");
  const { Nb201Supernet } = await import("./nb201-supernet.js");
  const { Sgd, clipGradNorm } = await import("../engine/optim-state.js");
  const { encodeTensors, decodeTensors } = await import("../engine/serialize.js");
  const F = E.F;
  E.setNumThreads(o.threads);
  const key = createHash("sha256")
    .update(stableStringify({ o: { ...o, threads: undefined }, seed, data: data.name, n: data.labels.length, shape: data.shape, init: init?.key ?? null }))
    .digest("hex")
    .slice(0, 20);
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, `nb201-supernet-${key}.bin`);
  E.manualSeed(deriveSeed(seed, "supernet-init"));
  const net = new Nb201Supernet({ channels: o.channels, cellsPerStage: o.cells_per_stage, classes: data.classes, inputChannels: data.shape[0] });
  const weights = net.parameters();
  const opt = new Sgd(weights, { lr: o.lr, momentum: o.momentum, weightDecay: o.weight_decay });
  let start = 0;
  if (init) for (const [name, t] of net.stateDict()) E.noGrad(() => t.copy(init.net.stateDict().get(name)!));
  if (existsSync(file)) {
    let saved: Map<string, Tensor>;
    try {
      saved = decodeTensors(readFileSync(file), file);
    } catch (e) {
      throw new UserError(`supernet cache ${file} is unreadable (${(e as Error).message}); delete it to train again`);
    }
    for (const [name, t] of net.stateDict()) {
      const s = saved.get(`net.${name}`);
      if (!s) throw new UserError(`supernet cache ${file} has no tensor net.${name}; delete it to train again`);
      E.noGrad(() => t.copy(s));
    }
    opt.load(new Map([...saved].filter(([k]) => k.startsWith("opt.")).map(([k, t]) => [k.slice(4), t])));
    start = Math.round(saved.get("epoch")!.item());
    for (const t of saved.values()) t.dispose();
    if (start < o.epochs) log(`supernet: resuming its training at epoch ${start + 1} from ${file}`);
  }
  for (let epoch = start; epoch < o.epochs; epoch++) {
    const t0 = performance.now();
    opt.learningRate = E.cosineLr(epoch, o.epochs, o.lr, o.lr_min);
    E.manualSeed(deriveSeed(seed, "supernet-epoch", epoch));
    const rng = new Rng(deriveSeed(seed, "supernet-paths", epoch));
    let loss = 0;
    let seen = 0;
    for (const { x, y } of D.batches(data, o.batch_size, new Rng(deriveSeed(seed, "supernet-order", epoch)))) {
      E.tidy(() => {
        opt.zeroGrad();
        for (const ops of pathsOfStep(rng, o.sampling, o.fixed)) {
          const l = F.crossEntropy(net.run(x, { kind: "single", ops }), y);
          l.backward(); // fair: the five paths' gradients add up before the one update
          loss += l.item() * x.shape[0];
          seen += x.shape[0];
        }
        clipGradNorm(weights, o.grad_clip);
        opt.step();
      });
      x.dispose();
      y.dispose();
      await new Promise((r) => setImmediate(r));
    }
    const state = new Map<string, Tensor>();
    for (const [name, t] of net.stateDict()) state.set(`net.${name}`, t);
    for (const [k, t] of opt.state()) state.set(`opt.${k}`, t);
    const ep = E.tensor([epoch + 1]);
    state.set("epoch", ep);
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, encodeTensors(state));
    renameSync(tmp, file);
    ep.dispose();
    log(`supernet epoch ${epoch + 1}/${o.epochs}: train_loss ${(loss / Math.max(1, seen)).toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  opt.dispose();
  return Object.assign(net, { cacheKey: key });
}

/**
 * The accuracy (%) and loss of one cell of the supernet with its inherited weights, on `images`:
 * BatchNorm statistics recalibrated first on `bnBatches` training batches (an exact average of
 * them, in a fixed order), since the shared statistics belong to no single path.
 */
export async function inheritedAccuracy(
  net: Nb201Supernet,
  ops: readonly number[],
  calibration: ImageDataset,
  images: ImageDataset,
  o: { batch_size: number; bn_batches: number },
): Promise<{ acc: number; loss: number }> {
  const E: Engine = await import("../engine/index.js");
  const D = await import("../data/datasets.js");
  const { BatchNorm2d } = E;
  const bns = net.modules().filter((m): m is InstanceType<typeof BatchNorm2d> => m instanceof BatchNorm2d);
  const F = E.F;
  E.noGrad(() => {
    for (const bn of bns) bn.resetRunningStats();
    net.train();
    let k = 0;
    for (const { x, y } of D.batches(calibration, o.batch_size)) {
      if (k >= o.bn_batches) {
        x.dispose();
        y.dispose();
        continue;
      }
      for (const bn of bns) bn.momentum = 1 / (k + 1);
      E.tidy(() => void net.run(x, { kind: "single", ops }));
      x.dispose();
      y.dispose();
      k++;
    }
    for (const bn of bns) bn.momentum = undefined;
  });
  net.eval();
  let correct = 0;
  let loss = 0;
  let n = 0;
  E.noGrad(() => {
    for (const { x, y } of D.batches(images, 256)) {
      E.tidy(() => {
        const logits = net.run(x, { kind: "single", ops });
        loss += F.crossEntropy(logits, y).item() * x.shape[0];
        correct += logits.argmax(1).eq(y).cast("float32").sum().item();
        n += x.shape[0];
      });
      x.dispose();
      y.dispose();
    }
  });
  net.train();
  return { acc: (100 * correct) / Math.max(1, n), loss: loss / Math.max(1, n) };
}
