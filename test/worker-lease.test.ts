/**
 * The pieces that let many workers share one experiment quickly and safely: the driver lease
 * (waiting for it, counting who waits, losing it), the fence on adding trials, the driver's
 * demand estimate, and the command evaluator's capped line reader.
 */
import { st } from "./state-write.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket } from "node:net";
import { PostgresStore } from "../src/stores/postgres/index.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import type { Store, TrialRecord } from "../src/core/store.js";
import { driverDemand } from "../src/core/worker-demand.js";
import { CappedLines } from "../src/evaluators/capped-lines.js";
import { trial } from "./store-contract.js";
import { inPgSchema, PG_URL } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const inSchema = (fn: (url: string) => Promise<void>) => inPgSchema("wl_", fn);

test("postgres lease: a waiter wakes as soon as the holder lets go, without taking the lease; the holder sees who waits", { timeout: 60_000 }, () =>
  inSchema(async (url) => {
    const [a, b, c] = [await PostgresStore.connect(url), await PostgresStore.connect(url), await PostgresStore.connect(url)];
    try {
      const { experiment } = await a.openExperiment("lease", {}, "h");
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let seen = -1;
      let clockSkew = NaN;
      const holder = a.withDriverLease(experiment.id, "a", async (lease) => {
        await gate;
        seen = await lease.waiting();
        clockSkew = lease.now() - Date.now();
        return "held";
      });
      await sleep(200);
      assert.deepEqual(await c.withDriverLease(experiment.id, "c", async () => "c"), { acquired: false }, "taken: no wait asked, none done");
      const t0 = Date.now();
      const timedOut = await c.withDriverLease(experiment.id, "c", async () => "c", 300);
      const waitedMs = Date.now() - t0;
      assert.deepEqual(timedOut, { acquired: false });
      assert.ok(waitedMs >= 250 && waitedMs < 3000, `waited the time asked (${waitedMs} ms)`);

      const waiter = b.withDriverLease(experiment.id, "b", async () => "b", 20_000);
      await sleep(300);
      const released = Date.now();
      release();
      assert.deepEqual(await holder, { acquired: true, value: "held" });
      assert.equal(seen, 1, "the holder counted the one waiting worker");
      assert.ok(Math.abs(clockSkew) < 2000, `the lease tells the server's clock (same machine: within 2 s of ours, was ${clockSkew} ms off)`);
      assert.deepEqual(await waiter, { acquired: false }, "the waiter is woken, not handed the lease");
      assert.ok(Date.now() - released < 3000, "promptly");
      assert.deepEqual(await c.withDriverLease(experiment.id, "c", async () => "c"), { acquired: true, value: "c" }, "nothing kept the lock (timeouts included)");
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  }),
);

test("postgres lease: when the lease's connection is lost the holder's step is abandoned (not an error), and the lease is free again", { timeout: 60_000 }, () =>
  inSchema(async (url) => {
    const target = new URL(PG_URL);
    const sockets = new Set<Socket>();
    const proxy: Server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const close = () => (client.destroy(), upstream.destroy());
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const via = new URL(url);
    via.hostname = "127.0.0.1";
    via.port = String((proxy.address() as { port: number }).port);
    const direct = await PostgresStore.connect(url);
    const proxied = await PostgresStore.connect(via.toString(), { retry: { attempts: 2, baseDelayMs: 10 } });
    try {
      const { experiment } = await direct.openExperiment("lost", {}, "h");
      let stepRan = false;
      const r = await proxied.withDriverLease(experiment.id, "p", async (lease) => {
        for (const s of sockets) s.destroy(); // the server ends the session: the advisory lock goes with it
        await lease.waiting();
        stepRan = true;
        return 1;
      });
      assert.deepEqual(r, { acquired: false });
      assert.equal(stepRan, false, "nothing after the lost lease ran");
      await sleep(100);
      assert.deepEqual(await direct.withDriverLease(experiment.id, "d", async () => "free"), { acquired: true, value: "free" });
    } finally {
      await direct.close();
      await proxied.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    }
  }),
);

/** addTrials with the count the caller saw: nothing is added once another writer has added trials. */
async function fenceContract(store: Store) {
  const { experiment } = await store.openExperiment("fence", {}, "h");
  const first = await store.addTrials(experiment.id, [trial(0), trial(1)], st({ v: 1 }), 0);
  assert.deepEqual(first.map((t) => t.number), [0, 1]);
  assert.deepEqual(await store.addTrials(experiment.id, [trial(2)], st({ v: "stale" }), 0), [], "a driver that saw 0 trials adds nothing");
  assert.deepEqual(await store.loadSearchState(experiment.id), { v: 1 }, "nor saves its outdated state");
  const next = await store.addTrials(experiment.id, [trial(2)], st({ v: 2 }), 2);
  assert.deepEqual(next.map((t) => t.number), [2]);
  assert.deepEqual((await store.addTrials(experiment.id, [trial(3)], st({ v: 3 }))).map((t) => t.number), [3], "without a count: no fence");
  assert.equal((await store.getTrials(experiment.id)).length, 4);
}

test("addTrials fence on SQLite", async () => {
  const s = new SqliteStore(":memory:");
  try {
    await fenceContract(s);
  } finally {
    await s.close();
  }
});

test("addTrials fence on PostgreSQL", { timeout: 60_000 }, () =>
  inSchema(async (url) => {
    const s = await PostgresStore.connect(url);
    try {
      await fenceContract(s);
    } finally {
      await s.close();
    }
  }),
);

test("sqlite lease: a waiter returns when the holder lets go, without the lease", async () => {
  const s = new SqliteStore(":memory:");
  try {
    const { experiment } = await s.openExperiment("lease", {}, "h");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const holder = s.withDriverLease(experiment.id, "a", async () => (await gate, "a"));
    const t0 = Date.now();
    assert.deepEqual(await s.withDriverLease(experiment.id, "b", async () => "b", 100), { acquired: false });
    assert.ok(Date.now() - t0 >= 90, "waited while held");
    const waiter = s.withDriverLease(experiment.id, "b", async () => "b", 10_000);
    setTimeout(release, 50);
    assert.deepEqual(await holder, { acquired: true, value: "a" });
    const t1 = Date.now();
    assert.deepEqual(await waiter, { acquired: false });
    assert.ok(Date.now() - t1 < 1000, "woken promptly");
  } finally {
    await s.close();
  }
});

function rec(number: number, status: TrialRecord["status"], worker: string | null, at: number): TrialRecord {
  return {
    id: number + 1,
    experimentId: 1,
    number,
    status,
    point: number,
    arch: number,
    hp: {},
    archHash: String(number),
    fidelity: null,
    metrics: null,
    hidden: null,
    costSeconds: null,
    cachedFrom: null,
    error: null,
    worker,
    createdAt: at - 1000,
    startedAt: status === "pending" ? null : status === "finished" ? at - 1000 : at, // finished trials took 1 s
    finishedAt: status === "finished" ? at : null,
  };
}

test("driver demand: its own room, plus every other idle worker (seen recently, or waiting), less what is pending", () => {
  const base = { self: "me", room: 1, concurrency: 1, recentMs: 30_000, waiting: 0 };
  assert.equal(driverDemand([], base), 1, "a new experiment: only its own room");
  const trials = [
    rec(0, "finished", "a", 1000), // a: idle
    rec(1, "finished", "b", 1000),
    rec(2, "running", "b", 2000), // b: busy
    rec(3, "finished", "c", 100_000), // c: idle, the latest activity
    rec(4, "finished", "gone", 1), // gone: not seen for longer than recentMs
    rec(5, "finished", "me", 100_000),
  ];
  assert.equal(driverDemand(trials, { ...base, recentMs: 200_000 }), 1 + 3, "a, c and gone idle");
  assert.equal(driverDemand(trials, { ...base, recentMs: 99_500 }), 1 + 2, "gone is left out, a and c idle");
  assert.equal(driverDemand(trials, { ...base, recentMs: 50_000 }), 1 + 1, "only c is recent");
  assert.equal(driverDemand([...trials, rec(6, "pending", null, 100_000)], { ...base, recentMs: 200_000 }), 1 + 3 - 1, "a pending trial serves one of them");
  assert.equal(driverDemand(trials, { ...base, recentMs: 50_000, waiting: 5 }), 1 + 5, "waiting workers, when more than the known idle ones");
  assert.equal(driverDemand(trials, { ...base, recentMs: 200_000, concurrency: 2 }), 1 + 2 + 1 + 2 + 2, "free slots of each (b runs one of two)");
  assert.equal(driverDemand([rec(0, "pending", null, 1), rec(1, "pending", null, 1)], { ...base, room: 2 }), 2, "never less than its own room");
});

test("driver demand: running trials expected to end within a tenth of the typical duration get their successor already", () => {
  const base = { self: "me", room: 1, concurrency: 1, recentMs: 30_000, waiting: 0 };
  const finished = [rec(0, "finished", "a", 10_000), rec(1, "finished", "b", 10_000), rec(2, "finished", "c", 10_000)]; // 1 s each; now = 10 000
  const running = (n: number, worker: string, startedAt: number) => rec(n, "running", worker, startedAt);
  assert.equal(driverDemand([...finished, running(3, "a", 9_000)], base), 1 + 2 + 1, "a's trial is due now: b, c idle and a soon");
  assert.equal(driverDemand([...finished, running(3, "a", 9_050)], base), 1 + 2 + 1, "due in 50 ms (within 100 ms)");
  assert.equal(driverDemand([...finished, running(3, "a", 9_500)], base), 1 + 2, "due in 500 ms: not yet");
  assert.equal(driverDemand([...finished, running(3, "a", 7_000)], base), 1 + 2, "overdue by a whole trial: no telling when it ends");
  assert.equal(driverDemand([...finished.slice(0, 2), running(3, "a", 9_000)], base), 1 + 1, "fewer than 3 finished trials: no estimate");
});

test("driver demand when suggesting ahead: now is the store's clock, not its latest event, and the window can be wider", () => {
  const ahead = { self: "me", room: 0, concurrency: 1, recentMs: 30_000, waiting: 0 };
  const finished = [rec(0, "finished", "a", 10_000), rec(1, "finished", "b", 10_000), rec(2, "finished", "me", 10_000)]; // 1 s each
  const running = [rec(3, "running", "a", 10_000), rec(4, "running", "b", 10_050), rec(5, "running", "me", 10_000)];
  // Mid-trial the latest event is the round's start: without the clock nothing counts as ending soon.
  assert.equal(driverDemand([...finished, ...running], ahead), 0, "no clock: 1 s left by the latest event");
  assert.equal(driverDemand([...finished, ...running], { ...ahead, now: 10_900 }), 2, "at 10.9 s: a and me end within 100 ms, b (started 50 ms later) not");
  assert.equal(driverDemand([...finished, ...running], { ...ahead, now: 10_900, window: 0.2 }), 3, "a window of 200 ms: b too");
  assert.equal(driverDemand([...finished, ...running, rec(6, "pending", null, 10_900)], { ...ahead, now: 10_900, window: 0.2 }), 2, "one already pending");
  assert.equal(driverDemand([...finished, ...running], { ...ahead, now: 10_000 }), 0, "a clock behind the latest event changes nothing");
});

test("capped lines: split on \\n and \\r\\n across chunks, UTF-8 kept whole, long lines cut and flagged, last line without newline", () => {
  const got: [string, boolean][] = [];
  const lines = new CappedLines(8, (line, truncated) => got.push([line, truncated]));
  const euro = Buffer.from("€"); // 3 bytes, split over two chunks
  lines.push(Buffer.concat([Buffer.from("ab\r\nc"), euro.subarray(0, 1)]));
  lines.push(Buffer.concat([euro.subarray(1), Buffer.from("d\n0123456789abcdef")]));
  lines.push(Buffer.from("ghij\n\nlast"));
  lines.end();
  assert.deepEqual(got, [
    ["ab", false],
    ["c€d", false],
    ["01234567", true],
    ["", false],
    ["last", false],
  ]);
});
