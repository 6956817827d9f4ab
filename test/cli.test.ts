import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./cli-util.js";
import { registry } from "../src/registry.js";
import { SqliteStore } from "../src/stores/sqlite.js";

test("run an example, then status, best, trials; a second run resumes the finished experiment", () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-cli-"));
  const db = join(dir, "a.db");
  try {
    const r = cli(["run", "examples/nb201-rea.yaml", "--storage", db, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1, "--json prints exactly one line on stdout");
    const out = JSON.parse(lines[0]);
    assert.equal(out.experiment, "nb201-rea-cifar10");
    assert.equal(out.trials, 100);
    assert.equal(typeof out.best.arch, "string");
    assert.ok(out.best.metrics.valid_acc > 88);
    assert.ok(out.best.hidden_metrics.test_acc > 90);
    assert.match(r.stderr, /\[100\/100\]/, "plain progress lines when not on a terminal");

    const again = cli(["run", "examples/nb201-rea.yaml", "--storage", db, "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), out);
    assert.match(again.stderr, /resumed at 100\/100 trials/);

    const st = cli(["status", "nb201-rea-cifar10", "--storage", db]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /trials 100\/100 done: 100 finished/);
    assert.match(st.stdout, /strategy rea/);

    const best = cli(["best", "nb201-rea-cifar10", "--storage", db, "--top", "3", "--json"]);
    const top = JSON.parse(best.stdout);
    assert.equal(top.length, 3);
    assert.equal(top[0].metrics.valid_acc, out.best.metrics.valid_acc);
    assert.ok(top[0].metrics.valid_acc >= top[1].metrics.valid_acc && top[1].metrics.valid_acc >= top[2].metrics.valid_acc);
    const table = cli(["best", "nb201-rea-cifar10", "--storage", db, "--top", "2"]);
    assert.equal(table.stdout.trim().split("\n").length, 4);

    const csv = cli(["trials", "nb201-rea-cifar10", "--storage", db, "--format", "csv"]);
    const rows = csv.stdout.trim().split("\n");
    assert.equal(rows.length, 101);
    assert.ok(rows[0].startsWith("number,status,arch,hp,fidelity,metrics.epochs"));
    assert.ok(rows[0].includes("hidden.test_acc"));
    const json = cli(["trials", "nb201-rea-cifar10", "--storage", db, "--format", "json"]);
    const trials = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(trials.length, 100);
    assert.deepEqual(trials[0].intermediate.map((s: { step: number }) => s.step), [12, 200]);

    const missing = cli(["status", "nope", "--storage", db]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no experiment "nope" .*\(it has: nb201-rea-cifar10\)/);
    const badFormat = cli(["trials", "nb201-rea-cifar10", "--storage", db, "--format", "xml"]);
    assert.equal(badFormat.code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("spaces and strategies are listed", () => {
  const s = cli(["spaces", "--json"]);
  const spaces = JSON.parse(s.stdout);
  assert.deepEqual(spaces.map((x: { name: string }) => x.name), ["nb201", "declarative", "fbnet", "transnas-micro", "transnas-macro", "nas-bench-graph"]);
  assert.match(spaces[0].capabilities, /mutate.*graph/);
  const st: { name: string; requires: string; description: string }[] = JSON.parse(cli(["strategies", "--json"]).stdout);
  assert.deepEqual(st.map((x) => x.name), Object.keys(registry.strategies));
  assert.ok(st.length >= 2 && st.every((x) => x.description.length > 10 && x.requires.startsWith("sample")));
  assert.equal(st.find((x) => x.name === "rea")!.requires, "sample, mutate");
});

test("every example config runs as it is", () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-ex-"));
  try {
    for (const ex of ["nb201-random-latency.yaml", "joint-nas-hpo.yaml", "nb201-bohb.yaml"]) {
      const r = cli(["run", `examples/${ex}`, "--storage", join(dir, "x.db"), "--json", "--quiet"]);
      assert.equal(r.code, 0, `${ex}: ${r.stderr}`);
      const out = JSON.parse(r.stdout);
      assert.ok(out.trials > 0 && out.best, ex);
      if (ex.startsWith("nb201-random-latency")) assert.ok(out.best.metrics.latency_ms_pixel3 <= 10);
      if (ex.startsWith("joint")) assert.ok(typeof out.best.hp.lr === "number" && Array.isArray(out.best.arch.blocks));
      if (ex.startsWith("nb201-bohb")) assert.ok(out.best.metrics.epochs === 200 && out.best.metrics.latency_ms_pixel3 <= 25, JSON.stringify(out.best.metrics));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("status of an experiment made through the library API (no stored objectives): a clear message, not a crash", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-cli-api-"));
  try {
    const file = join(dir, "api.db");
    copyFileSync(join(process.cwd(), "test/fixtures/release-0.1-rea.sqlite"), file);
    await new SqliteStore(file).close(); // migrated to this version by a writer, as `run` would
    for (const cmd of ["status", "best"]) {
      const r = cli([cmd, "nb201-rea", "--storage", file]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /experiment "nb201-rea" has no objectives in its stored config \(it was made through the library API/);
      assert.doesNotMatch(r.stderr, /TypeError|\n\s+at /);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
