import { test } from "node:test";
import assert from "node:assert/strict";
import { Experiment, type ExperimentOptions } from "../src/core/experiment.js";
import type { Json, JsonObject } from "../src/core/json.js";
import { Rng } from "../src/core/rng.js";
import { pointHash, type SearchSpace } from "../src/core/space.js";
import type { Store } from "../src/core/store.js";
import type { Strategy } from "../src/core/strategy.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { FunctionEvaluator } from "../src/evaluators/function.js";
import { DeclarativeSpace, categorical, cell, float, int, when } from "../src/spaces/dsl.js";
import { loadNb201, NB201_COLUMNS } from "../src/benchmarks/nb201.js";
import type { StrategyComponent } from "../src/strategies/component.js";
import { LocalSearch, localSearch } from "../src/strategies/local-search.js";
import { SimulatedAnnealing, simulatedAnnealing } from "../src/strategies/simulated-annealing.js";
import { AdaptiveEvolution, adaptiveEvolution } from "../src/strategies/adaptive-evolution.js";
import { nb201Experiment, objectives, simulator, space, trialDigest } from "./helpers.js";

const NAMES = ["local_search", "simulated_annealing", "adaptive_evolution"] as const;
type Name = (typeof NAMES)[number];
const COMPONENTS: Record<Name, StrategyComponent<any>> = { local_search: localSearch, simulated_annealing: simulatedAnnealing, adaptive_evolution: adaptiveEvolution };

function makeStrategy(name: Name, seed: number, on: SearchSpace = space, options: JsonObject = {}): Strategy {
  const c = COMPONENTS[name];
  return c.create(c.options.parse(options), { space: on, objectives, seed });
}

function experiment(name: Name, seed: number, trials: number, store: Store = new SqliteStore(":memory:"), extra: Partial<ExperimentOptions> = {}) {
  return new Experiment({
    name: `nb201-${name}`,
    seed,
    space,
    strategy: makeStrategy(name, seed),
    scheduler: new FifoScheduler({ fidelity: simulator.fidelity, seed }),
    evaluator: simulator,
    objectives,
    store,
    budget: { trials },
    ...extra,
  });
}

const table = loadNb201();
const validCol = table.column(NB201_COLUMNS.cifar10.valid);

/**
 * Validation error from the table, negated (all scores below 0, so a failure's -Infinity that came
 * back from JSON as null, which compares like 0, would wrongly beat them); one point in eight fails.
 */
function syntheticScore(point: Json): number {
  const i = table.indexOf.get(point as string)!;
  return i % 8 === 3 ? -Infinity : validCol[i] - 100;
}

/**
 * Drives a strategy without the experiment loop: 4 trials in flight, results told in a seeded
 * random order, some failed. With `reload`, the strategy is replaced after every ask and every
 * tell by a new instance (on another seed) restored from its JSON-serialised state.
 */
function drive(name: Name, seed: number, steps: number, reload: boolean): Json[] {
  let s = makeStrategy(name, seed);
  const roundTrip = () => {
    if (!reload) return;
    const saved = JSON.parse(JSON.stringify(s.state())) as Json;
    s = makeStrategy(name, seed + 1000);
    s.restore(saved);
  };
  const order = new Rng(99);
  const pending: Json[] = [];
  const seen = new Set<string>();
  const asked: Json[] = [];
  while (asked.length < steps) {
    const points = s.ask(4 - pending.length, { pending: [...pending], seen: (p) => seen.has(pointHash(space, p)) }) as Json[];
    roundTrip();
    assert.ok(points.length > 0, "a strategy must always have a suggestion on NB201");
    for (const p of points) {
      seen.add(pointHash(space, p));
      pending.push(p);
      asked.push(p);
    }
    const [p] = pending.splice(order.int(pending.length), 1);
    const score = syntheticScore(p);
    s.tell({ number: asked.length, point: p, status: score === -Infinity ? "failed" : "finished", metrics: score === -Infinity ? {} : { valid_acc: score }, score });
    roundTrip();
  }
  return asked;
}

