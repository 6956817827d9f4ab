import { test } from "node:test";
import assert from "node:assert/strict";
import { SqliteStore } from "../src/stores/sqlite.js";
import { Experiment } from "../src/core/experiment.js";
import { Objectives } from "../src/core/objectives.js";
import type { Decision, Scheduler } from "../src/core/scheduler.js";
import type { FidelitySpec, Metrics } from "../src/core/evaluator.js";
import type { Json } from "../src/core/json.js";
import { Rng } from "../src/core/rng.js";
import { ConfigError, UserError } from "../src/core/errors.js";
import { loadNb201 } from "../src/benchmarks/nb201.js";
import { FunctionEvaluator } from "../src/evaluators/function.js";
import { RandomSearch } from "../src/strategies/random.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { LearningCurveStopScheduler, type LearningCurveStopOptions } from "../src/schedulers/learning-curve-stop.js";
import { registry } from "../src/registry.js";
import { buildParts } from "../src/config/build.js";
import { nb201Experiment, objectives, simulator, space, trialDigest } from "./helpers.js";

const epochs50: FidelitySpec = { resource: "epochs", min: 1, max: 50 };
const table = loadNb201();
const valid12 = table.column("c10v_valid_acc_12ep");
const valid200 = table.column("c10v_valid_acc");
const test200 = table.column("c10_test_acc");

/** Rising curve c - a x^-alpha (a pow3 learning curve). */
const pow3 = (c: number, a = 40, alpha = 0.6) => (x: number) => c - a * x ** -alpha;

/**
 * Runs one trial through the scheduler: reports f(1..last) (metric `metric`), ends it as pruned
 * or finished, and returns the step it was stopped at (null: ran to the end).
 */
function runCurve(s: Scheduler, n: number, f: (x: number) => number, last = 50, metric = "valid_acc"): number | null {
  s.onStart({ number: n });
  let stoppedAt: number | null = null;
  let value = NaN;
  for (let step = 1; step <= last; step++) {
    value = f(step);
    if (s.onReport({ number: n }, step, { [metric]: value }) === "stop") {
      stoppedAt = step;
      break;
    }
  }
  s.onEnd?.({ number: n, status: stoppedAt === null ? "finished" : "pruned", metrics: { [metric]: value } });
  return stoppedAt;
}

test("lc_stop (curve extrapolation): nothing stopped in the grace period, then a clearly bad curve is stopped at min_step and a good one runs to the end", () => {
  const s = new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0, objectives }, { predictor: "curve", grace_trials: 3, min_step: 5 });
  assert.deepEqual(s.onStart({ number: 0 }), { epochs: 50 });
  // grace: three finished trials are needed, so even a terrible first curve runs to the end
  assert.equal(runCurve(s, 0, pow3(40)), null);
  assert.equal(s.reference(), undefined);
  assert.equal(runCurve(s, 1, pow3(85)), null);
  assert.equal(runCurve(s, 2, pow3(88)), null);
  // top_k = 2 by default: the second-best final so far
  assert.ok(Math.abs(s.reference()! - pow3(85)(50)) < 1e-9);
  // a clearly bad curve: stopped at the first step allowed (5), not before
  assert.equal(runCurve(s, 3, pow3(60)), 5);
  // a good curve is never stopped
  assert.equal(runCurve(s, 4, pow3(92)), null);
  // now the second best is trial 2's final; a curve that ends just above it is not stopped...
  const ref = s.reference()!;
  assert.ok(Math.abs(ref - pow3(88)(50)) < 1e-9);
  assert.equal(runCurve(s, 5, (x) => pow3(88.3)(x)), null);
  // ... one that ends 3 points below it is, early, though it is still rising
  const late = runCurve(s, 6, pow3(85, 40, 0.6));
  assert.ok(late !== null && late >= 5 && late <= 10, `stopped at ${late}`);
  // a curve that starts low but rises steeply (its final beats everything) is kept
  assert.equal(runCurve(s, 7, pow3(98, 80, 0.5)), null);
  // never at the final step, whatever the value
  s.onStart({ number: 8 });
  assert.equal(s.onReport({ number: 8 }, 50, { valid_acc: 1 }), "continue");
  // a diverged trial (NaN) is stopped once allowed; a report without the metric is ignored
  s.onStart({ number: 9 });
  assert.equal(s.onReport({ number: 9 }, 2, { valid_acc: NaN }), "continue"); // before min_step
  assert.equal(s.onReport({ number: 9 }, 6, { train_loss: 0.3 }), "continue");
  assert.equal(s.onReport({ number: 9 }, 7, { valid_acc: NaN }), "stop");
});

