import { test } from "node:test";
import assert from "node:assert/strict";
import { Experiment, type ExperimentOptions } from "../src/core/experiment.js";
import type { Json } from "../src/core/json.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";
import { FunctionEvaluator } from "../src/evaluators/function.js";
import { RlController, rlController, type RlControllerOptions } from "../src/strategies/rl-controller.js";
import { check } from "../src/config/validate.js";
import { buildParts, createExperiment } from "../src/config/build.js";
import { UserError } from "../src/core/errors.js";
import { engineAvailable } from "../src/engine/native.js";
import type { Store } from "../src/core/store.js";
import { objectives, space, trialDigest } from "./helpers.js";
import { LstmCell, OwnAdam, ControllerPolicy } from "../src/strategies/rl/policy.js";
import { Rng } from "../src/core/rng.js";
import * as E from "../src/engine/index.js";

const required = process.env.ARCHSEARCH_REQUIRE_ENGINE === "1";
const skip = !engineAvailable() && !required ? "libtorch binding not built" : false;

const cifar10 = new Nb201Simulator({ dataset: "cifar10", noise: false });
const cifar100 = new Nb201Simulator({ dataset: "cifar100", noise: false });

function options(extra: Record<string, unknown> = {}): RlControllerOptions {
  const r = check(rlController.options, extra);
  assert.ok(r.value, JSON.stringify(r.problems));
  return r.value;
}

function rlExperiment(name: string, seed: number, trials: number, store: Store, extra: Partial<ExperimentOptions> & { opts?: Record<string, unknown>; evaluator?: Nb201Simulator | FunctionEvaluator } = {}) {
  const { opts, ...rest } = extra;
  const evaluator = extra.evaluator ?? cifar10;
  return new Experiment({
    name,
    seed,
    space,
    strategy: new RlController({ space, objectives, seed }, options(opts)),
    scheduler: new FifoScheduler({ fidelity: evaluator.fidelity, seed }),
    evaluator,
    objectives,
    store,
    budget: { trials },
    ...rest,
  });
}

test("policy parts: the LSTM cell matches its equations; our Adam matches libtorch's; log-probabilities sum to one", { skip }, () => {
  const cell = new LstmCell(2, 3, new Rng(1), 0.5);
  const x = [0.3, -0.7];
  const h0 = [0.1, 0.2, -0.3];
  const c0 = [0.5, -0.1, 0.2];
  const [h, c] = E.tidy(() => cell.step(E.tensor(x, [1, 2]), E.tensor(h0, [1, 3]), E.tensor(c0, [1, 3])).map((t) => t.toArray()));
  const wi = cell.wIh.toArray();
  const wh = cell.wHh.toArray();
  const b = cell.bias.toArray();
  const gate = (r: number) => b[r] + x.reduce((a, v, j) => a + wi[r * 2 + j] * v, 0) + h0.reduce((a, v, j) => a + wh[r * 3 + j] * v, 0);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  for (let k = 0; k < 3; k++) {
    const cc = sig(gate(3 + k)) * c0[k] + sig(gate(k)) * Math.tanh(gate(6 + k));
    assert.ok(Math.abs(c[k] - cc) < 1e-6, `c[${k}]`);
    assert.ok(Math.abs(h[k] - sig(gate(9 + k)) * Math.tanh(cc)) < 1e-6, `h[${k}]`);
  }

  // The same quadratic, three steps, by libtorch's Adam and by ours (whose moments we can save).
  const a = E.tensor([1, -2, 0.5], [3]).keep().requiresGrad();
  const o = E.tensor([1, -2, 0.5], [3]).keep().requiresGrad();
  const theirs = E.adam([a], { lr: 0.05 });
  const ours = new OwnAdam([o], 0.05);
  for (let i = 0; i < 3; i++) {
    theirs.zeroGrad();
    E.tidy(() => a.square().mul(E.tensor([1, 2, 3])).sum().backward());
    theirs.step();
    E.tidy(() => o.square().mul(E.tensor([1, 2, 3])).sum().backward());
    ours.step(0);
  }
  a.toArray().forEach((v, i) => assert.ok(Math.abs(v - o.toArray()[i]) < 1e-6, `parameter ${i}: ${v} vs ${o.toArray()[i]}`));

  // Over every sequence of a 2 x 3 decision space, the policy's probabilities sum to one.
  const policy = new ControllerPolicy([2, 3], 4, new Rng(3), 0.5);
  const all = [0, 1].flatMap((i) => [0, 1, 2].map((j) => [i, j]));
  const total = E.tidy(() => policy.logProb(all).logp.exp().sum().item());
  assert.ok(Math.abs(total - 1) < 1e-5, `sum of probabilities ${total}`);
  policy.dispose();
});