for (const name of NAMES) {
  test(`${name}: same seed gives the same search, another seed another`, async () => {
    const runs = [];
    for (const seed of [5, 5, 6]) {
      const store = new SqliteStore(":memory:");
      const summary = await experiment(name, seed, 60, store).run();
      assert.equal(summary.trials, 60);
      assert.ok(summary.complete);
      runs.push(await trialDigest(store, `nb201-${name}`));
    }
    assert.deepEqual(runs[0], runs[1]);
    assert.notDeepEqual(runs[0], runs[2]);
  });

  test(`${name}: resuming a stopped experiment repeats the uninterrupted search exactly`, async () => {
    const whole = new SqliteStore(":memory:");
    await experiment(name, 11, 80, whole).run();
    const parts = new SqliteStore(":memory:");
    for (const upTo of [7, 23, 80]) {
      const s = await experiment(name, 11, upTo, parts).run();
      assert.equal(s.trials, upTo);
    }
    assert.deepEqual(await trialDigest(parts, `nb201-${name}`), await trialDigest(whole, `nb201-${name}`));
  });

  test(`${name}: state restored after every ask and tell continues exactly (out of order, failures)`, () => {
    const a = drive(name, 3, 120, false);
    const b = drive(name, 3, 120, true);
    assert.deepEqual(b, a);
    assert.equal(new Set(a.map((p) => pointHash(space, p))).size, a.length, "no architecture suggested twice");
  });

  test(`${name}: state stays small (bounded by population or neighbourhood, not by trials)`, () => {
    const s = makeStrategy(name, 1);
    let done = 0;
    const seen = new Set<string>();
    const sizes: number[] = [];
    while (done < 400) {
      for (const p of s.ask(1, { pending: [], seen: (q) => seen.has(pointHash(space, q)) }) as Json[]) {
        seen.add(pointHash(space, p));
        const score = syntheticScore(p);
        s.tell({ number: done++, point: p, status: "finished", metrics: {}, score });
      }
      if (done % 100 === 0) sizes.push(JSON.stringify(s.state()).length);
    }
    assert.ok(Math.max(...sizes) < 8_000, `state sizes ${sizes}`);
  });

  test(`${name}: parallel trials with results out of order: exact budget, no architecture twice`, async () => {
    const store = new SqliteStore(":memory:");
    const rng = new Rng(0);
    const delays = Array.from({ length: 48 }, () => rng.int(6));
    const evaluator = new FunctionEvaluator("slow", async (spec, ctx) => {
      await new Promise((r) => setTimeout(r, delays[spec.number]));
      return simulator.run(spec, ctx);
    });
    const summary = await experiment(name, 2, 48, store, { evaluator, budget: { trials: 48, concurrency: 4 } }).run();
    const trials = await store.getTrials(1);
    assert.equal(summary.trials, 48);
    assert.ok(summary.complete);
    assert.deepEqual(trials.map((t) => t.number), Array.from({ length: 48 }, (_, i) => i));
    assert.equal(new Set(trials.map((t) => t.archHash)).size, 48, "no budget spent on an equivalent architecture");
    const finishOrder = [...trials].sort((a, b) => a.finishedAt! - b.finishedAt! || a.number - b.number).map((t) => t.number);
    assert.notDeepEqual(finishOrder, trials.map((t) => t.number), "some results arrived out of order");
  });

  test(`${name}: works on a declarative space with a function objective, and stops when the space is exhausted`, async () => {
    const dsl = new DeclarativeSpace("toy", [
      categorical("act", ["relu", "gelu", "tanh"]),
      int("depth", 1, 12),
      float("lr", 1e-4, 1e-1, { log: true }),
      categorical("norm", ["batch", "layer", "none"]),
      float("momentum", 0.5, 0.99, { when: when("norm", "batch") }),
      cell("cell", 3, ["a", "b", "c"]),
    ]);
    const objective = (p: JsonObject): number => {
      const ops = p.cell as string[];
      return (
        10 -
        ((p.depth as number) - 7) ** 2 / 4 -
        (Math.log10(p.lr as number) + 2) ** 2 +
        (p.act === "gelu" ? 1 : 0) +
        (p.norm === "batch" ? 1 - Math.abs((p.momentum as number) - 0.9) : 0) +
        ops.filter((o) => o === "b").length
      );
    };
    const run = async (strategy: Strategy, on: SearchSpace, fn: (p: JsonObject) => number, trials: number) => {
      const store = new SqliteStore(":memory:");
      const summary = await new Experiment({
        name: "toy",
        seed: 4,
        space: on,
        strategy,
        scheduler: new FifoScheduler({ seed: 4 }),
        evaluator: new FunctionEvaluator("toy", (spec) => ({ valid_acc: fn(spec.point as JsonObject) })),
        objectives,
        store,
        budget: { trials },
      }).run();
      return { summary, trials: await store.getTrials(1) };
    };
    const { summary } = await run(makeStrategy(name, 4, dsl), dsl, objective, 80);
    assert.equal(summary.trials, 80);
    assert.ok(summary.complete);
    assert.ok(summary.best!.score > 10, `best ${summary.best!.score}`); // the optimum is 15; a typical random point scores about 4

    // 6 points in all: every one is tried once, then the strategy has nothing left.
    const tiny = new DeclarativeSpace("tiny", [categorical("a", [1, 2, 3]), categorical("b", ["x", "y"])]);
    const small = await run(makeStrategy(name, 4, tiny), tiny, (p) => (p.a as number) + (p.b === "y" ? 1 : 0), 20);
    assert.equal(small.summary.trials, 6);
    assert.ok(small.summary.complete);
    assert.equal(new Set(small.trials.map((t) => t.archHash)).size, 6);
    assert.equal(small.summary.best!.score, 4);
  });
}

