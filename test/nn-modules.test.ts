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
type T = import("../src/engine/tensor.js").Tensor;
type Module = import("../src/engine/nn/module.js").Module;

/** Every parameter got a finite, not all-zero gradient. */
function gradientsFlow(m: Module, loss: T) {
  for (const p of m.parameters()) p.zeroGrad();
  loss.backward();
  for (const [name, p] of m.namedParameters()) {
    const g = p.grad;
    assert.ok(g, `${name} has a gradient`);
    const norm = g.abs().sum().item();
    assert.ok(Number.isFinite(norm) && norm > 0, `${name}: gradient norm ${norm}`);
  }
}

/** Trains `loss` with Adam for `steps`; returns the first and last loss. */
function fit(m: Module, steps: number, lr: number, loss: () => T): [number, number] {
  const opt = E.adam(m.parameters(), { lr });
  let first = NaN;
  let last = NaN;
  for (let i = 0; i < steps; i++) {
    last = E.tidy(() => {
      opt.zeroGrad();
      const l = loss();
      l.backward();
      opt.step();
      return l.item();
    });
    if (i === 0) first = last;
  }
  return [first, last];
}

test("dropout: identity in eval mode, scaled survivors in training, gradient checked against central differences", { skip }, () => {
  const x = E.tensor(Array.from({ length: 400 }, (_, i) => 1 + (i % 7)), [400], "float64");
  assert.deepEqual(E.F.dropout(x, 0.3, false).toArray(), x.toArray());
  const y = E.F.dropout(x, 0.25, true).toArray();
  const kept = y.filter((v) => v !== 0);
  assert.ok(kept.length > 240 && kept.length < 360, `${kept.length} of 400 kept at p = 0.25`);
  y.forEach((v, i) => assert.ok(v === 0 || Math.abs(v - x.toArray()[i] / 0.75) < 1e-12));
  // The same seed gives the same mask, so f is a fixed function of x for the numeric gradient.
  const w = E.tensor(Array.from({ length: 12 }, (_, i) => Math.sin(i) * 2), [12], "float64").requiresGrad();
  const f = (t: T) => {
    E.manualSeed(9);
    return E.F.dropout(t, 0.4, true).square().sum();
  };
  f(w).backward();
  const analytic = w.grad!.toArray();
  const base = w.toArray();
  for (let i = 0; i < 12; i++) {
    const at = (d: number) => E.noGrad(() => f(E.tensor(base.map((v, j) => (j === i ? v + d : v)), [12], "float64")).item());
    const numeric = (at(1e-6) - at(-1e-6)) / 2e-6;
    assert.ok(Math.abs(numeric - analytic[i]) < 1e-5 * Math.max(1, Math.abs(numeric)), `d/dx[${i}]: ${analytic[i]} vs ${numeric}`);
  }
});

test("AdamW decays weights apart from the Adam step", { skip }, () => {
  const p = E.tensor([1], [1], "float64").keep().requiresGrad();
  const opt = E.adamw([p], { lr: 0.01, weightDecay: 0.1 });
  opt.zeroGrad();
  p.mul(2).sum().backward();
  opt.step(); // p * (1 - lr * wd) = 0.999, then the bias-corrected Adam step of size lr: 0.989
  assert.ok(Math.abs(p.item() - 0.989) < 1e-7, `${p.item()}`);
});

test("Embedding: shapes, gradients only for the rows used, learns a token -> class map", { skip }, () => {
  E.manualSeed(21);
  const emb = new E.Embedding(8, 5);
  const ids = E.tensor([0, 3, 3, 7, 1, 0], [2, 3], "int64");
  assert.deepEqual(emb.forward(ids).shape, [2, 3, 5]);
  emb.forward(ids).sum().backward();
  const rows = emb.weight.grad!.sum([1]).toArray();
  assert.deepEqual(rows.map((v) => v / 5), [2, 1, 0, 2, 0, 0, 0, 1]); // how often each token occurs
  const net = new E.Sequential(emb, new E.Linear(5, 4));
  const tokens = E.tensor([0, 1, 2, 3, 4, 5, 6, 7], [8], "int64");
  const classes = E.tensor([3, 0, 2, 1, 1, 3, 0, 2], [8], "int64");
  const [first, last] = fit(net, 200, 0.05, () => E.F.crossEntropy(net.forward(tokens), classes));
  assert.ok(last < first * 0.1, `loss ${first} -> ${last}`);
  assert.deepEqual(E.noGrad(() => net.forward(tokens).argmax(1)).toArray(), classes.toArray());
});

