import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineAvailable } from "../src/engine/native.js";

// In CI the engine must be there (ARCHSEARCH_REQUIRE_ENGINE=1): these tests fail rather than skip.
const required = process.env.ARCHSEARCH_REQUIRE_ENGINE === "1";
const available = engineAvailable();
if (required && !available) {
  test("the tensor engine is built", () => assert.fail("ARCHSEARCH_REQUIRE_ENGINE=1 but the libtorch binding is not built (npm run build:native)"));
}
const skip = !available && !required ? "libtorch binding not built" : false;

const E = available ? await import("../src/engine/index.js") : undefined!;
type T = import("../src/engine/tensor.js").Tensor;

/** Compares autograd gradients of a scalar function with central differences (float64). */
function gradcheck(name: string, inputs: T[], f: (xs: T[]) => T, opts: { samples?: number; eps?: number; tol?: number } = {}) {
  const eps = opts.eps ?? 1e-6;
  const tol = opts.tol ?? 1e-5;
  for (const x of inputs) x.requiresGrad(true);
  const out = f(inputs);
  out.backward();
  inputs.forEach((x, k) => {
    const analytic = x.grad!.toArray();
    const base = Array.from(x.data() as Float64Array);
    const n = base.length;
    const picks = n <= (opts.samples ?? 12) ? [...Array(n).keys()] : Array.from({ length: opts.samples ?? 12 }, (_, i) => Math.floor((i * n) / (opts.samples ?? 12)));
    for (const i of picks) {
      const at = (delta: number) =>
        E.noGrad(() => {
          const v = [...base];
          v[i] += delta;
          const xs = inputs.map((y, j) => (j === k ? E.tensor(v, y.shape, "float64") : y.detach()));
          return f(xs).item();
        });
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      const err = Math.abs(numeric - analytic[i]);
      assert.ok(err <= tol * Math.max(1, Math.abs(numeric)), `${name}: d/dx${k}[${i}] autograd ${analytic[i]} vs numeric ${numeric}`);
    }
  });
}

const f64 = (shape: number[], seed: number, scale = 1, shift = 0) => {
  const r = new (class {
    s = seed;
    next() {
      this.s = (this.s * 1103515245 + 12345) % 2147483648;
      return this.s / 2147483648;
    }
  })();
  const n = shape.reduce((a, b) => a * b, 1);
  return E.tensor(Array.from({ length: n }, () => (r.next() * 2 - 1) * scale + shift), shape, "float64");
};