test("lc_stop: minimised metrics (loss curves), k-th best and quantile references, option errors", () => {
  const loss = (l: number, a = 3, alpha = 0.7) => (x: number) => l + a * x ** -alpha;
  const s = new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0 }, { metric: "loss", mode: "min", predictor: "curve", grace_trials: 2, top_k: 1 });
  assert.equal(runCurve(s, 0, loss(0.5), 50, "loss"), null);
  assert.equal(runCurve(s, 1, loss(0.3), 50, "loss"), null);
  assert.ok(Math.abs(s.reference()! + loss(0.3)(50)) < 1e-9); // oriented: the best (lowest) loss, negated
  const bad = runCurve(s, 2, loss(1.5), 50, "loss");
  assert.ok(bad !== null && bad <= 5, `bad loss curve stopped at ${bad}`);
  assert.equal(runCurve(s, 3, loss(0.2), 50, "loss"), null);
  // quantile reference: with finals 10, 20, ..., 100 (one step each), the 0.75-quantile is 77.5
  const q = new LearningCurveStopScheduler({ fidelity: { resource: "epochs", min: 1, max: 3 }, seed: 0, objectives }, { predictor: "curve", quantile: 0.75, grace_trials: 10 });
  for (let n = 0; n < 10; n++) {
    q.onStart({ number: n });
    q.onReport({ number: n }, 3, { valid_acc: 10 * (n + 1) });
    q.onEnd({ number: n, status: "finished", metrics: { valid_acc: 10 * (n + 1) } });
  }
  assert.ok(Math.abs(q.reference()! - 77.5) < 1e-9, `${q.reference()}`);
  // pruned and failed trials are not references
  q.onEnd({ number: 10, status: "pruned", metrics: { valid_acc: 1000 } });
  q.onEnd({ number: 11, status: "failed", metrics: { valid_acc: 1000 } });
  assert.ok(Math.abs(q.reference()! - 77.5) < 1e-9);
  // upper_quantile 0.975 judges by mean + 1.96 std
  const u = new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0, objectives }, { upper_quantile: 0.975 });
  const k = new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0, objectives }, { kappa: 1.959963984540054 });
  const c = { steps: [1, 2, 3, 4, 5], values: [30, 40, 46, 50, 53] };
  assert.ok(Math.abs(u.optimistic(c)! - k.optimistic(c)!) < 1e-3, `${u.optimistic(c)} vs ${k.optimistic(c)}`);
  // errors
  assert.throws(() => new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0, objectives }, { kappa: 1, upper_quantile: 0.9 }), /kappa or upper_quantile/);
  assert.throws(() => new LearningCurveStopScheduler({ seed: 0, objectives }), (e: Error) => e instanceof UserError && /fidelity range/.test(e.message));
  assert.throws(() => new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0 }), /needs a `metric` option/);
  assert.throws(() => new LearningCurveStopScheduler({ fidelity: simulator.fidelity, seed: 0, objectives }, { predictor: "model" }), /needs the experiment's space/);
  assert.throws(() => new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0, objectives, space }, { predictor: "model" }), /needs `model_step`/);
  assert.throws(() => new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0, objectives, space }, { model_step: 50 }), /must be below/);
});

/** Feeds a NB201 trial (12-epoch then 200-epoch report from the table) to a scheduler; returns the decision at 12. */
function nb201Trial(s: Scheduler, n: number, row: number): Decision {
  const point = table.archStrings[row];
  s.onStart({ number: n, point } as { number: number });
  const d = s.onReport({ number: n, point } as { number: number }, 12, { valid_acc: valid12[row] });
  if (d === "continue") s.onReport({ number: n, point } as { number: number }, 200, { valid_acc: valid200[row] });
  s.onEnd?.({ number: n, status: d === "continue" ? "finished" : "pruned", metrics: { valid_acc: d === "continue" ? valid200[row] : valid12[row] } });
  return d;
}