test("MultiHeadSelfAttention / TransformerEncoderLayer: shapes, token-permutation equivariance, gradients, a tiny overfit", { skip, timeout: 60_000 }, () => {
  E.manualSeed(22);
  const attn = new E.MultiHeadSelfAttention(16, 4);
  const x = E.randn([2, 5, 16]);
  const y = attn.forward(x);
  assert.deepEqual(y.shape, [2, 5, 16]);
  // Without positions, attention commutes with reordering the tokens.
  const perm = E.tensor([3, 0, 4, 1, 2], [5], "int64");
  const a = E.noGrad(() => attn.forward(x.indexSelect(1, perm))).toArray();
  const b = E.noGrad(() => attn.forward(x).indexSelect(1, perm)).toArray();
  assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 1e-5));
  gradientsFlow(attn, y.square().sum());
  assert.throws(() => new E.MultiHeadSelfAttention(10, 4), /not divisible by 4 heads/);
  assert.throws(() => attn.forward(E.randn([2, 5, 8])), /expected inputs \[batch, tokens, 16\]/);

  for (const normFirst of [false, true]) {
    const layer = new E.TransformerEncoderLayer(16, 4, { ffDim: 32, normFirst, activation: normFirst ? "gelu" : "relu" });
    assert.deepEqual(layer.forward(x).shape, [2, 5, 16]);
    gradientsFlow(layer, layer.forward(x).square().mean());
  }
  // Memorise random labels of 24 random token sequences: embedding -> encoder layer -> mean over tokens -> classifier.
  const emb = new E.Embedding(10, 16);
  const enc = new E.TransformerEncoderLayer(16, 2, { ffDim: 32 });
  const head = new E.Linear(16, 2);
  const model = new E.Sequential(emb, enc, new E.Lambda((t) => t.mean([1])), head);
  const seqs = E.randint(0, 10, [24, 6]);
  const labels = E.randint(0, 2, [24]);
  const [first, last] = fit(model, 150, 0.01, () => E.F.crossEntropy(model.forward(seqs), labels));
  assert.ok(last < 0.1 && last < first / 5, `loss ${first} -> ${last}`);
  const acc = E.noGrad(() => model.eval().forward(seqs).argmax(1).eq(labels).cast("float32").mean().item());
  assert.equal(acc, 1);
});

/** Two 5-cliques joined by the edge 4 - 5. */
function twoCommunities() {
  const edges: [number, number][] = [];
  for (const base of [0, 5]) for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) edges.push([base + i, base + j]);
  edges.push([4, 5]);
  return new E.Graph(10, edges, { undirected: true });
}

test("GCNConv: symmetric normalisation with self loops, gradients, separates two communities", { skip, timeout: 60_000 }, () => {
  E.manualSeed(23);
  const g = twoCommunities();
  assert.equal(g.edges, 2 * 21);
  // With W = I and b = 0 the layer is D^-1/2 (A + I) D^-1/2 X: compare with the sum written out.
  const conv = new E.GCNConv(2, 2);
  E.noGrad(() => conv.lin.weight.copy(E.tensor([1, 0, 0, 1], [2, 2])));
  const feats = Array.from({ length: 20 }, (_, i) => Math.cos(i * 1.3));
  const out = E.noGrad(() => conv.forward(E.tensor(feats, [10, 2]), g)).toArray();
  const nbrs = Array.from({ length: 10 }, (_, i) => [i]);
  for (const [a, b] of [...Array(10).keys()].flatMap((i) => [...Array(10).keys()].map((j) => [i, j]))) {
    const same = Math.floor(a / 5) === Math.floor(b / 5);
    if (a !== b && (same || (a === 4 && b === 5) || (a === 5 && b === 4))) nbrs[a].push(b);
  }
  for (let i = 0; i < 10; i++) {
    for (let f = 0; f < 2; f++) {
      const want = nbrs[i].reduce((s, j) => s + feats[j * 2 + f] / Math.sqrt(nbrs[i].length * nbrs[j].length), 0);
      assert.ok(Math.abs(out[i * 2 + f] - want) < 1e-5, `node ${i} feature ${f}: ${out[i * 2 + f]} vs ${want}`);
    }
  }
  // Two layers on one-hot node features learn the community of every node.
  const c1 = new E.GCNConv(10, 8);
  const c2 = new E.GCNConv(8, 2);
  const net = new E.Sequential(c1, c2); // holds the parameters for the optimiser
  const x = E.tensor(Array.from({ length: 100 }, (_, i) => (i % 11 === 0 ? 1 : 0)), [10, 10]);
  const y = E.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [10], "int64");
  const forward = () => c2.forward(c1.forward(x, g).relu(), g);
  gradientsFlow(net, E.F.crossEntropy(forward(), y));
  const [first, last] = fit(net, 100, 0.05, () => E.F.crossEntropy(forward(), y));
  assert.ok(last < first / 5, `loss ${first} -> ${last}`);
  assert.deepEqual(E.noGrad(forward).argmax(1).toArray(), y.toArray());
  assert.throws(() => c1.forward(x), /GCNConv.forward\(x, graph\) needs the graph/);
  assert.throws(() => c1.forward(E.randn([4, 10]), g), /node features must be \[10, features\]/);
  assert.throws(() => new E.Graph(3, [[0, 3]]), /graph edge 0 -> 3 is outside the 3 nodes/);
});

test("GINConv: sum aggregation by scatter_add, learned eps gets a gradient, fits node labels", { skip, timeout: 60_000 }, () => {
  E.manualSeed(24);
  const g = new E.Graph(4, [[0, 1], [2, 1], [3, 1], [1, 0]]);
  const msgs = E.tensor([1, 10, 100, 1000], [4, 1]);
  assert.deepEqual(E.aggregateSum(msgs.indexSelect(0, g.src), g.dst, 4).toArray(), [10, 1 + 100 + 1000, 0, 0]);
  const gin = new E.GINConv(3, 2, { hidden: 8, trainEps: true });
  const x = E.randn([4, 3]);
  assert.deepEqual(gin.forward(x, g).shape, [4, 2]);
  gradientsFlow(gin, gin.forward(x, g).square().sum());
  const two = twoCommunities();
  const net = new E.GINConv(10, 2, { hidden: 16 });
  const feats = E.tensor(Array.from({ length: 100 }, (_, i) => (i % 11 === 0 ? 1 : 0)), [10, 10]);
  const y = E.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [10], "int64");
  const [first, last] = fit(net, 100, 0.05, () => E.F.crossEntropy(net.forward(feats, two), y));
  assert.ok(last < first / 5, `loss ${first} -> ${last}`);
  assert.deepEqual(E.noGrad(() => net.forward(feats, two)).argmax(1).toArray(), y.toArray());
});
