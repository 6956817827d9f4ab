import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
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
// One libtorch thread: these tests check results, not speed, and two threads crawl on a loaded machine.
if (available) E.setNumThreads(1);
const X = available ? await import("../src/export/onnx.js") : undefined!;
const { decodeModel } = await import("../src/export/onnx-schema.js");
const ort = (await import("onnxruntime-node")).default;
type T = import("../src/engine/tensor.js").Tensor;
type Module = import("../src/engine/nn/module.js").Module;

const TOL = 1e-4;

/** Gives batch norms the statistics and affine values of a trained network (not the identity of a fresh one). */
function trainedIshBatchNorms(net: Module) {
  const sd = net.stateDict();
  E.noGrad(() => {
    for (const [name, t] of sd) {
      if (!name.endsWith(".running_mean")) continue;
      const prefix = name.slice(0, -"running_mean".length);
      const c = t.shape[0];
      t.copy(E.randn([c]).mul(0.3));
      sd.get(prefix + "running_var")!.copy(E.rand([c]).mul(1.5).add(0.5));
      sd.get(prefix + "weight")?.copy(E.rand([c]).add(0.5));
      sd.get(prefix + "bias")?.copy(E.randn([c]).mul(0.2));
    }
  });
}

async function runOnnx(bytes: Uint8Array | string, feeds: Record<string, T>): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(bytes as Uint8Array, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const inputs: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const [k, t] of Object.entries(feeds)) {
      const d = t.data();
      inputs[k] = d instanceof BigInt64Array ? new ort.Tensor("int64", d, t.shape) : new ort.Tensor("float32", d as Float32Array, t.shape);
    }
    const out = await session.run(inputs);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length, "output sizes differ");
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

const ARCHS = [
  "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
  "|avg_pool_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
  "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
  "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
  "|nor_conv_1x1~0|+|avg_pool_3x3~0|none~1|+|nor_conv_1x1~0|skip_connect~1|avg_pool_3x3~2|",
];

test("exported NB201 networks match the libtorch forward within 1e-4 (conv, pool, skip and none edges)", { skip, timeout: 120_000 }, async () => {
  const { Nb201Network } = await import("../src/models/nb201.js");
  E.manualSeed(3);
  for (const arch of ARCHS) {
    const net = new Nb201Network(arch, { channels: 8, cellsPerStage: 2, classes: 10 });
    trainedIshBatchNorms(net);
    const x = E.randn([3, 3, 32, 32]);
    const bytes = X.exportOnnx(net, x);
    assert.equal(net.training, true, "the module gets its training mode back");
    const ref = E.noGrad(() => net.eval().forward(x)).toArray();
    const got = (await runOnnx(bytes, { input: x })).output;
    const scale = Math.max(...ref.map(Math.abs));
    assert.ok(scale > 0.05, `${arch}: outputs of realistic size (max |logit| ${scale})`);
    const diff = maxAbsDiff(got, ref);
    assert.ok(diff <= TOL, `${arch}: max |onnxruntime - libtorch| = ${diff}`);
    const ops = new Set(decodeModel(bytes).graph.node.map((n) => n.opType));
    if (arch.includes("avg_pool")) assert.ok(ops.has("AveragePool"));
    if (arch.includes("conv")) assert.ok(ops.has("Conv") && ops.has("BatchNormalization"));
    net.dispose();
  }
  // MNIST-shaped input (1 channel, 28x28: 28 -> 14 -> 7 through the reductions).
  const mnist = new Nb201Network(ARCHS[0], { channels: 4, cellsPerStage: 1, classes: 10, inputChannels: 1 });
  trainedIshBatchNorms(mnist);
  const x = E.rand([2, 1, 28, 28]);
  const diff = maxAbsDiff((await runOnnx(X.exportOnnx(mnist, x), { input: x })).output, E.noGrad(() => mnist.eval().forward(x)).toArray());
  assert.ok(diff <= TOL, `MNIST-shaped NB201: ${diff}`);
});

