/**
 * The malformed-input suite: one table per kind of input (configs, module and command evaluator
 * outputs, store files and URLs, data files, CLI arguments). Every case asserts a clear message
 * naming the problem, the exit status the CLI gives it, no stack trace, and that the store is
 * unchanged (or, for evaluator outputs, that nothing invalid was stored as finished). Adding a
 * case is one line in its table.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";
import Database from "better-sqlite3";
import { buildParts, createExperiment, loadParts } from "../src/config/build.js";
import { checkEvaluator } from "../src/config/evaluator-check.js";
import { exitCodeOf } from "../src/cli/exit-code.js";
import { openStore } from "../src/stores/open.js";
import { loadNb201 } from "../src/benchmarks/nb201.js";
import { CLI, ROOT } from "./cli-util.js";

const dir = mkdtempSync(join(tmpdir(), "archsearch-malformed-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const STORE = join(dir, "store.db");

/** Every row of every table of a SQLite file, hashed: "unchanged" means equal contents. */
function digest(path: string): string {
  if (!existsSync(path)) return "absent";
  const db = new Database(path, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    const h = createHash("sha256");
    for (const t of tables) h.update(t).update(JSON.stringify(db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all()));
    h.update(String(db.pragma("user_version", { simple: true })));
    return h.digest("hex");
  } finally {
    db.close();
  }
}

/** A clear user-facing error: the message matches, no stack trace in it, and the CLI's exit status. */
function assertClear(e: unknown, expected: RegExp, code = 2) {
  assert.ok(e instanceof Error, `expected an error, got ${String(e)}`);
  assert.match(e.message, expected);
  assert.doesNotMatch(e.message, /\n\s+at .+:\d+:\d+/, "no stack trace in the message");
  assert.equal(exitCodeOf(e), code, `exit status for: ${e.message}`);
}

const BASE: Record<string, unknown> = {
  name: "m",
  storage: STORE,
  space: { name: "nb201" },
  strategy: { name: "random" },
  evaluator: { name: "nb201" },
  budget: { trials: 3 },
};

// A store with one finished experiment, which no malformed input may change.
{
  const parts = buildParts({ ...BASE, name: "kept" }, { configDir: dir });
  const { experiment, store } = createExperiment(parts);
  await experiment.run();
  await store.close();
}
const KEPT = digest(STORE);

