import { test } from "node:test";
import assert from "node:assert/strict";
import type { Json } from "../src/core/json.js";
import { pointHash } from "../src/core/space.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { loadNb201 } from "../src/benchmarks/nb201.js";
import { Objectives } from "../src/core/objectives.js";
import { registry } from "../src/registry.js";
import { check } from "../src/config/validate.js";
import type { Strategy, TrialOutcome } from "../src/core/strategy.js";
import { engineAvailable } from "../src/engine/native.js";

// In CI the engine must be there (ARCHSEARCH_REQUIRE_ENGINE=1): these tests fail rather than skip.
const skip = engineAvailable() || process.env.ARCHSEARCH_REQUIRE_ENGINE === "1" ? false : "libtorch binding not built";
const space = new Nb201Space();
const objectives = new Objectives([{ metric: "valid_acc", direction: "max" }]);
const table = loadNb201();
const valid = table.column("c10v_valid_acc");
const score = (p: Json) => valid[table.indexOf.get(p as string)!];

function make(seed: number, options: Record<string, unknown> = {}): Strategy {
  const c = registry.strategies.bananas;
  const opts = check(c.options, options);
  assert.ok(opts.value, JSON.stringify(opts.problems));
  return c.create(opts.value, { space, objectives, seed });
}

/** A sequential search loop over the table (one point per ask); returns the points in order. */
async function run(s: Strategy, queries: number, seen = new Set<string>(), asked: Json[] = [], snapshotAt?: number, onSnapshot?: (state: Json) => void) {
  while (asked.length < queries) {
    if (snapshotAt !== undefined && asked.length === snapshotAt) onSnapshot!(JSON.parse(JSON.stringify(s.state())));
    const [p] = await s.ask(1, { pending: [], seen: (q) => seen.has(pointHash(space, q)) });
    seen.add(pointHash(space, p));
    asked.push(p);
    s.tell(outcomeOf(p, asked.length - 1));
  }
  return asked;
}

/** What the loop tells of the n-th point (and what a restore gets back as history). */
function outcomeOf(p: Json, n: number): TrialOutcome {
  return { number: n, point: p, status: "finished", metrics: { valid_acc: score(p) }, score: score(p) };
}

test("bananas finds a top NB201 architecture within 40 queries", { skip }, async () => {
  const points = await run(make(0), 40);
  const best = Math.max(...points.map(score));
  const sorted = Float64Array.from(valid).sort().reverse();
  const rank = sorted.findIndex((v) => v <= best);
  assert.ok(rank < 0.005 * sorted.length, `best valid ${best} ranks ${rank} of ${sorted.length}`);
  assert.equal(new Set(points.map((p) => pointHash(space, p))).size, points.length, "no architecture asked twice");
});

test("bananas is deterministic and resumes exactly from its state", { skip }, async () => {
  const options = { initial_samples: 5, predictor_options: { epochs: 15 }, ensemble: 3 };
  const a = await run(make(4, options), 16);
  let snapshot: Json = null;
  const b = await run(make(4, options), 16, new Set(), [], 10, (s) => (snapshot = s));
  assert.deepEqual(b, a);
  // Resume from the snapshot taken after 10 points in a fresh strategy.
  const resumed = make(4, options);
  resumed.restore(snapshot, { outcomes: a.slice(0, 10).map(outcomeOf) });
  const seen = new Set(a.slice(0, 10).map((p) => pointHash(space, p)));
  const c = await run(resumed, 16, seen, a.slice(0, 10));
  assert.deepEqual(c, a);
});

test("bananas batches avoid pending and seen points; options are checked", { skip }, async () => {
  const s = make(1, { initial_samples: 4, predictor_options: { epochs: 10 }, ensemble: 2 });
  const seen = new Set<string>();
  const told: Json[] = [];
  for (const p of await s.ask(4, { pending: [], seen: () => false })) {
    seen.add(pointHash(space, p));
    told.push(p);
    s.tell({ number: told.length - 1, point: p, status: "finished", metrics: { valid_acc: score(p) }, score: score(p) });
  }
  // One trial failed: the model learns it as the worst score.
  const pending = await s.ask(2, { pending: [], seen: (q) => seen.has(pointHash(space, q)) });
  s.tell({ number: 4, point: pending[0], status: "failed", metrics: {}, score: -Infinity });
  seen.add(pointHash(space, pending[0]));
  const batch = await s.ask(5, { pending: [pending[1]], seen: (q) => seen.has(pointHash(space, q)) });
  assert.equal(batch.length, 5);
  const keys = batch.map((p) => pointHash(space, p));
  assert.equal(new Set(keys).size, 5);
  for (const k of keys) assert.ok(!seen.has(k) && k !== pointHash(space, pending[1]));

  const c = registry.strategies.bananas;
  assert.throws(() => c.create(check(c.options, { predictor: "nope" }).value, { space, objectives, seed: 0 }), /unknown predictor "nope"/);
  assert.throws(() => c.create(check(c.options, { predictor_options: { hiden: 2 } }).value, { space, objectives, seed: 0 }), /unknown key "hiden"/);
});
