import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildParts, loadParts } from "../src/config/build.js";
import { ConfigError } from "../src/core/errors.js";
import { cli } from "./cli-util.js";
import { z } from "zod";
import { registry } from "../src/registry.js";
import type { Rng } from "../src/core/rng.js";
import type { Json } from "../src/core/json.js";
import { configProblems } from "./config-problems.js";

const base = {
  name: "t",
  space: { name: "nb201" },
  strategy: { name: "rea" },
  evaluator: { name: "nb201" },
  budget: { trials: 10 },
};


test("a valid config builds all parts with defaults filled in", () => {
  const parts = buildParts(base);
  assert.equal(parts.space.name, "nb201");
  assert.equal(parts.strategy.name, "rea");
  assert.equal(parts.scheduler.name, "fifo");
  assert.equal(parts.config.storage, "archsearch.db");
  assert.deepEqual(parts.config.objectives, [{ metric: "valid_acc", direction: "max" }]);
});

test("unknown keys name the closest valid key, at top level and inside component options", () => {
  const { budget: _b, ...noBudget } = base;
  const p = configProblems({ ...noBudget, budjet: { trials: 3 }, strategy: { name: "rea", populaton_size: 10 } });
  assert.ok(p.some((x) => /^budjet: unknown key "budjet"; did you mean "budget"\?/.test(x)), p.join("\n"));
  assert.ok(p.some((x) => /^budget: missing required field/.test(x)), p.join("\n"));
  assert.ok(p.some((x) => x.startsWith('strategy.populaton_size: unknown key "populaton_size"; did you mean "population_size"?')), p.join("\n"));
  const q = configProblems({ ...base, strategy: { name: "rea", populaton_size: 10 } });
  assert.ok(q.some((x) => /^strategy\.populaton_size: unknown key "populaton_size"; did you mean "population_size"\?/.test(x)), q.join("\n"));
  const r = configProblems({ ...base, budget: { trials: 10, concurency: 2 } });
  assert.ok(r.some((x) => x.startsWith('budget.concurency: unknown key "concurency"; did you mean "concurrency"?')), r.join("\n"));
});

test("wrong types and values name the path and what was expected", () => {
  const p = configProblems({ ...base, budget: { trials: "ten" }, evaluator: { name: "nb201", dataset: "cifar11" } });
  assert.ok(p.some((x) => /^budget\.trials: .*expected number/.test(x)), p.join("\n"));
  assert.ok(p.some((x) => /^evaluator\.dataset: .*"cifar10"\|"cifar100"\|"imagenet16"/.test(x)), p.join("\n"));
  const q = configProblems({ ...base, strategy: { name: "rea", population_size: 0 } });
  assert.ok(q.some((x) => /^strategy\.population_size: .*>=2/.test(x)), q.join("\n"));
});

