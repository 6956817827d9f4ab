import { test } from "node:test";
import assert from "node:assert/strict";
import { SqliteStore } from "../src/stores/sqlite.js";
import { Objectives } from "../src/core/objectives.js";
import type { Decision, Scheduler, SchedulerContext } from "../src/core/scheduler.js";
import type { FidelitySpec } from "../src/core/evaluator.js";
import type { Json } from "../src/core/json.js";
import { Rng } from "../src/core/rng.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { AshaScheduler, ashaRungs } from "../src/schedulers/asha.js";
import { MedianStopScheduler } from "../src/schedulers/median-stop.js";
import { HyperbandScheduler } from "../src/schedulers/hyperband.js";
import { registry } from "../src/registry.js";
import { buildParts } from "../src/config/build.js";
import { ConfigError } from "../src/core/errors.js";
import { nb201Experiment, objectives, simulator, trialDigest } from "./helpers.js";

const epochs81: FidelitySpec = { resource: "epochs", min: 1, max: 81 };
const ctx81: SchedulerContext = { fidelity: epochs81, seed: 0, objectives };
const acc = (v: number) => ({ valid_acc: v });

test("asha rungs: geometric below the maximum, moved up to discrete levels (NB201: 12 only)", () => {
  assert.deepEqual(ashaRungs(1, 3, 81), [1, 3, 9, 27]);
  assert.deepEqual(ashaRungs(2, 2, 20), [2, 4, 8, 16]);
  assert.deepEqual(ashaRungs(1, 3, 100, [1, 5, 25, 100]), [1, 5, 25]);
  assert.deepEqual(new AshaScheduler({ fidelity: simulator.fidelity, seed: 0, objectives }).rungs, [12]);
  assert.deepEqual(new AshaScheduler({ fidelity: simulator.fidelity, seed: 0, objectives }).onStart(), { epochs: 200 });
  assert.deepEqual(new AshaScheduler(ctx81, { r_min: 3 }).rungs, [3, 9, 27]);
});

test("asha: continues only in the top 1/eta of the rung so far (at least the best one)", () => {
  const s = new AshaScheduler(ctx81);
  const at1 = (n: number, v: number) => s.onReport({ number: n }, 1, acc(v));
  // n values recorded so far -> max(1, floor(n/3)) may be strictly better than the newcomer
  assert.equal(at1(0, 0.5), "continue"); // alone
  assert.equal(at1(1, 0.4), "stop"); // 0.5 is better, only 1 allowed
  assert.equal(at1(2, 0.6), "continue"); // best
  assert.equal(at1(3, 0.55), "stop"); // 0.6 better, floor(4/3) = 1
  assert.equal(at1(4, 0.1), "stop");
  assert.equal(at1(5, 0.58), "continue"); // n = 6: 2 allowed, only 0.6 better
  assert.equal(at1(6, 0.6), "continue"); // ties are not better
  // trial 0 goes on: rung 3 is new, it is alone there
  assert.equal(s.onReport({ number: 0 }, 2, acc(0.52)), "continue"); // between rungs
  assert.equal(s.onReport({ number: 0 }, 3, acc(0.7)), "continue");
  assert.equal(s.onReport({ number: 2 }, 3, acc(0.65)), "stop");
  assert.equal(s.onReport({ number: 0 }, 81, acc(0.9)), "continue"); // crosses 9 and 27, alone at both
  assert.deepEqual(s.recorded(0).map((v) => v[0]), [0.5, 0.4, 0.6, 0.55, 0.1, 0.58, 0.6]);
  assert.deepEqual(s.recorded(3), [[0.9]]);
  // a trial whose first report skips rungs is recorded at each of them
  assert.equal(s.onReport({ number: 7 }, 9, acc(0.95)), "continue");
  assert.equal(s.recorded(1).length, 3);
});

