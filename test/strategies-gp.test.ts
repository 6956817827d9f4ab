import { test } from "node:test";
import assert from "node:assert/strict";
import { Experiment, type ExperimentOptions } from "../src/core/experiment.js";
import type { Json, JsonObject } from "../src/core/json.js";
import { Rng } from "../src/core/rng.js";
import { pointHash, type ArchGraph } from "../src/core/space.js";
import type { AskContext, Strategy } from "../src/core/strategy.js";
import type { Store } from "../src/core/store.js";
import { UserError } from "../src/core/errors.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { FunctionEvaluator } from "../src/evaluators/function.js";
import { DeclarativeSpace, categorical, float, int } from "../src/spaces/dsl.js";
import { RandomSearch } from "../src/strategies/random.js";
import { GpBo, gpBo, type GpBoOptions } from "../src/strategies/gp-bo.js";
import { cholesky, choleskySolve, extendCholesky, robustCholesky } from "../src/strategies/gp/linalg.js";
import { WlFeaturizer, WlKernelFamily, wlKernel, ExponentialKernelFamily } from "../src/strategies/gp/kernels.js";
import { GaussianProcess, fitBest, logExpectedImprovementUnit, normalCdf, normalQuantile, rankWarp } from "../src/strategies/gp/gp.js";
import { registry } from "../src/registry.js";
import { decodeState } from "../src/core/state-codec.js";
import { objectives, simulator, space, trialDigest } from "./helpers.js";

const defaults = (extra: Partial<GpBoOptions> = {}): GpBoOptions => gpBo.options.parse(extra) as GpBoOptions;

function gpExperiment(seed: number, trials: number, store: Store = new SqliteStore(":memory:"), extra: Partial<ExperimentOptions> = {}, opts: Partial<GpBoOptions> = {}) {
  return new Experiment({
    name: "nb201-gp",
    seed,
    space,
    strategy: new GpBo({ space, objectives, seed }, defaults(opts)),
    scheduler: new FifoScheduler({ fidelity: simulator.fidelity, seed }),
    evaluator: simulator,
    objectives,
    store,
    budget: { trials },
    ...extra,
  });
}

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (tol ${tol})`);

// ---------------------------------------------------------------------------------------------
// Linear algebra

test("Cholesky factor and solve on a known system", () => {
  const a = Float64Array.from([4, 12, -16, 12, 37, -43, -16, -43, 98]);
  const l = cholesky(a, 3)!;
  assert.deepEqual([...l], [2, 0, 0, 6, 1, 0, -8, 5, 3]);
  const x = choleskySolve(l, 3, [-20, -43, 192]); // A [1, 2, 3]
  [1, 2, 3].forEach((v, i) => close(x[i], v, 1e-12));

  // Growing the factor by one row equals factorising the bigger matrix.
  const big = Float64Array.from([4, 12, -16, 1, 12, 37, -43, 2, -16, -43, 98, 3, 1, 2, 3, 50]);
  const grown = extendCholesky(l, 3, [1, 2, 3], 50)!;
  const full = cholesky(big, 4)!;
  full.forEach((v, i) => close(grown[i], v, 1e-12));

  // Singular (all ones): plain Cholesky fails, the jittered one succeeds with a small jitter.
  const ones = new Float64Array(16).fill(1);
  assert.equal(cholesky(ones, 4), undefined);
  const r = robustCholesky(ones, 4)!;
  assert.ok(r.jitter > 0 && r.jitter < 1e-3, `jitter ${r.jitter}`);
});

// ---------------------------------------------------------------------------------------------
// Weisfeiler-Lehman kernel

const diamond = (first: string, second: string): ArchGraph => ({
  ops: ["input", first, second, "output"],
  adjacency: [
    [0, 1, 1, 0],
    [0, 0, 0, 1],
    [0, 0, 0, 1],
    [0, 0, 0, 0],
  ],
  vocabulary: ["input", "conv", "pool", "output"],
});

test("WL kernel: identical graphs give 1, node order does not matter, different ops give less", () => {
  const wl = new WlFeaturizer(3, new Set(["none"]));
  for (let h = 0; h <= 3; h++) {
    const a = wl.features(diamond("conv", "pool"));
    close(wlKernel(a, wl.features(diamond("conv", "pool")), h), 1, 1e-12);
    close(wlKernel(a, wl.features(diamond("pool", "conv")), h), 1, 1e-12); // same graph, nodes listed in another order
    assert.ok(wlKernel(a, wl.features(diamond("conv", "conv")), h) < 1);
  }
  // A chain is not a diamond, even with the same multiset of ops (iteration >= 1 sees it).
  const chain: ArchGraph = { ...diamond("conv", "pool"), adjacency: [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]] };
  close(wlKernel(wl.features(chain), wl.features(diamond("conv", "pool")), 0), 1, 1e-12);
  assert.ok(wlKernel(wl.features(chain), wl.features(diamond("conv", "pool")), 1) < 1);

  // NB201: cells equal up to the interchangeable nodes 1 and 2, or up to dead edges, look identical.
  const a = "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|";
  const b = "|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
  const dead = "|none~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"; // only edge 0->3 is live
  const justSkip = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|";
  for (let h = 0; h <= 3; h++) {
    close(wlKernel(wl.features(space.graph(a)), wl.features(space.graph(b)), h), 1, 1e-12);
    close(wlKernel(wl.features(space.graph(dead)), wl.features(space.graph(justSkip)), h), 1, 1e-12);
    assert.ok(wlKernel(wl.features(space.graph(a)), wl.features(space.graph(justSkip)), h) < 1);
  }
});

test("WL Gram matrix on 30 random NB201 cells is positive semi-definite", () => {
  const rng = new Rng(3);
  const wl = new WlFeaturizer(3, new Set(["none"]));
  const feats = Array.from({ length: 30 }, () => wl.features(space.graph(space.sample(rng))));
  const grams = new WlKernelFamily(0, 3).gram(feats);
  assert.equal(grams.length, 4);
  for (const k of grams) {
    for (let i = 0; i < 30; i++) {
      close(k[i * 30 + i], 1, 1e-12);
      for (let j = 0; j < 30; j++) assert.equal(k[i * 30 + j], k[j * 30 + i]);
    }
    assert.ok(cholesky(k, 30, 1e-9), "Cholesky with a tiny jitter");
    // and no direction with a negative quadratic form
    for (let t = 0; t < 50; t++) {
      const v = Array.from({ length: 30 }, () => rng.normal());
      let q = 0;
      for (let i = 0; i < 30; i++) for (let j = 0; j < 30; j++) q += v[i] * k[i * 30 + j] * v[j];
      assert.ok(q > -1e-9, `v^T K v = ${q}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Gaussian process

