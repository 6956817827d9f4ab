import type { ExperimentSummary } from "../core/experiment.js";
import type { Store, TrialRecord, TrialStatus } from "../core/store.js";
import { TRIAL_STATUSES } from "../core/store.js";
import { TrialsFailedError, UserError } from "../core/errors.js";
import { Objectives } from "../core/objectives.js";
import { capabilitiesOf } from "../core/space.js";
import { createExperiment, loadParts } from "../config/build.js";
import type { ExperimentConfig } from "../config/schema.js";
import { openStore } from "../stores/open.js";
import { redactUrl } from "../stores/postgres/index.js";
import { registry } from "../registry.js";
import { fmtDuration, fmtMetrics, fmtNumber, fmtPoint, table, trialsCsv } from "./format.js";
import { progressReporter } from "./progress.js";
import { noneFinished, outcomeLines, readOutcome } from "./outcome.js";
import { stopSignals } from "./signals.js";
import { commonReasons, oneLineReason } from "./reasons.js";
import { checkEvaluator } from "../config/evaluator-check.js";
import { storageNote } from "./storage-note.js";
import { paretoFront } from "../objectives/pareto.js";

const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

/** The one-line JSON result of `run --json`. */
export function summaryJson(s: ExperimentSummary) {
  return {
    experiment: s.experiment,
    trials: s.trials,
    failed: s.failed,
    complete: s.complete,
    cost_s: s.costSeconds,
    best: s.best ? { trial: s.best.number, arch: s.best.arch, hp: s.best.hp, metrics: s.best.metrics, hidden_metrics: s.best.hidden } : null,
  };
}

export async function runCommand(file: string, opts: { json?: boolean; storage?: string; trials?: number; quiet?: boolean }) {
  const overrides: Partial<ExperimentConfig> = {};
  if (opts.storage) overrides.storage = opts.storage;
  const parts = loadParts(file, overrides);
  await checkEvaluator(parts, file);
  if (opts.trials !== undefined) parts.config.budget.trials = opts.trials;
  const reporter = progressReporter(parts.objectives, { quiet: opts.quiet });
  const stop = stopSignals("run");
  const { experiment, store } = createExperiment(parts, { onEvent: reporter.onEvent, signal: stop.signal, interrupt: stop.interrupt, storageNote: storageNote() });
  try {
    let summary: ExperimentSummary;
    try {
      summary = await experiment.run();
    } catch (e) {
      reporter.stop();
      // Stopped by max_failures: the counts and reasons are shown before the error.
      if (e instanceof TrialsFailedError) for (const line of outcomeLines(await readOutcome(store, parts.config.name))) process.stderr.write(`${line}\n`);
      throw e;
    }
    reporter.stop();
    const outcome = await readOutcome(store, parts.config.name);
    if (opts.json) out(JSON.stringify({ ...summaryJson(summary), finished: outcome.finished, pruned: outcome.pruned, failure_reasons: outcome.reasons }));
    else {
      const metric = parts.objectives.primary.metric;
      out(
        `experiment ${summary.experiment}: ${summary.trials} trials${summary.failed ? ` (${summary.failed} failed)` : ""}${summary.complete ? "" : " (incomplete: run again to resume)"}`,
      );
      for (const line of outcomeLines(outcome)) out(line);
      if (summary.best) {
        out(`best trial ${summary.best.number}: ${metric} ${fmtNumber(summary.best.metrics[metric])}  ${fmtMetrics(summary.best.hidden)}`);
        out(`  arch ${fmtPoint(summary.best.arch)}`);
        if (Object.keys(summary.best.hp).length) out(`  hp   ${JSON.stringify(summary.best.hp)}`);
      }
      if (summary.costSeconds > 0) out(`total trial cost: ${fmtDuration(summary.costSeconds)} (training time; simulated for benchmark tables)`);
    }
    if (!stop.signal.aborted) {
      const none = noneFinished(parts.config.name, outcome);
      if (none) throw none;
    }
    if (stop.exitCode !== undefined) process.exitCode = stop.exitCode;
  } finally {
    stop.dispose();
    await store.close();
    await parts.evaluator.close?.();
  }
}

