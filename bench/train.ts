/**
 * Training speed of the tensor engine against PyTorch on the same small CNN, in one script:
 * stem conv3x3 3->16, 5 x [conv3x3 16->16 + BN + ReLU], global average pool, dense 10; input
 * 32x32x3, batch 64, SGD with momentum; 2 threads each. Prints images/s, the ratio, GFLOP/s
 * (72.6 MFLOP per image per training step) and batch-1 inference latency of archsearch, PyTorch and
 * onnxruntime-node (the trained network exported to ONNX), 2 threads each. PyTorch is Debian's
 * python3-torch under /usr/bin/python3 (`--no-pytorch` leaves it out).
 *
 *   npm run bench -- train [--steps 60] [--warmup 10] [--no-pytorch]
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { randn, randint, tidy, manualSeed, setNumThreads, getNumThreads, noGrad, torchVersion } from "../src/engine/tensor.js";
import { Conv2d, BatchNorm2d, Linear, Sequential, ReLU, GlobalAvgPool, type Module } from "../src/engine/nn/index.js";
import { crossEntropy } from "../src/engine/functional.js";
import { sgd } from "../src/engine/optim.js";
import { benchArgs } from "./args.js";
import { peerPython, requirePeer } from "./peers.js";
import { exportOnnx } from "../src/export/onnx.js";
import { onnxLatency } from "../src/evaluators/latency.js";

const MFLOP_PER_IMAGE = 72.6;
const BATCH = 64;

/** The benchmark CNN (also used by the ONNX parity test). */
export function benchCnn(): Module {
  const blocks: Module[] = [new Conv2d(3, 16, 3, { padding: 1 })];
  for (let i = 0; i < 5; i++) blocks.push(new Conv2d(16, 16, 3, { padding: 1 }), new BatchNorm2d(16), ReLU());
  blocks.push(GlobalAvgPool(), new Linear(16, 10));
  return new Sequential(...blocks);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function archsearchRun(steps: number, warmup: number) {
  manualSeed(0);
  setNumThreads(2);
  const net = benchCnn();
  const opt = sgd(net.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const x = randn([BATCH, 3, 32, 32]).keep();
  const y = randint(0, 10, [BATCH]).keep();
  const step = () =>
    tidy(() => {
      opt.zeroGrad();
      const loss = crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    });
  for (let i = 0; i < warmup; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const seconds = (performance.now() - t0) / 1000;
  net.eval();
  const one = randn([1, 3, 32, 32]).keep();
  const lat: number[] = [];
  noGrad(() => {
    for (let i = 0; i < 20; i++) tidy(() => net.forward(one).data());
    for (let i = 0; i < 100; i++) {
      const s = performance.now();
      tidy(() => net.forward(one).data());
      lat.push(performance.now() - s);
    }
  });
  // The same trained network in onnxruntime (timed in trainBench: onnxruntime-node's API is async).
  const onnx = tidy(() => exportOnnx(net, one));
  return { imgPerS: (steps * BATCH) / seconds, latencyMs: median(lat), threads: getNumThreads(), onnx };
}

const PYTORCH = `
import json, sys, time, torch
torch.set_num_threads(2); torch.manual_seed(0)
steps, warmup = int(sys.argv[1]), int(sys.argv[2])
layers = [torch.nn.Conv2d(3, 16, 3, padding=1)]
for _ in range(5): layers += [torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU()]
net = torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
x = torch.randn(64, 3, 32, 32); y = torch.randint(0, 10, (64,))
def step():
    opt.zero_grad(); loss = torch.nn.functional.cross_entropy(net(x), y); loss.backward(); opt.step(); return loss.item()
for _ in range(warmup): step()
t0 = time.perf_counter()
for _ in range(steps): step()
sec = time.perf_counter() - t0
net.eval(); one = torch.randn(1, 3, 32, 32); lat = []
with torch.no_grad():
    for _ in range(20): net(one)
    for _ in range(100):
        s = time.perf_counter(); net(one).numpy(); lat.append((time.perf_counter() - s) * 1000)
lat.sort()
print(json.dumps({"img_s": steps * 64 / sec, "latency_ms": lat[len(lat) // 2], "version": torch.__version__}))
`;

function pytorchRun(steps: number, warmup: number) {
  const r = spawnSync(peerPython(), ["-c", PYTORCH, String(steps), String(warmup)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`PyTorch peer failed (is python3-torch installed?): ${r.stderr.slice(-500)}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { img_s: number; latency_ms: number; version: string };
}

export async function trainBench(argv: string[]) {
  const { values } = benchArgs(argv, { steps: { type: "string", default: "60" }, warmup: { type: "string", default: "10" }, "no-pytorch": { type: "boolean", default: false } });
  const pytorch = requirePeer("pytorch", values, "train");
  const steps = Number(values.steps);
  const warmup = Number(values.warmup);
  // Alternate the two so machine noise hits both alike; keep the best of two rounds each.
  const ours: ReturnType<typeof archsearchRun>[] = [];
  const theirs: ReturnType<typeof pytorchRun>[] = [];
  for (let round = 0; round < 2; round++) {
    ours.push(archsearchRun(steps, warmup));
    if (pytorch.use) theirs.push(pytorchRun(steps, warmup));
  }
  const a = ours.reduce((b, r) => (r.imgPerS > b.imgPerS ? r : b));
  const ort = await onnxLatency(a.onnx, [1, 3, 32, 32], { runs: 100, warmup: 20, threads: 2 });
  const gflops = (a.imgPerS * MFLOP_PER_IMAGE) / 1000;
  const row = (cells: string[]) => console.log(cells.map((h) => h.padEnd(18)).join(""));
  if (!pytorch.use) {
    // --no-pytorch: the PyTorch row and the ratio say so; the JSON line has null for them.
    console.log(`small CNN, batch ${BATCH}, 32x32x3, SGD momentum; libtorch ${torchVersion()} (${a.threads} threads); PyTorch ${pytorch.note}`);
    row(["", "images/s", "GFLOP/s", "latency b=1 (ms)"]);
    row(["archsearch", a.imgPerS.toFixed(1), gflops.toFixed(2), a.latencyMs.toFixed(3)]);
    row(["pytorch", "-", "-", "-", pytorch.note]);
    row(["onnxruntime", "-", "-", ort.medianMs.toFixed(3)]);
    console.log(`ratio archsearch / pytorch: - (PyTorch ${pytorch.note}; all rounds: ours ${ours.map((r) => r.imgPerS.toFixed(0)).join(", ")})`);
    console.log(
      JSON.stringify({
        archsearch_img_s: Number(a.imgPerS.toFixed(1)),
        pytorch_img_s: null,
        ratio: null,
        gflops: Number(gflops.toFixed(3)),
        latency_ms: { archsearch: Number(a.latencyMs.toFixed(4)), pytorch: null, onnxruntime: Number(ort.medianMs.toFixed(4)) },
      }),
    );
    return;
  }
  const p = theirs.reduce((b, r) => (r.img_s > b.img_s ? r : b));
  const ratio = a.imgPerS / p.img_s;
  console.log(`small CNN, batch ${BATCH}, 32x32x3, SGD momentum; libtorch ${torchVersion()} (${a.threads} threads) vs PyTorch ${p.version}`);
  row(["", "images/s", "GFLOP/s", "latency b=1 (ms)"]);
  row(["archsearch", a.imgPerS.toFixed(1), gflops.toFixed(2), a.latencyMs.toFixed(3)]);
  row(["pytorch", p.img_s.toFixed(1), ((p.img_s * MFLOP_PER_IMAGE) / 1000).toFixed(2), p.latency_ms.toFixed(3)]);
  row(["onnxruntime", "-", "-", ort.medianMs.toFixed(3)]);
  console.log(`ratio archsearch / pytorch: ${ratio.toFixed(3)} (all rounds: ours ${ours.map((r) => r.imgPerS.toFixed(0)).join(", ")}; pytorch ${theirs.map((r) => r.img_s.toFixed(0)).join(", ")})`);
  console.log(
    JSON.stringify({
      archsearch_img_s: Number(a.imgPerS.toFixed(1)),
      pytorch_img_s: Number(p.img_s.toFixed(1)),
      ratio: Number(ratio.toFixed(3)),
      gflops: Number(gflops.toFixed(3)),
      latency_ms: { archsearch: Number(a.latencyMs.toFixed(4)), pytorch: Number(p.latency_ms.toFixed(4)), onnxruntime: Number(ort.medianMs.toFixed(4)) },
    }),
  );
}