test("lc_stop (early-to-final model): on NB201 the model learnt from finished trials' 12 -> 200 epoch pairs stops a poor cell and keeps a good one", () => {
  const rows = new Rng(7).sampleIndices(table.rows, 400).filter((i) => Number.isFinite(valid12[i]) && Number.isFinite(valid200[i]));
  const byFinal = [...rows].sort((a, b) => valid200[b] - valid200[a]);
  const best = byFinal[0];
  const [poorInGrace, poor] = byFinal.filter((i) => valid200[i] < 80 && valid12[i] < 70);
  assert.ok(poor !== undefined);
  const middle = rows.filter((i) => i !== poor && i !== poorInGrace && i !== best); // in random order: finals over the whole range
  const ctx = { fidelity: simulator.fidelity, seed: 0, objectives, space };
  const stream = (sched: Scheduler) => [...middle.slice(0, 9), poorInGrace, ...middle.slice(9, 29), poor, best].map((row, n) => nb201Trial(sched, n, row));
  const s = new LearningCurveStopScheduler(ctx, { predictor: "model" });
  const d = stream(s);
  // during the grace period (10 finished trials) nothing is stopped, not even a poor cell
  assert.deepEqual(d.slice(0, 10), new Array(10).fill("continue"));
  assert.ok(s.reference()! > 85);
  // then the model stops some of the random cells, and the poor one; the best of the 400 goes on
  assert.ok(d.slice(10, 29).includes("stop") && d.slice(10, 29).includes("continue"), `${d}`);
  assert.equal(d[30], "stop");
  assert.equal(d[31], "continue");
  // with only one value per curve, extrapolation alone never stops anything
  assert.ok(stream(new LearningCurveStopScheduler(ctx, { predictor: "curve" })).every((x) => x === "continue"));
  // auto uses the model here: the same decisions
  assert.deepEqual(stream(new LearningCurveStopScheduler(ctx, {})), d);
  // without the point (a loop that does not pass it) the model cannot be used: nothing is stopped
  const blind = new LearningCurveStopScheduler(ctx, {});
  for (let n = 0; n < 30; n++) runCurve(blind, n, () => valid200[middle[n]], 1);
  blind.onStart({ number: 30 });
  assert.equal(blind.onReport({ number: 30 }, 12, { valid_acc: valid12[poor] }), "continue");
});

/** Decisions on a stream of trials, with the scheduler replaced by a JSON-restored copy before trial `cut`. */
function decisions(make: () => LearningCurveStopScheduler, trials: { point?: Json; steps: number[]; values: number[] }[], cut: number | null): Decision[] {
  const out: Decision[] = [];
  let s = make();
  trials.forEach((t, n) => {
    if (n === cut) {
      const saved = JSON.parse(JSON.stringify(s.state())) as Json;
      s = make();
      s.restore(saved);
    }
    const trial = { number: n, point: t.point } as { number: number };
    s.onStart(trial);
    let d: Decision = "continue";
    let last = NaN;
    for (let i = 0; i < t.steps.length && d === "continue"; i++) {
      last = t.values[i];
      d = s.onReport(trial, t.steps[i], { valid_acc: last });
      out.push(d);
    }
    s.onEnd({ number: n, status: d === "continue" ? "finished" : "pruned", metrics: { valid_acc: last } });
  });
  return out;
}