// ---------------------------------------------------------------- configs (YAML text, in process)
const CONFIG_CASES: [string, string, RegExp][] = [
  ["empty file", "", /missing required field|expected object/],
  ["a list", "- a\n- b", /expected object/],
  ["a scalar", "42", /expected object/],
  ["YAML syntax", "name: [x\nspace: {", /YAML syntax error/],
  ["duplicate key", "name: a\nname: b", /YAML syntax error.*(duplicate|unique)/i],
  ["tab indentation", "name: x\n\tspace: 1", /YAML syntax error/],
  ["no name", "space: {name: nb201}\nstrategy: {name: random}\nevaluator: {name: nb201}\nbudget: {trials: 2}", /name: missing required field/],
  ["bad name", "name: 'a b'\n@BASE", /name .*letters, digits/],
  ["name starting with a dot", "name: .x\n@BASE", /name .*letters, digits/],
  ["unknown top key", "nmae: x\n@BASE", /unknown key "nmae"/],
  ["typo of budget", "budgt: {trials: 2}\n@BASE", /unknown key "budgt"; did you mean "budget"/],
  ["no space", "name: x\nstrategy: {name: random}\nevaluator: {name: nb201}\nbudget: {trials: 2}", /space: missing required field/],
  ["no strategy", "name: x\nspace: {name: nb201}\nevaluator: {name: nb201}\nbudget: {trials: 2}", /strategy: missing required field/],
  ["no evaluator", "name: x\nspace: {name: nb201}\nstrategy: {name: random}\nbudget: {trials: 2}", /evaluator: missing required field/],
  ["no budget", "name: x\nspace: {name: nb201}\nstrategy: {name: random}\nevaluator: {name: nb201}", /budget: missing required field/],
  ["unknown space", "@BASE\nspace: {name: nb202}", /unknown space "nb202"; did you mean "nb201"/],
  ["unknown strategy", "@BASE\nstrategy: {name: randon}", /unknown strategy "randon"; did you mean "random"/],
  ["unknown evaluator", "@BASE\nevaluator: {name: modul}", /unknown evaluator "modul"; did you mean "module"/],
  ["unknown scheduler", "@BASE\nscheduler: {name: asah}", /unknown scheduler "asah"/],
  ["space name a number", "@BASE\nspace: {name: 5}", /- space.name( \(line \d+\))?: .*expected string/],
  ["section not an object", "@BASE\nstrategy: rea", /- strategy( \(line \d+\))?: .*expected object/],
  ["unknown strategy option", "@BASE\nstrategy: {name: rea, populaton_size: 5}", /unknown key "populaton_size"; did you mean "population_size"/],
  ["strategy option wrong type", "@BASE\nstrategy: {name: rea, population_size: many}", /population_size/],
  ["strategy option out of range", "@BASE\nstrategy: {name: rea, population_size: 0}", /population_size/],
  ["trials zero", "@BASE\nbudget: {trials: 0}", /budget.trials/],
  ["trials negative", "@BASE\nbudget: {trials: -5}", /budget.trials/],
  ["trials fractional", "@BASE\nbudget: {trials: 2.5}", /budget.trials/],
  ["trials a string", "@BASE\nbudget: {trials: '10'}", /budget.trials/],
  ["concurrency zero", "@BASE\nbudget: {trials: 2, concurrency: 0}", /budget.concurrency/],
  ["timeout negative", "@BASE\nbudget: {trials: 2, trial_timeout_s: -1}", /budget.trial_timeout_s/],
  ["max_failures negative", "@BASE\nbudget: {trials: 2, max_failures: -1}", /budget.max_failures/],
  ["unknown budget key", "@BASE\nbudget: {trials: 2, trails: 3}", /unknown key "trails"/],
  ["seed negative", "@BASE\nseed: -1", /seed/],
  ["seed a string", "@BASE\nseed: abc", /seed/],
  ["objectives empty", "@BASE\nobjectives: []", /objectives/],
  ["objective bad direction", "@BASE\nobjectives: [{metric: valid_acc, direction: up}]", /objectives\[0\].direction/],
  ["objective no metric", "@BASE\nobjectives: [{direction: max}]", /objectives\[0\].metric/],
  ["objective unknown metric", "@BASE\nobjectives: [{metric: valid_accc, direction: max}]", /no metric "valid_accc"; did you mean "valid_acc"/],
  ["constraint without bounds", "@BASE\nconstraints: [{metric: valid_acc}]", /constraints\[0\].*min, max or both/],
  ["constraint min > max", "@BASE\nconstraints: [{metric: valid_acc, min: 20, max: 5}]", /constraints\[0\].*min is greater than max/],
  ["constraint bound a string", "@BASE\nconstraints: [{metric: valid_acc, min: low}]", /constraints\[0\].min/],
  ["constraint unknown metric", "@BASE\nconstraints: [{metric: latncy, max: 5}]", /constraints\[0\].metric.*no metric "latncy"/],
  ["cache a string", "@BASE\ncache: sometimes", /- cache( \(line \d+\))?: /],
  ["storage empty", "@BASE\nstorage: ''", /- storage( \(line \d+\))?: .*(>=1|at least 1|too small)/i],
  ["workers grace below heartbeat", "@BASE\nworkers: {heartbeat_seconds: 5, grace_seconds: 2}", /grace_seconds.*longer than heartbeat_seconds/],
  ["workers unknown key", "@BASE\nworkers: {heartbeat: 5}", /unknown key "heartbeat"/],
  ["warm start empty", "@BASE\nwarm_start: {}", /warm_start needs points, file or experiments/],
  ["warm start bad point", "@BASE\nwarm_start: {points: ['|foo~0|']}", /warm_start.points\[0\].*not a point of space "nb201": not a NAS-Bench-201 architecture string/],
  ["warm start missing file", "@BASE\nwarm_start: {file: nowhere.yaml}", /warm_start.file.*no such file/],
  ["warm start file not a list", "@BASE\nwarm_start: {file: @FILE(scalar.yaml:42)}", /must hold a list of points/],
  ["warm start file with a bad point", "@BASE\nwarm_start: {file: @FILE(pts.yaml:[1, 2])}", /warm_start.file\[0\].*not a point/],
  ["warm start file a string", "@BASE\nwarm_start: {file: @FILE(str.yaml:just words)}", /warm_start.file.*must hold a list of points \(YAML or JSON\), got string/],
  ["warm start file bad YAML", "@BASE\nwarm_start: {file: @FILE(bad.yaml:[1 2 3)}", /warm_start.file.*cannot read .*bad\.yaml/],
  ["hyperparameters empty", "@BASE\nspace: {name: nb201, hyperparameters: []}", /space.hyperparameters/],
  ["hyperparameter bad type", "@BASE\nspace: {name: nb201, hyperparameters: [{type: floaty, name: lr}]}", /space.hyperparameters\[0\]/],
  ["hyperparameter without choices", "@BASE\nspace: {name: nb201, hyperparameters: [{type: categorical, name: opt, choices: []}]}", /choices/],
  ["strategy needs what the space lacks", "@BASE\nspace: {name: declarative, params: [{type: int, name: a, low: 1, high: 3}]}\nstrategy: {name: darts}", /strategy.name.*strategy "darts" needs the space to support supernet/],
  ["module evaluator: no path", "@BASE\nevaluator: {name: module}", /evaluator.path.*missing required field/],
  ["module evaluator: missing file", "@BASE\nevaluator: {name: module, path: nope.mjs}", /evaluator.path.*no such file: .*nope.mjs/],
  ["module evaluator: a folder", "@BASE\nevaluator: {name: module, path: sub}", /evaluator.path.*is not a file/],
  ["module evaluator: missing export", "@BASE\nevaluator: {name: module, path: @FILE(ev1.mjs:export const f = 1;), export: g}", /evaluator.export.*has no exported function "g" \(exports: f\)/],
  ["module evaluator: export not a function", "@BASE\nevaluator: {name: module, path: @FILE(ev2.mjs:export default 42;)}", /no exported function "default"/],
  ["module evaluator: syntax error", "@BASE\nevaluator: {name: module, path: @FILE(ev3.mjs:export default function (\\{)}", /evaluator.path.*cannot load evaluator module/],
  ["module evaluator: throws on import", "@BASE\nevaluator: {name: module, path: @FILE(ev4.mjs:throw new Error('boom at import');)}", /cannot load evaluator module .*boom at import/],
  ["command evaluator: no command", "@BASE\nevaluator: {name: command}", /evaluator.command/],
  ["command evaluator: empty list", "@BASE\nevaluator: {name: command, command: []}", /evaluator.command/],
  ["command evaluator: program not in PATH", "@BASE\nevaluator: {name: command, command: [no-such-program-xyz, a]}", /evaluator.command.*"no-such-program-xyz" not found in PATH/],
  ["command evaluator: missing script path", "@BASE\nevaluator: {name: command, command: [./train-missing.sh]}", /evaluator.command.*not found/],
  ["command evaluator: script not executable", "@BASE\nevaluator: {name: command, command: [./@FILE(plain.sh:echo hi)]}", /not an executable file/],
  ["command evaluator: shell string, missing program", "@BASE\nevaluator: {name: command, command: 'no-such-program-xyz --epochs 3'}", /not found in PATH/],
  ["command evaluator: missing cwd", "@BASE\nevaluator: {name: command, command: ['true'], cwd: nowhere}", /evaluator.cwd.*does not exist/],
  ["command evaluator: unknown option", "@BASE\nevaluator: {name: command, command: ['true'], comand: x}", /unknown key "comand"/],
  ["command evaluator: metric not reported", "@BASE\nevaluator: {name: command, command: ['true'], metrics: [acc]}", /objectives\[0\].metric.*no metric "valid_acc"/],
  ["command evaluator: env not strings", "@BASE\nevaluator: {name: command, command: ['true'], env: {A: [1]}}", /evaluator.env/],
  ["nb201 evaluator: bad dataset", "@BASE\nevaluator: {name: nb201, dataset: cifar11}", /evaluator.dataset/],
  ["scheduler option wrong", "@BASE\nscheduler: {name: asha, eta: one}", /scheduler.eta/],
];

