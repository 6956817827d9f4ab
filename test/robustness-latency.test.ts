import { test } from "node:test";
import assert from "node:assert/strict";
import { engineAvailable } from "../src/engine/native.js";

// In CI the engine must be there (ARCHSEARCH_REQUIRE_ENGINE=1): these tests fail rather than skip.
const required = process.env.ARCHSEARCH_REQUIRE_ENGINE === "1";
const available = engineAvailable();
if (required && !available) {
  test("the tensor engine is built", () => assert.fail("ARCHSEARCH_REQUIRE_ENGINE=1 but the libtorch binding is not built (npm run build:native)"));
}
const skip = !available && !required ? "libtorch binding not built" : false;

const E = available ? await import("../src/engine/index.js") : undefined!;
// One libtorch thread: these tests check results, not speed, and two threads crawl on a loaded machine.
if (available) E.setNumThreads(1);
const R = available ? await import("../src/evaluators/robustness.js") : undefined!;
const { LatencyEvaluator, onnxLatency, latencyEvaluator } = await import("../src/evaluators/latency.js");
type Dataset = import("../src/data/datasets.js").ImageDataset;

const ctx = { report: () => "continue" as const, signal: new AbortController().signal };
const spec = (arch: string, number = 0) => ({ experiment: "t", number, point: arch, arch, hp: {}, fidelity: {}, seed: 7 });
const NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
const CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
const MIXED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

/** Two classes of 1x8x8 images in 0..1: the bright square is on the left or on the right, with some noise. */
function squares(n: number, seed: number): Dataset {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const images = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < 64; p++) {
      const col = p % 8;
      const lit = labels[i] === 0 ? col < 4 : col >= 4;
      images[i * 64 + p] = Math.min(1, Math.max(0, (lit ? 0.6 : 0.4) + (next() - 0.5) * 0.3));
    }
  }
  return { name: "squares", images, labels, shape: [1, 8, 8], classes: 2 };
}

test("robustness: noise and FGSM accuracy of a trained model on the same validation set", { skip, timeout: 60_000 }, async () => {
  const { batches } = await import("../src/data/datasets.js");
  E.manualSeed(11);
  const train = squares(256, 1);
  const valid = squares(128, 2);
  const net = new E.Sequential(new E.Conv2d(1, 4, 3, { padding: 1 }), new E.BatchNorm2d(4), E.ReLU(), E.GlobalAvgPool(), new E.Linear(4, 2));
  const opt = E.sgd(net.parameters(), { lr: 0.1, momentum: 0.9 });
  for (let epoch = 0; epoch < 15; epoch++) {
    for (const b of batches(train, 32)) {
      E.tidy(() => {
        opt.zeroGrad();
        E.F.crossEntropy(net.forward(b.x), b.y).backward();
        opt.step();
      });
    }
  }
  const clean = R.accuracy(net, valid);
  assert.ok(clean > 95, `clean accuracy ${clean}`);
  assert.equal(net.training, true, "the module's mode is restored");
  // Tiny perturbations leave the same predictions: the same images and labels are scored.
  assert.equal(R.noiseAccuracy(net, valid, 1e-7), clean);
  assert.equal(R.fgsmAccuracy(net, valid, 0), clean);
  const noisy = R.noiseAccuracy(net, valid, 0.5, 3);
  assert.ok(noisy < clean, `noise accuracy ${noisy} vs clean ${clean}`);
  assert.equal(R.noiseAccuracy(net, valid, 0.5, 3), noisy, "seeded");
  const fgsm = R.fgsmAccuracy(net, valid, 0.1);
  assert.ok(fgsm < clean - 20, `FGSM accuracy ${fgsm} vs clean ${clean}`);
  assert.ok(net.parameters().every((p) => p.grad === null), "no parameter gradients are left behind");
});

