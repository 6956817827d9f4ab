import { spawn } from "node:child_process";
import { hostname } from "node:os";
import type { ExperimentSummary } from "../core/experiment.js";
import { TERMINAL_STATUSES } from "../core/store.js";
import { UserError } from "../core/errors.js";
import { createExperiment, loadParts } from "../config/build.js";
import type { ExperimentConfig } from "../config/schema.js";
import { workerSettings } from "../config/workers.js";
import { openStore } from "../stores/open.js";
import { redactUrl } from "../stores/postgres/index.js";
import { summaryJson } from "./commands.js";
import { fmtDuration, fmtMetrics, fmtNumber, fmtPoint } from "./format.js";
import { progressReporter } from "./progress.js";

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

/** `archsearch worker CONFIG`: one worker of a shared experiment, until its budget is done. */
export async function workerCommand(file: string, opts: WorkerCliOptions) {
  const overrides: Partial<ExperimentConfig> = {};
  if (opts.storage) overrides.storage = opts.storage;
  const parts = loadParts(file, overrides);
  if (opts.trials !== undefined) parts.config.budget.trials = opts.trials;
  if (parts.config.storage === ":memory:" || parts.config.storage === "sqlite::memory:") {
    throw new UserError("a worker needs a shared store: use a SQLite file or a postgres:// URL, not :memory:");
  }
  const settings = workerSettings(parts.config.workers, opts);
  const reporter = progressReporter(parts.objectives, { quiet: opts.quiet });
  const abort = new AbortController();
  const onSignal = () => {
    process.stderr.write("\nworker stopping after its trials in flight\n");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const { experiment, store } = createExperiment(parts, { onEvent: reporter.onEvent, signal: abort.signal, worker: opts.id });
  try {
    const summary = await experiment.runWorker(settings);
    reporter.stop();
    printSummary(summary, parts.objectives.primary.metric, opts.json);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await store.close();
    await parts.evaluator.close?.();
  }
}

/** `archsearch run CONFIG --workers N`: N local worker processes on the config's store, with progress and the final summary. */
export async function runWorkersCommand(file: string, opts: WorkerCliOptions & { workers: number }) {
  const overrides: Partial<ExperimentConfig> = {};
  if (opts.storage) overrides.storage = opts.storage;
  const parts = loadParts(file, overrides);
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
  const args = (i: number) => [
    script,
    "worker",
    file,
    "--storage",
    storage,
    "--id",
    `${hostname()}:${process.pid}:w${i}`,
    "--quiet",
    "--trials",
    String(budget),
    ...(opts.heartbeat !== undefined ? ["--heartbeat", String(opts.heartbeat)] : []),
    ...(opts.grace !== undefined ? ["--grace", String(opts.grace)] : []),
    ...(opts.maxRetries !== undefined ? ["--max-retries", String(opts.maxRetries)] : []),
  ];
  const children = Array.from({ length: opts.workers }, (_, i) => {
    const child = spawn(process.execPath, args(i), { stdio: ["ignore", "ignore", "pipe"] });
    let tail = "";
    child.stderr!.on("data", (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2000);
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; tail: string }>((resolve) =>
      child.on("close", (code, signal) => resolve({ code, signal, tail })),
    );
    return { child, exit };
  });
  const forward = () => children.forEach((c) => c.child.kill("SIGTERM"));
  process.on("SIGINT", forward);
  const store = openStore(storage);
  const started = Date.now();
  let last = "";
  const poll = async () => {
    const exp = await store.getExperiment(name);
    if (!exp) return;
    const c = await store.countTrials(exp.id);
    const done = c.finished + c.failed + c.pruned + c.paused;
    const line = `trials ${done}/${budget} done${c.failed ? ` (${c.failed} failed)` : ""}, ${c.running} running, ${opts.workers} workers, ${Math.round((Date.now() - started) / 1000)} s`;
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
    const bad = exits.filter((e) => e.code !== 0);
    if (!complete && bad.length > 0) {
      throw new UserError(
        `experiment ${name} incomplete (${ended.length}/${budget} trials): ${bad.length} of ${opts.workers} workers failed; the last one said:\n${bad[bad.length - 1].tail.trim() || `(exit ${bad[bad.length - 1].code ?? bad[bad.length - 1].signal})`}`,
      );
    }
    printSummary(summary, parts.objectives.primary.metric, opts.json);
  } finally {
    clearInterval(timer);
    process.off("SIGINT", forward);
    await store.close();
  }
}
