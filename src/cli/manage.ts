import { hostname } from "node:os";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import type { z } from "zod";
import type { ExperimentRecord, Store, TrialRecord } from "../core/store.js";
import { TRIAL_STATUSES, type TrialStatus } from "../core/store.js";
import { UserError } from "../core/errors.js";
import { Objectives } from "../core/objectives.js";
import type { ExperimentConfig } from "../config/schema.js";
import { suggest } from "../config/validate.js";
import { openStore } from "../stores/open.js";
import { redactUrl } from "../stores/postgres/index.js";
import { registry } from "../registry.js";
import { fmtNumber, table } from "./format.js";
import { storageNote } from "./storage-note.js";
import { ranked, withExperiment } from "./commands.js";

const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

async function withStore<T>(storage: string, fn: (store: Store) => Promise<T>, readOnly = true): Promise<T> {
  const store = openStore(storage, { readOnly, existing: true, note: storageNote() });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** One experiment's line of `experiments` and `compare`. */
async function overview(store: Store, e: ExperimentRecord, target?: number) {
  const config = e.config as unknown as ExperimentConfig;
  const objectives = new Objectives(config.objectives, config.constraints);
  const trials = await store.getTrials(e.id);
  const c = Object.fromEntries(TRIAL_STATUSES.map((s) => [s, 0])) as Record<TrialStatus, number>;
  for (const t of trials) c[t.status]++;
  const best = ranked(trials, objectives)[0];
  const metric = objectives.primary.metric;
  let toTarget: number | null = null;
  if (target !== undefined) {
    const dir = objectives.primary.direction;
    const hit = trials.find((t) => t.status === "finished" && t.metrics && (dir === "max" ? t.metrics[metric] >= target : t.metrics[metric] <= target));
    toTarget = hit ? hit.number + 1 : null;
  }
  return {
    name: e.name,
    status: e.status,
    done: c.finished + c.failed + c.pruned,
    budget: config.budget?.trials ?? null,
    counts: c,
    metric,
    direction: objectives.primary.direction,
    best: best ? { trial: best.number, value: best.metrics![metric] } : null,
    trials_to_target: toTarget,
  };
}

/** `archsearch experiments`: every experiment of the store, with status, trials and best. */
export async function experimentsCommand(opts: { storage: string; json?: boolean }) {
  await withStore(opts.storage, async (store) => {
    const rows = await Promise.all((await store.listExperiments()).map((e) => overview(store, e)));
    if (opts.json) return out(JSON.stringify(rows));
    if (rows.length === 0) return out(`no experiments in ${redactUrl(opts.storage)}`);
    out(
      table(
        ["experiment", "status", "trials", "failed", "running", "best"],
        rows.map((r) => [r.name, r.status, `${r.done}/${r.budget ?? "?"}`, String(r.counts.failed), String(r.counts.running), r.best ? `${r.metric} ${fmtNumber(r.best.value)} (trial ${r.best.trial})` : "-"]),
      ),
    );
  });
}

/** `archsearch compare A B ...`: best and trials to a target, side by side. */
export async function compareCommand(names: string[], opts: { storage: string; target?: number; json?: boolean }) {
  await withStore(opts.storage, async (store) => {
    const rows = [];
    for (const n of names) {
      const e = await store.getExperiment(n);
      if (!e) throw new UserError(`no experiment "${n}" in ${redactUrl(opts.storage)}${hint(n, (await store.listExperiments()).map((x) => x.name))}`);
      rows.push(await overview(store, e, opts.target));
    }
    const metrics = new Set(rows.map((r) => `${r.direction} ${r.metric}`));
    if (opts.json) return out(JSON.stringify(rows));
    if (metrics.size > 1) out(`note: the experiments optimise different objectives (${[...metrics].join(", ")})`);
    out(
      table(
        ["experiment", "trials", "failed", "best", "best trial", ...(opts.target !== undefined ? [`trials to ${fmtNumber(opts.target)}`] : [])],
        rows.map((r) => [
          r.name,
          `${r.done}/${r.budget ?? "?"}`,
          String(r.counts.failed),
          r.best ? `${r.metric} ${fmtNumber(r.best.value)}` : "-",
          r.best ? String(r.best.trial) : "-",
          ...(opts.target !== undefined ? [r.trials_to_target === null ? "not reached" : String(r.trials_to_target)] : []),
        ]),
      ),
    );
  });
}

function hint(name: string, names: string[]): string {
  const h = suggest(name, names);
  return h ? `; did you mean "${h}"?` : names.length ? ` (it has: ${names.join(", ")})` : " (it has none)";
}

/** `archsearch delete NAME`: removes an experiment and its trials, after confirmation (or --yes). */
export async function deleteCommand(name: string, opts: { storage: string; yes?: boolean }) {
  await withStore(
    opts.storage,
    async (store) => {
      const e = await store.getExperiment(name);
      if (!e) throw new UserError(`no experiment "${name}" in ${redactUrl(opts.storage)}${hint(name, (await store.listExperiments()).map((x) => x.name))}`);
      const c = await store.countTrials(e.id);
      const total = Object.values(c).reduce((a, b) => a + b, 0);
      if (c.running > 0 && !opts.yes) throw new UserError(`experiment "${name}" has ${c.running} trials running: stop it first (archsearch stop ${name}), or add --yes`);
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw new UserError(`delete experiment "${name}" with its ${total} trials? Add --yes to confirm (no terminal to ask on)`);
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`delete experiment "${name}" with its ${total} trials from ${redactUrl(opts.storage)}? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) return out("not deleted");
      }
      await store.deleteExperiment(e.id);
      out(`deleted experiment "${name}" (${total} trials)`);
    },
    false,
  );
}

/** The process id of a trial's worker name when it runs on this machine (`pidN`, `HOST:PID`, `HOST:PARENT:wN`). */
function localPid(worker: string | null): number | undefined {
  if (!worker) return undefined;
  const local = /^pid(\d+)$/.exec(worker);
  if (local) return Number(local[1]);
  const m = /^(.*?):(\d+)(:w\d+)?$/.exec(worker);
  return m && m[1] === hostname() ? Number(m[2]) : undefined;
}

/** Whether a process is an archsearch command (a reused pid is left alone). */
function isArchsearch(pid: number): boolean {
  try {
    return /archsearch|cli\/main\.js/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * `archsearch stop NAME`: asks the processes running the experiment's trials on this machine to
 * finish their trials in flight and stop (SIGINT, as Ctrl-C: `run --workers` forwards it to its
 * workers); the experiment resumes with the next run. Processes on other machines are named.
 */
export async function stopCommand(name: string, opts: { storage: string }) {
  await withExperiment(name, opts.storage, async (store, id) => {
    const runningTrials: TrialRecord[] = await store.getTrials(id, { status: ["running"] });
    if (runningTrials.length === 0) return out(`experiment "${name}" has no trial running: nothing to stop`);
    const pids = new Set<number>();
    const elsewhere = new Set<string>();
    for (const t of runningTrials) {
      const pid = localPid(t.worker);
      if (pid !== undefined && isArchsearch(pid)) pids.add(pid);
      else if (pid === undefined && t.worker) elsewhere.add(t.worker);
    }
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGINT");
      } catch {
        pids.delete(pid);
      }
    }
    if (pids.size) out(`asked ${pids.size} process${pids.size > 1 ? "es" : ""} (pid ${[...pids].join(", ")}) to finish their trials in flight and stop; run the experiment again to resume it`);
    if (elsewhere.size) out(`trials run by workers on other machines: ${[...elsewhere].join(", ")}; stop those there (Ctrl-C or SIGINT)`);
    if (!pids.size && !elsewhere.size) out(`no running archsearch process found for the ${runningTrials.length} running trials (their processes are gone: the next run resumes them)`);
  });
}

/** A zod option's type, default and description for `strategies NAME`. */
function describe(schema: z.ZodType): { type: string; default: string; description: string } {
  let s = schema as unknown as { _zod: { def: { type: string; defaultValue?: unknown; innerType?: unknown; entries?: Record<string, string>; values?: unknown[] } }; description?: string };
  const description = s.description ?? "";
  let def = "";
  let optional = false;
  while (s._zod.def.innerType) {
    if (s._zod.def.type === "default") def = JSON.stringify(typeof s._zod.def.defaultValue === "function" ? (s._zod.def.defaultValue as () => unknown)() : s._zod.def.defaultValue);
    if (s._zod.def.type === "optional") optional = true;
    s = s._zod.def.innerType as typeof s;
  }
  const d = s._zod.def;
  const type = d.type === "enum" && d.entries ? Object.keys(d.entries).join(" | ") : d.type === "literal" && d.values ? d.values.map((v) => JSON.stringify(v)).join(" | ") : d.type;
  return { type, default: def || (optional ? "(none)" : "(required)"), description: (schema as { description?: string }).description ?? description };
}

/** `archsearch strategies NAME`: the strategy's options, with types and defaults. */
export function strategyOptionsCommand(name: string, opts: { json?: boolean }) {
  const c = (registry.strategies as Record<string, { name: string; description: string; options: z.ZodType; requires: readonly string[] }>)[name];
  if (!c) throw new UserError(`unknown strategy "${name}"${hint(name, Object.keys(registry.strategies))}`);
  const shape = (c.options as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
  const rows = Object.entries(shape).map(([k, v]) => ({ option: k, ...describe(v) }));
  if (opts.json) return out(JSON.stringify({ name: c.name, description: c.description, requires: c.requires, options: rows }));
  out(`${c.name}: ${c.description}`);
  out(`needs a space that supports: ${c.requires.join(", ")}`);
  if (rows.length === 0) return out("no options");
  out(table(["option", "type", "default", "description"], rows.map((r) => [r.option, r.type, r.default, r.description])));
}
