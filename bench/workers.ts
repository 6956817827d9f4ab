/**
 * Workers on one shared PostgreSQL experiment: throughput and efficiency of N real
 * `archsearch worker` processes (random search on NAS-Bench-201, every trial sleeping 1 s), and
 * the trials duplicated or lost, counted from the store afterwards.
 *
 *   npm run bench -- workers [--workers 1,4,16,32] [--trials 200] [--sleep-ms 1000] [--pg URL]
 *                            [--pool-size K] [--poll-ms MS] [--keep] [--profile DIR]
 *
 * The ideal for T trials of s seconds on N workers is ceil(T / N) * s: N workers busy without a
 * gap, the last round partly filled. It is compared with the span from the first trial's start
 * to the last trial's end (the store's timestamps). Process start-up is measured apart: the
 * workers are held at a start barrier (a table lock, see worker-run.ts) until all N are up, so
 * the span measures coordination, not how long 32 Node processes take to boot on this machine;
 * "efficiency incl. start-up" divides the ideal by the whole time from spawning the processes
 * to the last trial's end. Each run uses a fresh schema (dropped afterwards unless --keep).
 * `--profile DIR` writes every worker's CPU profile (node --cpu-prof) there.
 *
 * Last line: {"efficiency": {"1": x, "4": x, "16": x, "32": x}, "duplicates": 0, "lost": 0, ...}.
 */
import { benchArgs, intList } from "./args.js";
import { workerRun, type WorkerRunResult } from "./worker-run.js";

const DEFAULT_PG = "postgres://root@127.0.0.1:5432/test";

export async function workersBench(argv: string[]) {
  const { values } = benchArgs(argv, {
    workers: { type: "string", default: "1,4,16,32" },
    trials: { type: "string", default: "200" },
    "sleep-ms": { type: "string", default: "1000" },
    pg: { type: "string", default: process.env.ARCHSEARCH_PG_URL ?? DEFAULT_PG },
    "pool-size": { type: "string" },
    "poll-ms": { type: "string" },
    keep: { type: "boolean", default: false },
    profile: { type: "string" },
  });
  const counts = intList(String(values.workers));
  const trials = intList(String(values.trials))[0];
  const sleepMs = intList(String(values["sleep-ms"]))[0];
  const poolSize = values["pool-size"] === undefined ? undefined : intList(String(values["pool-size"]))[0];
  const pollMs = values["poll-ms"] === undefined ? undefined : intList(String(values["poll-ms"]))[0];

  const results: WorkerRunResult[] = [];
  for (const workers of counts) {
    console.error(`  ${workers} workers: ${trials} trials of ${sleepMs} ms ...`);
    const r = await workerRun({
      pgUrl: String(values.pg),
      workers,
      trials,
      sleepMs,
      poolSize,
      workersSection: pollMs === undefined ? undefined : { poll_ms: pollMs },
      keepSchema: Boolean(values.keep),
      profileDir: values.profile === undefined ? undefined : String(values.profile),
    });
    results.push(r);
    console.error(`    span ${r.spanS.toFixed(2)} s (ideal ${r.idealS} s), efficiency ${r.efficiency.toFixed(3)}, start-up ${r.startupS.toFixed(1)} s`);
    for (const f of r.workerFailures) console.error(`    worker failed: ${f}`);
  }

  const s = sleepMs / 1000;
  console.log(`workers on one PostgreSQL experiment: random search on NAS-Bench-201, ${trials} trials of ${s} s each, real worker processes`);
  console.log(`ideal = ceil(T/N) * ${s} s; efficiency = ideal / span (first trial start -> last trial end, store timestamps);`);
  console.log(`start-up = spawn -> all N workers connected and waiting at the start barrier (not in the span); incl. start-up = ideal / (spawn -> last trial end)`);
  console.log(`gap = a worker's idle time between two evaluations (mean / max); dup = numbers stored twice or results shared/misfiled; lost = budget - finished + left pending/running`);
  const header = ["workers", "ideal s", "span s", "efficiency", "trials/s", "ideal/s", "start-up s", "to 1st s", "incl. start-up", "gap ms", "PG conns", "retried", "failed", "dup", "lost"];
  const widths = [9, 9, 9, 12, 10, 9, 12, 10, 16, 14, 10, 9, 8, 5, 5];
  const line = (cells: string[]) => console.log(cells.map((c, i) => c.padEnd(widths[i])).join(""));
  line(header);
  for (const r of results) {
    line([
      String(r.workers),
      r.idealS.toFixed(1),
      r.spanS.toFixed(2),
      r.efficiency.toFixed(3),
      r.throughput.toFixed(2),
      r.idealThroughput.toFixed(2),
      r.startupS.toFixed(2),
      r.releaseToFirstS.toFixed(2),
      r.efficiencyWithStartup.toFixed(3),
      `${r.gapMeanMs.toFixed(0)} / ${r.gapMaxMs.toFixed(0)}`,
      String(r.peakConnections),
      String(r.retried),
      String(r.failed),
      String(r.duplicates),
      String(r.lost),
    ]);
  }
  const by = (f: (r: WorkerRunResult) => number) => Object.fromEntries(results.map((r) => [String(r.workers), Number(f(r).toFixed(4))]));
  console.log(
    JSON.stringify({
      efficiency: by((r) => r.efficiency),
      duplicates: results.reduce((n, r) => n + r.duplicates, 0),
      lost: results.reduce((n, r) => n + r.lost, 0),
      efficiency_with_startup: by((r) => r.efficiencyWithStartup),
      startup_s: by((r) => r.startupS),
      span_s: by((r) => r.spanS),
      trials,
      sleep_s: s,
      worker_failures: results.reduce((n, r) => n + r.workerFailures.length, 0),
    }),
  );
}