test("rl_controller: finds better cells than random search on NB201 CIFAR-10 (10 seeds x 100 queries)", { skip, timeout: 120_000 }, async (t) => {
  let total = 0;
  let at25 = 0;
  for (let seed = 0; seed < 10; seed++) {
    let bestValid = -Infinity;
    let bestTest = 0;
    const s = await rlExperiment("rl", seed, 100, new SqliteStore(":memory:"), {
      onEvent: (e) => {
        if (e.type !== "trial" || e.trial.status !== "finished") return;
        if (e.trial.metrics!.valid_acc > bestValid) {
          bestValid = e.trial.metrics!.valid_acc;
          bestTest = e.trial.hidden!.test_acc;
        }
        if (e.progress.done === 25) at25 += bestTest;
      },
    }).run();
    assert.equal(s.trials, 100);
    total += s.best!.hidden.test_acc;
  }
  t.diagnostic(`mean test accuracy: ${(at25 / 10).toFixed(3)} after 25 queries, ${(total / 10).toFixed(3)} after 100`);
  // Random search's exact expectation on this table is 93.40 after 25 queries and 93.78 after 100.
  assert.ok(total / 10 > 93.9, `mean test accuracy after 100 queries ${total / 10}`);
  assert.ok(at25 / 10 > 93.45, `mean test accuracy after 25 queries ${at25 / 10}`);
});

test("rl_controller: same seed, same search; a stopped and resumed search equals the uninterrupted one", { skip, timeout: 120_000 }, async () => {
  const whole = new SqliteStore(":memory:");
  await rlExperiment("rl", 4, 40, whole).run();
  const again = new SqliteStore(":memory:");
  await rlExperiment("rl", 4, 40, again).run();
  assert.deepEqual(await trialDigest(again, "rl"), await trialDigest(whole, "rl"));
  const other = new SqliteStore(":memory:");
  await rlExperiment("rl", 5, 40, other).run();
  assert.notDeepEqual(await trialDigest(other, "rl"), await trialDigest(whole, "rl"));

  // Stops in the middle of a REINFORCE batch and right after an update; every resume is a new strategy object.
  const parts = new SqliteStore(":memory:");
  for (const upTo of [3, 10, 17, 40]) assert.equal((await rlExperiment("rl", 4, upTo, parts).run()).trials, upTo);
  assert.deepEqual(await trialDigest(parts, "rl"), await trialDigest(whole, "rl"));
  const state = (await parts.loadSearchState(1)) as { strategy: { updates: number; params: Record<string, string>; adam: { t: number } } };
  assert.deepEqual(state, await whole.loadSearchState(1));
  assert.equal(state.strategy.updates, 8);
  assert.equal(state.strategy.adam.t, 8);
});

test("rl_controller: a batch avoids in-flight and tried architectures; failed trials get a low reward and the search goes on", { skip, timeout: 60_000 }, async () => {
  const store = new SqliteStore(":memory:");
  const evaluator = new FunctionEvaluator("flaky", (spec) => {
    if (spec.number % 4 === 3) throw new Error("diverged");
    return cifar10.run(spec, { report: () => "continue", signal: new AbortController().signal });
  });
  const s = await rlExperiment("rl", 1, 60, store, { evaluator, budget: { trials: 60, concurrency: 4 } }).run();
  assert.equal(s.trials, 60);
  assert.equal(s.failed, 15);
  const trials = await store.getTrials(1);
  assert.equal(new Set(trials.map((t) => t.archHash)).size, 60, "no architecture suggested twice");
  const state = (await store.loadSearchState(1)) as { strategy: { updates: number; baseline: number } };
  assert.equal(state.strategy.updates, 12);
  assert.ok(Number.isFinite(state.strategy.baseline));
});

