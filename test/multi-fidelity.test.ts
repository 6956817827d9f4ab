import { test } from "node:test";
import assert from "node:assert/strict";
import { SqliteStore } from "../src/stores/sqlite.js";
import { Objectives } from "../src/core/objectives.js";
import type { Scheduler, SchedulerContext } from "../src/core/scheduler.js";
import type { FidelitySpec } from "../src/core/evaluator.js";
import { UserError } from "../src/core/errors.js";
import { registry } from "../src/registry.js";
import { PromotionAsha } from "../src/schedulers/promotion-asha.js";
import { SyncHyperband } from "../src/schedulers/successive-halving.js";
import { rankOrder } from "../src/schedulers/rank.js";
import { runSimulated, type SimulatedResult } from "../src/simulation/simulated-run.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";
import { Experiment } from "../src/core/experiment.js";
import { makeStrategy, nb201Experiment, objectives, simulator, space, trialDigest } from "./helpers.js";

const obj1 = [{ metric: "valid_acc", direction: "max" as const }];
const acc = (v: number) => ({ valid_acc: v });
const nbCtx = (seed: number): SchedulerContext => ({ fidelity: simulator.fidelity, seed, objectives });
const scheduler = (name: string, opts: Record<string, unknown>, seed = 0): Scheduler => {
  const c = registry.schedulers[name];
  return c.create(c.options.parse(opts), nbCtx(seed));
};

test("rankOrder: one objective by value (earlier first on ties); several by front, then crowding distance", () => {
  assert.deepEqual(rankOrder([[1], [3], [2], [3]]), [1, 3, 2, 0]);
  // Front 0: (0,3), (1,2), (2,1), (3,0); the middle ones are the more crowded; (0,0) is dominated.
  const order = rankOrder([[0, 0], [1, 2], [0, 3], [2, 1], [3, 0]]);
  assert.deepEqual(order.slice(0, 2).sort(), [2, 4]); // the extremes (infinite crowding) first
  assert.equal(order[4], 0);
});

test("promotion ASHA: pauses at the rung, continues the top 1/eta of what the rung has seen, else starts new trials", () => {
  const s = new PromotionAsha([1, 3, 9], 27, "epochs", 3, obj1);
  assert.deepEqual(s.next({ canStartNew: true }), { kind: "new" });
  for (const [t, v] of [[0, 5], [1, 9], [2, 7]] as const) {
    assert.deepEqual(s.onStart({ number: t }), { epochs: 1 });
    assert.equal(s.onReport({ number: t }, 1, acc(v)), "pause");
    s.onEnd({ number: t, status: "paused", metrics: null });
  }
  // Three results at rung 1: the best one (trial 1) goes on to 3 epochs, from its 1-epoch checkpoint.
  assert.deepEqual(s.next({ canStartNew: true }), { kind: "resume", trial: 1 });
  assert.deepEqual(s.onStart({ number: 1 }), { epochs: 3 });
  assert.deepEqual(s.resumeFrom(1), { epochs: 1 });
  assert.deepEqual(s.promoted(), [1]);
  // Nothing else qualifies yet: a new trial; with no budget left, wait.
  assert.deepEqual(s.next({ canStartNew: true }), { kind: "new" });
  assert.deepEqual(s.next({ canStartNew: false }), { kind: "wait" });
  assert.equal(s.onReport({ number: 1 }, 3, acc(9.5)), "pause");
  s.onEnd({ number: 1, status: "paused", metrics: null });
  assert.deepEqual(s.promoted(), []);
  // State round trip keeps the decisions.
  const copy = new PromotionAsha([1, 3, 9], 27, "epochs", 3, obj1);
  copy.restore(JSON.parse(JSON.stringify(s.state())));
  assert.deepEqual(copy.next({ canStartNew: false }), s.next({ canStartNew: false }));
});

