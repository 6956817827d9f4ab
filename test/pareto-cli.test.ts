import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { cli } from "./cli-util.js";
import { dominates } from "../src/objectives/pareto.js";

test("archsearch best shows the Pareto front of a two-objective experiment (nsga2, accuracy vs Pixel 3 latency)", () => {
  const db = join(mkdtempSync(join(tmpdir(), "pareto-cli-")), "mo.db");
  const run = cli(["run", "examples/nb201-nsga2-pixel3.yaml", "--storage", db, "--trials", "60", "-q"]);
  assert.equal(run.code, 0, run.stderr);
  const json = cli(["best", "nb201-nsga2-pixel3", "--storage", db, "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const front = JSON.parse(json.stdout) as { trial: number; metrics: Record<string, number>; feasible: boolean }[];
  assert.ok(front.length >= 3, `front of ${front.length}`);
  const vec = (m: Record<string, number>) => [m.valid_acc, -m.latency_ms_pixel3];
  for (const a of front) {
    assert.ok(a.feasible && a.metrics.latency_ms_pixel3 <= 20);
    for (const b of front) assert.ok(!dominates(vec(b.metrics), vec(a.metrics)), `trial ${b.trial} dominates ${a.trial}`);
  }
  // Sorted by the first objective, best first.
  for (let i = 1; i < front.length; i++) assert.ok(front[i - 1].metrics.valid_acc >= front[i].metrics.valid_acc);
  const text = cli(["best", "nb201-nsga2-pixel3", "--storage", db]);
  assert.match(text.stdout, new RegExp(`Pareto front: ${front.length} non-dominated of 60 finished trials`));
  assert.match(text.stdout, /latency_ms_pixel3/);
});

test("the FBNet hardware example runs and its Pareto front respects the Raspberry Pi constraint", () => {
  const db = join(mkdtempSync(join(tmpdir(), "pareto-cli-")), "fb.db");
  const run = cli(["run", "examples/fbnet-hw-nsga2.yaml", "--storage", db, "--trials", "40", "-q"]);
  assert.equal(run.code, 0, run.stderr);
  const front = JSON.parse(cli(["best", "fbnet-hw-nsga2", "--storage", db, "--json"]).stdout) as { arch: number[]; metrics: Record<string, number>; feasible: boolean }[];
  assert.ok(front.length >= 1);
  for (const t of front) {
    assert.equal(t.arch.length, 22);
    assert.ok(t.feasible && t.metrics.latency_ms_raspi4 <= 25);
    assert.ok(t.metrics.latency_ms_pixel3 > 0 && t.metrics.energy_mj_fpga > 0);
  }
});
