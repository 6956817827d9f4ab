import { spawn } from "node:child_process";
import { hostname } from "node:os";
import type { ExperimentSummary } from "../core/experiment.js";
import { TERMINAL_STATUSES } from "../core/store.js";
import { TrialsFailedError, UserError } from "../core/errors.js";
import { createExperiment, loadParts } from "../config/build.js";
import type { ExperimentConfig } from "../config/schema.js";
import { workerSettings } from "../config/workers.js";
import { openStore } from "../stores/open.js";
import { redactUrl } from "../stores/postgres/index.js";
import { summaryJson } from "./commands.js";
import { fmtDuration, fmtMetrics, fmtNumber, fmtPoint } from "./format.js";
import { progressReporter } from "./progress.js";
import { stopSignals } from "./signals.js";
import { storageNote } from "./storage-note.js";
import { checkEvaluator } from "../config/evaluator-check.js";
import { noneFinished, outcomeLines, readOutcome } from "./outcome.js";

const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

export interface WorkerCliOptions {
  storage?: string;
  id?: string;
  trials?: number;
  json?: boolean;
  quiet?: boolean;
  heartbeat?: number;
  grace?: number;
  maxRetries?: number;
}

function printSummary(s: ExperimentSummary, metric: string, json?: boolean) {
  if (json) return out(JSON.stringify(summaryJson(s)));
  out(`experiment ${s.experiment}: ${s.trials} trials${s.failed ? ` (${s.failed} failed)` : ""}${s.complete ? "" : " (incomplete: run again to resume)"}`);
  if (s.best) {
    out(`best trial ${s.best.number}: ${metric} ${fmtNumber(s.best.metrics[metric])}  ${fmtMetrics(s.best.hidden)}`);
    out(`  arch ${fmtPoint(s.best.arch)}`);
    if (Object.keys(s.best.hp).length) out(`  hp   ${JSON.stringify(s.best.hp)}`);
  }
  if (s.costSeconds > 0) out(`total trial cost: ${fmtDuration(s.costSeconds)} (training time; simulated for benchmark tables)`);
}

/** The environment variable by which `run --workers` hands its workers the storage (a URL's password stays off their command lines). */
export const STORAGE_ENV = "ARCHSEARCH_STORAGE";
/** Set by `run --workers` on its workers: stdin is a pipe from the parent, whose end means the parent is gone. */
export const PARENT_PIPE_ENV = "ARCHSEARCH_PARENT_PIPE";

/** The storage a worker was handed through the environment, taken out of it (trial programs do not inherit it). */
function storageFromEnv(): string | undefined {
  const v = process.env[STORAGE_ENV];
  delete process.env[STORAGE_ENV];
  return v || undefined;
}

/** `archsearch worker CONFIG`: one worker of a shared experiment, until its budget is done. */
export async function workerCommand(file: string, opts: WorkerCliOptions) {
  const overrides: Partial<ExperimentConfig> = {};
  const storage = opts.storage ?? storageFromEnv();
  if (storage) overrides.storage = storage;
  const parts = loadParts(file, overrides);
  await checkEvaluator(parts, file);
  if (opts.trials !== undefined) parts.config.budget.trials = opts.trials;
  if (parts.config.storage === ":memory:" || parts.config.storage === "sqlite::memory:") {
    throw new UserError("a worker needs a shared store: use a SQLite file or a postgres:// URL, not :memory:");
  }
  const settings = workerSettings(parts.config.workers, opts);
  const reporter = progressReporter(parts.objectives, { quiet: opts.quiet });
  const stop = stopSignals("worker");
  // Started by `run --workers`: the parent's end (even kill -9) closes our stdin, and we stop now.
  const parentGone = () => stop.stopNow("the parent process is gone");
  if (process.env[PARENT_PIPE_ENV]) {
    process.stdin.on("end", parentGone).on("close", parentGone).on("error", parentGone).resume();
  }
  const { experiment, store } = createExperiment(parts, { onEvent: reporter.onEvent, signal: stop.signal, interrupt: stop.interrupt, worker: opts.id, storageNote: storageNote() });
  try {
    const summary = await experiment.runWorker(settings);
    reporter.stop();
    printSummary(summary, parts.objectives.primary.metric, opts.json);
    if (stop.exitCode !== undefined) process.exitCode = stop.exitCode;
  } finally {
    stop.dispose();
    if (process.env[PARENT_PIPE_ENV]) {
      process.stdin.off("end", parentGone).off("close", parentGone);
      process.stdin.destroy();
    }
    await store.close();
    await parts.evaluator.close?.();
  }
}

