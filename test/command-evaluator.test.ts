import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandEvaluator } from "../src/evaluators/command.js";
import type { Decision } from "../src/core/scheduler.js";
import type { Metrics, TrialSpec } from "../src/core/evaluator.js";
import { Experiment } from "../src/core/experiment.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { FifoScheduler } from "../src/schedulers/fifo.js";
import { RegularizedEvolution } from "../src/strategies/regularized-evolution.js";
import { objectives, space } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "archsearch-cmd-"));

function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

function evaluator(file: string, extra: Record<string, unknown> = {}) {
  return new CommandEvaluator(
    { command: [process.execPath, file], env: {}, log_dir: "logs", kill_grace_s: 1, stderr_tail: 2000, ...extra } as never,
    dir,
  );
}

const spec = (number: number): TrialSpec => ({
  experiment: "cmd test",
  number,
  point: "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
  arch: "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
  hp: { lr: 0.1 },
  fidelity: { epochs: 3 },
  seed: 42,
});

function ctx(decide: (step: number, m: Metrics) => Decision = () => "continue") {
  const reports: [number, Metrics][] = [];
  const abort = new AbortController();
  return { reports, abort, ctx: { signal: abort.signal, report: (s: number, m: Metrics) => (reports.push([s, m]), decide(s, m)) } };
}

const reporter = script(
  "reporter.mjs",
  `import { readFileSync } from "node:fs";
let stdin = ""; for await (const c of process.stdin) stdin += c;
const trial = JSON.parse(readFileSync(process.env.ARCHSEARCH_TRIAL_FILE, "utf8"));
if (JSON.stringify(trial) !== stdin) { console.error("stdin and file differ"); process.exit(9); }
console.log("starting trial", trial.trial, "arch", trial.arch);
for (let e = 1; e <= trial.fidelity.epochs; e++) console.log("archsearch-metric: " + JSON.stringify({ step: e, valid_acc: 50 + e * trial.hp.lr * 10 }));
console.error("some warning");
console.log("archsearch-metric: " + JSON.stringify({ valid_acc: 53.5, params: 12, hidden: { test_acc: 52 }, seed_seen: trial.seed }));
`,
);

test("a command trial gets its spec on stdin and in a file, reports per step and at the end, and keeps its logs", async () => {
  const ev = evaluator(reporter);
  const { reports, ctx: c } = ctx();
  const r = await ev.run(spec(3), c);
  assert.deepEqual(reports, [[1, { valid_acc: 51 }], [2, { valid_acc: 52 }], [3, { valid_acc: 53 }]]);
  assert.deepEqual(r.metrics, { valid_acc: 53.5, params: 12, seed_seen: 42 });
  assert.deepEqual(r.hidden, { test_acc: 52 });
  const logs = ev.logFiles("cmd test", 3);
  assert.match(readFileSync(logs.out, "utf8"), /^starting trial 3 arch \|nor_conv_3x3~0\|/);
  assert.equal(readFileSync(logs.err, "utf8"), "some warning\n");
  assert.ok(!existsSync(join(logs.out, "..", "trial-3.json")), "the trial file is removed afterwards");
});

test("a non-zero exit fails the trial with the tail of stderr", async () => {
  const file = script("fails.mjs", `console.error("x".repeat(5000)); console.error("CUDA out of memory at layer 3"); process.exit(3);`);
  const { ctx: c } = ctx();
  await assert.rejects(evaluator(file, { stderr_tail: 300 }).run(spec(0), c), (e: Error) => {
    assert.match(e.message, /exited with code 3; stderr ends with:\n.*CUDA out of memory at layer 3/s);
    assert.ok(e.message.length < 600, "only the tail is kept");
    return true;
  });
});

test("a malformed metric line or no metrics at all is a clear error", async () => {
  const bad = script("bad.mjs", `console.log("archsearch-metric: {valid_acc: 3}");`);
  await assert.rejects(evaluator(bad).run(spec(0), ctx().ctx), /metric line is not JSON: \{valid_acc: 3\}/);
  const wrongType = script("wrong.mjs", `console.log('archsearch-metric: {"valid_acc": "high"}');`);
  await assert.rejects(evaluator(wrongType).run(spec(0), ctx().ctx), /metric "valid_acc" must be a number, got "high"/);
  const silent = script("silent.mjs", `console.log("done");`);
  await assert.rejects(evaluator(silent).run(spec(0), ctx().ctx), /reported no metrics/);
  await assert.rejects(new CommandEvaluator({ command: ["/no/such/program"], env: {}, log_dir: "logs", kill_grace_s: 1, stderr_tail: 2000 }, dir).run(spec(0), ctx().ctx), /cannot start trial command "\/no\/such\/program"/);
});