test("tensors: creation, shapes, data round trip, dtypes, disposal", { skip }, () => {
  const t = E.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, "float32");
  assert.deepEqual(t.toArray(), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(t.permute([1, 0]).contiguous().toArray(), [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(t.slice(1, 1, 3).toArray(), [2, 3, 5, 6]);
  assert.deepEqual(E.cat([t, t], 0).shape, [4, 3]);
  const i = E.tensor([2, 0], [2], "int64");
  assert.equal(i.dtype, "int64");
  assert.deepEqual(t.indexSelect(1, i).toArray(), [3, 1, 6, 4]);
  assert.deepEqual(t.sum([1]).toArray(), [6, 15]);
  assert.deepEqual(t.argmax(1).toArray(), [2, 2]);
  t.dispose();
  assert.ok(t.disposed);
  assert.throws(() => t.sum(), /tensor used after dispose/);
  assert.throws(() => E.tensor([1, 2, 3], [2, 2]), /data length does not match the shape/);
  assert.throws(() => E.tensor([1, 2], [2]).matmul(E.tensor([1, 2, 3], [3])), /./);
});

test("tidy disposes intermediates and keeps what it returns", { skip }, () => {
  const a = E.tensor([1, 2, 3]);
  let inner: T | undefined;
  const out = E.tidy(() => {
    inner = a.mul(2);
    return inner.add(1);
  });
  assert.ok(inner!.disposed);
  assert.ok(!out.disposed);
  assert.deepEqual(out.toArray(), [3, 5, 7]);
  assert.ok(!a.disposed, "tensors from outside the scope are left alone");
  const nested = E.tidy(() => E.tidy(() => a.add(1)));
  assert.ok(!nested.disposed);
});

test("gradients match central differences: elementwise, reductions, shapes", { skip }, () => {
  gradcheck("add/mul/div/sub", [f64([3, 4], 1), f64([3, 4], 2, 1, 3)], ([x, y]) => x.add(y).mul(x).div(y).sub(x.mul(0.5)).sum());
  gradcheck("pow/exp/log/sqrt", [f64([5], 3, 0.5, 2)], ([x]) => x.pow(3).add(x.exp()).add(x.log()).add(x.sqrt()).sum());
  gradcheck("relu/gelu/sigmoid/tanh", [f64([12], 4, 2)], ([x]) => x.relu().add(x.gelu()).add(x.sigmoid()).add(x.tanh()).square().sum());
  gradcheck("matmul/bmm", [f64([2, 3, 4], 5), f64([2, 4, 2], 6)], ([a, b]) => a.bmm(b).sum().add(a.reshape([6, 4]).matmul(b.slice(0, 0, 1).reshape([4, 2])).square().sum()));
  gradcheck("mean/var/logsumexp/max", [f64([3, 5], 7)], ([x]) => x.mean([1]).square().sum().add(x.var([0]).sum()).add(x.logsumexp([1]).sum()).add(x.max(1).sum()));
  gradcheck("reshape/permute/slice/cat/expand", [f64([2, 3], 8)], ([x]) =>
    E.cat([x.permute([1, 0]).reshape([6]), x.slice(1, 0, 2).flatten(), x.slice(0, 1, 2).expand([4, 3]).flatten()], 0).square().sum(),
  );
  gradcheck("clamp/where", [f64([8], 9, 2)], ([x]) => x.clamp(-0.5, 0.7).mul(x).sum());
});

test("gradients match central differences: network functions", { skip }, () => {
  const { F } = E;
  gradcheck("conv2d stride/padding/dilation", [f64([2, 3, 7, 7], 10), f64([4, 3, 3, 3], 11), f64([4], 12)], ([x, w, b]) => F.conv2d(x, w, b, { stride: 2, padding: 1, dilation: 1 }).square().sum());
  gradcheck("conv2d dilation", [f64([1, 2, 7, 7], 13), f64([2, 2, 3, 3], 14)], ([x, w]) => F.conv2d(x, w, null, { padding: 2, dilation: 2 }).square().sum());
  gradcheck("depthwise conv2d", [f64([2, 4, 6, 6], 15), f64([4, 1, 3, 3], 16)], ([x, w]) => F.conv2d(x, w, null, { padding: 1, groups: 4 }).square().sum());
  gradcheck("batch norm (train)", [f64([4, 3, 3, 3], 17), f64([3], 18, 0.5, 1), f64([3], 19)], ([x, g, b]) => F.batchNorm(x, g, b, null, null, true).mul(f64([4, 3, 3, 3], 20)).sum(), { tol: 1e-4 });
  gradcheck("layer norm", [f64([3, 6], 21), f64([6], 22, 0.5, 1), f64([6], 23)], ([x, g, b]) => F.layerNorm(x, [6], g, b).mul(f64([3, 6], 24)).sum(), { tol: 1e-4 });
  gradcheck("max/avg/adaptive pooling", [f64([2, 2, 6, 6], 25)], ([x]) =>
    F.maxPool2d(x, 2).square().sum().add(F.avgPool2d(x, 3, 1, 1).square().sum()).add(F.adaptiveAvgPool2d(x, 1).square().sum()),
  );
  gradcheck("linear", [f64([5, 4], 26), f64([3, 4], 27), f64([3], 28)], ([x, w, b]) => F.linear(x, w, b).tanh().sum());
  const target = E.tensor([0, 2, 1, 2], [4], "int64");
  gradcheck("cross entropy / log-softmax / softmax", [f64([4, 3], 29, 2)], ([x]) =>
    F.crossEntropy(x, target).add(F.logSoftmax(x, 1).mul(F.softmax(x, 1)).sum()).add(F.crossEntropy(x, target, 0.1)),
  );
  gradcheck("mse", [f64([6], 30), f64([6], 31)], ([a, b]) => F.mseLoss(a, b));
  const idx = E.tensor([3, 0, 3, 1], [4], "int64");
  gradcheck("embedding / index_select", [f64([5, 3], 32)], ([w]) => F.embedding(w, idx).square().sum().add(w.indexSelect(0, idx).tanh().sum()));
  const dst = E.tensor([0, 2, 2, 1, 0, 2], [6], "int64");
  // Message passing: sum messages of 6 edges into 3 nodes.
  gradcheck("scatter_add / index_add", [f64([6, 2], 33), f64([3, 2], 34)], ([msg, base]) =>
    base.indexAdd(0, dst, msg).square().sum().add(base.scatterAdd(0, dst.unsqueeze(1).expand([6, 2]), msg).tanh().sum()),
  );
});

test("no-grad scopes and detach stop gradient tracking", { skip }, () => {
  const x = E.tensor([1, 2]).requiresGrad();
  const y = E.noGrad(() => x.mul(3));
  assert.equal(y.requiresGradEnabled, false);
  const z = x.mul(2).detach();
  assert.equal(z.requiresGradEnabled, false);
  assert.equal(x.mul(2).requiresGradEnabled, true);
});

test("SGD with momentum and Nesterov, Adam, and the cosine schedule", { skip }, () => {
  const step = (opt: ReturnType<typeof E.sgd>, p: T) => {
    opt.zeroGrad();
    p.mul(2).sum().backward(); // gradient 2
    opt.step();
  };
  const p = E.tensor([1], [1], "float64").keep().requiresGrad();
  const opt = E.sgd([p], { lr: 0.1, momentum: 0.9 });
  step(opt, p);
  assert.ok(Math.abs(p.item() - 0.8) < 1e-12);
  step(opt, p); // buffer 0.9 * 2 + 2 = 3.8
  assert.ok(Math.abs(p.item() - 0.42) < 1e-12);
  const q = E.tensor([1], [1], "float64").keep().requiresGrad();
  const nest = E.sgd([q], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.5 });
  step(nest, q); // g = 2 + 0.5 * 1 = 2.5; buf = 2.5; update = g + 0.9 * buf = 4.75
  assert.ok(Math.abs(q.item() - (1 - 0.475)) < 1e-12);
  const r = E.tensor([1], [1], "float64").keep().requiresGrad();
  const ad = E.adam([r], { lr: 0.01 });
  ad.zeroGrad();
  r.mul(2).sum().backward();
  ad.step(); // Adam's first step moves by lr (bias-corrected m / sqrt(v) = 1)
  assert.ok(Math.abs(r.item() - 0.99) < 1e-7);
  ad.learningRate = 0.5;
  assert.equal(ad.learningRate, 0.5);
  assert.equal(E.cosineLr(0, 100, 0.1), 0.1);
  assert.ok(Math.abs(E.cosineLr(50, 100, 0.1) - 0.05) < 1e-12);
  assert.ok(Math.abs(E.cosineLr(100, 100, 0.1, 0.001) - 0.001) < 1e-12);
});

function smallNet() {
  return new E.Sequential(new E.Conv2d(3, 8, 3, { padding: 1 }), new E.BatchNorm2d(8), E.ReLU(), E.GlobalAvgPool(), new E.Linear(8, 4));
}

test("disposing an optimiser drops its state and its hold on the parameters; it cannot step afterwards", { skip }, async () => {
  const { native } = await import("../src/engine/native.js");
  const p = E.randn([64, 64]).keep().requiresGrad();
  const before = native().UseCount(p.h)[0] as number;
  const opt = E.adam([p], { lr: 0.01 });
  E.tidy(() => {
    opt.zeroGrad();
    p.square().sum().backward();
    opt.step(); // creates the Adam moments
  });
  const held = native().UseCount(p.h)[0] as number;
  assert.ok(held > before, `the optimiser holds the parameter (${before} -> ${held})`);
  opt.dispose();
  assert.equal(native().UseCount(p.h)[0], before);
  assert.throws(() => opt.step(), /this optimiser was disposed/);
  p.dispose();
});

test("modules: a small CNN learns a separable task; train/eval; state dict save and load", { skip }, () => {
  E.manualSeed(1);
  const net = smallNet();
  assert.equal(net.parameterCount(), 3 * 8 * 9 + 8 + 8 + 8 + 8 * 4 + 4);
  assert.deepEqual(net.namedParameters().map(([n]) => n), ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"]);
  assert.deepEqual([...net.stateDict().keys()].filter((k) => k.includes("running")), ["1.running_mean", "1.running_var"]);
  // Class = which colour channel is brightest: learnable by this net.
  const x = E.randn([64, 3, 6, 6]).keep();
  const labels = E.tidy(() => x.mean([2, 3]).argmax(1)).keep();
  const y = E.tidy(() => E.where(labels.lt(3), labels, E.full([64], 3, "int64"))).keep();
  const opt = E.sgd(net.parameters(), { lr: 0.1, momentum: 0.9 });
  let first = 0;
  let last = 0;
  for (let i = 0; i < 150; i++) {
    last = E.tidy(() => {
      opt.zeroGrad();
      const loss = E.F.crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    });
    if (i === 0) first = last;
  }
  assert.ok(last < first * 0.3, `loss ${first} -> ${last}`);
  const acc = E.tidy(() => net.eval().forward(x).argmax(1).eq(y).cast("float32").mean().item());
  assert.ok(acc > 0.9, `train accuracy ${acc}`);

  const dir = mkdtempSync(join(tmpdir(), "archsearch-engine-"));
  try {
    const file = join(dir, "net.ckpt");
    E.saveModule(file, net);
    const copy = smallNet().eval();
    E.loadModule(file, copy);
    const a = E.noGrad(() => net.forward(x).toArray());
    const b = E.noGrad(() => copy.forward(x).toArray());
    assert.deepEqual(a, b);
    const other = new E.Sequential(new E.Conv2d(3, 4, 3), E.GlobalAvgPool(), new E.Linear(4, 4));
    assert.throws(() => E.loadModule(file, other), /does not fit this network/);
    writeFileSync(join(dir, "bad.ckpt"), "hello");
    assert.throws(() => E.loadTensors(join(dir, "bad.ckpt")), /is not an archsearch tensor file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("memory stays flat over many training steps", { skip }, () => {
  E.manualSeed(2);
  const net = smallNet();
  const opt = E.sgd(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = E.randn([32, 3, 16, 16]).keep();
  const y = E.randint(0, 4, [32]).keep();
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      E.tidy(() => {
        opt.zeroGrad();
        const loss = E.F.crossEntropy(net.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item();
      });
    }
  };
  run(100);
  const before = process.memoryUsage().rss;
  run(1500);
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(grown < 25, `resident memory grew by ${grown.toFixed(1)} MiB over 1500 steps`);
});

test("without the binding, using the engine says how to install libtorch", async () => {
  const { spawnSync } = await import("node:child_process");
  const { ROOT } = await import("./cli-util.js");
  const code = `import("${join(ROOT, "dist/src/engine/index.js")}").then((E) => { try { E.zeros([2]); } catch (e) { console.log(e.name + ": " + e.message); } console.log("available=" + E.engineAvailable()); })`;
  const r = spawnSync(process.execPath, ["-e", code], { env: { ...process.env, ARCHSEARCH_ENGINE_ADDON: "/nonexistent/archsearch_torch.node" }, encoding: "utf8" });
  assert.match(r.stdout, /EngineError: The archsearch tensor engine is not built: it needs libtorch\. Install it \(Debian\/Ubuntu: apt-get install libtorch-dev/);
  assert.match(r.stdout, /available=false/);
});

test("NB201 network: parameter count equals the table's analytic count; forward shapes", { skip }, async () => {
  const { Nb201Network } = await import("../src/models/nb201.js");
  const { loadNb201 } = await import("../src/benchmarks/nb201.js");
  const table = loadNb201();
  const c10 = table.column("calc_params_mb_c10");
  const c100 = table.column("calc_params_mb_c100");
  // A spread of architectures, including the all-none and all-conv3x3 extremes.
  const picks = [0, 1, 11, 284, 6111, 11472, ...Array.from({ length: 14 }, (_, i) => (i * 1117 + 5) % table.rows)];
  for (const i of picks) {
    const net = new Nb201Network(table.archStrings[i]);
    assert.ok(Math.abs(net.parameterCount() / 1e6 - c10[i]) < 5e-7, `${table.archStrings[i]}: ${net.parameterCount()} vs ${c10[i]} M`);
    net.dispose();
  }
  const net100 = new Nb201Network(table.archStrings[6111], { classes: 100 });
  assert.ok(Math.abs(net100.parameterCount() / 1e6 - c100[6111]) < 5e-7);
  const small = new Nb201Network(table.archStrings[6111], { channels: 4, cellsPerStage: 1, classes: 10, inputChannels: 1 });
  const out = E.noGrad(() => small.eval().forward(E.randn([2, 1, 28, 28])));
  assert.deepEqual(out.shape, [2, 10]);
  assert.throws(() => new Nb201Network("nope"), /not a NAS-Bench-201 architecture string/);
});

test("training evaluator: a real NB201 network learns the MNIST digits; one report per epoch", { skip, timeout: 600_000 }, async () => {
  const { TrainingEvaluator } = await import("../src/evaluators/train.js");
  const ev = new TrainingEvaluator({
    dataset: "mnist", model: "nb201", channels: 8, cells_per_stage: 1, epochs: 2, batch_size: 64, optimizer: "sgd", lr: 0.05,
    momentum: 0.9, nesterov: true, weight_decay: 5e-4, valid_fraction: 0.2, test_fraction: 0.1, max_train: 3000, threads: 1, split_seed: 0,
  });
  const reports: [number, number][] = [];
  const arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
  const r = await ev.run(
    { experiment: "t", number: 0, point: arch, arch, hp: { lr: 0.08 }, fidelity: { epochs: 2 }, seed: 5 },
    { report: (step, m) => (reports.push([step, m.valid_acc]), "continue"), signal: new AbortController().signal },
  );
  assert.deepEqual(reports.map(([s]) => s), [1, 2]);
  assert.ok(r.metrics.valid_acc > 80, `valid accuracy ${r.metrics.valid_acc}`);
  assert.ok(r.hidden!.test_acc > 75, `test accuracy ${r.hidden!.test_acc}`);
  assert.ok(r.metrics.params_m > 0 && r.metrics.wall_s > 0 && r.metrics.peak_rss_mb > 0);
  // A stop after the first epoch ends training there.
  const early = await ev.run(
    { experiment: "t", number: 1, point: arch, arch, hp: {}, fidelity: { epochs: 2 }, seed: 5 },
    { report: () => "stop", signal: new AbortController().signal },
  );
  assert.equal(early.metrics.epochs, 1);
});