test("rl_controller: policy reuse loads exactly the saved weights of an earlier search; bad sources are clear errors", { skip, timeout: 60_000 }, async () => {
  const store = new SqliteStore(":memory:");
  await rlExperiment("c10", 0, 50, store).run();
  const source = (await store.loadSearchState(1)) as { strategy: { params: Record<string, string> } };

  // Captures the state the strategy holds right after prepare, before its first update.
  const reuse = new RlController({ space, objectives, seed: 9 }, options({ policy_from: "c10" }));
  const fresh = new RlController({ space, objectives, seed: 9 }, options());
  let afterPrepare: Json | undefined;
  const ask = reuse.ask.bind(reuse);
  reuse.ask = (n, ctx) => {
    afterPrepare ??= reuse.state();
    return ask(n, ctx);
  };
  const exp = new Experiment({ name: "c100", seed: 9, space, strategy: reuse, scheduler: new FifoScheduler({ fidelity: cifar100.fidelity, seed: 9 }), evaluator: cifar100, objectives, store, budget: { trials: 12 } });
  await exp.run();
  const loaded = afterPrepare as { params: Record<string, string>; reused: string; updates: number; stats: { n: number } };
  assert.deepEqual(loaded.params, source.strategy.params, "weights loaded equal weights saved");
  assert.notDeepEqual((fresh.state() as { params: unknown }).params, source.strategy.params);
  assert.equal(loaded.reused, "c10");
  assert.equal(loaded.updates, 0);
  assert.equal(loaded.stats.n, 0);
  // The reused policy is what the search starts from: its first choices lean the way the source learnt.
  const c100 = await store.getTrials(2);
  assert.equal(c100.length, 12);

  // Resume of the reusing search restores its own state, not the source's again.
  const resumed = await new Experiment({ name: "c100", seed: 9, space, strategy: new RlController({ space, objectives, seed: 9 }, options({ policy_from: "c10" })), scheduler: new FifoScheduler({ fidelity: cifar100.fidelity, seed: 9 }), evaluator: cifar100, objectives, store, budget: { trials: 20 } }).run();
  assert.equal(resumed.trials, 20);

  const run = (name: string, opts: Record<string, unknown>) =>
    new Experiment({ name, seed: 1, space, strategy: new RlController({ space, objectives, seed: 1 }, options(opts)), scheduler: new FifoScheduler({ fidelity: cifar100.fidelity, seed: 1 }), evaluator: cifar100, objectives, store, budget: { trials: 2 } }).run();
  await assert.rejects(run("x1", { policy_from: "nope" }), (e: Error) => e instanceof UserError && /^strategy.policy_from: No experiment "nope" in the store to start from \(it holds: c10, c100\)/.test(e.message));
  await assert.rejects(run("x2", { policy_from: "c10", hidden_size: 16 }), /policy of "c10" does not fit this search .*hidden size 32; this one 5\/5\/5\/5\/5\/5 and 16/);
  const rea = createExperiment(buildParts({ name: "by-rea", space: { name: "nb201" }, strategy: { name: "rea" }, evaluator: { name: "nb201" }, budget: { trials: 3 } }), { store });
  await rea.experiment.run();
  await assert.rejects(run("x3", { policy_from: "by-rea" }), /experiment "by-rea" was not searched by rl_controller/);
});