test("training evaluator: noise_acc, fgsm_acc and onnx_latency_ms of the trained network when enabled", { skip, timeout: 300_000 }, async () => {
  const { TrainingEvaluator, trainingEvaluator } = await import("../src/evaluators/train.js");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "archsearch-robust-"));
  try {
    const d = squares(600, 5);
    const file = join(dir, "squares.tensors");
    E.saveTensors(file, new Map([["images", E.tensor(d.images, [600, 1, 8, 8])], ["labels", E.tensor(d.labels, [600], "int32")]]));
    const base = {
      dataset: `tensors:${file}`, channels: 4, cells_per_stage: 1, epochs: 4, batch_size: 32, lr: 0.05, valid_fraction: 0.25, test_fraction: 0, threads: 1,
    };
    const opts = trainingEvaluator.options.parse({ ...base, noise_sigma: 1e-6, fgsm_eps: 0.15, latency: { runs: 5, warmup: 1 } });
    const ev = new TrainingEvaluator(opts);
    assert.deepEqual(ev.metrics.slice(-3), ["onnx_latency_ms", "noise_acc", "fgsm_acc"]);
    const r = await ev.run(spec(MIXED), ctx);
    const m = r.metrics;
    assert.ok(m.valid_acc > 90, `valid accuracy ${m.valid_acc}`);
    // With a negligible sigma the noisy run scores exactly the validation images again.
    assert.equal(m.noise_acc, m.valid_acc);
    assert.ok(m.fgsm_acc < m.valid_acc, `fgsm_acc ${m.fgsm_acc} < valid_acc ${m.valid_acc}`);
    assert.ok(m.onnx_latency_ms > 0 && m.onnx_latency_ms < 1000, `latency ${m.onnx_latency_ms}`);
    // Off by default: the metrics are not reported.
    const plain = new TrainingEvaluator(trainingEvaluator.options.parse(base));
    assert.ok(!plain.metrics.includes("fgsm_acc") && !plain.metrics.includes("noise_acc") && !plain.metrics.includes("onnx_latency_ms"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("latency evaluator: builds, exports and times the network without training; conv cells are slower than empty ones", { skip, timeout: 300_000 }, async () => {
  const opts = latencyEvaluator.options.parse({ channels: 16, cells_per_stage: 3, runs: 15, warmup: 3 });
  const ev = new LatencyEvaluator(opts);
  const none = await ev.run(spec(NONE), ctx);
  const conv = await ev.run(spec(CONV3, 1), ctx);
  assert.ok(none.metrics.onnx_latency_ms > 0);
  assert.ok(conv.metrics.onnx_latency_ms > none.metrics.onnx_latency_ms, `conv ${conv.metrics.onnx_latency_ms} ms vs none ${none.metrics.onnx_latency_ms} ms`);
  assert.ok(conv.metrics.params_m > none.metrics.params_m);
  assert.throws(() => latencyEvaluator.options.parse({ runs: 0 }), /runs/);

  const net = new E.Sequential(new E.Conv2d(3, 4, 3), E.GlobalAvgPool(), new E.Linear(4, 2));
  const model = E.exportOnnx(net, E.randn([1, 3, 16, 16]));
  const lat = await onnxLatency(model, [1, 3, 16, 16], { runs: 9, warmup: 2 });
  assert.equal(lat.runs, 9);
  assert.ok(lat.minMs > 0 && lat.minMs <= lat.medianMs);
  await assert.rejects(onnxLatency(new Uint8Array([1, 2, 3]), [1, 3, 16, 16]), /./);
});

test("a search minimises onnx_latency_ms under an accuracy-free config; robustness metrics are valid objectives", { skip, timeout: 300_000 }, async () => {
  const { buildParts, createExperiment } = await import("../src/config/build.js");
  const parts = buildParts({
    name: "lat",
    storage: ":memory:",
    space: { name: "nb201" },
    strategy: { name: "random" },
    evaluator: { name: "latency", channels: 4, cells_per_stage: 1, runs: 3, warmup: 1 },
    objectives: [{ metric: "onnx_latency_ms", direction: "min" }],
    constraints: [{ metric: "params_m", max: 1 }],
    budget: { trials: 3 },
  });
  const { experiment, store } = createExperiment(parts);
  try {
    const summary = await experiment.run();
    assert.equal(summary.trials, 3);
    assert.ok(summary.best && summary.best.metrics.onnx_latency_ms > 0);
  } finally {
    await store.close();
  }
  // Robustness metrics can be objectives once enabled; without the option the metric is unknown.
  const train = { name: "train", dataset: "mnist", fgsm_eps: 0.1, noise_sigma: 0.2, latency: true };
  buildParts({ name: "r", space: { name: "nb201" }, strategy: { name: "random" }, evaluator: train, objectives: [{ metric: "fgsm_acc", direction: "max" }], constraints: [{ metric: "onnx_latency_ms", max: 5 }], budget: { trials: 1 } });
  assert.throws(
    () => buildParts({ name: "r", space: { name: "nb201" }, strategy: { name: "random" }, evaluator: { name: "train" }, objectives: [{ metric: "fgsm_acc", direction: "max" }], budget: { trials: 1 } }),
    /no metric "fgsm_acc"/,
  );
});
