/**
 * Supernet training speed: the same NB201 supernet (mixed edges weighted by a softmax of the
 * architecture logits, DARTS' weight step: forward, cross-entropy, backward, gradient clipping,
 * SGD with momentum) trained on the same batch size and image size by archsearch (the tensor
 * engine over libtorch) and by PyTorch 1.13 (Debian's python3-torch, bench/peers/torch_supernet.py),
 * one after the other in this process's machine, same threads.
 *
 *   npm run bench -- supernet [--channels 16] [--cells 2] [--batch 64] [--input 32] [--steps 10] [--warmup 2] [--threads 2] [--no-pytorch]
 *
 * Ends with {"archsearch_img_s","pytorch_img_s","ratio"} (ratio = archsearch / PyTorch).
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { benchArgs } from "./args.js";
import { peerPython, peerScript, requirePeer } from "./peers.js";

export async function supernetBench(argv: string[]) {
  const { values } = benchArgs(argv, {
    channels: { type: "string", default: "16" },
    cells: { type: "string", default: "2" },
    batch: { type: "string", default: "64" },
    input: { type: "string", default: "32" },
    steps: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    "no-pytorch": { type: "boolean", default: false },
  });
  const n = (k: string) => {
    const v = Number(values[k as keyof typeof values]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer, got ${String(values[k as keyof typeof values])}`);
    return v;
  };
  const [channels, cells, batch, input, steps, warmup, threads] = ["channels", "cells", "batch", "input", "steps", "warmup", "threads"].map(n);
  const pytorch = requirePeer("pytorch", values, "supernet");

  const E = await import("../src/engine/index.js");
  const { Nb201Supernet } = await import("../src/oneshot/nb201-supernet.js");
  const { Sgd, clipGradNorm } = await import("../src/engine/optim-state.js");
  E.setNumThreads(threads);
  E.manualSeed(0);
  const net = new Nb201Supernet({ channels, cellsPerStage: cells, classes: 10, inputChannels: 3 });
  const alphas = E.randn([6, 5]).mul(1e-3).keep();
  const weights = net.parameters();
  const opt = new Sgd(weights, { lr: 0.025, momentum: 0.9, weightDecay: 3e-4 });
  const x = E.rand([batch, 3, input, input]).keep();
  const y = E.randint(0, 10, [batch]).keep();
  let t0 = 0;
  for (let s = 0; s < warmup + steps; s++) {
    if (s === warmup) t0 = performance.now();
    E.tidy(() => {
      opt.zeroGrad();
      const loss = E.F.crossEntropy(net.run(x, { kind: "mixed", weights: E.F.softmax(alphas, 1) }), y);
      loss.backward();
      clipGradNorm(weights, 5);
      opt.step();
    });
  }
  const ours = { img_s: (batch * steps) / ((performance.now() - t0) / 1000), step_ms: (performance.now() - t0) / steps };

  let theirs: { torch: string; img_s: number; step_ms: number } | undefined;
  if (pytorch.use) {
    const r = spawnSync(peerPython(), [peerScript("torch_supernet.py"), ...[channels, cells, batch, input, steps, warmup, threads].map(String)], { encoding: "utf8", maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`the PyTorch supernet failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`);
    theirs = JSON.parse(r.stdout.trim().split("\n").pop()!) as { torch: string; img_s: number; step_ms: number };
  }
  console.log(`NB201 supernet, DARTS weight step: C=${channels}, ${cells} cells per stage, batch ${batch}, ${input}x${input} images, ${threads} threads, ${steps} timed steps after ${warmup}`);
  console.log(`${"".padEnd(12)}${"img/s".padEnd(12)}${"ms/step".padEnd(12)}`);
  console.log(`${"archsearch".padEnd(12)}${ours.img_s.toFixed(1).padEnd(12)}${ours.step_ms.toFixed(1).padEnd(12)}libtorch ${E.torchVersion()}`);
  console.log(theirs ? `${"pytorch".padEnd(12)}${theirs.img_s.toFixed(1).padEnd(12)}${theirs.step_ms.toFixed(1).padEnd(12)}torch ${theirs.torch}` : `${"pytorch".padEnd(12)}-           -           ${pytorch.use ? "" : pytorch.note}`);
  const ratio = theirs ? ours.img_s / theirs.img_s : null;
  if (ratio !== null) console.log(`ratio (archsearch / PyTorch): ${ratio.toFixed(3)}`);
  console.log(JSON.stringify({ archsearch_img_s: round(ours.img_s), pytorch_img_s: theirs ? round(theirs.img_s) : null, ratio: ratio === null ? null : round(ratio) }));
}

const round = (v: number) => Math.round(v * 1000) / 1000;