test("asha: `metric` + `mode: min` without objectives; no metric at all is a clear error", () => {
  const s = new AshaScheduler({ fidelity: epochs81, seed: 0 }, { metric: "loss", mode: "min" });
  assert.equal(s.onReport({ number: 0 }, 1, { loss: 2 }), "continue");
  assert.equal(s.onReport({ number: 1 }, 1, { loss: 1 }), "continue");
  assert.equal(s.onReport({ number: 2 }, 1, { loss: 3 }), "stop");
  assert.equal(s.onReport({ number: 3 }, 1, {}), "stop"); // missing counts as worst
  assert.throws(() => new AshaScheduler({ fidelity: epochs81, seed: 0 }), /needs a `metric` option/);
  assert.throws(() => new AshaScheduler({ seed: 0, objectives }), /needs an evaluator with a fidelity range/);
  assert.throws(() => new MedianStopScheduler({ seed: 0 }), /needs a `metric` option/);
});

test("MO-ASHA: ranks by non-dominated front over all objectives", () => {
  const mo = new Objectives([
    { metric: "valid_acc", direction: "max" },
    { metric: "latency_ms", direction: "min" },
  ]);
  const s = new AshaScheduler({ fidelity: epochs81, seed: 0, objectives: mo }, { multi_objective: true, eta: 2 });
  const r = (n: number, a: number, l: number) => s.onReport({ number: n }, 1, { valid_acc: a, latency_ms: l });
  assert.equal(r(0, 90, 10), "continue");
  assert.equal(r(1, 80, 5), "continue"); // trade-off: same front, nothing better
  assert.equal(r(2, 85, 12), "stop"); // dominated by trial 0, floor(3/2) = 1 allowed, 2 on a better front
  assert.equal(r(3, 70, 20), "stop"); // dominated by all
  assert.equal(r(4, 95, 4), "continue"); // dominates everyone
  assert.equal(r(5, 91, 11), "continue"); // front 1 with trials 0 and 1: only trial 4 is better, floor(6/2) = 3 allowed
  assert.equal(r(6, 60, 30), "stop"); // last front: 6 better, 3 allowed
});

test("median stopping: exact decisions on hand-built curves", () => {
  const s = new MedianStopScheduler(ctx81, { grace_steps: 2, min_trials: 2 });
  const r = (n: number, step: number, v: number) => s.onReport({ number: n }, step, acc(v));
  assert.deepEqual(s.onStart(), { epochs: 81 });
  assert.equal(r(0, 1, 0.1), "continue");
  assert.equal(r(0, 2, 0.5), "continue"); // no reference trials yet
  assert.equal(r(0, 3, 0.6), "continue");
  assert.equal(r(1, 1, 0.3), "continue");
  assert.equal(r(1, 2, 0.2), "continue"); // only one other trial reached step 2
  assert.equal(r(1, 3, 0.7), "continue");
  assert.equal(r(2, 1, 0.0), "continue"); // within grace
  assert.equal(r(2, 2, 0.35), "stop"); // others' best up to 2: 0.5 and 0.3 -> median 0.4
  assert.equal(r(3, 2, 0.4), "continue"); // others at 2: 0.5, 0.3, 0.35 -> median 0.35
  assert.equal(r(4, 1, 0.45), "continue");
  assert.equal(r(4, 3, 0.4), "stop"); // best 0.45; others reached 3: 0.6, 0.7 -> median 0.65
  assert.equal(r(5, 81, 0.01), "continue"); // never at the final step: nothing left to save
});

