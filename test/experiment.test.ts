import { test } from "node:test";
import assert from "node:assert/strict";
import { Experiment } from "../src/core/experiment.js";
import type { Json } from "../src/core/json.js";
import type { Strategy } from "../src/core/strategy.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { FunctionEvaluator } from "../src/evaluators/function.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { Rng } from "../src/core/rng.js";
import { nb201Experiment, objectives, space, trialDigest } from "./helpers.js";

test("regularized evolution: same seed gives the same search, another seed another", async () => {
  const runs = [];
  for (const seed of [5, 5, 6]) {
    const store = new SqliteStore(":memory:");
    const summary = await nb201Experiment("rea", seed, 60, store).run();
    assert.equal(summary.trials, 60);
    assert.ok(summary.complete);
    runs.push(await trialDigest(store, "nb201-rea"));
  }
  assert.deepEqual(runs[0], runs[1]);
  assert.notDeepEqual(runs[0], runs[2]);
});

test("regularized evolution finds better architectures than random search (20 seeds x 100 queries)", async () => {
  const mean = async (strategy: "random" | "rea") => {
    let total = 0;
    for (let seed = 0; seed < 20; seed++) {
      const s = await nb201Experiment(strategy, seed, 100).run();
      total += s.best!.hidden.test_acc;
    }
    return total / 20;
  };
  const random = await mean("random");
  const rea = await mean("rea");
  assert.ok(random > 92.5 && random < 94.4, `random ${random}`);
  assert.ok(rea > random, `rea ${rea} <= random ${random}`);
});

test("test accuracy never reaches the strategy", async () => {
  const seen: string[] = [];
  const store = new SqliteStore(":memory:");
  const exp = nb201Experiment("random", 1, 10, store);
  const strategy = (exp as unknown as { o: { strategy: Strategy } }).o.strategy;
  const tell = strategy.tell.bind(strategy);
  strategy.tell = (o) => {
    seen.push(...Object.keys(o.metrics));
    tell(o);
  };
  await exp.run();
  assert.ok(seen.includes("valid_acc"));
  assert.ok(!seen.some((k) => k.includes("test")));
  const trials = await store.getTrials(1);
  assert.ok(trials.every((t) => typeof t.hidden?.test_acc === "number"));
});

test("resuming a stopped experiment repeats the uninterrupted search exactly", async () => {
  const whole = new SqliteStore(":memory:");
  await nb201Experiment("rea", 11, 80, whole).run();
  const parts = new SqliteStore(":memory:");
  for (const upTo of [7, 23, 24, 50, 80]) {
    const s = await nb201Experiment("rea", 11, upTo, parts).run();
    assert.equal(s.trials, upTo);
  }
  assert.deepEqual(await trialDigest(parts, "nb201-rea"), await trialDigest(whole, "nb201-rea"));
});

test("parallel trials with results out of order: exact budget, unique numbers", async () => {
  const store = new SqliteStore(":memory:");
  const rng = new Rng(0);
  const delays = Array.from({ length: 40 }, () => rng.int(8));
  const evaluator = new FunctionEvaluator("slow", async (spec) => {
    await new Promise((r) => setTimeout(r, delays[spec.number]));
    return { valid_acc: ((spec.number * 37) % 100) / 1 };
  });
  const summary = await nb201Experiment("rea", 2, 40, store, { evaluator, budget: { trials: 40, concurrency: 4 } }).run();
  const trials = await store.getTrials(1);
  assert.equal(summary.trials, 40);
  assert.deepEqual(trials.map((t) => t.number), Array.from({ length: 40 }, (_, i) => i));
  const finishOrder = [...trials].sort((a, b) => a.finishedAt! - b.finishedAt! || a.number - b.number).map((t) => t.number);
  assert.notDeepEqual(finishOrder, trials.map((t) => t.number), "some results arrived out of order");
});

test("a crashing or hanging trial is recorded as failed and the search goes on", async () => {
  const store = new SqliteStore(":memory:");
  const evaluator = new FunctionEvaluator("flaky", async (spec, ctx) => {
    if (spec.number % 5 === 1) throw new Error(`exploded on trial ${spec.number}`);
    if (spec.number === 3) await new Promise((r) => setTimeout(r, 5000));
    ctx.report(1, { valid_acc: 1 });
    return { valid_acc: spec.number };
  });
  const summary = await nb201Experiment("random", 0, 12, store, { evaluator, budget: { trials: 12, trialTimeoutSeconds: 0.2 } }).run();
  assert.equal(summary.trials, 12);
  const trials = await store.getTrials(1);
  const failed = trials.filter((t) => t.status === "failed");
  assert.deepEqual(failed.map((t) => t.number), [1, 3, 6, 11]);
  assert.match(failed[0].error!, /exploded on trial 1/);
  assert.match(failed[1].error!, /timed out after 0.2 s/);
  assert.equal(summary.best!.number, 10);
  assert.deepEqual(await store.getIntermediate(trials[0].id), [{ step: 1, metrics: { valid_acc: 1 } }]);
});

test("max_failures stops the experiment with a clear error", async () => {
  const evaluator = new FunctionEvaluator("broken", () => {
    throw new Error("no GPU");
  });
  await assert.rejects(nb201Experiment("random", 0, 20, new SqliteStore(":memory:"), { evaluator, budget: { trials: 20, maxFailures: 2 } }).run(), /3 trials failed \(max_failures is 2\)/);
});

test("an equivalent architecture is not evaluated twice: the cache hit is recorded", async () => {
  const a = "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|";
  const b = "|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"; // a with nodes 1, 2 swapped
  const points: Json[] = [a, b, a, space.canonical(a)];
  let asked = 0;
  const fixed: Strategy = { name: "fixed", ask: (n) => points.slice(asked, (asked += n)), tell() {}, state: () => asked, restore: (s) => void (asked = s as number) };
  let calls = 0;
  const evaluator = new FunctionEvaluator("count", () => ({ valid_acc: ++calls }));
  const store = new SqliteStore(":memory:");
  await new Experiment({ name: "cache", seed: 0, space, strategy: fixed, scheduler: new FifoScheduler({ seed: 0 }), evaluator, objectives, store, budget: { trials: 4 } }).run();
  assert.equal(calls, 1);
  const trials = await store.getTrials(1);
  assert.deepEqual(trials.map((t) => t.cachedFrom), [null, 0, 0, 0]);
  assert.ok(trials.every((t) => t.metrics!.valid_acc === 1));
});

test("a strategy with nothing left to suggest ends the experiment early", async () => {
  let asked = 0;
  const limited: Strategy = { name: "three", ask: () => (asked++ < 3 ? [space.sample(new Rng(asked))] : []), tell() {}, state: () => asked, restore: (s) => void (asked = s as number) };
  const s = await new Experiment({ name: "x", seed: 0, space, strategy: limited, scheduler: new FifoScheduler({ seed: 0 }), evaluator: new FunctionEvaluator("f", () => ({ valid_acc: 1 })), objectives, store: new SqliteStore(":memory:"), budget: { trials: 10 } }).run();
  assert.equal(s.trials, 3);
  assert.ok(s.complete);
});

test("reopening an experiment with a different search is refused, naming the field", async () => {
  const store = new SqliteStore(":memory:");
  await nb201Experiment("random", 0, 3, store, { config: { strategy: { name: "random" } }, configHash: "a" }).run();
  await assert.rejects(
    nb201Experiment("random", 0, 3, store, { config: { strategy: { name: "rea" } }, configHash: "b" }).run(),
    /already exists with a different search definition \(differs in: strategy.name\)/,
  );
});