test("GP interpolates its training points with tiny noise and is less sure far from them", () => {
  const xs = [0, 1, 2, 3, 4];
  const ys = xs.map((x) => Math.sin(x));
  const k = (a: number, b: number) => Math.exp(-((a - b) ** 2) / 2);
  const n = xs.length;
  const gram = new Float64Array(n * n);
  xs.forEach((a, i) => xs.forEach((b, j) => (gram[i * n + j] = k(a, b))));
  const gp = GaussianProcess.fit(gram, ys, 1e-8)!;
  const at = (x: number) => gp.predict(xs.map((t) => k(x, t)));
  xs.forEach((x, i) => {
    close(at(x).mean, ys[i], 1e-4);
    assert.ok(at(x).variance < 1e-4 * gp.amplitude);
  });
  assert.ok(at(2.5).variance > at(2).variance);
  assert.ok(at(8).variance > at(4.5).variance);
  assert.ok(at(4.5).variance > at(2.5).variance);
  close(at(30).mean, 0, 1e-6); // reverts to the prior mean

  // A fake observation pins the mean there.
  assert.ok(gp.add(xs.map((t) => k(6, t)), -3));
  assert.equal(gp.size, 6);
  assert.throws(() => at(6), RangeError);
  close(gp.predict([...xs, 6].map((t) => k(6, t))).mean, -3, 1e-3);

  // Marginal likelihood prefers a little noise for noisy data and the right kernel variant.
  const noisy = ys.map((y, i) => y + (i % 2 ? 0.3 : -0.3));
  const flat = new Float64Array(n * n).fill(0.999);
  for (let i = 0; i < n; i++) flat[i * n + i] = 1;
  const best = fitBest([flat, gram], noisy, [1e-6, 1e-2, 0.1, 1])!;
  assert.equal(best.variant, 1);
});

test("expected improvement stays ranked and finite in the far tail", () => {
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
  assert.ok(Math.abs(normalCdf(1.96) - 0.975) < 1e-4);
  close(logExpectedImprovementUnit(-3 + 1e-9), logExpectedImprovementUnit(-3 - 1e-9), 1e-3);
  let prev = -Infinity;
  for (let z = -60; z <= 5; z += 0.25) {
    const v = logExpectedImprovementUnit(z);
    assert.ok(Number.isFinite(v) && v > prev, `z ${z}: ${v}`);
    prev = v;
  }
  close(Math.exp(logExpectedImprovementUnit(0)), 1 / Math.sqrt(2 * Math.PI), 1e-7);
});