test("hyperband: seeded brackets from aggressive to full budget; a bracket decides like ASHA", () => {
  const mk = (seed: number) => new HyperbandScheduler({ fidelity: epochs81, seed, objectives });
  const a = mk(4);
  assert.deepEqual(a.brackets.map((b) => b.rungs), [[1, 3, 9, 27], [3, 9, 27], [9, 27], [27], []]);
  const draws = Array.from({ length: 400 }, (_, n) => a.bracket(n));
  const b = mk(4);
  assert.deepEqual(Array.from({ length: 400 }, (_, n) => b.bracket(n)), draws);
  assert.notDeepEqual(Array.from({ length: 400 }, (_, n) => mk(5).bracket(n)), draws);
  const counts = [0, 1, 2, 3, 4].map((k) => draws.filter((d) => d === k).length);
  // Hyperband's bracket sizes for S = 4, eta = 3: 81, 34, 15, 8, 5 -> bracket 0 is the most frequent
  assert.ok(counts.every((c) => c > 0), `${counts}`);
  assert.ok(counts[0] > counts[1] && counts[1] > counts[2] && counts[2] > counts[4], `${counts}`);
  // trials of the full-budget bracket are never stopped; bracket-0 trials are, at step 1
  const full = draws.findIndex((d) => d === 4);
  const first = draws.findIndex((d) => d === 0);
  const second = draws.findIndex((d, n) => d === 0 && n > first);
  const h = mk(4);
  assert.equal(h.onReport({ number: first }, 1, acc(0.9)), "continue");
  assert.equal(h.onReport({ number: second }, 1, acc(0.1)), "stop");
  assert.equal(h.onReport({ number: full }, 1, acc(0.0)), "continue");
  assert.equal(h.onReport({ number: full }, 27, acc(0.0)), "continue");
});

/** Decisions for a random stream of trials, with the scheduler swapped for a restored copy at `cut`. */
function decisions(make: () => Scheduler, cut: number | null): Decision[] {
  const rng = new Rng(3);
  const out: Decision[] = [];
  let s = make();
  const steps = [1, 2, 3, 5, 9, 20, 27, 50, 81];
  for (let n = 0; n < 60; n++) {
    if (n === cut) {
      const saved = JSON.parse(JSON.stringify(s.state!())) as Json;
      s = make();
      s.restore!(saved);
    }
    s.onStart({ number: n });
    const quality = rng.next();
    for (const step of steps) {
      const d = s.onReport({ number: n }, step, acc(n % 7 === 0 ? NaN : quality * (1 - 1 / (step + 1)) + rng.normal(0, 0.02)));
      out.push(d);
      if (d !== "continue") break;
    }
    s.onEnd?.({ number: n, status: "finished", metrics: null });
  }
  return out;
}

test("state() / restore() through JSON: a restored scheduler decides exactly as the original", () => {
  const makers: Record<string, () => Scheduler> = {
    asha: () => new AshaScheduler(ctx81),
    median_stop: () => new MedianStopScheduler(ctx81),
    hyperband: () => new HyperbandScheduler({ ...ctx81, seed: 9 }),
  };
  for (const [name, make] of Object.entries(makers)) {
    const whole = decisions(make, null);
    assert.ok(whole.includes("stop") && whole.filter((d) => d === "continue").length > 60, `${name} both stops and continues`);
    for (const cut of [1, 17, 42]) assert.deepEqual(decisions(make, cut), whole, `${name} cut at ${cut}`);
  }
});

test("registry: the schedulers are configurable components", () => {
  for (const name of ["median_stop", "asha", "hyperband"]) {
    const c = registry.schedulers[name];
    assert.equal(c.name, name);
    const s = c.create(c.options.parse({}), { fidelity: simulator.fidelity, seed: 0, objectives });
    assert.deepEqual(s.onStart({ number: 0 }), { epochs: 200 });
  }
  assert.throws(() => registry.schedulers.asha.options.parse({ eta: 1 }));
  assert.throws(() => registry.schedulers.asha.options.parse({ bogus: 1 }));
});