test("successive halving: a bracket waits for its stage, continues the best 1/eta and ends the others", () => {
  const s = new SyncHyperband("successive_halving", [1, 3], 9, "epochs", 3, obj1, [2]);
  const started: number[] = [];
  for (let t = 0; t < 9; t++) {
    assert.deepEqual(s.next({ canStartNew: true }), { kind: "new" });
    assert.deepEqual(s.onStart({ number: t }), { epochs: 1 });
    started.push(t);
  }
  // All nine started at 1 epoch; with eight results in, the stage still waits (a new bracket opens for idle slots).
  for (let t = 0; t < 8; t++) {
    assert.equal(s.onReport({ number: t }, 1, acc(t)), "pause");
    s.onEnd({ number: t, status: "paused", metrics: null });
  }
  assert.deepEqual(s.next({ canStartNew: false }), { kind: "wait" });
  assert.equal(s.onReport({ number: 8 }, 1, acc(8)), "pause");
  s.onEnd({ number: 8, status: "paused", metrics: null });
  const jobs = [];
  for (let j = s.next({ canStartNew: false }); j.kind !== "wait"; j = s.next({ canStartNew: false })) jobs.push(j);
  const stops = jobs.filter((j) => j.kind === "stop").map((j) => (j as { trial: number }).trial).sort();
  const resumes = jobs.filter((j) => j.kind === "resume").map((j) => (j as { trial: number }).trial);
  assert.deepEqual(stops, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(resumes, [8, 7, 6]);
  for (const t of resumes) assert.deepEqual(s.onStart({ number: t }), { epochs: 3 });
  assert.deepEqual(s.resumeFrom(8), { epochs: 1 });
});

test("hyperband (promotion) cycles bracket sizes; type promotion needs a fidelity resource", () => {
  const s = new SyncHyperband("hyperband", [1, 3], 9, "epochs", 3, obj1, [2, 1, 0]);
  for (let t = 0; t < 9; t++) {
    s.next({ canStartNew: true });
    assert.deepEqual(s.onStart({ number: t }), { epochs: 1 });
  }
  // The first bracket is full and waiting: an idle slot opens the next bracket, which starts at 3 epochs.
  assert.deepEqual(s.next({ canStartNew: true }), { kind: "new" });
  assert.deepEqual(s.onStart({ number: 9 }), { epochs: 3 });
  assert.equal(s.opened, 2);
  const c = registry.schedulers.hyperband;
  assert.throws(() => c.create(c.options.parse({ type: "promotion", r_min: 1, max_t: 9 }), { seed: 0, objectives }), UserError);
});

async function runWith(sched: () => Scheduler, strategy: "random" | "rea", seed: number, trials: number, store = new SqliteStore(":memory:"), extra = {}, concurrency = 1) {
  const summary = await nb201Experiment(strategy, seed, trials, store, { scheduler: sched(), budget: { trials, concurrency }, ...extra }).run();
  return { summary, trials: await store.getTrials(1), store };
}

test("experiment loop: promotion ASHA and successive halving pause trials at 12 epochs and continue the best to 200, charging only the extra epochs (1 and 4 trials at once)", async () => {
  for (const [name, opts, concurrency] of [
    ["asha", { type: "promotion", eta: 4 }, 1],
    ["successive_halving", { eta: 4 }, 1],
    ["hyperband", { type: "promotion", eta: 4 }, 1],
    ["asha", { type: "promotion", eta: 4 }, 4],
    ["successive_halving", { eta: 4 }, 4],
    ["hyperband", { type: "promotion", eta: 4 }, 4],
  ] as const) {
    const { summary, trials } = await runWith(() => scheduler(name, opts, 3), "random", 3, 40, undefined, {}, concurrency);
    assert.ok(summary.complete, `${name} x${concurrency}`);
    assert.ok(trials.every((t) => ["finished", "paused", "pruned"].includes(t.status)), `${name} x${concurrency}: ${trials.map((t) => t.status)}`);
    const finished = trials.filter((t) => t.status === "finished");
    assert.ok(finished.length >= 4, `${name}: ${finished.length} finished`);
    for (const t of finished) {
      assert.equal(t.metrics!.epochs, 200, name);
      // A promoted trial's cost is its 200-epoch training time: 12 epochs before the pause + 188 after.
      const full = simulator.simulate({ ...t, experiment: "x", fidelity: { epochs: 200 }, seed: 0 }).at(-1)!.elapsedSeconds;
      assert.ok(Math.abs(t.costSeconds! - full) < 1e-6 * full, `${name}: trial ${t.number} cost ${t.costSeconds} vs ${full}`);
    }
    const low = trials.filter((t) => t.status === "paused" || t.status === "pruned");
    assert.ok(low.length > finished.length, `${name}: most trials stay at 12 epochs`);
    for (const t of low) assert.equal(t.metrics!.epochs, 12, name);
    if (name !== "asha") assert.ok(trials.some((t) => t.status === "pruned"), `${name} ends the trials it does not continue`);
    assert.equal(summary.trials, 40);
    assert.equal(summary.best!.metrics.epochs, 200);
  }
});

test("experiment loop: a run stopped mid-way (abort) and resumed repeats the uninterrupted promotion search exactly", async () => {
  for (const [name, opts] of [["asha", { type: "promotion", eta: 3 }], ["hyperband", { type: "promotion", eta: 3 }]] as const) {
    const whole = new SqliteStore(":memory:");
    await runWith(() => scheduler(name, opts, 5), "rea", 5, 50, whole);
    const parts = new SqliteStore(":memory:");
    for (const stopAfter of [6, 17, 30]) {
      const abort = new AbortController();
      let seen = 0;
      await runWith(() => scheduler(name, opts, 5), "rea", 5, 50, parts, {
        signal: abort.signal,
        onEvent: (e: { type: string }) => {
          if (e.type === "trial" && ++seen >= stopAfter) abort.abort();
        },
      });
    }
    await runWith(() => scheduler(name, opts, 5), "rea", 5, 50, parts);
    assert.deepEqual(await trialDigest(parts, "nb201-rea"), await trialDigest(whole, "nb201-rea"), name);
  }
});

test("cheap before expensive: a constraint on a table metric rejects the trial before it is evaluated", async () => {
  const constrained = new Objectives([{ metric: "valid_acc", direction: "max" }], [{ metric: "latency_ms_pixel3", max: 5 }]);
  let runs = 0;
  const counting = Object.assign(Object.create(simulator), { run: (...a: Parameters<Nb201Simulator["run"]>) => (runs++, simulator.run(...a)) });
  const store = new SqliteStore(":memory:");
  await nb201Experiment("random", 2, 60, store, { objectives: constrained, evaluator: counting }).run();
  const trials = await store.getTrials(1);
  const rejected = trials.filter((t) => t.error?.startsWith("infeasible before evaluation"));
  assert.ok(rejected.length > 0 && rejected.length < 60, `${rejected.length} rejected`);
  for (const t of rejected) {
    assert.equal(t.status, "pruned");
    assert.ok(t.metrics!.latency_ms_pixel3 > 5);
    assert.equal(t.costSeconds, 0);
  }
  assert.equal(runs, trials.filter((t) => !t.error && t.cachedFrom === null).length, "every other trial was evaluated (cache hits aside)");
  for (const t of trials.filter((x) => x.status === "finished")) assert.ok(t.metrics!.latency_ms_pixel3 <= 5);
});

test("simulated time: one worker runs trials back to back; four overlap; reports arrive at their simulated moments", async () => {
  const run = async (workers: number) => {
    const results: SimulatedResult[] = [];
    const s = await runSimulated({
      space,
      strategy: makeStrategy("random", 1),
      scheduler: scheduler("fifo", {}),
      evaluator: simulator,
      objectives,
      seed: 1,
      workers,
      maxTrials: 12,
      onResult: (r) => void results.push(r),
    });
    return { s, results };
  };
  const one = await run(1);
  assert.equal(one.results.length, 12);
  assert.ok(Math.abs(one.s.time - one.s.busySeconds) < 1e-6 * one.s.time);
  const four = await run(4);
  assert.ok(Math.abs(four.s.busySeconds - one.s.busySeconds) < 1e-6 * one.s.time, "the same trials cost the same compute");
  assert.ok(four.s.time < one.s.time / 2 && four.s.time >= one.s.time / 4 - 1e-6);
  for (let i = 1; i < four.results.length; i++) assert.ok(four.results[i].time >= four.results[i - 1].time);
});

test("simulated ASHA (promotion) and BOHB find a 93.9 % architecture faster than full-fidelity REA on NB201 (8 seeds)", async () => {
  const table = simulator;
  const timeTo = async (strategy: string, sched: [string, Record<string, unknown>], seed: number) => {
    const sc = registry.strategies[strategy];
    let best = -Infinity;
    let hit = Infinity;
    await runSimulated({
      space,
      strategy: sc.create(sc.options.parse({}), { space, objectives, seed }),
      scheduler: scheduler(sched[0], sched[1], seed),
      evaluator: table,
      objectives,
      seed,
      workers: 4,
      maxSeconds: 3.6e6,
      onResult: (r) => {
        if (r.status !== "finished" || r.fidelity.epochs !== 200 || !(r.metrics.valid_acc > best)) return;
        best = r.metrics.valid_acc;
        if (r.hidden.test_acc >= 93.9) {
          hit = r.time;
          return true;
        }
      },
    });
    return hit;
  };
  const mean = async (strategy: string, sched: [string, Record<string, unknown>]) => {
    let total = 0;
    for (let seed = 100; seed < 108; seed++) total += await timeTo(strategy, sched, seed);
    return total / 8;
  };
  const rea = await mean("rea", ["fifo", {}]);
  const asha = await mean("rea", ["asha", { type: "promotion", eta: 16 }]);
  const bohb = await mean("bohb", ["hyperband", { type: "promotion", eta: 16 }]);
  assert.ok(Number.isFinite(rea));
  assert.ok(asha < 0.75 * rea, `asha ${asha} vs rea ${rea}`);
  assert.ok(bohb < 0.75 * rea, `bohb ${bohb} vs rea ${rea}`);
});

test("bohb: same seed, same suggestions; state round trip; uses the highest level with enough results", async () => {
  const sc = registry.strategies.bohb;
  const make = () => sc.create(sc.options.parse({ random_fraction: 0 }), { space, objectives, seed: 4 });
  const a = make();
  const b = make();
  const ctx = { pending: [], seen: () => false };
  const feed = (s: typeof a) => {
    for (let i = 0; i < 12; i++) {
      const [p] = s.ask(1, ctx) as never[];
      s.tellPartial!({ number: i, point: p, metrics: { valid_acc: i }, score: i, fidelity: { epochs: 12 } });
    }
  };
  feed(a);
  feed(b);
  assert.deepEqual(a.ask(3, ctx), b.ask(3, ctx));
  const c = make();
  c.restore(JSON.parse(JSON.stringify(a.state())));
  assert.deepEqual(c.ask(2, ctx), a.ask(2, ctx));
  assert.ok(JSON.stringify(a.state()).includes('"budget":12'));
});

test("worker mode refuses a promotion scheduler whose state cannot be stored (no state/restore) with a clear error", async () => {
  const real = scheduler("asha", { type: "promotion" });
  const stateless: Scheduler = { name: "mine", onStart: (t) => real.onStart(t), onReport: (t, s, m) => real.onReport(t, s, m), next: (o) => real.next!(o) };
  const exp = new Experiment({
    name: "w",
    seed: 0,
    space,
    strategy: makeStrategy("random", 0),
    scheduler: stateless,
    evaluator: simulator,
    objectives,
    store: new SqliteStore(":memory:"),
    budget: { trials: 2 },
  });
  await assert.rejects(exp.runWorker(), /scheduler "mine" pauses and promotes trials: in worker mode that needs .* a scheduler with state\(\) and restore\(\)/);
});

void ({} as FidelitySpec);

test("MO promotion: paused trials are continued by non-dominated front, not by the first objective alone", () => {
  const two = [
    { metric: "valid_acc", direction: "max" as const },
    { metric: "latency_ms", direction: "min" as const },
  ];
  const s = new PromotionAsha([1], 9, "epochs", 2, two);
  const rows: [number, number][] = [[90, 10], [85, 12], [80, 5], [70, 20]];
  rows.forEach(([a, l], t) => {
    s.onStart({ number: t });
    assert.equal(s.onReport({ number: t }, 1, { valid_acc: a, latency_ms: l }), "pause");
    s.onEnd({ number: t, status: "paused", metrics: null });
  });
  // Quota floor(4 / 2) = 2: the two trade-offs of the first front (90 / 10 ms and 80 / 5 ms) go on;
  // 85 / 12 ms has the second-best accuracy but is dominated.
  const promoted = [s.next({ canStartNew: false }), s.next({ canStartNew: false })].map((j) => (j as { trial: number }).trial).sort();
  assert.deepEqual(promoted, [0, 2]);
  assert.deepEqual(s.next({ canStartNew: false }), { kind: "wait" });
});

test("simulation runs the experiment loop: lc_stop's early-to-final model stops trials at 12 epochs (it gets each trial's point); the cache and cheap constraints apply as in a real run", async () => {
  const sim = async (opts: Record<string, unknown>, extra: { cache?: boolean; objectives?: Objectives; maxTrials?: number } = {}) => {
    const results: SimulatedResult[] = [];
    const c = registry.schedulers.lc_stop;
    await runSimulated({
      space,
      strategy: makeStrategy("random", 3),
      scheduler: c.create(c.options.parse(opts), { ...nbCtx(3), space }),
      evaluator: simulator,
      objectives: extra.objectives ?? objectives,
      seed: 3,
      workers: 2,
      maxTrials: extra.maxTrials ?? 60,
      cache: extra.cache,
      onResult: (r) => void results.push(r),
    });
    return results;
  };
  // The model predicts the 200-epoch result from a trial's architecture and its 12-epoch value.
  const model = await sim({ predictor: "model" });
  const stopped = model.filter((r) => r.status === "pruned");
  assert.equal(model.length, 60);
  assert.ok(stopped.length >= 5, `${stopped.length} stopped by the model`);
  for (const r of stopped) assert.equal(r.metrics.epochs, 12, "stopped at the 12-epoch report");
  // With one value per curve, extrapolation alone never stops anything: the stops above are the model's.
  const curve = await sim({ predictor: "curve" });
  assert.equal(curve.filter((r) => r.status === "pruned").length, 0);
  // Cheap before expensive: a latency bound rejects cells before any simulated training, at no cost.
  const bounded = new Objectives([{ metric: "valid_acc", direction: "max" }], [{ metric: "latency_ms_pixel3", max: 5 }]);
  const cheap = await sim({ predictor: "curve" }, { objectives: bounded, maxTrials: 40 });
  const rejected = cheap.filter((r) => r.status === "pruned");
  assert.ok(rejected.length > 0, "some cells break the bound");
  for (const r of rejected) assert.ok(r.metrics.latency_ms_pixel3 > 5 && r.metrics.epochs === undefined, "rejected from the table's cheap metrics, untrained");
  // The cache: a random search of 400 NB201 cells repeats some canonical cells; those are not simulated again.
  const cached = await sim({ predictor: "curve" }, { maxTrials: 400 });
  const hits = cached.filter((r) => r.cachedFrom !== null);
  assert.ok(hits.length > 0, "repeated cells are cache hits");
  const uncached = await sim({ predictor: "curve" }, { maxTrials: 400, cache: false });
  assert.equal(uncached.filter((r) => r.cachedFrom !== null).length, 0);
});

test("simulation serves warm-start points first, as a real run does", async () => {
  const first = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"];
  const results: SimulatedResult[] = [];
  await runSimulated({
    space,
    strategy: makeStrategy("random", 5),
    scheduler: scheduler("fifo", {}),
    evaluator: simulator,
    objectives,
    seed: 5,
    workers: 1,
    maxTrials: 5,
    warmStart: { points: first },
    onResult: (r) => void results.push(r),
  });
  assert.deepEqual(results.slice(0, 2).map((r) => r.point), first);
  assert.equal(results.length, 5);
});