test("rank warp: normal scores of the ranks, ties shared, order kept", () => {
  close(normalQuantile(0.975), 1.959964, 1e-5);
  close(normalQuantile(0.001), -3.090232, 1e-4); // the CDF approximation is good to 1.5e-7
  const w = rankWarp([3, 1, 2, 2, 1000]);
  close(w[1], normalQuantile(0.1), 1e-12);
  assert.equal(w[2], w[3]);
  close(w[2], normalQuantile(0.4), 1e-12); // ranks 1 and 2 share 1.5
  close(w[0], normalQuantile(0.7), 1e-12);
  close(w[4], -w[1], 1e-12); // the outlier pulls no harder than any other top rank
});

// ---------------------------------------------------------------------------------------------
// The strategy on NAS-Bench-201

test("gp_bo: same seed gives the same search, another seed another", async () => {
  const runs = [];
  for (const seed of [5, 5, 6]) {
    const store = new SqliteStore(":memory:");
    const summary = await gpExperiment(seed, 40, store).run();
    assert.equal(summary.trials, 40);
    runs.push(await trialDigest(store, "nb201-gp"));
  }
  assert.deepEqual(runs[0], runs[1]);
  assert.notDeepEqual(runs[0], runs[2]);
  // no architecture (up to equivalence) is tried twice
  assert.equal(new Set(runs[0].map((t) => pointHash(space, t.point))).size, 40);
});

test("gp_bo: stopped at 23 trials and resumed with a new instance repeats the uninterrupted search", async () => {
  const whole = new SqliteStore(":memory:");
  await gpExperiment(11, 60, whole).run();
  const parts = new SqliteStore(":memory:");
  for (const upTo of [7, 23, 41, 60]) {
    const s = await gpExperiment(11, upTo, parts).run();
    assert.equal(s.trials, upTo);
  }
  assert.deepEqual(await trialDigest(parts, "nb201-gp"), await trialDigest(whole, "nb201-gp"));
});

test("gp_bo: state is plain JSON (a failure's -Infinity survives it) and a restored copy asks the same", () => {
  const opts = defaults({ initial_samples: 4, candidates: 60 });
  const a = new GpBo({ space, objectives, seed: 2 }, opts);
  const ctx: AskContext = { pending: [], seen: () => false };
  const rng = new Rng(9);
  for (let i = 0; i < 12; i++) {
    const [p] = a.ask(1, ctx);
    a.tell({ number: i, point: p, status: i === 3 ? "failed" : "finished", metrics: {}, score: i === 3 ? -Infinity : 80 + 10 * rng.next() });
  }
  const saved = JSON.parse(JSON.stringify(a.state())) as Json;
  assert.equal((decodeState(saved) as { observations: { score: number }[] }).observations[3].score, -Infinity);
  const b = new GpBo({ space, objectives, seed: 99 }, opts);
  b.restore(saved);
  assert.deepEqual(b.state(), a.state());
  const pending = [space.sample(rng)];
  assert.deepEqual(b.ask(3, { pending, seen: () => false }), a.ask(3, { pending, seen: () => false }));
});

test("gp_bo: keeps at most max_train observations, the best among them", () => {
  const s = new GpBo({ space, objectives, seed: 0 }, defaults({ max_train: 20 }));
  const rng = new Rng(1);
  for (let i = 0; i < 100; i++) s.tell({ number: i, point: space.sample(rng), status: "finished", metrics: {}, score: i === 7 ? 99 : rng.next() });
  const obs = (s.state() as { observations: { score: number }[] }).observations;
  assert.equal(obs.length, 20);
  assert.ok(obs.some((o) => o.score === 99));
});

test("gp_bo finds better architectures than random search (5 seeds x 80 queries)", async () => {
  let gp = 0;
  let random = 0;
  for (let seed = 0; seed < 5; seed++) {
    gp += (await gpExperiment(seed, 80).run()).best!.hidden.test_acc;
    random += (await gpExperiment(seed, 80, new SqliteStore(":memory:"), { strategy: new RandomSearch({ space, objectives, seed }) }).run()).best!.hidden.test_acc;
  }
  assert.ok(gp / 5 > random / 5, `gp_bo ${gp / 5} <= random ${random / 5}`);
  assert.ok(gp / 5 > 93.9, `gp_bo ${gp / 5}`);
});

