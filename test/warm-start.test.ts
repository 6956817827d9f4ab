import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildParts, createExperiment, loadParts } from "../src/config/build.js";
import { ConfigError, UserError } from "../src/core/errors.js";
import type { Json } from "../src/core/json.js";
import { Rng } from "../src/core/rng.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { registry } from "../src/registry.js";
import { supports } from "../src/core/space.js";
import { engineAvailable } from "../src/engine/native.js";
import { nb201Experiment, space, trialDigest } from "./helpers.js";

/** Ten distinct NB201 cells (distinct canonical forms). */
function someCells(seed: number, n = 10): string[] {
  const rng = new Rng(seed);
  const out: string[] = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const p = space.sample(rng);
    const key = JSON.stringify(space.canonical(p));
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  }
  return out;
}

const base = (extra: Record<string, unknown> = {}) => ({
  name: "warm",
  seed: 1,
  storage: ":memory:",
  space: { name: "nb201" },
  strategy: { name: "rea", population_size: 10, sample_size: 3 },
  evaluator: { name: "nb201", dataset: "cifar100" },
  budget: { trials: 20 },
  ...extra,
});

test("warm_start.points: the first trials are the given points, in order, then the strategy's", async () => {
  const points = someCells(7, 6);
  const store = new SqliteStore(":memory:");
  const parts = buildParts(base({ warm_start: { points } }));
  const s = await createExperiment(parts, { store }).experiment.run();
  assert.equal(s.trials, 20);
  const trials = await store.getTrials(1);
  assert.deepEqual(trials.slice(0, 6).map((t) => t.point), points);
  assert.ok(trials.slice(0, 6).every((t) => t.status === "finished" && t.cachedFrom === null));
  // The strategy saw their results: REA's population holds them.
  const state = (await store.loadSearchState(1)) as { warm: Json[]; strategy: { population: { point: Json }[] } };
  assert.deepEqual(state.warm, []);
  const withoutWarm = new SqliteStore(":memory:");
  await createExperiment(buildParts(base()), { store: withoutWarm }).experiment.run();
  assert.notDeepEqual((await withoutWarm.getTrials(1)).slice(0, 6).map((t) => t.point), points);
});

