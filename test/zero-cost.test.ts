import { test } from "node:test";
import assert from "node:assert/strict";
import { engineAvailable } from "../src/engine/native.js";
import { spearman, kendallTau, averageRanks } from "../src/proxies/rank.js";
import { symmetricEigenvalues, slogdet } from "../src/proxies/linalg.js";
import { Rng } from "../src/core/rng.js";

// In CI the engine must be there (ARCHSEARCH_REQUIRE_ENGINE=1): these tests fail rather than skip.
const required = process.env.ARCHSEARCH_REQUIRE_ENGINE === "1";
const available = engineAvailable();
if (required && !available) {
  test("the tensor engine is built", () => assert.fail("ARCHSEARCH_REQUIRE_ENGINE=1 but the libtorch binding is not built (npm run build:native)"));
}
const skip = !available && !required ? "libtorch binding not built" : false;

const E = available ? await import("../src/engine/index.js") : undefined!;
const Z = available ? await import("../src/proxies/zero-cost.js") : undefined!;
const M = available ? await import("../src/models/nb201.js") : undefined!;
const { loadNb201 } = await import("../src/benchmarks/nb201.js");
type T = import("../src/engine/tensor.js").Tensor;
type Net = import("../src/models/nb201.js").Nb201Network;

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

const ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
const ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
const CONV_HEAVY = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
const ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";

test("spearman and kendall tau on known vectors, ties included (values from scipy.stats)", () => {
  assert.deepEqual(Array.from(averageRanks([10, 30, 20, 30, 30])), [1, 4, 2, 4, 4]);
  assert.ok(close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233));
  assert.ok(close(kendallTau([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.7378647873726218));
  const a = [1, 1, 2, 3, 3, 3, 4, 5];
  const b = [2, 1, 1, 4, 3, 3, 5, 5];
  assert.ok(close(spearman(a, b), 0.918821785756253));
  assert.ok(close(kendallTau(a, b), 0.816496580927726));
  assert.equal(spearman([1, 2, 3], [30, 20, 10]), -1);
  assert.equal(kendallTau([1, 2, 3], [30, 20, 10]), -1);
  assert.equal(spearman([3, 1, 2], [300, 100, 200]), 1);
  // NaN pairs are left out; ±Infinity ranks at the ends; constant vectors give NaN.
  assert.equal(spearman([1, NaN, 2, 3], [1, 5, 2, 3]), 1);
  assert.equal(spearman([-Infinity, 0, Infinity], [1, 2, 3]), 1);
  assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
  assert.ok(Number.isNaN(kendallTau([1], [2])));
  assert.throws(() => spearman([1, 2], [1]), /different lengths/);
});

test("kendall tau-b (O(n log n)) equals the direct O(n^2) count on random data with ties", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 20; trial++) {
    const n = 2 + rng.int(60);
    const a = Array.from({ length: n }, () => rng.int(8));
    const b = Array.from({ length: n }, (_, i) => (rng.bool(0.3) ? a[i] : rng.int(6)));
    let s = 0;
    let ta = 0;
    let tb = 0;
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        s += Math.sign(a[i] - a[j]) * Math.sign(b[i] - b[j]);
        if (a[i] === a[j]) ta++;
        if (b[i] === b[j]) tb++;
      }
    const n0 = (n * (n - 1)) / 2;
    const want = s / Math.sqrt((n0 - ta) * (n0 - tb));
    const got = kendallTau(a, b);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got));
    else assert.ok(close(got, want, 1e-12), `n=${n}: ${got} vs ${want}`);
  }
});

test("linear algebra: symmetric eigenvalues and slogdet (values from numpy)", () => {
  const m = [4, 1, 2, 1, 3, 0.5, 2, 0.5, 5];
  const ev = symmetricEigenvalues(m, 3);
  [2.09652162, 3.07222395, 6.83125443].forEach((v, i) => assert.ok(Math.abs(ev[i] - v) < 1e-8, `${ev[i]} vs ${v}`));
  const d = slogdet(m, 3);
  assert.equal(d.sign, 1);
  assert.ok(close(d.logAbsDet, 3.7841896339182615));
  assert.deepEqual(slogdet([0, 1, 1, 0], 2), { sign: -1, logAbsDet: 0 });
  assert.deepEqual(slogdet([1, 2, 2, 4], 2), { sign: 0, logAbsDet: -Infinity });
  // A random symmetric 40x40: trace and log|det| agree between the two routines.
  const rng = new Rng(3);
  const n = 40;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  const e = symmetricEigenvalues(a, n);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += a[i * n + i];
  assert.ok(close(e.reduce((x, y) => x + y, 0), trace, 1e-10));
  assert.ok(close(e.reduce((x, y) => x + Math.log(Math.abs(y)), 0), slogdet(a, n).logAbsDet, 1e-9));
  assert.equal(e.reduce((s, v) => s * Math.sign(v), 1), slogdet(a, n).sign);
  assert.throws(() => symmetricEigenvalues([1, 2, 3, 4], 2), /not symmetric/);
});