test("gp_bo with 4 parallel workers: exact budget, never two equal points in flight", async () => {
  for (const opts of [{}, { liar: "mean" as const, acquisition: "ucb" as const }]) {
    const store = new SqliteStore(":memory:");
    const rng = new Rng(4);
    const delays = Array.from({ length: 48 }, () => rng.int(6));
    const evaluator = new FunctionEvaluator("slow-nb201", async (spec, ctx) => {
      await new Promise((r) => setTimeout(r, delays[spec.number]));
      return simulator.run(spec, ctx);
    });
    const inner = new GpBo({ space, objectives, seed: 8 }, defaults({ initial_samples: 6, ...opts }));
    const batches: { pending: Json[]; asked: Json[] }[] = [];
    const strategy: Strategy = {
      name: inner.name,
      ask: (n, ctx) => {
        const asked = inner.ask(n, ctx);
        batches.push({ pending: [...ctx.pending], asked });
        return asked;
      },
      tell: (o) => inner.tell(o),
      state: () => inner.state(),
      restore: (s) => inner.restore(s),
    };
    const summary = await gpExperiment(8, 48, store, { evaluator, strategy, budget: { trials: 48, concurrency: 4 } }).run();
    assert.equal(summary.trials, 48);
    const trials = await store.getTrials(1);
    assert.deepEqual(trials.map((t) => t.number), Array.from({ length: 48 }, (_, i) => i));
    assert.ok(batches.some((b) => b.asked.length > 1 || b.pending.length > 0), "ran in parallel");
    for (const b of batches) {
      const keys = [...b.pending, ...b.asked].map((p) => pointHash(space, p));
      assert.equal(new Set(keys).size, keys.length, "duplicate among simultaneously pending points");
    }
    assert.equal(new Set(trials.map((t) => t.archHash)).size, 48);
  }
});

// ---------------------------------------------------------------------------------------------
// Spaces without a graph

const mixed = new DeclarativeSpace("mixed", [
  categorical("act", ["relu", "gelu", "tanh"]),
  int("depth", 1, 8),
  float("lr", 1e-4, 1e-1, { log: true }),
  categorical("norm", [true, false]),
]);

/** A smooth objective with its optimum at gelu, depth 6, lr 1e-2, norm; tanh with depth > 6 fails. */
function mixedScore(p: JsonObject): number {
  if (p.act === "tanh" && (p.depth as number) > 6) throw new Error("diverged");
  return 10 - ((p.depth as number) - 6) ** 2 / 4 - (Math.log10(p.lr as number) + 2) ** 2 + (p.act === "gelu" ? 1 : 0) + (p.norm ? 1 : 0);
}

test("gp_bo with the hamming kernel on a declarative space, failures included", async () => {
  assert.ok(typeof (mixed as { graph?: unknown }).graph !== "function");
  assert.throws(() => new GpBo({ space: mixed, objectives, seed: 0 }, defaults({ kernel: "wl" })), UserError);
  const run = async (seed: number, strategy: Strategy) => {
    const store = new SqliteStore(":memory:");
    const evaluator = new FunctionEvaluator("mixed", (spec) => ({ valid_acc: mixedScore(spec.point as JsonObject) }));
    const s = await new Experiment({ name: "mixed", seed, space: mixed, strategy, scheduler: new FifoScheduler({ seed }), evaluator, objectives, store, budget: { trials: 40 } }).run();
    assert.equal(s.trials, 40);
    return { best: s.best!.score, failed: s.failed, digest: await trialDigest(store, "mixed") };
  };
  let gp = 0;
  let random = 0;
  let failed = 0;
  for (const seed of [0, 1, 2]) {
    const r = await run(seed, new GpBo({ space: mixed, objectives, seed }, defaults()));
    failed += r.failed;
    gp += r.best;
    random += (await run(seed, new RandomSearch({ space: mixed, objectives, seed }))).best;
  }
  assert.ok(failed > 0, "some trials failed");
  assert.ok(gp > random, `gp_bo ${gp / 3} <= random ${random / 3}`);
  // deterministic on this space too
  const again = [await run(1, new GpBo({ space: mixed, objectives, seed: 1 }, defaults())), await run(1, new GpBo({ space: mixed, objectives, seed: 1 }, defaults()))];
  assert.deepEqual(again[0].digest, again[1].digest);
});

test("a small space fully explored ends the search early", async () => {
  const tiny = new DeclarativeSpace("tiny", [categorical("a", [1, 2, 3]), categorical("b", ["x", "y"])]);
  const evaluator = new FunctionEvaluator("t", (spec) => ({ valid_acc: (spec.point as { a: number }).a }));
  const s = await new Experiment({ name: "tiny", seed: 0, space: tiny, strategy: new GpBo({ space: tiny, objectives, seed: 0 }, defaults({ initial_samples: 2 })), scheduler: new FifoScheduler({ seed: 0 }), evaluator, objectives, store: new SqliteStore(":memory:"), budget: { trials: 20 } }).run();
  assert.equal(s.trials, 6);
  assert.ok(s.complete);
});

test("gp_bo is registered with documented options", () => {
  const c = registry.strategies.gp_bo;
  assert.equal(c, gpBo);
  assert.deepEqual([...c.requires], ["sample", "mutate", "encode"]);
  const opts = c.options.parse({}) as GpBoOptions;
  assert.equal(opts.acquisition, "ei");
  assert.equal(opts.kernel, undefined);
  assert.throws(() => c.options.parse({ kernal: "wl" }));
  const exp = new ExponentialKernelFamily();
  assert.equal(exp.variants, 5);
});
