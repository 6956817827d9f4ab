/**
 * One measured run of the workers benchmark: N `archsearch worker` processes on a fresh
 * PostgreSQL schema, held at a start barrier until every one of them is up, then released
 * together; afterwards the store is read back to time the trials and count duplicates and
 * lost trials.
 *
 * The barrier is PostgreSQL's own: the benchmark creates the tables, then holds an ACCESS
 * EXCLUSIVE lock on the experiments table. A worker's first write (opening the experiment)
 * waits on that lock, so "N lock waiters" means N processes booted, loaded their config and
 * connected; committing lets them all go at once. Nothing in the worker knows about it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { PostgresStore } from "../src/stores/postgres/index.js";

const here = fileURLToPath(new URL(".", import.meta.url));
/** The CLI, compiled next to this file (dist/bench -> dist/src/cli). */
const CLI = join(here, "..", "src", "cli", "main.js");
/** The evaluator fixture lives in the source tree (bench/fixtures), two levels above dist/bench. */
const FIXTURE = join(here, "..", "..", "bench", "fixtures", "sleep-trial.mjs");

export interface WorkerRunOptions {
  /** postgres:// URL of the database (a fresh schema is created in it). */
  pgUrl: string;
  workers: number;
  trials: number;
  sleepMs: number;
  /** Optional `workers:` config section and URL parameters, to try settings. */
  workersSection?: Record<string, number>;
  poolSize?: number;
  keepSchema?: boolean;
  /** Write each worker's CPU profile (node --cpu-prof) into this folder. */
  profileDir?: string;
}

export interface WorkerRunResult {
  workers: number;
  trials: number;
  /** ceil(T / N) * s: T trials of s seconds on N workers with no overhead at all. */
  idealS: number;
  /** From the first trial's start to the last trial's end (store timestamps). */
  spanS: number;
  /** Spawn of the processes until all N wait at the barrier (boot, module loading, config, connection). */
  startupS: number;
  /** Barrier release until the first trial starts (opening the experiment, first suggestions). */
  releaseToFirstS: number;
  /** Spawn until the last trial's end. */
  totalS: number;
  efficiency: number;
  efficiencyWithStartup: number;
  /** Finished trials per second over the span, and the ideal's. */
  throughput: number;
  idealThroughput: number;
  /** A worker's idle time between the end of one evaluation and the start of its next, ms. */
  gapMeanMs: number;
  gapMaxMs: number;
  finished: number;
  failed: number;
  /** Trial numbers stored twice, evaluations recorded for two trials or for the wrong one. */
  duplicates: number;
  /** Budget minus finished, plus trials left pending or running. */
  lost: number;
  /** Tries beyond the first (a trial reclaimed from a worker that stopped beating). */
  retried: number;
  /** Most PostgreSQL connections the workers held at once (sampled). */
  peakConnections: number;
  workerFailures: string[];
}

interface TrialRow {
  number: number;
  status: string;
  attempt: number;
  retries: number;
  started_at: number | null;
  finished_at: number | null;
  hidden: Record<string, number> | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exitOf(child: ChildProcess) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

export async function workerRun(o: WorkerRunOptions): Promise<WorkerRunResult> {
  const schema = `archsearch_bench_w${process.pid}_${o.workers}_${Date.now().toString(36)}`;
  const appName = `archsearch-bench-${schema}`.slice(0, 63);
  const url = new URL(o.pgUrl);
  url.searchParams.set("schema", schema);
  url.searchParams.set("application_name", appName);
  if (o.poolSize !== undefined) url.searchParams.set("pool_size", String(o.poolSize));
  const dir = mkdtempSync(join(tmpdir(), "archsearch-bench-workers-"));
  const config = join(dir, "workers.json");
  writeFileSync(
    config,
    JSON.stringify({
      name: "bench-workers",
      seed: 0,
      storage: url.toString(),
      space: { name: "nb201" },
      strategy: { name: "random" },
      evaluator: { name: "module", path: FIXTURE },
      budget: { trials: o.trials },
      cache: false,
      ...(o.workersSection ? { workers: o.workersSection } : {}),
    }),
  );

  await (await PostgresStore.connect(url.toString())).close(); // creates the schema and tables
  const admin = new pg.Client({ connectionString: o.pgUrl });
  await admin.connect();
  const table = `"${schema}".experiments`;
  const children: ChildProcess[] = [];
  try {
    await admin.query("BEGIN");
    await admin.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    const spawnedAt = Date.now();
    const exits = Array.from({ length: o.workers }, (_, i) => {
      const prof = o.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${o.profileDir}`] : [];
      const child = spawn(process.execPath, [...prof, CLI, "worker", config, "--quiet", "--json", "--id", `w${i}`], {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, ARCHSEARCH_BENCH_SLEEP_MS: String(o.sleepMs) },
      });
      children.push(child);
      return exitOf(child);
    });
    let exitedEarly = false;
    void Promise.race(exits).then(() => (exitedEarly = true));

    // Barrier: wait until every worker is blocked on the lock.
    for (;;) {
      const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE relation = $1::regclass AND NOT granted`, [table]);
      if (rows[0].n >= o.workers) break;
      if (exitedEarly) {
        const e = await Promise.race(exits);
        throw new Error(`a worker exited before the start (code ${e.code ?? e.signal}):\n${e.stderr.trim()}`);
      }
      if (Date.now() - spawnedAt > 300_000) throw new Error(`only ${rows[0].n} of ${o.workers} workers reached the start barrier in 300 s`);
      await sleep(20);
    }
    const readyAt = Date.now();
    await admin.query("COMMIT");

    let peakConnections = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [appName]);
        peakConnections = Math.max(peakConnections, rows[0].n);
        await sleep(100);
      }
    })();
    const limitMs = Math.ceil(o.trials / o.workers) * o.sleepMs * 4 + 120_000;
    const killer = setTimeout(() => children.forEach((c) => c.kill("SIGKILL")), limitMs);
    const ended = await Promise.all(exits);
    clearTimeout(killer);
    sampling = false;
    await sampler;
    const workerFailures = ended.filter((e) => e.code !== 0).map((e) => `exit ${e.code ?? e.signal}: ${e.stderr.trim().split("\n").slice(-3).join(" | ")}`);

    const { rows } = await admin.query<TrialRow>(
      `SELECT t.number, t.status, t.attempt, t.retries, t.started_at::float8 AS started_at, t.finished_at::float8 AS finished_at, t.hidden
       FROM "${schema}".trials t JOIN ${table} e ON e.id = t.experiment_id WHERE e.name = 'bench-workers' ORDER BY t.number`,
    );
    return measure(o, rows, { spawnedAt, readyAt, peakConnections, workerFailures });
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await admin.query("ROLLBACK").catch(() => undefined);
    if (!o.keepSchema) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Times, duplicates and losses from the trials as stored. */
