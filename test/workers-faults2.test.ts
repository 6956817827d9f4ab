/**
 * Fault injection with real `archsearch worker` processes on a real PostgreSQL (ARCHSEARCH_PG_URL,
 * each test in a schema of its own): every worker killed with SIGKILL at seeded random moments
 * and restarted; every connection to the server cut and refused for a while (through a TCP
 * proxy, so the shared server keeps running); trial programs that hang, crash, print garbage or
 * print a huge line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, connect, type Server, type Socket } from "node:net";
import pg from "pg";
import { Rng } from "../src/core/rng.js";
import { CLI, ROOT } from "./cli-util.js";

const PG_URL = process.env.ARCHSEARCH_PG_URL ?? "postgres://root@127.0.0.1:5432/test";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  number: number;
  status: string;
  worker: string | null;
  attempt: number;
  retries: number;
  started_at: number | null;
  finished_at: number | null;
  metrics: Record<string, number> | null;
  error: string | null;
  point: unknown;
  arch: unknown;
  fidelity: { epochs?: number } | null;
}

/** A fresh schema (dropped afterwards), its storage URL, and a way to read its trials directly. */
async function inSchema(fn: (ctx: { url: string; rows: () => Promise<Row[]>; dir: string; searchState: () => Promise<unknown> }) => Promise<void>) {
  const schema = `archsearch_wf2_${process.pid}_${randomBytes(3).toString("hex")}`;
  const u = new URL(PG_URL);
  u.searchParams.set("schema", schema);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect(); // fails (not skips) when PostgreSQL is unreachable
  const dir = mkdtempSync(join(tmpdir(), "archsearch-wf2-"));
  const rows = async () => {
    try {
      const r = await admin.query<Row>(
        `SELECT number, status, worker, attempt, retries, started_at::float8 AS started_at, finished_at::float8 AS finished_at, metrics, error, point, arch, fidelity
         FROM "${schema}".trials ORDER BY number`,
      );
      return r.rows;
    } catch (e) {
      if (["42P01", "3F000", "42703"].includes((e as { code?: string }).code ?? "")) return []; // the workers have not created (or migrated) the tables yet
      throw e;
    }
  };
  const searchState = async () => (await admin.query<{ s: unknown }>(`SELECT search_state AS s FROM "${schema}".experiments`)).rows[0]?.s;
  try {
    await fn({ url: u.toString(), rows, dir, searchState });
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeConfig(dir: string, body: Record<string, unknown>): string {
  const file = join(dir, "workers.json");
  writeFileSync(file, JSON.stringify({ name: "faults", seed: 18, space: { name: "nb201" }, strategy: { name: "random" }, ...body }));
  return file;
}

interface Worker {
  id: string;
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function startWorker(file: string, id: string, opts: { storage?: string; env?: Record<string, string>; nodeArgs?: string[] } = {}): Worker {
  const args = [...(opts.nodeArgs ?? []), CLI, "worker", file, "--id", id, "--quiet", "--json", ...(opts.storage ? ["--storage", opts.storage] : [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { id, child, exit };
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The experiment ended with exactly `budget` finished trials, numbered 0..budget-1, no point handed out twice. */
function assertComplete(all: Row[], budget: number) {
  assert.deepEqual(
    all.map((r) => r.number),
    Array.from({ length: budget }, (_, i) => i),
    "exactly the budget, every number once",
  );
  const notFinished = all.filter((r) => r.status !== "finished" || r.metrics === null);
  assert.deepEqual(notFinished.map((r) => [r.number, r.status, r.error]), [], "every trial finished with metrics, none left pending or running");
  assert.equal(new Set(all.map((r) => JSON.stringify(r.point))).size, budget, "no suggestion handed out twice");
}

test("kill -9 of every worker at seeded random moments, then restart: the experiment completes, no finished result lost or run twice", { timeout: 120_000 }, () =>
  inSchema(async ({ url, rows, dir }) => {
    const BUDGET = 20;
    const seed = 18;
    const rng = new Rng(seed);
    const file = writeConfig(dir, {
      storage: url,
      evaluator: { name: "module", path: join(ROOT, "test/fixtures/sleepy-light.mjs") },
      budget: { trials: BUDGET },
      workers: { heartbeat_seconds: 0.2, grace_seconds: 2, max_retries: 10, poll_ms: 50 },
    });
    const env = { ARCHSEARCH_TEST_SLEEP_MS: "300" };
    const ids = ["w0", "w1", "w2"];
    const finishedAtKill = new Map<number, Row>();
    const runningAtKills = new Set<string>(); // number:attempt of every try a kill interrupted
    for (let round = 0; round < 2; round++) {
      const before = (await rows()).filter((r) => r.status === "finished").length;
      const target = before + 2 + rng.int(5); // a random moment: after 2..6 more trials, plus up to 400 ms
      const workers = ids.map((id) => startWorker(file, `${id}.${round}`, { env }));
      await until(`${target} finished trials (round ${round})`, 60_000, async () => (await rows()).filter((r) => r.status === "finished").length >= target);
      await sleep(rng.int(400));
      for (const w of workers) w.child.kill("SIGKILL");
      for (const w of workers) assert.equal((await w.exit).signal, "SIGKILL", `seed ${seed}: worker ${w.id} ended before the kill`);
      const after = await rows();
      for (const r of after) if (r.status === "running") runningAtKills.add(`${r.number}:${r.attempt}`);
      for (const r of after) if (r.status === "finished") finishedAtKill.set(r.number, r);
      assert.ok(finishedAtKill.size < BUDGET, "killed before the end");
    }

    const last = ids.map((id) => startWorker(file, `${id}.final`, { env }));
    for (const w of last) {
      const e = await w.exit;
      assert.equal(e.code, 0, `worker ${w.id} failed: ${e.stderr}`);
      assert.equal(JSON.parse(e.stdout.trim().split("\n").pop()!).complete, true);
    }
    const all = await rows();
    assertComplete(all, BUDGET);
    for (const [n, before] of finishedAtKill) {
      const now = all[n];
      assert.deepEqual(
        [now.metrics, now.finished_at, now.attempt, now.worker],
        [before.metrics, before.finished_at, before.attempt, before.worker],
        `trial ${n}, finished before a kill, is kept as it was (not lost, not run again)`,
      );
    }
    assert.equal(
      all.reduce((n, r) => n + r.retries, 0),
      runningAtKills.size,
      `every try a kill interrupted was retried once, and nothing else was (${[...runningAtKills].join(", ")})`,
    );
  }),
);

test("kill -9 of every worker during a promotion search (ASHA, type: promotion), then restart: it completes, continued trials resume where they paused", { timeout: 120_000 }, () =>
  inSchema(async ({ url, rows, dir, searchState }) => {
    const BUDGET = 15;
    const eta = 3;
    const seed = 18;
    const rng = new Rng(seed + 1);
    const fixture = join(ROOT, "test/fixtures/epochs-light.mjs");
    const { accuracy } = (await import(pathToFileURL(fixture).href)) as { accuracy: (arch: unknown, epoch: number) => number };
    const file = writeConfig(dir, {
      storage: url,
      evaluator: { name: "module", path: fixture, fidelity: { resource: "epochs", min: 1, max: 9 } },
      scheduler: { name: "asha", type: "promotion", eta }, // rungs at 1 and 3 epochs, the maximum 9
      budget: { trials: BUDGET },
      workers: { heartbeat_seconds: 0.2, grace_seconds: 2, max_retries: 10, poll_ms: 50 },
    });
    const env = { ARCHSEARCH_TEST_EPOCH_MS: "60" };
    const ended = async () => (await rows()).filter((r) => r.status === "paused" || r.status === "finished").length;
    for (let round = 0; round < 2; round++) {
      const target = (await ended()) + 2 + rng.int(4);
      const workers = ["w0", "w1", "w2"].map((id) => startWorker(file, `${id}.${round}`, { env }));
      await until(`${target} paused or finished trials (round ${round})`, 60_000, async () => (await ended()) >= target);
      await sleep(rng.int(300));
      for (const w of workers) w.child.kill("SIGKILL");
      for (const w of workers) assert.equal((await w.exit).signal, "SIGKILL", `worker ${w.id} ended before the kill`);
    }
    for (const w of ["w0", "w1", "w2"].map((id) => startWorker(file, `${id}.final`, { env }))) {
      const e = await w.exit;
      assert.equal(e.code, 0, `worker ${w.id} failed: ${e.stderr}`);
      assert.equal(JSON.parse(e.stdout.trim().split("\n").pop()!).complete, true);
    }
    const all = await rows();
    assert.deepEqual(all.map((r) => r.number), Array.from({ length: BUDGET }, (_, i) => i), "exactly the budget, every number once");
    for (const r of all) {
      const epochs = r.fidelity?.epochs;
      const where = `trial ${r.number} (${r.status} at ${epochs} epochs)`;
      assert.ok((r.status === "finished" && epochs === 9) || (r.status === "paused" && (epochs === 1 || epochs === 3)), where);
      // Its last result is the one at the fidelity it reached, whatever run (or worker, or kill) got it there.
      assert.equal(r.metrics?.valid_acc, accuracy(r.arch, epochs!), where);
    }
    const state = (await searchState()) as { scheduler: { records: [number, unknown][][]; paused: number[] } };
    for (const [k, rung] of state.scheduler.records.entries()) {
      const numbers = rung.map(([n]) => n);
      assert.equal(new Set(numbers).size, numbers.length, `rung ${k} holds each trial once (${numbers.join(", ")})`);
    }
    assert.deepEqual([...state.scheduler.records[0].map(([n]) => n)].sort((a, b) => a - b), all.map((r) => r.number), "every trial reached rung 1 once");
    assert.deepEqual([...state.scheduler.paused].sort((a, b) => a - b), all.filter((r) => r.status === "paused").map((r) => r.number), "the stored scheduler knows exactly the paused trials");
    // At the end nothing is promotable: the top third at rung 1 (ties counted against) went on.
    const base = new Map(all.map((r) => [r.number, accuracy(r.arch, 1)]));
    const quota = Math.floor(BUDGET / eta);
    for (const [n, a] of base) {
      const atLeastAsGood = [...base].filter(([m, b]) => m !== n && b >= a).length;
      if (atLeastAsGood < quota) assert.ok((all[n].fidelity?.epochs ?? 0) >= 3, `trial ${n}, in the top ${quota} at rung 1, was continued`);
    }
  }),
);

/** A TCP proxy to PostgreSQL that can cut every connection and refuse new ones for a while. */
async function pgProxy() {
  const target = new URL(PG_URL);
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.pipe(upstream).pipe(client);
    client.on("error", closeBoth).on("close", closeBoth);
    upstream.on("error", closeBoth).on("close", closeBoth);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    accepted: () => accepted,
    /** Destroys every proxied connection and stops listening (connections are refused). */
    async cut(): Promise<number> {
      const n = sockets.size / 2;
      const closed = new Promise((r) => server.close(r));
      for (const s of sockets) s.destroy();
      sockets.clear();
      await closed;
      return n;
    },
    /** Listens again on the same port. */
    async reopen(): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => {
          server.off("error", reject);
          resolve();
        });
      });
    },
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise((r) => server.close(r));
    },
  };
}

test("every PostgreSQL connection cut and refused for 2.5 s in the middle of a run: the workers reconnect and finish exactly the budget", { timeout: 120_000 }, () =>
  inSchema(async ({ url, rows, dir }) => {
    const BUDGET = 24;
    const proxy = await pgProxy();
    try {
      const viaProxy = new URL(url);
      viaProxy.hostname = "127.0.0.1";
      viaProxy.port = String(proxy.port);
      const file = writeConfig(dir, {
        storage: viaProxy.toString(),
        evaluator: { name: "module", path: join(ROOT, "test/fixtures/sleepy-light.mjs") },
        budget: { trials: BUDGET },
        workers: { heartbeat_seconds: 0.5, grace_seconds: 6, max_retries: 3, poll_ms: 50 },
      });
      const workers = ["w0", "w1", "w2"].map((id) => startWorker(file, id, { env: { ARCHSEARCH_TEST_SLEEP_MS: "300" } }));
      await until("6 finished trials", 60_000, async () => (await rows()).filter((r) => r.status === "finished").length >= 6);
      const cutAt = Date.now();
      const cut = await proxy.cut();
      const finishedAtCut = (await rows()).filter((r) => r.status === "finished").length;
      assert.ok(finishedAtCut < BUDGET - 6, "cut well before the end");
      await sleep(2500);
      const acceptedBefore = proxy.accepted();
      await proxy.reopen();
      const reopenedAt = Date.now();

      for (const w of workers) {
        const e = await w.exit;
        assert.equal(e.code, 0, `worker ${w.id} died instead of reconnecting: ${e.stderr}`);
        assert.equal(JSON.parse(e.stdout.trim().split("\n").pop()!).complete, true);
      }
      const all = await rows();
      assertComplete(all, BUDGET);
      assert.ok(cut >= 3, `every worker had a connection cut (${cut} cut)`);
      assert.ok(proxy.accepted() - acceptedBefore >= 3, "the workers connected again after the outage");
      assert.ok(all.some((r) => r.started_at! >= reopenedAt), "trials ran after the outage");
      assert.ok(all.some((r) => r.finished_at! < cutAt), "and before it");
    } finally {
      await proxy.close();
    }
  }),
);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("trial programs that hang, crash, print garbage or one 64 MB line: failures recorded clearly, the worker goes on, no memory blow-up", { timeout: 120_000 }, () =>
  inSchema(async ({ url, rows, dir }) => {
    const BUDGET = 10;
    const faults = { "1": "hang", "3": "crash", "5": "garbage", "7": "huge" };
    const file = writeConfig(dir, {
      storage: url,
      evaluator: {
        name: "command",
        command: [process.execPath, join(ROOT, "test/fixtures/faulty-trial.mjs")],
        env: { FAULTS: JSON.stringify(faults), PID_DIR: dir, HUGE_MB: "64" },
        log_dir: join(dir, "logs"),
        kill_grace_s: 0.5,
      },
      budget: { trials: BUDGET, trial_timeout_s: 2, max_failures: 5 },
      workers: { heartbeat_seconds: 0.5, grace_seconds: 10 },
    });
    // A 32 MB heap: a reader that kept the 64 MB line whole would run out of memory.
    const worker = startWorker(file, "solo", { nodeArgs: ["--max-old-space-size=32"] });
    const e = await worker.exit;
    assert.equal(e.code, 0, `the worker failed: ${e.stderr}`);
    const summary = JSON.parse(e.stdout.trim().split("\n").pop()!);
    assert.equal(summary.complete, true);
    assert.equal(summary.failed, 3);

    const all = await rows();
    assert.deepEqual(all.map((r) => r.number), Array.from({ length: BUDGET }, (_, i) => i));
    assert.ok(all.every((r) => r.worker === "solo" && r.attempt === 1), "one worker ran every trial once, going on after each fault");
    const by = (n: number) => all[n];
    assert.equal(by(1).status, "failed");
    assert.match(by(1).error!, /^trial timed out after 2 s$/);
    const hangPid = Number(readFileSync(join(dir, "hang-1.pid"), "utf8"));
    await until("the hanging program (it ignores SIGTERM) to be killed", 10_000, async () => !alive(hangPid));
    assert.equal(by(3).status, "failed");
    assert.match(by(3).error!, /exited with code 3; stderr ends with:\nfatal: out of memory on the imaginary GPU \(trial 3\)/);
    assert.equal(by(5).status, "failed");
    assert.match(by(5).error!, /trial 5 .*metric line is not JSON: \{valid_acc: 0\.5, oops/);
    assert.equal(by(7).status, "finished");
    assert.deepEqual(by(7).metrics, { valid_acc: 67 });
    const hugeLog = join(dir, "logs", "faults", "trial-7.out");
    assert.ok(existsSync(hugeLog) && statSync(hugeLog).size > 64 * 2 ** 20, "the huge output is in the trial's log file");
    for (const n of [0, 2, 4, 6, 8, 9]) {
      assert.equal(by(n).status, "finished", `trial ${n}: ${by(n).error}`);
      assert.deepEqual(by(n).metrics, { valid_acc: 50 + n });
    }
  }),
);