test("lc_stop state() / restore() through JSON: a restored scheduler decides exactly as the original (curves and model, in-flight curves included)", () => {
  const rng = new Rng(3);
  const curves = Array.from({ length: 60 }, () => {
    const c = 50 + 40 * rng.next();
    const a = 20 + 30 * rng.next();
    const steps = Array.from({ length: 30 }, (_, i) => i + 1);
    return { steps, values: steps.map((x) => c - a * x ** -0.6 + rng.normal(0, 0.5)) };
  });
  const nb = new Rng(4).sampleIndices(table.rows, 80).filter((i) => Number.isFinite(valid12[i]) && Number.isFinite(valid200[i])).map((i) => ({ point: table.archStrings[i], steps: [12, 200], values: [valid12[i], valid200[i]] }));
  const cases: [string, () => LearningCurveStopScheduler, typeof curves][] = [
    ["curve", () => new LearningCurveStopScheduler({ fidelity: { resource: "epochs", min: 1, max: 30 }, seed: 0, objectives }, { grace_trials: 5, min_step: 3 }), curves],
    ["model", () => new LearningCurveStopScheduler({ fidelity: simulator.fidelity, seed: 5, objectives, space }, { refit_every: 3 }), nb],
    ["forest", () => new LearningCurveStopScheduler({ fidelity: simulator.fidelity, seed: 5, objectives, space }, { model: "random_forest", min_pairs: 6, grace_trials: 6 }), nb],
  ];
  for (const [name, make, stream] of cases) {
    const whole = decisions(make, stream, null);
    assert.ok(whole.includes("stop") && whole.filter((d) => d === "continue").length > 20, `${name}: both stops and continues`);
    for (const cut of [1, 12, 17, 42]) assert.deepEqual(decisions(make, stream, cut), whole, `${name} cut at ${cut}`);
  }
  // a trial in flight at the snapshot keeps its curve
  const s = new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0, objectives }, { predictor: "curve", grace_trials: 1, top_k: 1, min_step: 5 });
  runCurve(s, 0, pow3(90));
  s.onStart({ number: 1 });
  for (let step = 1; step <= 4; step++) s.onReport({ number: 1 }, step, { valid_acc: pow3(60)(step) });
  const copy = new LearningCurveStopScheduler({ fidelity: epochs50, seed: 0, objectives }, { predictor: "curve", grace_trials: 1, top_k: 1, min_step: 5 });
  copy.restore(JSON.parse(JSON.stringify(s.state())) as Json);
  assert.deepEqual(copy.state(), s.state());
  assert.equal(copy.onReport({ number: 1 }, 5, { valid_acc: pow3(60)(5) }), "stop");
  assert.equal(s.onReport({ number: 1 }, 5, { valid_acc: pow3(60)(5) }), "stop");
});

test("registry and config: lc_stop is a configurable scheduler and gets the experiment's space", () => {
  const c = registry.schedulers.lc_stop;
  assert.equal(c.name, "lc_stop");
  assert.deepEqual(c.create(c.options.parse({}), { fidelity: simulator.fidelity, seed: 0, objectives }).onStart({ number: 0 }), { epochs: 200 });
  assert.throws(() => c.options.parse({ bogus: 1 }));
  assert.throws(() => c.options.parse({ top_k: 0 }));
  const base = { name: "t", space: { name: "nb201" }, strategy: { name: "random" }, evaluator: { name: "nb201" }, budget: { trials: 10 } };
  // predictor "model" needs the space: building it proves the config passes it
  const parts = buildParts({ ...base, scheduler: { name: "lc_stop", predictor: "model", top_k: 1, kappa: 1 } });
  assert.ok(parts.scheduler instanceof LearningCurveStopScheduler);
  assert.throws(() => buildParts({ ...base, scheduler: { name: "lc_stop", kappa: 1, upper_quantile: 0.9 } }), ConfigError);
  assert.throws(() => buildParts({ ...base, scheduler: { name: "lc_stop", predcitor: "curve" } }), ConfigError);
});

test("resuming an experiment under lc_stop repeats the uninterrupted search exactly", async () => {
  const make = () => new LearningCurveStopScheduler({ fidelity: simulator.fidelity, seed: 11, objectives, space });
  const whole = new SqliteStore(":memory:");
  await nb201Experiment("rea", 11, 60, whole, { scheduler: make() }).run();
  const parts = new SqliteStore(":memory:");
  for (const upTo of [7, 23, 24, 60]) await nb201Experiment("rea", 11, upTo, parts, { scheduler: make() }).run();
  const w = await trialDigest(whole, "nb201-rea");
  assert.ok(w.filter((t) => t.status === "pruned").length > 10);
  assert.deepEqual(await trialDigest(parts, "nb201-rea"), w);
});

const SEEDS = 10;
async function nb201Search(make: (seed: number) => Scheduler) {
  let cost = 0;
  let test = 0;
  let pruned = 0;
  for (let seed = 0; seed < SEEDS; seed++) {
    const store = new SqliteStore(":memory:");
    const s = await nb201Experiment("random", seed, 100, store, { scheduler: make(seed) }).run();
    cost += s.costSeconds;
    test += s.best!.hidden.test_acc;
    pruned += (await store.getTrials(1)).filter((t) => t.status === "pruned").length;
  }
  return { cost: cost / SEEDS, test: test / SEEDS, pruned: pruned / SEEDS };
}

