import { test } from "node:test";
import assert from "node:assert/strict";
import type { Json } from "../src/core/json.js";
import { Rng } from "../src/core/rng.js";
import { pointHash } from "../src/core/space.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { DeclarativeSpace, categorical } from "../src/spaces/dsl.js";
import { firstFresh, freshOrFallback, retryWhileTaken, samePoint, Taken } from "../src/strategies/kit/fresh.js";
import { bestPoints, candidatePool } from "../src/strategies/kit/pool.js";
import { trainingSet } from "../src/strategies/kit/training.js";
import { keepBestAndRecent } from "../src/strategies/kit/observations.js";
import { stateCodec, member, rngState } from "../src/strategies/kit/state.js";
import { z } from "zod";

const space = new Nb201Space();
const A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
// The same function as B (the second node is cut off: its edges do not matter), but another string.
const B = "|none~0|+|nor_conv_1x1~0|none~1|+|nor_conv_3x3~0|none~1|none~2|";
const B2 = "|none~0|+|avg_pool_3x3~0|none~1|+|nor_conv_3x3~0|none~1|none~2|";

test("kit: Taken compares points by pointHash: pending, taken into the batch, or tried", () => {
  assert.equal(pointHash(space, B), pointHash(space, B2), "fixture: B and B2 are equivalent");
  assert.notEqual(B, B2);
  const tried = new Set([pointHash(space, A)]);
  const taken = new Taken(space, { pending: [B], seen: (p) => tried.has(pointHash(space, p)) });
  assert.ok(taken.has(A), "tried");
  assert.ok(taken.has(B2), "an equivalent of a pending point");
  assert.ok(taken.holds(pointHash(space, B)));
  assert.ok(!taken.holds(pointHash(space, A)), "holds() does not ask the history");
  const rng = new Rng(1);
  const c = space.sample(rng);
  assert.ok(!taken.has(c));
  taken.add(c);
  assert.ok(taken.has(c));
});

test("kit: firstFresh tries at most `tries` proposals; retryWhileTaken keeps the last when all are taken", () => {
  const taken = new Taken(space, { pending: [A, B], seen: () => false });
  let calls = 0;
  assert.equal(firstFresh(taken, 3, () => (calls++, A)), undefined);
  assert.equal(calls, 3);
  const fresh = firstFresh(taken, 3, () => (calls++ % 2 ? B2 : "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"));
  assert.deepEqual(fresh?.key, pointHash(space, fresh!.point));
  const retries: number[] = [];
  assert.equal(
    retryWhileTaken(taken, A, 4, (r) => (retries.push(r), B2)),
    B2,
  );
  assert.deepEqual(retries, [1, 2, 3, 4]);
  assert.equal(retryWhileTaken(taken, fresh!.point, 4, () => assert.fail("not called for a fresh first point")), fresh!.point);
});

test("kit: freshOrFallback falls back to neighbour search for the last untried points, then says the space is exhausted", () => {
  const tiny = new DeclarativeSpace("tiny", [categorical("x", ["a", "b", "c"]), categorical("y", [1, 2])]);
  const rng = new Rng(3);
  const tried = new Set(["a,1", "a,2", "b,1", "b,2", "c,1"].map((k) => pointHash(tiny, { x: k.split(",")[0], y: Number(k.split(",")[1]) })));
  const seen = (p: Json) => tried.has(pointHash(tiny, p));
  // Proposals that keep repeating a tried point: random draws, then the neighbours of the anchor find the last one.
  const found = freshOrFallback(new Taken(tiny, { pending: [], seen }), rng, 3, () => ({ x: "a", y: 1 }), [{ x: "a", y: 1 }]);
  assert.deepEqual(found, { point: { x: "c", y: 2 }, repeat: false });
  tried.add(pointHash(tiny, { x: "c", y: 2 }));
  assert.deepEqual(freshOrFallback(new Taken(tiny, { pending: [], seen }), rng, 3, () => ({ x: "a", y: 1 }), [{ x: "a", y: 1 }]), { repeat: false });
});