/** Config text: @BASE expands to a valid config (later keys override), @FILE(name:content) writes a file and is its name. */
function configText(src: string, k: number): string {
  let text = src.replace(/@FILE\(([^:]+):(.*?)\)(?=[,}\]\s]|$)/g, (_, name: string, content: string) => {
    const f = `c${k}-${name}`;
    writeFileSync(join(dir, f), content.replace(/\\\{/g, "{"));
    return f;
  });
  if (text.includes("@BASE")) {
    const lines = text.split("\n").filter((l) => l !== "@BASE");
    const keys = new Set(lines.map((l) => l.split(":")[0]));
    const base = Object.entries({ ...BASE, name: `c${k}` })
      .filter(([key]) => !keys.has(key))
      .map(([key, v]) => `${key}: ${JSON.stringify(v)}`);
    text = [...base, ...lines].join("\n");
  }
  return text;
}
mkdirSync(join(dir, "sub"), { recursive: true });

for (const [k, [label, src, expected]] of CONFIG_CASES.entries()) {
  test(`config: ${label}`, async () => {
    const file = join(dir, `c${k}.yaml`);
    writeFileSync(file, configText(src, k));
    let error: unknown;
    try {
      await checkEvaluator(loadParts(file), file);
    } catch (e) {
      error = e;
    }
    assertClear(error, expected);
    assert.match((error as Error).message, new RegExp(`Invalid config .*c${k}\\.yaml|YAML`), "names the file");
    assert.equal(digest(STORE), KEPT, "store unchanged");
  });
}