function snapshot(net: Net) {
  return [...net.stateDict()].map(([name, t]) => [name, Buffer.from((t.data() as Float32Array).buffer)] as const);
}

function batchOf(n: number, shape: number[], seed: number): { x: T; y: T } {
  E.manualSeed(seed);
  return { x: E.randn([n, ...shape]).keep(), y: E.randint(0, 10, [n]).keep() };
}

test("each proxy gives a finite number on a small NB201 network and leaves it exactly as it was", { skip }, () => {
  E.manualSeed(0);
  const net = new M.Nb201Network(CONV_HEAVY, { channels: 4, cellsPerStage: 1 });
  const batch = batchOf(16, [3, 16, 16], 1);
  for (const mode of ["train", "eval"] as const) {
    net.train(mode === "train");
    const before = snapshot(net);
    for (const name of Z.PROXY_NAMES) {
      const v = Z.PROXIES[name](net, batch);
      assert.ok(Number.isFinite(v), `${name} = ${v}`);
      const after = snapshot(net);
      after.forEach(([k, b], i) => assert.ok(b.equals(before[i][1]), `${name} changed ${k}`));
      assert.ok(net.parameters().every((p) => p.grad === null), `${name} left gradients`);
      assert.equal(net.training, mode === "train", `${name} changed the mode`);
      assert.ok(!batch.x.requiresGradEnabled && !batch.x.disposed && !batch.y.disposed);
    }
    assert.ok(net.parameters().every((p) => p.requiresGradEnabled));
  }
  const all = Z.zeroCostScores(net, batch);
  assert.deepEqual(Object.keys(all), [...Z.PROXY_NAMES]);
  // The shared backward of zeroCostScores gives the same values as the single proxies.
  assert.equal(all.grad_norm, Z.gradNorm(net, batch));
  assert.equal(all.snip, Z.snip(net, batch));
  assert.equal(all.params, net.parameterCount() / 1e6);
  assert.ok(Z.gradNorm(net, batch, { params: "weights" }) < all.grad_norm);
  assert.throws(() => Z.zeroCostScores(net, batch, ["nope" as never]), /unknown zero-cost proxy/);
  assert.throws(() => Z.naswot(new E.Sequential(new E.Conv2d(3, 4, 3), E.GlobalAvgPool(), new E.Linear(4, 10)), batch), /reports its ReLU/);
  net.dispose();
});

test("synflow is data-free, ranks the all-none cell below a conv-heavy one, and survives float32 overflow", { skip }, () => {
  const build = (arch: string, opts = { channels: 8, cellsPerStage: 1 }) => (E.manualSeed(0), new M.Nb201Network(arch, opts));
  const conv = build(CONV_HEAVY);
  const a = batchOf(8, [3, 32, 32], 1);
  const b = { x: E.tidy(() => E.rand([8, 3, 32, 32]).mul(100)).keep(), y: E.zeros([8], "int64").keep() };
  const s = Z.synflow(conv, a);
  assert.equal(Z.synflow(conv, b), s);
  const none = build(ALL_NONE);
  assert.ok(Z.synflow(none, a) < s - 5, `${Z.synflow(none, a)} vs ${s}`);
  // The rescaled computation (used when float32 overflows) agrees with the direct one.
  assert.ok(Math.abs(Z.synflow(conv, a, { synflowForceScaled: true }) - s) < 1e-5, `${Z.synflow(conv, a, { synflowForceScaled: true })} vs ${s}`);
  assert.ok(Math.abs(Z.synflow(none, a, { synflowForceScaled: true }) - Z.synflow(none, a)) < 1e-5);
  // Full-size all-conv3x3 network: the raw score (~1e50) overflows float32; log10 stays finite.
  const big = build(ALL_CONV3, { channels: 16, cellsPerStage: 5 });
  const before = snapshot(big as Net);
  const v = Z.synflow(big, { x: E.zeros([1, 3, 32, 32]), y: E.zeros([1], "int64") });
  assert.ok(Number.isFinite(v) && v > 40 && v < 60, `full-size synflow log10 = ${v}`);
  snapshot(big as Net).forEach(([k, buf], i) => assert.ok(buf.equals(before[i][1]), `changed ${k}`));
  for (const n of [conv, none, big]) n.dispose();
});