test("the three strategies find better architectures than random search (10 seeds x 100 queries, NB201 CIFAR-10)", async () => {
  const mean = async (run: (seed: number) => Promise<number>) => {
    let total = 0;
    for (let seed = 0; seed < 10; seed++) total += await run(seed);
    return total / 10;
  };
  const random = await mean(async (seed) => (await nb201Experiment("random", seed, 100).run()).best!.hidden.test_acc);
  for (const name of NAMES) {
    const m = await mean(async (seed) => (await experiment(name, seed, 100).run()).best!.hidden.test_acc);
    assert.ok(m > random + 0.2, `${name} ${m.toFixed(3)} vs random ${random.toFixed(3)}`);
  }
});

test("local search: after the initial samples it evaluates the neighbours of the best one", async () => {
  const store = new SqliteStore(":memory:");
  await experiment("local_search", 8, 30, store).run();
  const trials = await store.getTrials(1);
  const initial = trials.slice(0, 10);
  const start = initial.reduce((a, b) => (b.metrics!.valid_acc > a.metrics!.valid_acc ? b : a));
  const neighbours = new Set(space.neighbours(start.point as string).map((p) => pointHash(space, p)));
  for (const t of trials.slice(10, 25)) assert.ok(neighbours.has(t.archHash), `trial ${t.number} is not a neighbour of the start`);
});

test("local search: first_improvement moves before the neighbourhood is finished", () => {
  const s = new LocalSearch({ space, objectives, seed: 0 }, { initial_samples: 1, restart_samples: 1, first_improvement: true });
  const seen = new Set<string>();
  const ask = () => {
    const [p] = s.ask(1, { pending: [], seen: (q) => seen.has(pointHash(space, q)) });
    seen.add(pointHash(space, p));
    return p as string;
  };
  const start = ask();
  s.tell({ number: 0, point: start, status: "finished", metrics: {}, score: 1 });
  const first = ask();
  assert.ok(space.neighbours(start).includes(first));
  s.tell({ number: 1, point: first, status: "finished", metrics: {}, score: 2 }); // better: move at once
  const next = ask();
  assert.ok(space.neighbours(first).some((q) => pointHash(space, q) === pointHash(space, next)), "now climbing from the better neighbour");
});

test("simulated annealing: geometric cooling from the initial to the final temperature, then reheats", () => {
  const sa = new SimulatedAnnealing({ space, objectives, seed: 0 }, { initial_samples: 1, initial_temperature: 1, final_temperature: 0.01, expected_trials: 100, restarts: 1, dedupe_tries: 5 });
  const at = (step: number) => {
    sa.restore({ ...(sa.state() as JsonObject), step });
    return sa.temperature();
  };
  assert.equal(at(0), 1);
  assert.ok(Math.abs(at(25) - 0.1) < 1e-12); // halfway through a 50-result cycle
  assert.ok(Math.abs(at(50) - 0.01) < 1e-12);
  assert.throws(() => makeStrategy("simulated_annealing", 0, space, { initial_temperature: 0.1, final_temperature: 1 }), /final_temperature/);
});

test("adaptive evolution: a collapsed population explores at full strength; a fresh one does not", () => {
  const ae = new AdaptiveEvolution({ space, objectives, seed: 0 }, adaptiveEvolution.options.parse({}));
  const p = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
  const base = { rng: [1, 2, 3, 4], initialAsked: 20, best: 90, sinceBest: 0, baseline: 9.6 };
  ae.restore({ ...base, population: Array.from({ length: 20 }, () => ({ point: p, score: 90 })) });
  assert.equal(ae.diversity(), 0);
  assert.equal(ae.exploration(), 1);
  const rng = new Rng(1);
  ae.restore({ ...base, population: Array.from({ length: 20 }, () => ({ point: space.sample(rng), score: 80 })) });
  assert.ok(ae.diversity() > 8);
  assert.equal(ae.exploration(), 0);
});

test("adaptive evolution runs without crossover when the space has none", async () => {
  const bound: SearchSpace = {
    name: "nb201-no-crossover",
    encodingLength: space.encodingLength,
    describe: () => space.describe(),
    sample: (rng) => space.sample(rng),
    canonical: (p) => space.canonical(p as string),
    validate: (v) => space.validate(v),
    mutate: (p, rng) => space.mutate(p as string, rng),
    neighbours: (p) => space.neighbours(p as string),
    encode: (p) => space.encode(p as string),
  };
  const summary = await new Experiment({
    name: "x",
    seed: 1,
    space: bound,
    strategy: makeStrategy("adaptive_evolution", 1, bound),
    scheduler: new FifoScheduler({ fidelity: simulator.fidelity, seed: 1 }),
    evaluator: simulator,
    objectives,
    store: new SqliteStore(":memory:"),
    budget: { trials: 60 },
  }).run();
  assert.equal(summary.trials, 60);
  assert.ok(summary.best!.metrics.valid_acc > 88);
});