test("rl_controller: int and float decisions are binned; conditional decisions are handled (declarative + hyperparameter space)", { skip, timeout: 60_000 }, async () => {
  const parts = buildParts({
    name: "joint-rl",
    seed: 2,
    space: {
      name: "declarative",
      params: [
        { name: "stem", type: "categorical", choices: [16, 32, 64] },
        { name: "depth", type: "int", low: 1, high: 40 },
        { name: "kind", type: "categorical", choices: ["conv", "mbconv"] },
        { name: "expand", type: "int", low: 1, high: 6, when: { param: "kind", in: ["mbconv"] } },
      ],
      hyperparameters: [{ name: "lr", type: "float", low: 0.0001, high: 0.3, log: true }],
    },
    strategy: { name: "rl_controller", bins: 6, batch_size: 4 },
    evaluator: { name: "module", path: "examples/toy-evaluator.mjs" }, // replaced below by a function evaluator; the config check wants a real module
    objectives: [{ metric: "score", direction: "max" }],
    budget: { trials: 40 },
  });
  // A smooth toy objective: best at depth 20, stem 64, mbconv with expand 6, lr near 0.01.
  const evaluator = new FunctionEvaluator("toy", (spec) => {
    const a = spec.arch as { stem: number; depth: number; kind: string; expand?: number };
    const lr = (spec.hp as { lr: number }).lr;
    const score = -Math.abs(a.depth - 20) / 20 + a.stem / 64 + (a.kind === "mbconv" ? (a.expand ?? 0) / 6 : 0) - Math.abs(Math.log10(lr) + 2);
    return { score };
  });
  const store = new SqliteStore(":memory:");
  const s = await createExperiment({ ...parts, evaluator }, { store }).experiment.run();
  assert.equal(s.trials, 40);
  const trials = await store.getTrials(1);
  // Bin centres in log space; only the uniform fallback (after repeated duplicates) leaves the grid.
  const grid = Array.from({ length: 6 }, (_, i) => Math.exp(Math.log(0.0001) + ((i + 0.5) / 6) * (Math.log(0.3) - Math.log(0.0001))));
  const onGrid = trials.filter((t) => grid.some((g) => Math.abs(g - (t.hp as { lr: number }).lr) < 1e-12)).length;
  assert.ok(onGrid >= 25, `float values come from 6 bins: ${onGrid} of 40 on the grid`);
  for (const t of trials) {
    const a = t.arch as { depth: number; kind: string; expand?: number };
    assert.ok(Number.isInteger(a.depth) && a.depth >= 1 && a.depth <= 40);
    assert.equal(a.expand === undefined, a.kind !== "mbconv");
  }
  const firstHalf = trials.slice(0, 20).reduce((x, t) => x + t.metrics!.score, 0) / 20;
  const secondHalf = trials.slice(20).reduce((x, t) => x + t.metrics!.score, 0) / 20;
  assert.ok(secondHalf > firstHalf, `the policy improves: ${firstHalf} -> ${secondHalf}`);
});

test("rl_controller: reusing the CIFAR-10 policy speeds up a CIFAR-100 search (8 seeds, same seeds cold and reused)", { skip, timeout: 300_000 }, async (t) => {
  // Test accuracy of the best-by-validation cell after `at` queries, per checkpoint.
  const curve = async (store: Store, name: string, seed: number, trials: number, evaluator: Nb201Simulator, opts: Record<string, unknown>, at: number[]) => {
    const out: number[] = [];
    let bestValid = -Infinity;
    let bestTest = 0;
    await rlExperiment(name, seed, trials, store, {
      evaluator,
      opts,
      onEvent: (e) => {
        if (e.type !== "trial" || e.trial.status !== "finished") return;
        if (e.trial.metrics!.valid_acc > bestValid) {
          bestValid = e.trial.metrics!.valid_acc;
          bestTest = e.trial.hidden!.test_acc;
        }
        if (at.includes(e.progress.done)) out.push(bestTest);
      },
    }).run();
    return out;
  };
  const seeds = 8;
  let cold25 = 0;
  let cold50 = 0;
  let reused25 = 0;
  let wins = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const store = new SqliteStore(":memory:");
    await rlExperiment("c10", seed + 1000, 100, store).run();
    const [c25, c50] = await curve(store, "cold", seed, 50, cifar100, {}, [25, 50]);
    const [r25] = await curve(store, "reused", seed, 25, cifar100, { policy_from: "c10" }, [25]);
    cold25 += c25 / seeds;
    cold50 += c50 / seeds;
    reused25 += r25 / seeds;
    if (r25 > c25) wins++;
  }
  t.diagnostic(`CIFAR-100 after 25 queries: reused ${reused25.toFixed(3)}, cold ${cold25.toFixed(3)} (cold after 50: ${cold50.toFixed(3)}); reused better on ${wins}/${seeds} seeds`);
  // Bench (20 seeds): +1.4 +- 0.25 points after 25 queries; here the margin asked is well below that.
  assert.ok(reused25 > cold25 + 0.5, `after 25 queries: reused ${reused25.toFixed(3)}, cold ${cold25.toFixed(3)}`);
  assert.ok(reused25 > cold50, `reused after 25 queries (${reused25.toFixed(3)}) beats cold after 50 (${cold50.toFixed(3)})`);
  assert.ok(wins >= 5, `reused better on ${wins} of ${seeds} seeds`);
});
