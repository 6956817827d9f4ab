import { test } from "node:test";
import assert from "node:assert/strict";
import { Experiment } from "../src/core/experiment.js";
import { UserError } from "../src/core/errors.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { GpBo, gpBo, type GpBoOptions } from "../src/strategies/gp-bo.js";
import { DeclarativeSpace, categorical } from "../src/spaces/dsl.js";
import { objectives, simulator, space, trialDigest } from "./helpers.js";

const proxyOpts = (extra: Record<string, unknown> = {}) => gpBo.options.parse({ features: ["params", "flops", "naswot"], ...extra }) as GpBoOptions;

function run(seed: number, trials: number, opts: GpBoOptions, store = new SqliteStore(":memory:")) {
  return new Experiment({
    name: "nb201-proxybo",
    seed,
    space,
    strategy: new GpBo({ space, objectives, seed }, opts),
    scheduler: new FifoScheduler({ fidelity: simulator.fidelity, seed }),
    evaluator: simulator,
    objectives,
    store,
    budget: { trials },
  });
}

test("gp_bo with ProxyBO features: deterministic per seed, and different from plain gp_bo", async () => {
  const digests = [];
  for (const opts of [proxyOpts(), proxyOpts(), gpBo.options.parse({}) as GpBoOptions]) {
    const store = new SqliteStore(":memory:");
    await run(2, 25, opts, store).run();
    digests.push(await trialDigest(store, "nb201-proxybo"));
  }
  assert.deepEqual(digests[0], digests[1]);
  assert.notDeepEqual(digests[0], digests[2]);
});

test("gp_bo with ProxyBO features finds good cells with few queries (3 seeds x 30 queries)", async () => {
  let total = 0;
  for (let seed = 0; seed < 3; seed++) total += (await run(seed, 30, proxyOpts()).run()).best!.hidden.test_acc;
  // random search averages about 93.5 at 30 queries
  assert.ok(total / 3 > 93.8, `mean best test accuracy ${total / 3}`);
});

test("gp_bo features are validated and need the nb201 space", () => {
  assert.equal((gpBo.options.parse({}) as GpBoOptions).features.length, 0);
  assert.equal(gpBo.options.safeParse({ features: ["latency"] }).success, false);
  const dsl = new DeclarativeSpace("toy", [categorical("a", ["x", "y", "z"]), categorical("b", ["u", "v"])]);
  assert.throws(() => new GpBo({ space: dsl, objectives, seed: 0 }, proxyOpts({ kernel: "hamming" })), (e: Error) => e instanceof UserError && /nb201/.test(e.message));
});