/** `archsearch run CONFIG --workers N`: N local worker processes on the config's store, with progress and the final summary. */
export async function runWorkersCommand(file: string, opts: WorkerCliOptions & { workers: number }) {
  const overrides: Partial<ExperimentConfig> = {};
  if (opts.storage) overrides.storage = opts.storage;
  const parts = loadParts(file, overrides);
  await checkEvaluator(parts, file);
  await parts.evaluator.close?.();
  if (opts.trials !== undefined) parts.config.budget.trials = opts.trials;
  const storage = parts.config.storage;
  if (storage === ":memory:" || storage === "sqlite::memory:") {
    throw new UserError("--workers needs a store the worker processes share: a SQLite file or a postgres:// URL, not :memory:");
  }
  workerSettings(parts.config.workers, opts); // refuse bad settings here, not in every worker process
  const name = parts.config.name;
  const budget = parts.config.budget.trials;
  const script = process.argv[1];
  // The storage goes through the environment: a PostgreSQL URL's password never shows in `ps`.
  const args = (i: number) => [
    script,
    "worker",
    file,
    "--id",
    `${hostname()}:${process.pid}:w${i}`,
    "--quiet",
    "--trials",
    String(budget),
    ...(opts.heartbeat !== undefined ? ["--heartbeat", String(opts.heartbeat)] : []),
    ...(opts.grace !== undefined ? ["--grace", String(opts.grace)] : []),
    ...(opts.maxRetries !== undefined ? ["--max-retries", String(opts.maxRetries)] : []),
  ];
  let stopping = false;
  let alive = opts.workers;
  const report = (line: string) => process.stderr.write(`${line}\n`);
  const children = Array.from({ length: opts.workers }, (_, i) => {
    // Own process group (Ctrl-C reaches the parent only, which forwards it once); stdin a pipe
    // from this process, whose end (this process gone, even by kill -9) stops the worker.
    const child = spawn(process.execPath, args(i), {
      stdio: ["pipe", "ignore", "pipe"],
      detached: true,
      env: { ...process.env, [STORAGE_ENV]: storage, [PARENT_PIPE_ENV]: "1" },
    });
    child.stdin!.on("error", () => undefined);
    let tail = "";
    child.stderr!.on("data", (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2000);
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; tail: string }>((resolve) =>
      child.on("close", (code, signal) => {
        alive--;
        if (!stopping && (code !== 0 || signal)) {
          const last = tail.trim().split("\n").filter(Boolean).pop();
          report(`worker w${i} (pid ${child.pid}) died: ${signal ? `killed by ${signal}` : `exit status ${code}`}${last ? `; it last said: ${last}` : ""} (${alive} of ${opts.workers} workers left)`);
        }
        resolve({ code, signal, tail });
      }),
    );
    return { child, exit };
  });
  let exitCode: number | undefined;
  const forward = (sig: NodeJS.Signals) => () => {
    stopping = true;
    exitCode = sig === "SIGINT" ? 130 : 143;
    for (const c of children) if (c.child.exitCode === null) c.child.kill(sig);
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  const store = openStore(storage, { note: storageNote() });
  const started = Date.now();
  let last = "";
  const poll = async () => {
    const exp = await store.getExperiment(name);
    if (!exp) return;
    const c = await store.countTrials(exp.id);
    const done = c.finished + c.failed + c.pruned + c.paused;
    const line = `trials ${done}/${budget} done${c.failed ? ` (${c.failed} failed)` : ""}, ${c.running} running, ${alive} workers, ${Math.round((Date.now() - started) / 1000)} s`;
    if (line !== last && !opts.quiet) process.stderr.write(`${line}\n`);
    last = line;
  };
  const timer = setInterval(() => void poll().catch(() => undefined), 1000);
  try {
    process.stderr.write(opts.quiet ? "" : `experiment ${name}: ${opts.workers} worker processes on ${redactUrl(storage)}\n`);
    const exits = await Promise.all(children.map((c) => c.exit));
    clearInterval(timer);
    const exp = await store.getExperiment(name);
    if (!exp) throw new UserError(`the workers did not create experiment "${name}":\n${exits.map((e) => e.tail.trim()).filter(Boolean).join("\n")}`);
    const trials = await store.getTrials(exp.id);
    const ended = trials.filter((t) => TERMINAL_STATUSES.includes(t.status) || t.status === "paused");
    const complete = ended.length >= budget;
    let best: ExperimentSummary["best"];
    for (const t of ended) {
      if (t.status !== "finished" || !t.metrics) continue;
      const score = parts.objectives.score(t.metrics);
      if (!best || score > best.score) best = { number: t.number, point: t.point, arch: t.arch, hp: t.hp, metrics: t.metrics, hidden: t.hidden ?? {}, score };
    }
    const summary: ExperimentSummary = {
      experiment: name,
      trials: ended.length,
      failed: ended.filter((t) => t.status === "failed").length,
      best,
      costSeconds: ended.reduce((n, t) => n + (t.costSeconds ?? 0), 0),
      elapsedMs: Date.now() - started,
      complete,
    };
    const outcome = await readOutcome(store, name);
    const bad = exits.filter((e) => e.code !== 0);
    if (!complete && bad.length > 0 && !stopping) {
      const lastBad = bad[bad.length - 1];
      const err = `experiment ${name} incomplete (${ended.length}/${budget} trials): ${bad.length} of ${opts.workers} workers failed; the last one said:\n${lastBad.tail.trim() || `(exit ${lastBad.code ?? lastBad.signal})`}`;
      for (const line of outcomeLines(outcome)) report(line);
      // Workers stopped by max_failures: the same exit status as `run` without workers.
      throw /max_failures/.test(lastBad.tail) ? new TrialsFailedError(err) : new UserError(err);
    }
    if (opts.json) out(JSON.stringify({ ...summaryJson(summary), finished: outcome.finished, pruned: outcome.pruned, failure_reasons: outcome.reasons }));
    else {
      printSummary(summary, parts.objectives.primary.metric, false);
      for (const line of outcomeLines(outcome)) out(line);
    }
    if (!stopping) {
      const none = noneFinished(name, outcome);
      if (none) throw none;
    }
    if (exitCode !== undefined) process.exitCode = exitCode;
  } finally {
    clearInterval(timer);
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    await store.close();
  }
}