test("config: a scheduler section builds with the experiment's objectives (direction from them)", () => {
  const base = { name: "t", space: { name: "nb201" }, strategy: { name: "random" }, evaluator: { name: "nb201" }, budget: { trials: 10 } };
  const parts = buildParts({ ...base, scheduler: { name: "asha", eta: 4 } });
  assert.equal(parts.scheduler.name, "asha");
  assert.deepEqual((parts.scheduler as AshaScheduler).rungs, [12]);
  const min = buildParts({ ...base, objectives: [{ metric: "latency_ms_pixel3", direction: "min" }], scheduler: { name: "median_stop", min_trials: 1 } }).scheduler;
  assert.equal(min.onReport({ number: 0 }, 12, { latency_ms_pixel3: 5 }), "continue");
  assert.equal(min.onReport({ number: 1 }, 12, { latency_ms_pixel3: 9 }), "stop"); // larger latency is worse
  assert.throws(() => buildParts({ ...base, scheduler: { name: "hyperband", eta: 1 } }), ConfigError);
});

const SEEDS = 10;
async function nb201Mean(strategy: "random" | "rea", make: (seed: number) => Scheduler) {
  let cost = 0;
  let test = 0;
  let pruned = 0;
  for (let seed = 0; seed < SEEDS; seed++) {
    const store = new SqliteStore(":memory:");
    const s = await nb201Experiment(strategy, seed, 100, store, { scheduler: make(seed) }).run();
    cost += s.costSeconds;
    test += s.best!.hidden.test_acc;
    pruned += (await store.getTrials(1)).filter((t) => t.status === "pruned").length;
  }
  return { cost: cost / SEEDS, test: test / SEEDS, pruned: pruned / SEEDS };
}

test("NB201 simulator: stopping schedulers spend far less simulated time than FIFO for the same best (10 seeds x 100 trials)", async () => {
  const ctx = (seed: number) => ({ fidelity: simulator.fidelity, seed, objectives });
  for (const strategy of ["random", "rea"] as const) {
    const fifo = await nb201Mean(strategy, (seed) => new FifoScheduler(ctx(seed)));
    assert.equal(fifo.pruned, 0);
    const runs = {
      asha: { r: await nb201Mean(strategy, (seed) => new AshaScheduler(ctx(seed))), maxCost: 0.65 },
      median_stop: { r: await nb201Mean(strategy, (seed) => new MedianStopScheduler(ctx(seed))), maxCost: 0.75 },
      hyperband: { r: await nb201Mean(strategy, (seed) => new HyperbandScheduler(ctx(seed))), maxCost: 0.8 },
    };
    for (const [name, { r, maxCost }] of Object.entries(runs)) {
      const msg = `${strategy}/${name}: cost ${r.cost.toFixed(0)} s vs FIFO ${fifo.cost.toFixed(0)} s, test ${r.test.toFixed(3)} vs ${fifo.test.toFixed(3)}`;
      assert.ok(r.pruned > 10, msg);
      assert.ok(r.cost < maxCost * fifo.cost, msg);
      assert.ok(r.test >= fifo.test - 0.05, msg);
    }
  }
});

test("resuming an experiment under asha / hyperband / median_stop repeats the uninterrupted search exactly", async () => {
  const makers: Record<string, (seed: number) => Scheduler> = {
    asha: (seed) => new AshaScheduler({ fidelity: simulator.fidelity, seed, objectives }),
    hyperband: (seed) => new HyperbandScheduler({ fidelity: simulator.fidelity, seed, objectives }),
    median_stop: (seed) => new MedianStopScheduler({ fidelity: simulator.fidelity, seed, objectives }),
  };
  for (const [name, make] of Object.entries(makers)) {
    const whole = new SqliteStore(":memory:");
    await nb201Experiment("rea", 11, 60, whole, { scheduler: make(11) }).run();
    const parts = new SqliteStore(":memory:");
    for (const upTo of [7, 23, 24, 60]) await nb201Experiment("rea", 11, upTo, parts, { scheduler: make(11) }).run();
    const w = await trialDigest(whole, "nb201-rea");
    assert.ok(w.some((t) => t.status === "pruned"), name);
    assert.deepEqual(await trialDigest(parts, "nb201-rea"), w, name);
  }
});