test("flops match the table's calc_flops_m_c10 for full-size CIFAR-10 networks", { skip }, () => {
  const table = loadNb201();
  const flops = table.column("calc_flops_m_c10");
  for (const i of [0, 284, 1462, 11472]) {
    const net = new M.Nb201Network(table.archStrings[i]);
    const mine = Z.flopsM(net, { x: E.zeros([2, 3, 32, 32]), y: E.zeros([2], "int64") });
    assert.ok(Math.abs(mine - flops[i]) <= 0.01 * flops[i], `index ${i}: ${mine} vs ${flops[i]}`);
    assert.ok(Math.abs(mine - flops[i]) < 1e-6, `index ${i}: ${mine} vs ${flops[i]} (exact)`);
    net.dispose();
  }
  assert.ok(Math.abs(flops[0] - 15.64737) < 1e-9);
});

test("naswot: finite log-det, higher for a conv-heavy cell than for the all-skip cell; degenerate networks rank last", { skip }, () => {
  const batch = batchOf(32, [3, 32, 32], 2);
  const score = (arch: string) => {
    E.manualSeed(0);
    const net = new M.Nb201Network(arch, { channels: 8, cellsPerStage: 1 });
    const s = { naswot: Z.naswot(net, batch), jacob: Z.jacobCov(net, batch) };
    net.dispose();
    return s;
  };
  const conv = score(CONV_HEAVY);
  const skipCell = score(ALL_SKIP);
  const none = score(ALL_NONE);
  assert.ok(Number.isFinite(conv.naswot) && Number.isFinite(skipCell.naswot), JSON.stringify({ conv, skipCell }));
  assert.ok(conv.naswot > skipCell.naswot, `${conv.naswot} vs ${skipCell.naswot}`);
  assert.ok(Number.isFinite(conv.jacob) && conv.jacob > skipCell.jacob - 50);
  // All-none cells cut the input off: every Jacobian is zero and every code the same.
  assert.equal(none.jacob, -Infinity);
  assert.equal(none.naswot, -Infinity);
  // The ReLU recorder sees every ReLU (one per conv unit in cells and reductions, plus the last one) and nests.
  E.manualSeed(0);
  const net = new M.Nb201Network(CONV_HEAVY, { channels: 4, cellsPerStage: 1 });
  let outer = 0;
  let inner = 0;
  E.noGrad(() =>
    M.withReluRecorder(
      () => outer++,
      () => {
        net.forward(batch.x);
        M.withReluRecorder(() => inner++, () => net.forward(batch.x));
      },
    ),
  );
  assert.equal(outer, 3 * 5 + 2 * 2 + 1);
  assert.equal(inner, outer);
  net.dispose();
});

test("on 30 seeded architectures (8 channels, random data) a proxy ranks them with Spearman > 0.3", { skip, timeout: 60_000 }, () => {
  const table = loadNb201();
  const picks = new Rng(0).sampleIndices(table.rows, 30);
  const batch = batchOf(32, [3, 32, 32], 0);
  const which = ["synflow", "jacob_cov", "naswot", "grad_norm"] as const;
  const scores = new Map<string, number[]>(which.map((w) => [w, []]));
  for (const i of picks) {
    E.manualSeed(0);
    const net = new M.Nb201Network(table.archStrings[i], { channels: 8, cellsPerStage: 1 });
    const s = Z.zeroCostScores(net, batch, which);
    net.dispose();
    for (const w of which) scores.get(w)!.push(s[w]);
  }
  const valid = picks.map((i) => table.column("c10v_valid_acc")[i]);
  const rho = Object.fromEntries(which.map((w) => [w, spearman(scores.get(w)!, valid)]));
  assert.ok(Math.max(...Object.values(rho)) > 0.3, JSON.stringify(rho));
});

test("memory stays flat over repeated proxy evaluations", { skip }, () => {
  E.manualSeed(0);
  const net = new M.Nb201Network(CONV_HEAVY, { channels: 4, cellsPerStage: 1 });
  const batch = batchOf(16, [3, 16, 16], 1);
  for (let i = 0; i < 5; i++) Z.zeroCostScores(net, batch);
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 60; i++) Z.zeroCostScores(net, batch);
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(grown < 40, `resident memory grew by ${grown.toFixed(1)} MiB over 60 evaluations`);
  net.dispose();
});