/** Runs `fn` on a stored experiment, the store opened read-only (a missing store is refused, never created). */
export async function withExperiment<T>(name: string, storage: string, fn: (store: Store, id: number, objectives: Objectives, config: ExperimentConfig) => Promise<T>) {
  const store = openStore(storage, { readOnly: true, note: storageNote() });
  try {
    const exp = await store.getExperiment(name);
    if (!exp) {
      const names = (await store.listExperiments()).map((e) => e.name);
      throw new UserError(`no experiment "${name}" in ${redactUrl(storage)}${names.length ? ` (it has: ${names.join(", ")})` : " (it has none)"}`);
    }
    const config = exp.config as unknown as ExperimentConfig;
    // An experiment made through the library API stores no config: nothing says what "best" means.
    if (!Array.isArray(config.objectives) || config.objectives.length === 0) {
      throw new UserError(`experiment "${name}" has no objectives in its stored config (it was made through the library API, not from a config file), so the CLI cannot rank its trials; read it with the library's store API instead`);
    }
    return await fn(store, exp.id, new Objectives(config.objectives, config.constraints), config);
  } finally {
    await store.close();
  }
}

export function ranked(trials: TrialRecord[], objectives: Objectives): TrialRecord[] {
  return trials
    .filter((t) => t.status === "finished" && t.metrics && t.cachedFrom === null)
    .map((t) => ({ t, s: objectives.score(t.metrics!) }))
    .sort((a, b) => b.s - a.s || a.t.number - b.t.number)
    .map((x) => x.t);
}

export async function statusCommand(name: string, opts: { storage: string; json?: boolean }) {
  await withExperiment(name, opts.storage, async (store, id, objectives, config) => {
    const exp = (await store.getExperiment(name))!;
    const counts = await store.countTrials(id);
    const trials = await store.getTrials(id, { status: ["finished", "failed", "pruned"] });
    const best = ranked(trials, objectives)[0];
    const cost = trials.reduce((a, t) => a + (t.costSeconds ?? 0), 0);
    const done = counts.finished + counts.failed + counts.pruned;
    const failed = trials.filter((t) => t.status === "failed");
    const latest = [...failed].sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0) || b.number - a.number).slice(0, 3);
    const reasons = commonReasons(failed);
    if (opts.json) {
      out(
        JSON.stringify({
          experiment: name,
          status: exp.status,
          budget: config.budget.trials,
          done,
          counts,
          cost_s: cost,
          best: best ? { trial: best.number, arch: best.arch, hp: best.hp, metrics: best.metrics, hidden_metrics: best.hidden } : null,
          failure_reasons: reasons,
          latest_failures: latest.map((t) => ({ trial: t.number, reason: oneLineReason(t.error) })),
        }),
      );
      return;
    }
    out(`experiment ${name} (${exp.status}) in ${redactUrl(opts.storage)}`);
    out(`  space ${config.space.name}, strategy ${config.strategy.name}, scheduler ${config.scheduler.name}, evaluator ${config.evaluator.name}, seed ${config.seed}`);
    out(`  objectives ${config.objectives.map((o) => `${o.direction} ${o.metric}`).join(", ")}${config.constraints.length ? `; constraints ${config.constraints.map((c) => `${c.min ?? "-inf"} <= ${c.metric} <= ${c.max ?? "inf"}`).join(", ")}` : ""}`);
    out(`  trials ${done}/${config.budget.trials} done: ${Object.entries(counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(", ") || "none yet"}`);
    if (failed.length) {
      out(`  ${failed.length} failed; most common reasons:`);
      for (const r of reasons) out(`    ${r.count}x ${r.reason}`);
      out("  latest failures:");
      for (const t of latest) out(`    trial ${t.number}: ${oneLineReason(t.error)}`);
    }
    const cached = trials.filter((t) => t.cachedFrom !== null).length;
    if (cached) out(`  ${cached} trials reused an equivalent architecture's result`);
    if (cost) out(`  training cost ${fmtDuration(cost)}`);
    if (best) out(`  best trial ${best.number}: ${fmtMetrics(best.metrics, objectives.metricsNeeded())} ${fmtMetrics(best.hidden)}\n    ${fmtPoint(best.arch)}`);
  });
}

export async function bestCommand(name: string, opts: { storage: string; top: number; json?: boolean }) {
  await withExperiment(name, opts.storage, async (store, id, objectives) => {
    if (objectives.list.length >= 2) return paretoBest(await store.getTrials(id, { status: ["finished"] }), objectives, opts);
    const top = ranked(await store.getTrials(id, { status: ["finished"] }), objectives).slice(0, opts.top);
    if (opts.json) {
      out(JSON.stringify(top.map((t) => ({ trial: t.number, arch: t.arch, hp: t.hp, metrics: t.metrics, hidden_metrics: t.hidden }))));
      return;
    }
    const keys = objectives.metricsNeeded();
    const hiddenKeys = [...new Set(top.flatMap((t) => Object.keys(t.hidden ?? {})))];
    out(
      table(
        ["rank", "trial", ...keys, ...hiddenKeys, "arch", "hp"],
        top.map((t, i) => [
          String(i + 1),
          String(t.number),
          ...keys.map((k) => fmtNumber(t.metrics?.[k])),
          ...hiddenKeys.map((k) => fmtNumber(t.hidden?.[k])),
          fmtPoint(t.arch),
          Object.keys(t.hp).length ? JSON.stringify(t.hp) : "",
        ]),
      ),
    );
  });
}