test("warm_start.experiments: the top_k best distinct architectures of an earlier experiment in the same SQLite store", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-warm-"));
  try {
    const db = join(dir, "w.db");
    const first = new SqliteStore(db);
    await nb201Experiment("rea", 3, 60, first).run(); // "nb201-rea", CIFAR-10
    const earlier = (await first.getTrials(1)).filter((t) => t.status === "finished");
    await first.close();
    const expected: Json[] = [];
    const hashes = new Set<string>();
    for (const t of [...earlier].sort((a, b) => b.metrics!.valid_acc - a.metrics!.valid_acc || a.number - b.number)) {
      if (expected.length === 5) break;
      if (!hashes.has(t.archHash)) {
        hashes.add(t.archHash);
        expected.push(t.point);
      }
    }

    const given = someCells(99, 2);
    const store = new SqliteStore(db);
    const parts = buildParts(base({ storage: db, warm_start: { points: given, experiments: ["nb201-rea"], top_k: 5 } }));
    await createExperiment(parts, { store }).experiment.run();
    const exp = await store.getExperiment("warm");
    const trials = await store.getTrials(exp!.id);
    assert.deepEqual(trials.slice(0, 7).map((t) => t.point), [...given, ...expected]);
    assert.equal(trials.length, 20);
    await store.close();

    // An unknown experiment is a clear error naming what the store holds.
    const again = new SqliteStore(db);
    await assert.rejects(
      createExperiment(buildParts(base({ name: "warm2", storage: db, warm_start: { experiments: ["nb201-reaa"] } })), { store: again }).experiment.run(),
      (e: Error) => e instanceof UserError && /^warm_start.experiments: No experiment "nb201-reaa" in the store to start from \(it holds: nb201-rea, warm\)/.test(e.message),
    );
    // The failed start left nothing behind: the corrected config runs under the same name.
    const fixed = await createExperiment(buildParts(base({ name: "warm2", storage: db, warm_start: { experiments: ["nb201-rea"], top_k: 2 } })), { store: again }).experiment.run();
    assert.equal(fixed.trials, 20);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("warm_start config: a bad point, a bad file and a typo are clear config errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-warm-"));
  try {
    const good = someCells(1, 1)[0];
    const problems = (raw: unknown, file?: string) => {
      try {
        if (file) loadParts(file);
        else buildParts(raw);
      } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems.map((p) => `${p.path}: ${p.message}`);
      }
      assert.fail("accepted");
    };
    const p1 = problems(base({ warm_start: { points: [good, "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"] } }));
    assert.ok(p1.some((p) => p.startsWith('warm_start.points[1]: not a point of space "nb201"')), p1.join("\n"));
    assert.ok(!p1.some((p) => p.startsWith("warm_start.points[0]")));
    const typo = problems(base({ warm_start: { points: [good], top_kk: 3 } }));
    assert.ok(typo.some((p) => p.startsWith('warm_start.top_kk: unknown key "top_kk"; did you mean "top_k"?')), typo.join("\n"));
    assert.ok(problems(base({ warm_start: {} })).some((p) => p.includes("warm_start needs points, file or experiments")));
    assert.ok(problems(base({ warm_start: { experiments: ["bad name"] } })).some((p) => p.startsWith("warm_start.experiments[0]")));

    const list = join(dir, "points.yaml");
    writeFileSync(list, `- "${good}"\n- 42\n`);
    const cfg = join(dir, "exp.yaml");
    writeFileSync(cfg, ["name: w", "space: { name: nb201 }", "strategy: { name: random }", "evaluator: { name: nb201 }", "budget: { trials: 5 }", "warm_start:", "  file: points.yaml"].join("\n"));
    const p2 = problems(undefined, cfg);
    assert.ok(p2.some((p) => /^warm_start\.file\[1\] \(points\.yaml\).*not a point of space "nb201"/.test(p)), p2.join("\n"));
    writeFileSync(cfg, ["name: w", "space: { name: nb201 }", "strategy: { name: random }", "evaluator: { name: nb201 }", "budget: { trials: 5 }", "warm_start: { file: nope.yaml }"].join("\n"));
    assert.ok(problems(undefined, cfg).some((p) => /^warm_start\.file \(line 6\): cannot read .*nope\.yaml: no such file/.test(p)));
    writeFileSync(list, `- "${good}"\n`);
    writeFileSync(cfg, ["name: w", "space: { name: nb201 }", "strategy: { name: random }", "evaluator: { name: nb201 }", "budget: { trials: 5 }", "warm_start: { file: points.yaml }"].join("\n"));
    assert.deepEqual(loadParts(cfg).warmStart?.points, [good]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("resume never serves a warm-start point twice: stopped runs repeat the uninterrupted search", async () => {
  const points = someCells(5, 9);
  const run = async (store: SqliteStore, trials: number, concurrency: number) =>
    createExperiment(buildParts(base({ warm_start: { points }, budget: { trials, concurrency } })), { store }).experiment.run();
  for (const concurrency of [1, 3]) {
    const whole = new SqliteStore(":memory:");
    await run(whole, 30, concurrency);
    const parts = new SqliteStore(":memory:");
    for (const upTo of [2, 4, 5, 11, 30]) assert.equal((await run(parts, upTo, concurrency)).trials, upTo);
    const a = await trialDigest(whole, "warm");
    const b = await trialDigest(parts, "warm");
    for (const d of [a, b]) {
      assert.deepEqual(d.slice(0, 9).map((t) => t.point), points);
      assert.equal(d.length, 30);
      assert.equal(d.filter((t) => points.includes(t.point as string)).length, points.length, "each warm-start point served once");
    }
    // With one trial at a time a stop changes nothing; with several, a stop drains the batch, so only the warm part is fixed.
    if (concurrency === 1) {
      assert.deepEqual(b, a);
      assert.deepEqual(await parts.loadSearchState(1), await whole.loadSearchState(1));
    }
  }
});

test("every registered strategy accepts warm-start results it did not ask for", async () => {
  const points = someCells(11, 8);
  for (const [name, c] of Object.entries(registry.strategies)) {
    if (!c.requires.every((cap) => supports(space, cap))) continue;
    if (c.requires.includes("supernet")) continue; // searchers train a supernet first (test/oneshot-*.test.ts)
    if (name === "rl_controller" && !engineAvailable()) continue;
    const store = new SqliteStore(":memory:");
    const s = await createExperiment(buildParts(base({ name: `w-${name}`, strategy: { name }, warm_start: { points }, budget: { trials: 24, concurrency: 2 } })), { store }).experiment.run();
    assert.equal(s.trials, 24, name);
    const trials = await store.getTrials(1);
    assert.deepEqual(trials.slice(0, 8).map((t) => t.point), points, name);
    assert.equal(trials.filter((t) => t.status === "finished").length, 24, name);
    await store.close();
  }
});