test("the bench CNN exports with a free batch dimension, to a file that onnxruntime loads", { skip, timeout: 60_000 }, async () => {
  const { benchCnn } = await import("../bench/train.js");
  E.manualSeed(4);
  const net = benchCnn();
  trainedIshBatchNorms(net);
  const dir = mkdtempSync(join(tmpdir(), "archsearch-onnx-"));
  try {
    const file = join(dir, "cnn.onnx");
    X.saveOnnx(file, net, E.randn([2, 3, 32, 32]));
    const x = E.randn([5, 3, 32, 32]); // another batch size than the trace
    const got = (await runOnnx(file, { input: x })).output;
    const ref = E.noGrad(() => net.eval().forward(x)).toArray();
    assert.equal(got.length, 5 * 10);
    assert.ok(maxAbsDiff(got, ref) <= TOL, `bench CNN: ${maxAbsDiff(got, ref)}`);
    const { readFileSync } = await import("node:fs");
    const m = decodeModel(readFileSync(file));
    assert.equal(m.irVersion, 8);
    assert.deepEqual(m.opsetImport.map((o) => [o.domain, o.version]), [["", 17]]);
    assert.equal(m.producerName, "archsearch");
    // Weights are initializers named as in the state dict; the batch is symbolic.
    assert.deepEqual(m.graph.initializer.map((t) => t.name).sort(), [...net.stateDict().keys()].sort());
    assert.deepEqual(m.graph.input[0].type.tensorType.shape.dim.map((d) => ("dimParam" in d && d.dimParam) || ("dimValue" in d && d.dimValue)), ["batch", 3, 32, 32]);
    assert.deepEqual(m.graph.node.map((n) => n.opType).filter((o) => o !== "Identity"), [
      "Conv", ...Array(5).fill(["Conv", "BatchNormalization", "Relu"]).flat(), "GlobalAveragePool", "Flatten", "Gemm",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a transformer encoder layer and graph layers export too (layer norm, attention, gather / scatter)", { skip, timeout: 60_000 }, async () => {
  E.manualSeed(5);
  const layer = new E.TransformerEncoderLayer(16, 4, { ffDim: 32, activation: "gelu", dropout: 0.1 });
  const seq = E.randn([2, 5, 16]);
  let diff = maxAbsDiff((await runOnnx(X.exportOnnx(layer, seq), { input: seq })).output, E.noGrad(() => layer.eval().forward(seq)).toArray());
  assert.ok(diff <= TOL, `transformer layer: ${diff}`);

  const emb = new E.Sequential(new E.Embedding(11, 6), new E.Linear(6, 3));
  const ids = E.tensor([1, 5, 10, 0, 5, 2], [2, 3], "int64");
  diff = maxAbsDiff((await runOnnx(X.exportOnnx(emb, ids), { input: ids })).output, E.noGrad(() => emb.forward(ids)).toArray());
  assert.ok(diff <= TOL, `embedding: ${diff}`);

  const g = new E.Graph(5, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [1, 3]], { undirected: true });
  const gcn = new E.GCNConv(4, 6);
  const gin = new E.GINConv(6, 3, { trainEps: true });
  const feats = E.randn([5, 4]);
  const run = () => gin.forward(gcn.forward(feats, g).relu(), g);
  const params = new Map([...gcn.stateDict("gcn."), ...gin.stateDict("gin.")]);
  const bytes = X.traceOnnx({ x: feats }, run, { parameters: params, dynamicBatch: false });
  diff = maxAbsDiff((await runOnnx(bytes, { x: feats })).output, E.noGrad(run).toArray());
  assert.ok(diff <= TOL, `GCN + GIN: ${diff}`);
  const ops = new Set(decodeModel(bytes).graph.node.map((n) => n.opType));
  assert.ok(ops.has("Gather") && ops.has("ScatterElements"));
});

test("what cannot be exported is refused with a clear message; type promotion becomes casts", { skip }, () => {
  const x = E.randn([2, 3]);
  assert.throws(() => X.exportOnnx(new E.Lambda((t) => t.var([1])), x), /cannot export to ONNX: the reduction var has no ONNX form/);
  assert.throws(() => X.exportOnnx(new E.Lambda((t) => t.add(E.randn(t.shape))), x), /the network draws random numbers \(Randn\)/);
  assert.throws(() => X.exportOnnx(new E.Lambda((t) => E.F.mseLoss(t, t)), x), /the operation MseLoss has no ONNX form/);
  // libtorch's type promotion (int64 * 0.5 -> float) becomes explicit casts.
  const promote = new E.Lambda((t) => t.argmax(1).mul(0.5).add(t.gt(0.25).sum([1])));
  const x2 = E.randn([4, 6]);
  const ref = E.noGrad(() => promote.forward(x2)).toArray();
  return runOnnx(X.exportOnnx(promote, x2), { input: x2 }).then((got) => {
    assert.deepEqual(got.output, ref);
    // A constant made inside forward is captured as an initializer.
    const bytes = X.exportOnnx(new E.Lambda((t) => t.add(E.tensor([1, 2, 3]))), x);
    assert.equal(decodeModel(bytes).graph.initializer.length, 1);
  });
});

test("archsearch export --format onnx writes the best trial's network, which onnxruntime runs", { skip }, async () => {
  const { cli } = await import("./cli-util.js");
  const dir = mkdtempSync(join(tmpdir(), "archsearch-onnx-cli-"));
  try {
    const db = join(dir, "x.db");
    assert.equal(cli(["run", "examples/nb201-rea.yaml", "--storage", db, "--trials", "5", "--quiet"]).code, 0);
    const file = join(dir, "best.onnx");
    const noOut = cli(["export", "nb201-rea-cifar10", "--storage", db, "--format", "onnx"]);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /give --out FILE/);
    const r = cli(["export", "nb201-rea-cifar10", "--storage", db, "--format", "onnx", "--out", file, "--channels", "4", "--cells", "1"]);
    assert.equal(r.code, 0, r.stderr);
    const session = await ort.InferenceSession.create(file);
    const input = new ort.Tensor("float32", new Float32Array(2 * 3 * 32 * 32).fill(0.5), [2, 3, 32, 32]);
    const out = await session.run({ [session.inputNames[0]]: input });
    assert.deepEqual(out[session.outputNames[0]].dims, [2, 10]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