test("unknown component names and metrics suggest the closest", () => {
  const p = configProblems({ ...base, strategy: { name: "reaa" } });
  assert.equal(p.length, 1);
  assert.match(p[0]!, /^strategy\.name: unknown strategy "reaa"; did you mean "rea"\? \(known: random, rea, /);
  const q = configProblems({ ...base, objectives: [{ metric: "valid_accuracy", direction: "max" }], constraints: [{ metric: "latency_ms_pixel", max: 5 }] });
  assert.ok(q.some((x) => /^objectives\[0\]\.metric: evaluator "nb201" has no metric "valid_accuracy"; did you mean "valid_acc"\?/.test(x)), q.join("\n"));
  assert.ok(q.some((x) => /^constraints\[0\]\.metric: .*did you mean "latency_ms_pixel3"\?/.test(x)), q.join("\n"));
});

test("a strategy paired with a space that lacks a needed capability is a config error", () => {
  // A space that can only sample (no mutate), registered like a plugin would be.
  registry.spaces.bare = {
    name: "bare",
    description: "sample only",
    options: z.strictObject({}),
    create: () => ({ name: "bare", describe: () => ({}), sample: (rng: Rng) => rng.int(10), canonical: (p: Json) => p, validate: (v: unknown) => v as Json }),
  };
  try {
    const p = configProblems({ ...base, space: { name: "bare" } });
    assert.deepEqual(p, ['strategy.name: strategy "rea" needs the space to support mutate; space "bare" supports only sample']);
    assert.equal(buildParts({ ...base, space: { name: "bare" }, strategy: { name: "random" } }).strategy.name, "random");
  } finally {
    delete registry.spaces.bare;
  }
});

test("options that contradict each other are reported at the component", () => {
  const p = configProblems({ ...base, strategy: { name: "rea", sample_size: 30 } });
  assert.deepEqual(p, ["strategy: sample_size (30) must not exceed population_size (20)"]);
});

test("strategy options that contradict each other are config errors at the strategy section, with its line in a file", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ name: "rea", population_size: 4, sample_size: 5 }, "sample_size (5) must not exceed population_size (4)"],
    [{ name: "adaptive_evolution", population_size: 8 }, "sample_size (10) must not exceed population_size (8)"],
    [{ name: "mo_rea", population_size: 6, sample_size: 7 }, "sample_size (7) must not exceed population_size (6)"],
    [{ name: "predictor_evolution", sample_size: 30 }, "sample_size (30) must not exceed population_size (20)"],
    [{ name: "simulated_annealing", initial_temperature: 0.1, final_temperature: 1 }, "final_temperature (1) must not exceed initial_temperature (0.1)"],
  ];
  for (const [strategy, message] of cases) assert.deepEqual(configProblems({ ...base, strategy }), [`strategy: ${message}`], String(strategy.name));
  // Options that agree are accepted.
  assert.equal(buildParts({ ...base, strategy: { name: "rea", population_size: 5, sample_size: 5 } }).strategy.name, "rea");
  const dir = mkdtempSync(join(tmpdir(), "archsearch-config-"));
  try {
    const file = join(dir, "contradiction.yaml");
    writeFileSync(file, "name: x\nspace: {name: nb201}\nstrategy: {name: simulated_annealing, initial_temperature: 0.1, final_temperature: 1}\nevaluator: {name: nb201}\nbudget: {trials: 5}\n");
    assert.throws(
      () => loadParts(file),
      (e: Error) => e instanceof ConfigError && e.message.includes(`Invalid config ${file}`) && e.message.includes("strategy (line 3): final_temperature (1) must not exceed initial_temperature (0.1)"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("files: YAML syntax errors give the line; field errors give file, path and line", () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-config-"));
  try {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "name: x\nspace: {name: nb201\nstrategy: rea\n");
    assert.throws(() => loadParts(bad), (e: Error) => e instanceof ConfigError && e.message.includes(bad) && /line \d+: YAML syntax error/.test(e.message));
    const typo = join(dir, "typo.yaml");
    writeFileSync(typo, "name: x\nspace:\n  name: nb201\nstrategy:\n  name: rea\n  sample_sise: 3\nevaluator: {name: nb201}\nbudget: {trials: 5}\n");
    assert.throws(
      () => loadParts(typo),
      (e: Error) => e.message.includes(`Invalid config ${typo}`) && e.message.includes('strategy.sample_sise (line 6): unknown key "sample_sise"; did you mean "sample_size"?'),
    );
    const json = join(dir, "c.json");
    writeFileSync(json, JSON.stringify(base));
    assert.equal(loadParts(json).config.name, "t");
    assert.throws(() => loadParts(join(dir, "missing.yaml")), /Cannot read config .*missing\.yaml: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the CLI prints config errors without a stack trace and exits with 2", () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-config-"));
  try {
    const f = join(dir, "c.yaml");
    writeFileSync(f, "name: x\nspace: {name: nb201}\nstrategy: {name: evolution}\nevaluator: {name: nb201}\nbudget: {trials: 5}\n");
    const r = cli(["run", f]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /strategy\.name \(line 3\): unknown strategy "evolution"/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