test("NB201 simulator, random search (10 seeds x 100 trials): lc_stop spends far less simulated time than FIFO for the same best", async () => {
  const ctx = (seed: number) => ({ fidelity: simulator.fidelity, seed, objectives, space });
  const fifo = await nb201Search((seed) => new FifoScheduler(ctx(seed)));
  const lc = await nb201Search((seed) => new LearningCurveStopScheduler(ctx(seed)));
  const msg = `lc_stop: cost ${lc.cost.toFixed(0)} s vs FIFO ${fifo.cost.toFixed(0)} s (${((100 * lc.cost) / fifo.cost).toFixed(1)} %), test ${lc.test.toFixed(3)} vs ${fifo.test.toFixed(3)}, ${lc.pruned} pruned per search`;
  console.log(msg);
  assert.equal(fifo.pruned, 0);
  assert.ok(lc.pruned > 40, msg);
  assert.ok(lc.cost < 0.5 * fifo.cost, msg);
  assert.ok(lc.test >= fifo.test - 0.05, msg);
});

test("per-epoch curves through the experiment loop: lc_stop extrapolates each trial's curve and saves most of the training for the same best", async () => {
  // Each NB201 cell trains for 50 epochs along its own pow3 curve ending at its table accuracy, with noise.
  const curveOf = (arch: Json) => {
    const i = table.indexOf.get(arch as string)!;
    const r = Rng.derive(0, "curve", i);
    const a = 30 + 30 * r.next();
    const alpha = 0.4 + 0.5 * r.next();
    const c = (Number.isFinite(valid200[i]) ? valid200[i] : 10) + a * 50 ** -alpha;
    return { i, f: (x: number) => c - a * x ** -alpha };
  };
  const evaluator = new FunctionEvaluator(
    "curves",
    async (spec, ctx) => {
      const { i, f } = curveOf(spec.arch);
      const noise = new Rng(spec.seed);
      let epochs = 0;
      let v = NaN;
      for (let e = 1; e <= (spec.fidelity.epochs ?? 50); e++) {
        epochs = e;
        v = f(e) + noise.normal(0, 0.2);
        if (ctx.report(e, { valid_acc: v }) !== "continue") break;
      }
      return { metrics: { valid_acc: v } as Metrics, hidden: { test_acc: test200[i] }, costSeconds: epochs };
    },
    { resource: "epochs", min: 1, max: 50 },
  );
  const objs = new Objectives([{ metric: "valid_acc", direction: "max" }]);
  const search = async (make: (seed: number) => Scheduler) => {
    let cost = 0;
    let test = 0;
    let valid = 0;
    for (let seed = 0; seed < 5; seed++) {
      const s = await new Experiment({
        name: "curves",
        seed,
        space,
        objectives: objs,
        evaluator,
        strategy: new RandomSearch({ space, objectives: objs, seed }),
        scheduler: make(seed),
        store: new SqliteStore(":memory:"),
        budget: { trials: 60 },
      }).run();
      cost += s.costSeconds;
      test += s.best!.hidden.test_acc;
      valid += s.best!.metrics.valid_acc;
    }
    return { cost: cost / 5, test: test / 5, valid: valid / 5 };
  };
  const fifo = await search((seed) => new FifoScheduler({ fidelity: evaluator.fidelity, seed }));
  const options: LearningCurveStopOptions = { min_step: 5, bounds: [0, 100] };
  const lc = await search((seed) => new LearningCurveStopScheduler({ fidelity: evaluator.fidelity, seed, objectives: objs, space }, options));
  const msg = `per-epoch curves: cost ${lc.cost.toFixed(0)} vs FIFO ${fifo.cost.toFixed(0)} epochs (${((100 * lc.cost) / fifo.cost).toFixed(1)} %), best valid ${lc.valid.toFixed(3)} vs ${fifo.valid.toFixed(3)}, test ${lc.test.toFixed(3)} vs ${fifo.test.toFixed(3)}`;
  console.log(msg);
  assert.ok(lc.cost < 0.5 * fifo.cost, msg);
  assert.ok(lc.valid >= fifo.valid - 0.1, msg);
  assert.ok(lc.test >= fifo.test - 0.1, msg);
});