test("kit: the candidate pool mutates the best finite points, adds random samples, and skips taken or repeated ones", () => {
  const obs = [
    { point: A, score: 90 },
    { point: B, score: -Infinity },
    { point: B2, score: 95 },
  ];
  assert.deepEqual(bestPoints(obs, 5), [B2, A]);
  const taken = new Taken(space, { pending: [A], seen: () => false });
  const pool = candidatePool(taken, new Rng(2), obs, { total: 60, topK: 2, mutationSteps: 1, randomFraction: 0, parent: "cycle" });
  const keys = pool.map((c) => c.key);
  assert.equal(new Set(keys).size, keys.length, "distinct");
  assert.ok(!keys.includes(pointHash(space, A)), "a pending point is never a candidate");
  assert.ok(pool.every((c) => c.key === pointHash(space, c.point)));
  // With no random share, every candidate is one mutation of a parent (B2 or A): one edge differs.
  const edges = (p: string) => p.split("|").filter((e) => e.includes("~"));
  const oneOff = (p: string, q: string) => edges(p).filter((e, i) => e !== edges(q)[i]).length === 1;
  assert.ok(pool.length >= 10, `${pool.length} candidates`);
  assert.ok(pool.every((c) => oneOff(c.point as string, A) || oneOff(c.point as string, B2)));
  assert.ok(pool.some((c) => oneOff(c.point as string, A)) && pool.some((c) => oneOff(c.point as string, B2)), "both parents, in turn");
  // With no finite score there is no parent: every candidate is a random sample, whatever random_fraction says
  // (equivalent draws are dropped, and many NB201 draws are the empty cell).
  const random = candidatePool(new Taken(space, { pending: [], seen: () => false }), new Rng(2), [{ point: B, score: -Infinity }], { total: 10, topK: 2, mutationSteps: 1, randomFraction: 0, parent: "random" });
  assert.ok(random.length >= 5, `${random.length} random candidates`);
  assert.equal(new Set(random.map((c) => c.key)).size, random.length);
});

test("kit: the training set counts failures as the worst finite score, or drops them; empty without a finite score", () => {
  const obs = [
    { point: "a", score: 3 },
    { point: "b", score: -Infinity },
    { point: "c", score: 1 },
  ];
  assert.deepEqual(trainingSet(obs, "worst"), [
    { point: "a", value: 3 },
    { point: "b", value: 1 },
    { point: "c", value: 1 },
  ]);
  assert.deepEqual(trainingSet(obs, "drop"), [
    { point: "a", value: 3 },
    { point: "c", value: 1 },
  ]);
  assert.deepEqual(trainingSet([{ point: "b", score: -Infinity }], "worst"), []);
});

test("kit: keepBestAndRecent applied as results arrive equals applying it once to all of them (so a pruned list can be rebuilt from the history)", () => {
  const rng = new Rng(7);
  for (const max of [4, 5, 12]) {
    for (let run = 0; run < 20; run++) {
      // Scores with ties and failures.
      const all = Array.from({ length: 60 }, (_, i) => ({ i, score: rng.bool(0.15) ? -Infinity : rng.int(6) }));
      let kept: typeof all = [];
      let prunedAt = 0;
      for (let n = 1; n <= all.length; n++) {
        kept.push(all[n - 1]);
        if (rng.bool(0.3)) {
          kept = keepBestAndRecent(kept, max);
          prunedAt = n;
        }
      }
      const rebuilt = [...keepBestAndRecent(all.slice(0, prunedAt), max), ...all.slice(prunedAt)];
      assert.deepEqual(kept, rebuilt, `max ${max}, run ${run}`);
    }
  }
});

test("kit: samePoint is value equality whatever the key order, and not equivalence", () => {
  assert.ok(samePoint({ a: 1, b: [2, { c: 3, d: 4 }] }, { b: [2, { d: 4, c: 3 }], a: 1 }));
  assert.ok(!samePoint(B, B2));
  assert.ok(samePoint(A, A));
});

test("kit: a state codec keeps non-finite scores, reads earlier releases' nulls, and names the strategy when a state does not fit", () => {
  const codec = stateCodec(z.object({ rng: rngState, best: member.nullable() }));
  const saved = JSON.parse(JSON.stringify(codec.save({ rng: [1, 2, 3, 4], best: { point: A, score: -Infinity } })));
  assert.deepEqual(codec.load(saved, "x"), { rng: [1, 2, 3, 4], best: { point: A, score: -Infinity } });
  assert.deepEqual(codec.load({ rng: [1, 2, 3, 4], best: { point: A, score: null } }, "x"), { rng: [1, 2, 3, 4], best: { point: A, score: -Infinity } });
  assert.throws(() => codec.load({ rng: [1, 2], best: null }, "my_strategy"), /strategy "my_strategy": the saved search state does not fit this strategy \(rng/);
});