const forever = script(
  "forever.mjs",
  `import { writeFileSync } from "node:fs";
writeFileSync(process.env.PID_FILE, String(process.pid));
let step = 0;
setInterval(() => console.log("archsearch-metric: " + JSON.stringify({ step: ++step, valid_acc: step })), 20);
`,
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a scheduler's stop ends the program and the trial keeps what it reported", async () => {
  const pidFile = join(dir, "stop.pid");
  const { reports, ctx: c } = ctx((step) => (step >= 3 ? "stop" : "continue"));
  const r = await evaluator(forever, { env: { PID_FILE: pidFile } }).run(spec(1), c);
  assert.equal(reports.length, 3);
  assert.deepEqual(r.metrics, { valid_acc: 3 });
  assert.ok(!alive(Number(readFileSync(pidFile, "utf8"))));
});

test("an abort (trial timeout) kills a hanging program, even one that ignores SIGTERM", async () => {
  const stubborn = script("stubborn.mjs", `import { writeFileSync } from "node:fs"; writeFileSync(process.env.PID_FILE, String(process.pid)); process.on("SIGTERM", () => {}); setInterval(() => {}, 1000);`);
  const pidFile = join(dir, "hang.pid");
  const { abort, ctx: c } = ctx();
  const running = evaluator(stubborn, { env: { PID_FILE: pidFile }, kill_grace_s: 0.3 }).run(spec(2), c);
  while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 20));
  abort.abort(new Error("trial timed out after 1 s"));
  await assert.rejects(running, /timed out after 1 s/);
  assert.ok(!alive(Number(readFileSync(pidFile, "utf8"))));
});

test("an experiment runs its trials through a command and records failures and timeouts without losing results", async () => {
  const trainer = script(
    "trainer.mjs",
    `let s = ""; for await (const c of process.stdin) s += c;
const t = JSON.parse(s);
const convs = (t.arch.match(/conv/g) || []).length;
if (t.trial === 4) { console.error("boom"); process.exit(1); }
if (t.trial === 6) await new Promise((r) => setTimeout(r, 60000));
console.log("archsearch-metric: " + JSON.stringify({ valid_acc: 80 + convs }));
`,
  );
  const store = new SqliteStore(":memory:");
  const ev = evaluator(trainer);
  const exp = new Experiment({
    name: "cmd",
    seed: 1,
    space,
    strategy: new RegularizedEvolution({ space, objectives, seed: 1 }, { population_size: 4, sample_size: 2, dedupe_tries: 10 }),
    scheduler: new FifoScheduler({ seed: 1 }),
    evaluator: ev,
    objectives,
    store,
    budget: { trials: 10, trialTimeoutSeconds: 2, maxFailures: 5 },
  });
  const summary = await exp.run();
  const trials = await store.getTrials(1);
  assert.equal(trials.length, 10);
  const byNumber = new Map(trials.map((t) => [t.number, t]));
  assert.equal(byNumber.get(4)!.status, "failed");
  assert.match(byNumber.get(4)!.error!, /exited with code 1; stderr ends with:\nboom/);
  assert.equal(byNumber.get(6)!.status, "failed");
  assert.match(byNumber.get(6)!.error!, /timed out after 2 s/);
  const finished = trials.filter((t) => t.status === "finished");
  assert.equal(finished.length, 8);
  for (const t of finished) assert.equal(t.metrics!.valid_acc, 80 + ((t.arch as string).match(/conv/g) ?? []).length);
  assert.ok(summary.best!.metrics.valid_acc >= 82);
});

test("huge output and garbage lines do not break a trial: stdout goes to its log, only metric lines count", async () => {
  const noisy = script(
    "noisy.mjs",
    `const line = "garbage \\u0000\\u00ff " + "x".repeat(1000) + "\\n";
for (let i = 0; i < 20000; i++) process.stdout.write(line);          // about 20 MB
process.stdout.write("not-archsearch-metric {oops}\\n");
console.error("y".repeat(5_000_000));                                  // 5 MB of stderr
console.log('archsearch-metric: {"valid_acc": 77}');
`,
  );
  const ev = evaluator(noisy, { stderr_tail: 500 });
  const r = await ev.run(spec(9), ctx().ctx);
  assert.deepEqual(r.metrics, { valid_acc: 77 });
  const { statSync } = await import("node:fs");
  const logs = ev.logFiles("cmd test", 9);
  assert.ok(statSync(logs.out).size > 20_000_000, "stdout kept in full in the log file");
  assert.ok(statSync(logs.err).size >= 5_000_000);
});