// ---------------------------------------------------------------- module evaluator outputs (in process)
const MODULE_CASES: [string, string, RegExp][] = [
  ["NaN", "return { valid_acc: NaN };", /metric "valid_acc" is NaN/],
  ["Infinity", "return { valid_acc: Infinity };", /metric "valid_acc" is Infinity/],
  ["-Infinity", "return { valid_acc: -Infinity };", /metric "valid_acc" is -Infinity/],
  ["a numeric string", 'return { valid_acc: "91.2" };', /metric "valid_acc" must be a number, got "91.2" \(a string\)/],
  ["an empty string", 'return { valid_acc: "" };', /metric "valid_acc" must be a number, got ""/],
  ["null", "return { valid_acc: null };", /metric "valid_acc" must be a number, got null/],
  ["a boolean", "return { valid_acc: true };", /metric "valid_acc" must be a number, got true/],
  ["an array", "return { valid_acc: [91] };", /metric "valid_acc" must be a number, got \[91\]/],
  ["an object", "return { valid_acc: { mean: 91 } };", /metric "valid_acc" must be a number, got \{"mean":91\}/],
  ["a BigInt", "return { valid_acc: 91n };", /metric "valid_acc" must be a number/],
  ["objective missing", "return { acc: 91 };", /objective metric "valid_acc" missing \(the result has "acc"\)/],
  ["no metrics at all", "return {};", /objective metric "valid_acc" missing \(the result has no metrics\)/],
  ["other metric NaN", "return { valid_acc: 91, loss: NaN };", /metric "loss" is NaN/],
  ["other metric a string", 'return { valid_acc: 91, note: "good" };', /metric "note" must be a number, got "good"/],
  ["undefined", "return undefined;", /returned undefined/],
  ["null result", "return null;", /returned null/],
  ["a number", "return 91.2;", /returned 91.2/],
  ["a string", 'return "91.2";', /returned 91.2|expected metrics/],
  ["metrics not an object", 'return { metrics: "91" };', /metric "metrics" must be a number, got "91"/],
  ["hidden a string", 'return { metrics: { valid_acc: 91 }, hidden: { test_acc: "90" } };', /invalid hidden metrics: metric "test_acc" must be a number, got "90"/],
  ["hidden NaN", "return { metrics: { valid_acc: 91 }, hidden: { test_acc: NaN } };", /invalid hidden metrics: metric "test_acc" is NaN/],
  ["hidden not an object", 'return { metrics: { valid_acc: 91 }, hidden: 5 };', /invalid hidden metrics: expected an object/],
  ["cost negative", "return { metrics: { valid_acc: 91 }, costSeconds: -3 };", /costSeconds must be a finite number >= 0, got -3/],
  ["cost a string", 'return { metrics: { valid_acc: 91 }, costSeconds: "3" };', /costSeconds must be a finite number >= 0, got 3/],
  ["cost NaN", "return { metrics: { valid_acc: 91 }, costSeconds: NaN };", /costSeconds .* got NaN/],
  ["report a string", 'ctx.report(1, { valid_acc: "50" }); return { valid_acc: 91 };', /invalid report at step 1: metric "valid_acc" must be a number, got "50"/],
  ["report NaN", "ctx.report(2, { valid_acc: NaN }); return { valid_acc: 91 };", /invalid report at step 2: metric "valid_acc" is NaN/],
  ["report step NaN", "ctx.report(NaN, { valid_acc: 1 }); return { valid_acc: 91 };", /invalid report: step must be a finite number, got NaN/],
  ["report step a string", 'ctx.report("3", { valid_acc: 1 }); return { valid_acc: 91 };', /invalid report: step must be a finite number, got 3/],
  ["report not an object", "ctx.report(1, 5); return { valid_acc: 91 };", /invalid report at step 1: expected an object of numbers/],
  ["throws an Error", 'throw new Error("CUDA out of memory");', /CUDA out of memory/],
  ["throws a string", 'throw "disk full";', /disk full/],
  ["throws a TypeError", "null.x;", /Cannot read properties of null/],
  ["rejects", 'return Promise.reject(new Error("rejected: no GPU"));', /rejected: no GPU/],
  ["hangs past the timeout", "await new Promise(() => setTimeout(() => {}, 60000));", /timed out after 0.2 s/],
];

const MOD_STORE = join(dir, "module.db");
/** A short timeout for the cases about hanging, a generous one for the others (a loaded machine must not fail them). */
const timeoutFor = (label: string) => (label.startsWith("hangs") ? 0.2 : 20);
for (const [k, [label, body, expected]] of MODULE_CASES.entries()) {
  test(`module evaluator output: ${label}`, async () => {
    const path = join(dir, `mod${k}.mjs`);
    writeFileSync(path, `export default async function (spec, ctx) { ${body} }`);
    const name = `mod${k}`;
    const parts = buildParts(
      { ...BASE, name, storage: MOD_STORE, evaluator: { name: "module", path }, budget: { trials: 1, trial_timeout_s: timeoutFor(label) } },
      { configDir: dir },
    );
    const { experiment, store } = createExperiment(parts);
    try {
      const summary = await experiment.run();
      assert.equal(summary.failed, 1);
      const exp = (await store.getExperiment(name))!;
      const [t] = await store.getTrials(exp.id);
      assert.equal(t.status, "failed", "an invalid result is never stored as finished");
      assert.match(t.error ?? "", expected);
      assert.doesNotMatch(t.error ?? "", /\n\s+at .+:\d+:\d+/);
    } finally {
      await store.close();
    }
    assertNothingInvalidFinished(MOD_STORE);
  });
}