/**
 * `best` for 2+ objectives: the Pareto front of the finished trials (feasible ones only when any
 * is feasible; cache hits left out), every objective's value, sorted by the first objective.
 */
export function paretoTrials(trials: TrialRecord[], objectives: Objectives): TrialRecord[] {
  const done = trials.filter((t) => t.status === "finished" && t.metrics && t.cachedFrom === null);
  const feasible = done.filter((t) => objectives.feasible(t.metrics!));
  const pool = feasible.length > 0 ? feasible : done;
  const vecs = pool.map((t) => objectives.list.map((_, i) => objectives.orient(t.metrics!, i)));
  return paretoFront(vecs)
    .sort((a, b) => vecs[b][0] - vecs[a][0] || pool[a].number - pool[b].number)
    .map((i) => pool[i]);
}

function paretoBest(trials: TrialRecord[], objectives: Objectives, opts: { json?: boolean }) {
  const front = paretoTrials(trials, objectives);
  if (opts.json) {
    out(JSON.stringify(front.map((t) => ({ trial: t.number, arch: t.arch, hp: t.hp, metrics: t.metrics, hidden_metrics: t.hidden, feasible: objectives.feasible(t.metrics!) }))));
    return;
  }
  const keys = objectives.metricsNeeded();
  const hiddenKeys = [...new Set(front.flatMap((t) => Object.keys(t.hidden ?? {})))];
  const done = trials.filter((t) => t.status === "finished" && t.cachedFrom === null).length;
  out(`Pareto front: ${front.length} non-dominated of ${done} finished trials (${objectives.list.map((o) => `${o.direction} ${o.metric}`).join(", ")})`);
  out(
    table(
      ["trial", ...keys, ...hiddenKeys, "arch", "hp"],
      front.map((t) => [
        String(t.number),
        ...keys.map((k) => fmtNumber(t.metrics?.[k])),
        ...hiddenKeys.map((k) => fmtNumber(t.hidden?.[k])),
        fmtPoint(t.arch),
        Object.keys(t.hp).length ? JSON.stringify(t.hp) : "",
      ]),
    ),
  );
}

/** The statuses of `trials --status a,b`; unknown ones refused. */
function statusList(list: string | undefined): TrialStatus[] | undefined {
  if (list === undefined) return undefined;
  const out = list.split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of out) if (!TRIAL_STATUSES.includes(s as TrialStatus)) throw new UserError(`--status: unknown status "${s}" (statuses: ${TRIAL_STATUSES.join(", ")})`);
  if (out.length === 0) throw new UserError(`--status needs one or more of: ${TRIAL_STATUSES.join(", ")}`);
  return out as TrialStatus[];
}

export async function trialsCommand(name: string, opts: { storage: string; format: string; status?: string }) {
  if (opts.format !== "csv" && opts.format !== "json") throw new UserError(`--format must be csv or json, got "${opts.format}"`);
  const status = statusList(opts.status);
  await withExperiment(name, opts.storage, async (store, id) => {
    const trials = await store.getTrials(id, { status });
    if (opts.format === "csv") {
      process.stdout.write(trialsCsv(trials));
      return;
    }
    for (const t of trials) {
      const steps = await store.getIntermediate(t.id);
      out(JSON.stringify({ ...t, intermediate: steps }));
    }
  });
}

export function spacesCommand(opts: { json?: boolean }) {
  const rows = Object.values(registry.spaces).map((c) => {
    let caps = "depends on its params (graph needs exactly one cell)";
    let size = "-";
    if (c.name === "nb201" || c.name === "fbnet") {
      const s = c.create({}, {});
      caps = capabilitiesOf(s).join(", ");
      size = String(s.size?.() ?? "-");
    }
    return { name: c.name, description: c.description, capabilities: caps, size };
  });
  if (opts.json) return out(JSON.stringify(rows));
  out(table(["space", "size", "capabilities", "description"], rows.map((r) => [r.name, r.size, r.capabilities, r.description])));
  out("\nAny space can be joined with hyperparameters: add `hyperparameters: [...]` under `space`.");
}

export function strategiesCommand(opts: { json?: boolean }) {
  const rows = Object.values(registry.strategies).map((c) => ({ name: c.name, requires: c.requires.join(", "), description: c.description }));
  if (opts.json) return out(JSON.stringify(rows));
  out(table(["strategy", "needs", "description"], rows.map((r) => [r.name, r.requires, r.description])));
}