function measure(
  o: WorkerRunOptions,
  rows: TrialRow[],
  run: { spawnedAt: number; readyAt: number; peakConnections: number; workerFailures: string[] },
): WorkerRunResult {
  const s = o.sleepMs / 1000;
  const idealS = Math.ceil(o.trials / o.workers) * s;
  const finished = rows.filter((r) => r.status === "finished");
  const starts = rows.map((r) => r.started_at).filter((x): x is number => x !== null);
  const ends = rows.map((r) => r.finished_at).filter((x): x is number => x !== null);
  const firstStart = starts.length ? Math.min(...starts) : NaN;
  const lastEnd = ends.length ? Math.max(...ends) : NaN;
  const spanS = (lastEnd - firstStart) / 1000;

  // Duplicates: a number stored twice; one evaluation (process, sequence) recorded for two trials; a result of another trial.
  const numbers = new Map<number, number>();
  for (const r of rows) numbers.set(r.number, (numbers.get(r.number) ?? 0) + 1);
  let duplicates = [...numbers.values()].reduce((n, c) => n + c - 1, 0);
  const tokens = new Map<string, number>();
  for (const r of finished) {
    const h = r.hidden ?? {};
    const token = `${h.eval_pid}:${h.eval_seq}`;
    tokens.set(token, (tokens.get(token) ?? 0) + 1);
    if (h.eval_trial !== r.number) duplicates++;
  }
  duplicates += [...tokens.values()].reduce((n, c) => n + c - 1, 0);
  const pendingOrRunning = rows.filter((r) => r.status === "pending" || r.status === "running").length;
  const lost = Math.max(0, o.trials - finished.length) + pendingOrRunning;

  // Idle gaps of each worker process between consecutive evaluations.
  const byPid = new Map<number, { start: number; end: number }[]>();
  for (const r of finished) {
    const h = r.hidden;
    if (!h || typeof h.eval_pid !== "number") continue;
    const list = byPid.get(h.eval_pid) ?? [];
    list.push({ start: h.eval_start_ms, end: h.eval_end_ms });
    byPid.set(h.eval_pid, list);
  }
  const gaps: number[] = [];
  for (const list of byPid.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) gaps.push(list[i].start - list[i - 1].end);
  }
  const totalS = (lastEnd - run.spawnedAt) / 1000;
  return {
    workers: o.workers,
    trials: o.trials,
    idealS,
    spanS,
    startupS: (run.readyAt - run.spawnedAt) / 1000,
    releaseToFirstS: (firstStart - run.readyAt) / 1000,
    totalS,
    efficiency: idealS / spanS,
    efficiencyWithStartup: idealS / totalS,
    throughput: finished.length / spanS,
    idealThroughput: o.trials / idealS,
    gapMeanMs: gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : 0,
    gapMaxMs: gaps.length ? Math.max(...gaps) : 0,
    finished: finished.length,
    failed: rows.filter((r) => r.status === "failed").length,
    duplicates,
    lost,
    retried: rows.reduce((n, r) => n + r.retries, 0),
    peakConnections: run.peakConnections,
    workerFailures: run.workerFailures,
  };
}