/** No finished trial in the store holds a metric that is not a finite number. */
function assertNothingInvalidFinished(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    for (const r of db.prepare("SELECT number, metrics, hidden FROM trials WHERE status = 'finished'").all() as { number: number; metrics: string | null; hidden: string | null }[]) {
      for (const text of [r.metrics, r.hidden]) {
        const m = JSON.parse(text ?? "{}") as Record<string, unknown>;
        for (const [k, v] of Object.entries(m)) assert.ok(typeof v === "number" && Number.isFinite(v), `finished trial ${r.number} stores ${k}=${JSON.stringify(v)}`);
      }
    }
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- command evaluator outputs (in process, real programs)
const M = "archsearch-metric:";
const COMMAND_CASES: [string, string, RegExp][] = [
  ["metric a string", `echo '${M} {"valid_acc": "91.2"}'`, /metric "valid_acc" must be a number, got "91.2"/],
  ["metric null (diverged)", `echo '${M} {"valid_acc": null}'`, /metric "valid_acc" is NaN/],
  ["metric a boolean", `echo '${M} {"valid_acc": true}'`, /metric "valid_acc" must be a number, got true/],
  ["metric an array", `echo '${M} {"valid_acc": [1]}'`, /metric "valid_acc" must be a number, got \[1\]/],
  ["metric line not JSON", `echo '${M} valid_acc=91'`, /metric line is not JSON: valid_acc=91/],
  ["metric line NaN literal", `echo '${M} {"valid_acc": NaN}'`, /metric line is not JSON/],
  ["metric line an array", `echo '${M} [91]'`, /metric line must be a JSON object, got \[91\]/],
  ["metric line a number", `echo '${M} 91'`, /metric line must be a JSON object, got 91/],
  ["metric line empty", `echo '${M}'`, /metric line is not JSON/],
  ["objective missing", `echo '${M} {"acc": 91}'`, /objective metric "valid_acc" missing \(the result has "acc"\)/],
  ["no metric line", "echo training done", /reported no metrics/],
  ["no output at all", "true", /reported no metrics/],
  ["exit status 1 with stderr", "echo 'RuntimeError: CUDA out of memory' >&2; exit 1", /exited with code 1; stderr ends with:\nRuntimeError: CUDA out of memory/],
  ["exit status 2 without stderr", "exit 2", /exited with code 2 \(no stderr\)/],
  ["exit after good metrics", `echo '${M} {"valid_acc": 91}'; exit 3`, /exited with code 3/],
  ["killed by a signal", "kill -9 $$", /was killed by SIGKILL/],
  ["step a string", `echo '${M} {"step": "1", "valid_acc": 1}'`, /"step" must be a number, got "1"/],
  ["step null", `echo '${M} {"step": null, "valid_acc": 1}'`, /"step" must be a number, got null/],
  ["report metric a string", `echo '${M} {"step": 1, "valid_acc": "5"}'`, /metric "valid_acc" must be a number, got "5"/],
  ["report metric null", `echo '${M} {"step": 1, "valid_acc": null}'; echo '${M} {"valid_acc": 91}'`, /invalid report at step 1: metric "valid_acc" is NaN/],
  ["hidden a string", `echo '${M} {"valid_acc": 91, "hidden": {"test_acc": "x"}}'`, /"hidden".test_acc must be a number, got "x"/],
  ["hidden not an object", `echo '${M} {"valid_acc": 91, "hidden": 3}'`, /"hidden" must be an object of numbers/],
  ["hidden null value", `echo '${M} {"valid_acc": 91, "hidden": {"test_acc": null}}'`, /"hidden".test_acc must be a number, got null/],
  ["cost_seconds a string", `echo '${M} {"valid_acc": 91, "cost_seconds": "3"}'`, /"cost_seconds" must be a number/],
  ["cost_seconds negative", `echo '${M} {"valid_acc": 91, "cost_seconds": -1}'`, /costSeconds must be a finite number >= 0, got -1/],
  ["hangs past the timeout", "sleep 30", /timed out after 0.2 s/],
  ["garbage before a bad line", `head -c 3000 /dev/urandom | base64; echo '${M} {"valid_acc": "x"}'`, /metric "valid_acc" must be a number, got "x"/],
];

const CMD_STORE = join(dir, "command.db");
for (const [k, [label, script, expected]] of COMMAND_CASES.entries()) {
  test(`command evaluator output: ${label}`, async () => {
    const name = `cmd${k}`;
    const parts = buildParts(
      { ...BASE, name, storage: CMD_STORE, evaluator: { name: "command", command: script, log_dir: join(dir, "logs"), kill_grace_s: 0.2 }, budget: { trials: 1, trial_timeout_s: timeoutFor(label) } },
      { configDir: dir },
    );
    const { experiment, store } = createExperiment(parts);
    try {
      await experiment.run();
      const exp = (await store.getExperiment(name))!;
      const [t] = await store.getTrials(exp.id);
      assert.equal(t.status, "failed", "an invalid result is never stored as finished");
      assert.match(t.error ?? "", expected);
      assert.doesNotMatch(t.error ?? "", /\n\s+at .+:\d+:\d+/);
    } finally {
      await store.close();
    }
    assertNothingInvalidFinished(CMD_STORE);
  });
}

// ---------------------------------------------------------------- store files and URLs (in process)
/** Each case: a storage string (made by `setup`), read-only or not, the expected message. The file, if any, must be unchanged. */
const STORE_CASES: [string, () => string, boolean, RegExp][] = [
  ["read: missing file", () => join(dir, "typo.db"), true, /no store at .*typo\.db/],
  ["read: missing folder", () => join(dir, "no-dir", "a.db"), true, /no store at .*no-dir/],
  ["read: a folder", () => join(dir, "sub"), true, /no store at .*sub: it is a folder/],
  ["write: a folder", () => join(dir, "sub"), false, /it is a folder/],
  ["read: empty file", () => file("empty.db", ""), true, /empty database, not an archsearch store/],
  ["read: a text file", () => file("text.db", "hello, this is not a database at all, just some text to fill a page. ".repeat(20)), true, /file is not a database/],
  ["write: a text file", () => file("text2.db", "hello, this is not a database at all, just some text to fill a page. ".repeat(20)), false, /file is not a database/],
  ["read: foreign tables", () => foreign("foreign1.db", ["users"]), true, /not an archsearch store \(it holds other tables: users\)/],
  ["write: foreign tables", () => foreign("foreign2.db", ["users", "orders"]), false, /not an archsearch store: it holds other tables \(orders, users\)/],
  ["write: foreign experiments table", () => foreign("foreign3.db", ["experiments"]), false, /holds other tables \(experiments\)/],
  ["read: newer schema", () => versioned("newer.db", 99), true, /schema version 99 is newer than this archsearch knows/],
  ["write: newer schema", () => versioned("newer2.db", 99), false, /schema version 99 is newer than this archsearch knows/],
  ["read: older schema", () => versioned("older.db", 2), true, /older archsearch \(schema version 2 of \d+\)/],
  ["read: sqlite: with empty path", () => "sqlite:", true, /storage "sqlite:" names no file/],
  ["write: sqlite: with empty path", () => "sqlite:", false, /storage "sqlite:" names no file/],
  ["write: empty storage", () => "", false, /empty storage/],
  ["write: blank storage", () => "   ", false, /empty storage/],
  ["read: :memory:", () => ":memory:", true, /no store at :memory:/],
  ["write: unknown scheme", () => "mysql://u:pw@host/db", false, /unknown storage "mysql:\/\/u:\*\*\*@host\/db"/],
  ["write: unknown scheme keeps the password hidden", () => "redis://u:hunter2@h/0", false, /^(?![\s\S]*hunter2)[\s\S]*unknown storage/],
  ["write: postgres bad schema name", () => "postgres://u@127.0.0.1:1/db?schema=bad-name", false, /invalid schema "bad-name"/],
  ["write: postgres pool_size not a number", () => "postgres://u@127.0.0.1:1/db?pool_size=abc", false, /pool_size=abc .*expected an integer >= 1/],
  ["write: postgres retry_attempts zero", () => "postgres://u@127.0.0.1:1/db?retry_attempts=0", false, /retry_attempts=0 .*expected an integer >= 1/],
  ["write: postgres URL unparsable", () => "postgres://u:pw@[bad/db", false, /invalid PostgreSQL storage URL .*\*\*\*/],
  ["write: postgres unreachable (password hidden)", () => "postgres://u:hunter2@127.0.0.1:1/db?retry_attempts=1&connect_timeout_ms=500", false, /^(?![\s\S]*hunter2)cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/],
  ["read: postgres unreachable", () => "postgres://u@127.0.0.1:1/db?retry_attempts=1&connect_timeout_ms=500", true, /cannot connect to postgres:\/\/u@127\.0\.0\.1:1\/db/],
];

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
function foreign(name: string, tables: string[]): string {
  const p = join(dir, name);
  const db = new Database(p);
  for (const t of tables) db.exec(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO ${t} (v) VALUES ('keep me')`);
  db.close();
  return p;
}
function versioned(name: string, version: number): string {
  const p = join(dir, name);
  const db = new Database(p);
  db.exec("CREATE TABLE experiments (id INTEGER PRIMARY KEY)");
  db.pragma(`user_version = ${version}`);
  db.close();
  return p;
}
const bytes = (p: string) => (existsSync(p) && !p.endsWith("sub") ? readFileSync(p).toString("base64") : existsSync(p) ? "dir" : "absent");

for (const [label, setup, readOnly, expected] of STORE_CASES) {
  test(`store: ${label}`, async () => {
    const storage = setup();
    const before = bytes(storage);
    let error: unknown;
    try {
      const store = openStore(storage, { readOnly });
      try {
        await store.listExperiments();
      } finally {
        await store.close();
      }
    } catch (e) {
      error = e;
    }
    assertClear(error, expected);
    assert.equal(bytes(storage), before, "the file is left as it was (not created, not changed)");
    assert.ok(!existsSync(join(dir, "no-dir")), "no folder created");
  });
}

// ---------------------------------------------------------------- data files (benchmark tables)
const NB201_DIR = join(ROOT, "data/nas-bench-201");
const DATA_CASES: [string, (d: string) => void, RegExp][] = [
  ["results file missing", (d) => rmSync(join(d, "nb201_results.csv.gz")), /Cannot read NAS-Bench-201 data file .*nb201_results\.csv\.gz/],
  ["results file not gzip", (d) => writeFileSync(join(d, "nb201_results.csv.gz"), "plain text"), /nb201_results\.csv\.gz is corrupt \(gunzip failed/],
  ["results file truncated (gzip cut)", (d) => cut(join(d, "nb201_results.csv.gz"), 0.5), /nb201_results\.csv\.gz is corrupt/],
  ["results file truncated to 5000 rows", (d) => rows(join(d, "nb201_results.csv.gz"), (l) => l.slice(0, 5001)), /nb201_results\.csv\.gz is corrupt: it has 5000 rows, expected 15625/],
  ["results row with a missing field", (d) => rows(join(d, "nb201_results.csv.gz"), (l) => [l[0], l[1].split(",").slice(0, -1).join(","), ...l.slice(2)]), /nb201_results\.csv\.gz is corrupt: line 2 has \d+ fields/],
  ["results column N/A", (d) => rows(join(d, "nb201_results.csv.gz"), (l) => [l[0], ...l.slice(1).map((r, i) => (i === 3 ? r.replace(/,[^,]+$/, ",N/A") : r))]), /nb201_results\.csv\.gz is corrupt: line 5, column \w+: "N\/A" is not a number/],
  ["latency column N/A", (d) => rows(join(d, "nb201_latency.csv.gz"), (l) => [l[0], l[1].replace(/,[^,]+$/, ",N/A"), ...l.slice(2)]), /nb201_latency\.csv\.gz is corrupt: index \d+, column \w+: "N\/A" is not a number/],
  ["latency file missing", (d) => rmSync(join(d, "nb201_latency.csv.gz")), /Cannot read NAS-Bench-201 data file .*nb201_latency\.csv\.gz/],
  ["latency file not gzip", (d) => writeFileSync(join(d, "nb201_latency.csv.gz"), "x"), /nb201_latency\.csv\.gz is corrupt/],
  ["latency bad index", (d) => rows(join(d, "nb201_latency.csv.gz"), (l) => [l[0], `x${l[1]}`, ...l.slice(2)]), /nb201_latency\.csv\.gz is corrupt: bad index/],
];
function cut(p: string, fraction: number) {
  const b = readFileSync(p);
  writeFileSync(p, b.subarray(0, Math.floor(b.length * fraction)));
}
function rows(p: string, edit: (lines: string[]) => string[]) {
  const lines = gunzipSync(readFileSync(p)).toString("utf8").split("\n");
  writeFileSync(p, gzipSync(edit(lines).join("\n")));
}
for (const [k, [label, mutate, expected]] of DATA_CASES.entries()) {
  test(`data file: ${label}`, () => {
    const d = join(dir, `nb201-${k}`);
    mkdirSync(d);
    for (const f of readdirSync(NB201_DIR)) copyFileSync(join(NB201_DIR, f), join(d, f));
    mutate(d);
    let error: unknown;
    try {
      loadNb201(d);
    } catch (e) {
      error = e;
    }
    assertClear(error, expected);
    assert.equal(digest(STORE), KEPT);
  });
}

// ---------------------------------------------------------------- CLI arguments (real processes)
function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", input: "", env: { ...process.env, FORCE_COLOR: "0" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const EX = join(ROOT, "examples/nb201-rea.yaml");
writeFileSync(join(dir, "ok.yaml"), Object.entries({ ...BASE, name: "kept" }).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n"));
const CLI_CASES: [string, string[], number, RegExp][] = [
  ["unknown command", ["runn"], 1, /unknown command 'runn'/],
  ["run without a config", ["run"], 1, /missing required argument 'config'/],
  ["run a missing config", ["run", "nope.yaml", "--storage", STORE], 2, /Cannot read config nope\.yaml: no such file/],
  ["run a folder as config", ["run", "sub", "--storage", STORE], 2, /Cannot read config sub/],
  ["--trials zero", ["run", EX, "--storage", STORE, "--trials", "0"], 1, /--trials.*expected a positive integer/],
  ["--trials not a number", ["run", EX, "--storage", STORE, "--trials", "ten"], 1, /expected a positive integer/],
  ["--trials below what is done", ["run", "ok.yaml", "--trials", "1"], 2, /has 3 trials done already, more than the budget of 1/],
  ["--workers zero", ["run", EX, "--storage", STORE, "--workers", "0"], 1, /--workers.*expected a positive integer/],
  ["--workers with :memory:", ["run", EX, "--storage", ":memory:", "--workers", "2"], 2, /--workers needs a store the worker processes share/],
  ["--heartbeat negative", ["run", EX, "--storage", STORE, "--workers", "2", "--heartbeat", "-1"], 1, /expected a positive number/],
  ["--grace below --heartbeat", ["run", "ok.yaml", "--workers", "2", "--heartbeat", "5", "--grace", "1"], 2, /grace.*longer than the heartbeat/],
  ["--max-retries fractional", ["run", EX, "--storage", STORE, "--workers", "2", "--max-retries", "1.5"], 1, /expected an integer >= 0/],
  ["unknown option", ["run", EX, "--trails", "3"], 1, /unknown option '--trails'/],
  ["status of a missing store", ["status", "kept", "--storage", "typo.db"], 2, /no store at typo\.db/],
  ["status of a missing experiment", ["status", "kepd", "--storage", STORE], 2, /no experiment "kepd" .*\(it has: kept\)/],
  ["status with sqlite: and no path", ["status", "kept", "--storage", "sqlite:"], 2, /names no file/],
  ["best --top zero", ["best", "kept", "--storage", STORE, "--top", "0"], 1, /expected a positive integer/],
  ["best of a missing store", ["best", "kept", "--storage", "nowhere/x.db"], 2, /no store at nowhere\/x\.db/],
  ["trials --format xml", ["trials", "kept", "--storage", STORE, "--format", "xml"], 2, /--format must be csv or json, got "xml"/],
  ["trials --status unknown", ["trials", "kept", "--storage", STORE, "--status", "done"], 2, /--status: unknown status "done"/],
  ["trials --status empty", ["trials", "kept", "--storage", STORE, "--status", ","], 2, /--status needs one or more/],
  ["export --trial unknown", ["export", "kept", "--storage", STORE, "--trial", "99"], 2, /experiment "kept" has no trial 99/],
  ["export --trial negative", ["export", "kept", "--storage", STORE, "--trial", "-1"], 1, /expected a positive integer/],
  ["export --format unknown", ["export", "kept", "--storage", STORE, "--format", "tf"], 2, /--format must be one of json, pytorch, onnx, got "tf"/],
  ["experiments of a missing store", ["experiments", "--storage", "typo.db"], 2, /no store at typo\.db/],
  ["compare a missing experiment", ["compare", "kept", "kpt", "--storage", STORE], 2, /no experiment "kpt" .*did you mean "kept"/],
  ["compare --target not a number", ["compare", "kept", "--storage", STORE, "--target", "high"], 1, /expected a number/],
  ["delete without --yes and no terminal", ["delete", "kept", "--storage", STORE], 2, /Add --yes to confirm/],
  ["delete a missing experiment", ["delete", "kepd", "--storage", STORE, "--yes"], 2, /no experiment "kepd"/],
  ["delete in a missing store", ["delete", "kept", "--storage", "typo.db", "--yes"], 2, /no store at typo\.db/],
  ["stop a missing experiment", ["stop", "kepd", "--storage", STORE], 2, /no experiment "kepd"/],
  ["strategies unknown", ["strategies", "reaa"], 2, /unknown strategy "reaa"; did you mean "rea"/],
  ["worker with :memory:", ["worker", EX, "--storage", ":memory:"], 2, /a worker needs a shared store/],
  ["worker with a missing config", ["worker", "nope.yaml"], 2, /Cannot read config nope\.yaml/],
];
for (const [label, args, code, expected] of CLI_CASES) {
  test(`cli: ${label}`, () => {
    const r = run(args);
    assert.equal(r.code, code, `exit status; stderr: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+|internal error/, "no stack trace");
    assert.equal(digest(STORE), KEPT, "store unchanged");
    assert.ok(!existsSync(join(dir, "typo.db")) && !existsSync(join(dir, "nowhere")), "nothing created");
  });
}

test("the suite has at least 150 cases", () => {
  const n = CONFIG_CASES.length + MODULE_CASES.length + COMMAND_CASES.length + STORE_CASES.length + DATA_CASES.length + CLI_CASES.length;
  assert.ok(n >= 150, `${n} cases`);
});
chmodSync(dir, 0o755);
