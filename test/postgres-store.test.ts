import { st } from "./state-write.js";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { PostgresStore, POSTGRES_SCHEMA_VERSION, isTransientError, parsePostgresUrl, redactUrl, type RetryEvent } from "../src/stores/postgres/index.js";
import { openStore } from "../src/stores/open.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { UserError } from "../src/core/errors.js";
import { changedSinceContractTests, storeContractTests, trial, type StoreFixture } from "./store-contract.js";
import { nb201Experiment, trialDigest } from "./helpers.js";
import { cli, cliAsync, ROOT } from "./cli-util.js";
import { Rng } from "../src/core/rng.js";
import { once } from "node:events";

/** The database the tests use; each test works in a schema of its own, dropped afterwards. */
const PG_URL = process.env.ARCHSEARCH_PG_URL ?? "postgres://root@127.0.0.1:5432/test";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The URL without query parameters, for the tests' own administrative connection. */
function baseUrl(): string {
  const u = new URL(PG_URL);
  u.search = "";
  return u.toString();
}

async function unreachableReason(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: baseUrl(), connectionTimeoutMillis: 5_000 });
  c.on("error", () => undefined);
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (e) {
    const err = e as Error & { code?: string; errors?: Error[] };
    return err.message || err.errors?.map((x) => x.message).join("; ") || err.code || String(e);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const problem = await unreachableReason();
if (problem !== undefined) {
  // Fail, never skip: a store that is not tested is not known to work.
  test("PostgreSQL is reachable for the PostgreSQL store tests", () => {
    assert.fail(
      `cannot connect to PostgreSQL at ${redactUrl(PG_URL)}: ${problem}. ` +
        `These tests need a running PostgreSQL where the user may create schemas: start it, or set ` +
        `ARCHSEARCH_PG_URL=postgres://user[:password]@host:port/database to one (default postgres://root@127.0.0.1:5432/test).`,
    );
  });
} else {
  registerTests();
}

function registerTests(): void {
  const admin = new pg.Pool({ connectionString: baseUrl(), max: 2 });
  admin.on("error", () => undefined);
  after(() => admin.end());

  let counter = 0;
  const freshSchema = () => `archsearch_t${process.pid}_${++counter}_${randomBytes(3).toString("hex")}`;
  const urlFor = (schema: string, params: Record<string, string> = {}, base = PG_URL) => {
    const u = new URL(base);
    u.searchParams.set("schema", schema);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  };
  const dropSchema = (schema: string) => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  /** Runs `fn` with a fresh schema, dropped afterwards whatever happens. */
  const inSchema = async (fn: (schema: string) => Promise<void>) => {
    const schema = freshSchema();
    try {
      await fn(schema);
    } finally {
      await dropSchema(schema);
    }
  };

  const pgSchema = async (): Promise<StoreFixture> => {
    const schema = freshSchema();
    return { open: () => PostgresStore.connect(urlFor(schema), { poolSize: 4 }), dispose: async () => void (await dropSchema(schema)) };
  };
  storeContractTests("postgres", pgSchema);
  changedSinceContractTests("postgres", pgSchema);

  test("postgres: changedSince never moves its watermark past a change still in flight", { timeout: 60_000 }, () =>
    inSchema(async (schema) => {
      // A sequence hands out numbers in the order asked, not in commit order: a completion draws its
      // number, then waits (here on a row lock) while a later write commits. A reader must not give
      // the later number as its watermark before the earlier one is committed.
      const app = `archsearch-inflight-${process.pid}-${counter}`;
      const store = await PostgresStore.connect(urlFor(schema), { applicationName: app, poolSize: 4 });
      const reader = await PostgresStore.connect(urlFor(schema));
      const locker = await admin.connect();
      try {
        const { experiment } = await store.openExperiment("e", {}, "h");
        const [a, b] = await store.addTrials(experiment.id, [trial(0), trial(1)], st({ n: 0 }));
        const start = await reader.changedSince(experiment.id, 0);
        await locker.query("BEGIN");
        await locker.query(`SELECT 1 FROM "${schema}".experiments WHERE id = $1 FOR UPDATE`, [experiment.id]);
        // Updates trial 0 (drawing its number), then waits for the experiment row to save the state.
        const slow = store.completeTrial(a.id, { status: "finished", metrics: { acc: 1 } }, st({ n: 1 }));
        for (const deadline = Date.now() + 20_000; ; await sleep(5)) {
          const r = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [app]);
          if (r.rows[0].n > 0) break;
          if (Date.now() > deadline) throw new Error("timed out waiting for the completion to wait on the lock");
        }
        await store.startTrial(b.id, { epochs: 1 }, "w"); // a later number, committed at once
        const reading = reader.changedSince(experiment.id, start.seq);
        await sleep(150);
        await locker.query("COMMIT");
        await slow;
        const first = await reading;
        const then = await reader.changedSince(experiment.id, first.seq);
        assert.deepEqual(
          [...first.trials, ...then.trials].map((t) => [t.number, t.status]).sort(),
          [
            [0, "finished"],
            [1, "running"],
          ],
          "the completion in flight was not skipped",
        );
      } finally {
        await locker.query("ROLLBACK").catch(() => undefined);
        locker.release();
        await store.close();
        await reader.close();
      }
    }));

  test("postgres: migrations are recorded once, concurrent migrators on a fresh schema are safe", () =>
    inSchema(async (schema) => {
      // Eight stores create and migrate the same new schema at the same moment.
      const stores = await Promise.all(Array.from({ length: 8 }, () => PostgresStore.connect(urlFor(schema), { poolSize: 1 })));
      for (const s of stores) assert.equal(await s.schemaVersion(), POSTGRES_SCHEMA_VERSION);
      const versions = await admin.query(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
      assert.deepEqual(versions.rows.map((r) => r.version), Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
      const tables = await admin.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name", [schema]);
      assert.deepEqual(tables.rows.map((r) => r.table_name), ["artifacts", "experiments", "schema_version", "trial_values", "trials"]);
      // All of them work on the same data.
      const { experiment } = await stores[0].openExperiment("e", {}, "h");
      await Promise.all(stores.map((s, i) => s.addTrials(experiment.id, [trial(i)], st(null))));
      assert.deepEqual((await stores[7].getTrials(experiment.id)).map((t) => t.number), [0, 1, 2, 3, 4, 5, 6, 7]);
      for (const s of stores) await s.close();

      // Opening again applies nothing; a schema from a newer archsearch is refused.
      const again = await PostgresStore.connect(urlFor(schema));
      await again.close();
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM "${schema}".schema_version`)).rows[0].n, POSTGRES_SCHEMA_VERSION);
      await admin.query(`INSERT INTO "${schema}".schema_version (version) VALUES (99)`);
      await assert.rejects(PostgresStore.connect(urlFor(schema)), (e: Error) => {
        assert.ok(e instanceof UserError);
        assert.match(e.message, new RegExp(`schema version 99, newer than this archsearch knows \\(${POSTGRES_SCHEMA_VERSION}\\); upgrade archsearch`));
        return true;
      });
    }));

  test("postgres: the schema URL parameter isolates experiments of the same name", async () => {
    const [sa, sb] = [freshSchema(), freshSchema()];
    try {
      const a = openStore(urlFor(sa));
      const b = openStore(urlFor(sb));
      const ea = (await a.openExperiment("same", { v: "a" }, "ha")).experiment;
      const eb = (await b.openExperiment("same", { v: "b" }, "hb")).experiment;
      await a.addTrials(ea.id, [trial(0), trial(1)], st(null));
      await b.addTrials(eb.id, [trial(7)], st(null));
      assert.deepEqual((await a.getTrials(ea.id)).map((t) => t.point), ["p0", "p1"]);
      assert.deepEqual((await b.getTrials(eb.id)).map((t) => t.point), ["p7"]);
      assert.deepEqual((await b.getExperiment("same"))!.config, { v: "b" });
      await a.close();
      await b.close();
    } finally {
      await dropSchema(sa);
      await dropSchema(sb);
    }
  });

  test("postgres: an unreachable server fails after the configured tries, naming the URL but not the password", async () => {
    const retries: RetryEvent[] = [];
    const started = Date.now();
    await assert.rejects(
      PostgresStore.connect("postgres://root:secret@127.0.0.1:1/test?retry_attempts=3&retry_base_delay_ms=40", { onRetry: (e) => retries.push(e) }),
      (e: Error) => {
        assert.ok(e instanceof UserError, "a user error: the CLI prints it without a stack");
        assert.match(e.message, /^cannot connect to postgres:\/\/root:\*\*\*@127\.0\.0\.1:1\/test\?.* after 3 tries: .*ECONNREFUSED/);
        assert.ok(!e.message.includes("secret"));
        return true;
      },
    );
    assert.deepEqual(retries.map((r) => [r.operation, r.attempt]), [["connect", 1], ["connect", 2]]);
    assert.ok(retries[1].delayMs >= 40 && retries[1].delayMs <= 80, `backoff doubles: ${retries.map((r) => r.delayMs)}`);
    assert.ok(Date.now() - started >= 60, "it waited between tries");
    // A problem retrying cannot fix fails at once.
    await assert.rejects(PostgresStore.connect(urlFor("x", {}, baseUrl().replace(/\/[^/]*$/, "/no_such_database_here"))), /cannot connect to .*: database "no_such_database_here" does not exist/);
    assert.throws(() => new PostgresStore(`${baseUrl()}?retry_attempts=many`), /retry_attempts=many in storage URL .*: expected an integer >= 1/);
    // Through the CLI: one message, exit status 2.
    const r = cli(["status", "x", "--storage", "postgres://root:secret@127.0.0.1:1/test?retry_attempts=2&retry_base_delay_ms=10"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot connect to postgres:\/\/root:\*\*\*@127\.0\.0\.1:1\/test.* after 2 tries/);
    assert.ok(!r.stderr.includes("secret") && !r.stderr.includes("    at "), r.stderr);
  });

  test("postgres: storage URL parameters are read by the store, the others passed to the driver", async () => {
    const { connectionString, options } = parsePostgresUrl(
      "postgresql://u:p@db.example:6543/exp?schema=team_a&application_name=w1&pool_size=3&connect_timeout_ms=2500&retry_attempts=4&retry_base_delay_ms=50&retry_max_delay_ms=900&sslmode=disable",
    );
    assert.equal(connectionString, "postgresql://u:p@db.example:6543/exp?sslmode=disable");
    assert.deepEqual(options, {
      schema: "team_a",
      applicationName: "w1",
      poolSize: 3,
      connectTimeoutMs: 2500,
      retry: { attempts: 4, baseDelayMs: 50, maxDelayMs: 900 },
    });
    assert.throws(() => parsePostgresUrl("postgres://h/db?pool_size=0"), /pool_size=0 in storage URL postgres:\/\/h\/db\?pool_size=0: expected an integer >= 1/);
    // (An unreachable server: nothing is created in the default schema.)
    const store = new PostgresStore("postgres://root@127.0.0.1:1/test?retry_attempts=3", { retry: { maxDelayMs: 10 } });
    assert.deepEqual(store.retry, { attempts: 3, baseDelayMs: 100, maxDelayMs: 10 }, "options given in code override the URL's, defaults fill the rest");
    assert.equal(store.schema, "public");
    await store.close();
  });

  test("postgres: a user who may not create the schema gets a clear error", async () => {
    const role = `archsearch_noperm_${process.pid}`;
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    try {
      const can = await admin.query<{ ok: boolean }>("SELECT has_database_privilege($1, current_database(), 'CREATE') AS ok", [role]);
      assert.equal(can.rows[0].ok, false, "precondition: a new role may not create schemas in this database");
      const u = new URL(urlFor(freshSchema()));
      u.username = role;
      u.password = "";
      await assert.rejects(PostgresStore.connect(u.toString()), (e: Error) => {
        assert.ok(e instanceof UserError);
        assert.match(e.message, /^cannot set up the archsearch tables in schema "archsearch_t\w+" of postgres:\/\/archsearch_noperm_\d+@.*: permission denied/);
        return true;
      });
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  test("postgres: errors are told apart: lost connections are transient, SQL errors are not", async () => {
    const c = await admin.connect();
    try {
      const syntax = await c.query("SELEC 1").catch((e: unknown) => e);
      assert.equal((syntax as { code: string }).code, "42601");
      assert.equal(isTransientError(syntax), false);
      await c.query("CREATE TEMP TABLE u (k int PRIMARY KEY); INSERT INTO u VALUES (1)");
      const dup = await c.query("INSERT INTO u VALUES (1)").catch((e: unknown) => e);
      assert.equal(isTransientError(dup), false);
    } finally {
      c.release();
    }
    // A real admin shutdown (57P01) and the driver's error on the dead connection are both transient.
    const victim = new pg.Client({ connectionString: baseUrl(), application_name: `victim-${process.pid}` });
    victim.on("error", () => undefined);
    await victim.connect();
    const { rows } = await victim.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const sleeping = victim.query("SELECT pg_sleep(10)").catch((e: unknown) => e);
    await sleep(100);
    await admin.query("SELECT pg_terminate_backend($1)", [rows[0].pid]);
    const killed = await sleeping;
    assert.equal((killed as { code?: string }).code, "57P01");
    assert.ok(isTransientError(killed));
    const after = await victim.query("SELECT 1").catch((e: unknown) => e);
    assert.ok(isTransientError(after), String(after));
    await victim.end().catch(() => undefined);
    assert.ok(isTransientError({ code: "40001" }) && isTransientError({ code: "57P03" }) && isTransientError({ code: "ECONNRESET" }));
  });

  test("postgres: backends terminated in the middle of operations: the store reconnects and retries, nothing lost or duplicated", { timeout: 120_000 }, () =>
    inSchema(async (schema) => {
      const app = `archsearch-reconnect-${process.pid}-${counter}`;
      const retries: RetryEvent[] = [];
      const store = await PostgresStore.connect(urlFor(schema), {
        applicationName: app,
        poolSize: 3,
        retry: { attempts: 10, baseDelayMs: 20, maxDelayMs: 500 },
        onRetry: (e) => retries.push(e),
      });
      let terminated = 0;
      const terminate = async () => {
        const r = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM (
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1) AS t`,
          [app],
        );
        terminated += r.rows[0].n;
        return r.rows[0].n;
      };
      const waitingOnLock = async () =>
        (await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [app])).rows[0].n > 0;
      const waitFor = async (what: string, cond: () => Promise<boolean>) => {
        for (const deadline = Date.now() + 20_000; !(await cond()); await sleep(5)) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        }
      };
      /**
       * Runs `op` while another connection holds a row lock it needs, so the store's query is
       * certainly in flight; terminates the store's connections then, and lets the retry through.
       */
      const interrupted = async <T>(lockSql: string, id: number, op: () => Promise<T>): Promise<T> => {
        const locker = await admin.connect();
        try {
          await locker.query("BEGIN");
          await locker.query(lockSql, [id]);
          const running = op();
          running.catch(() => undefined);
          await waitFor("the store to wait on the lock", waitingOnLock);
          assert.ok((await terminate()) >= 1);
          await waitFor("the retry to wait on the lock", waitingOnLock);
          await locker.query("COMMIT");
          return await running;
        } finally {
          locker.release();
        }
      };
      const lockExperiment = `SELECT 1 FROM "${schema}".experiments WHERE id = $1 FOR UPDATE`;
      const lockTrial = `SELECT 1 FROM "${schema}".trials WHERE id = $1 FOR UPDATE`;

      const N = 12;
      const { experiment } = await store.openExperiment("e", {}, "h");
      for (let i = 0; i < N; i++) {
        const which = i % 4; // each operation is cut mid-flight 3 times
        const add = () => store.addTrials(experiment.id, [trial(i)], st({ added: i }));
        const [t] = which === 0 ? await interrupted(lockExperiment, experiment.id, add) : await add();
        assert.equal(t.number, i);
        const start = () => store.startTrial(t.id, { epochs: 2 }, "w");
        await (which === 1 ? interrupted(lockTrial, t.id, start) : start());
        const report = () => store.reportIntermediate(t.id, 1, { acc: i });
        await (which === 2 ? interrupted(lockTrial, t.id, report) : report());
        await store.reportIntermediate(t.id, 2, { acc: i + 0.5 });
        const complete = () => store.completeTrial(t.id, { status: "finished", metrics: { acc: i + 0.5 } }, st({ told: i }));
        await (which === 3 ? interrupted(lockTrial, t.id, complete) : complete());
        // And the idle pooled connections are cut between operations.
        await terminate();
      }
      assert.ok(terminated >= 2 * N, `connections terminated: ${terminated}`);
      const retried = (op: string) => retries.filter((r) => r.operation === op).length;
      for (const op of ["addTrials", "startTrial", "reportIntermediate", "completeTrial"]) assert.ok(retried(op) >= 3, `${op} retried ${retried(op)} times`);
      assert.ok(retries.every((r) => isTransientError(r.error)));
      assert.equal(store.retries, retries.length);

      // Everything is there exactly once.
      const trials = await store.getTrials(experiment.id);
      assert.deepEqual(trials.map((t) => t.number), Array.from({ length: N }, (_, i) => i));
      assert.deepEqual(trials.map((t) => t.point), Array.from({ length: N }, (_, i) => `p${i}`));
      assert.ok(trials.every((t, i) => t.status === "finished" && t.metrics!.acc === i + 0.5 && t.worker === "w" && t.startedAt !== null));
      for (const t of trials) assert.deepEqual(await store.getIntermediate(t.id), [{ step: 1, metrics: { acc: t.number } }, { step: 2, metrics: { acc: t.number + 0.5 } }]);
      assert.deepEqual(await store.loadSearchState(experiment.id), { told: N - 1 });
      const direct = await admin.query(
        `SELECT (SELECT count(*)::int FROM "${schema}".trials) AS trials, (SELECT count(*)::int FROM "${schema}".trial_values) AS vals,
                (SELECT next_number FROM "${schema}".experiments WHERE id = $1) AS next`,
        [experiment.id],
      );
      assert.deepEqual(direct.rows[0], { trials: N, vals: 2 * N, next: N });
      await store.close();
    }));

  test("postgres: a commit whose answer is lost is not applied twice", { timeout: 60_000 }, () =>
    inSchema(async (schema) => {
      // A TCP proxy in front of PostgreSQL that, when armed, lets a COMMIT through and then cuts the
      // connection instead of relaying the server's answer: the transaction is committed, the
      // client cannot know it, and retries.
      const target = new URL(PG_URL);
      let armed = false;
      const dropped: string[] = [];
      const sockets = new Set<Socket>();
      const proxy: Server = createServer((client) => {
        const server = connect(Number(target.port || 5432), target.hostname);
        sockets.add(client).add(server);
        let cutNext = false;
        const closeBoth = () => {
          client.destroy();
          server.destroy();
        };
        client.on("data", (d) => {
          if (armed && d.includes("COMMIT")) {
            armed = false;
            cutNext = true;
          }
          server.write(d);
        });
        server.on("data", (d) => {
          if (cutNext) {
            dropped.push(d.toString("latin1"));
            return closeBoth();
          }
          client.write(d);
        });
        client.on("error", closeBoth).on("close", closeBoth);
        server.on("error", closeBoth).on("close", closeBoth);
      });
      await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
      const port = (proxy.address() as { port: number }).port;
      const viaProxy = new URL(urlFor(schema));
      viaProxy.hostname = "127.0.0.1";
      viaProxy.port = String(port);
      const retries: RetryEvent[] = [];
      const store = await PostgresStore.connect(viaProxy.toString(), { retry: { attempts: 5, baseDelayMs: 10 }, onRetry: (e) => retries.push(e) });
      try {
        const { experiment } = await store.openExperiment("e", {}, "h");
        await store.addTrials(experiment.id, [trial(0)], st({ n: 1 }));

        armed = true;
        const added = await store.addTrials(experiment.id, [trial(1), trial(2)], st({ n: 3 }));
        assert.equal(dropped.length, 1, "one answer was dropped");
        assert.match(dropped[0], /COMMIT/, "the dropped answer confirmed the commit: the server had committed");
        assert.deepEqual(retries.map((r) => r.operation), ["addTrials"]);
        assert.deepEqual(added.map((t) => [t.number, t.point]), [
          [1, "p1"],
          [2, "p2"],
        ]);

        armed = true;
        await store.completeTrial(added[0].id, { status: "finished", metrics: { acc: 1 } }, st({ n: 4 }));
        assert.equal(dropped.length, 2);
        const next = await store.addTrials(experiment.id, [trial(3)], st({ n: 5 }));
        assert.equal(next[0].number, 3);
        const rows = await admin.query(`SELECT number, point, status FROM "${schema}".trials ORDER BY number`);
        assert.deepEqual(rows.rows, [
          { number: 0, point: "p0", status: "pending" },
          { number: 1, point: "p1", status: "finished" },
          { number: 2, point: "p2", status: "pending" },
          { number: 3, point: "p3", status: "pending" },
        ]);
        assert.deepEqual(await store.loadSearchState(experiment.id), { n: 5 });
      } finally {
        await store.close();
        for (const s of sockets) s.destroy();
        await new Promise((r) => proxy.close(r));
      }
    }));

  test("postgres: an NB201 + REA experiment stopped and resumed from new connections repeats the SQLite run exactly", { timeout: 120_000 }, () =>
    inSchema(async (schema) => {
      const whole = new SqliteStore(":memory:");
      await nb201Experiment("rea", 11, 80, whole).run();
      for (const upTo of [7, 23, 24, 50, 80]) {
        const store = openStore(urlFor(schema)); // as a new process would
        const s = await nb201Experiment("rea", 11, upTo, store).run();
        assert.equal(s.trials, upTo);
        assert.ok(s.complete);
        await store.close();
      }
      const store = await PostgresStore.connect(urlFor(schema));
      const pgDigest = await trialDigest(store, "nb201-rea");
      assert.deepEqual(pgDigest.map((t) => t.n), Array.from({ length: 80 }, (_, i) => i));
      assert.deepEqual(pgDigest, await trialDigest(whole, "nb201-rea"));
      const exp = (await store.getExperiment("nb201-rea"))!;
      assert.equal(exp.status, "done");
      assert.deepEqual(await store.loadSearchState(exp.id), await whole.loadSearchState(1));
      // Parallel trials, results out of order, in the same database: exact budget, unique numbers.
      const par = await nb201Experiment("random", 3, 30, store, { name: "par", budget: { trials: 30, concurrency: 6 } }).run();
      assert.equal(par.trials, 30);
      const parExp = (await store.getExperiment("par"))!;
      assert.deepEqual((await store.getTrials(parExp.id)).map((t) => t.number), Array.from({ length: 30 }, (_, i) => i));
      await store.close();
      await whole.close();
    }));

  test("postgres: the CLI runs, reports and continues an experiment stored in PostgreSQL", { timeout: 120_000 }, () =>
    inSchema(async (schema) => {
      {
        const url = urlFor(schema);
        const first = cli(["run", "examples/nb201-rea.yaml", "--storage", url, "--trials", "30", "--json", "--quiet"]);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(JSON.parse(first.stdout.trim().split("\n").pop()!).trials, 30);
        const more = cli(["run", "examples/nb201-rea.yaml", "--storage", url, "--trials", "45", "--json", "--quiet"]);
        assert.equal(more.code, 0, more.stderr);
        const result = JSON.parse(more.stdout.trim().split("\n").pop()!);
        assert.equal(result.trials, 45);
        const status = cli(["status", "nb201-rea-cifar10", "--storage", url, "--json"]);
        assert.equal(status.code, 0, status.stderr);
        const st = JSON.parse(status.stdout);
        assert.equal(st.done, 45);
        assert.equal(st.counts.finished, 45);
        assert.equal(st.status, "done");
        assert.equal(st.best.trial, result.best.trial);
        const missing = cli(["status", "nope", "--storage", url]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /no experiment "nope"/);
      }
    }));

  test("postgres: kill -9 of the CLI at random moments, then resume: exactly the uninterrupted SQLite run", { timeout: 180_000 }, () =>
    inSchema(async (schema) => {
      const BUDGET = 80;
      const dir = mkdtempSync(join(tmpdir(), "archsearch-pg-resume-"));
      try {
        const file = join(dir, "exp.yaml");
        writeFileSync(
          file,
          [
            "name: resume-pg",
            "seed: 3",
            `storage: ${join(dir, "ref.db")}`,
            "space: { name: nb201 }",
            "strategy: { name: rea, population_size: 10, sample_size: 3 }",
            `evaluator: { name: module, path: ${join(ROOT, "test/fixtures/slow-nb201.mjs")} }`,
            // One trial at a time: with several in flight the search follows the order results
            // arrive in, which network round trips make differ from run to run.
            `budget: { trials: ${BUDGET}, concurrency: 1 }`,
          ].join("\n"),
        );
        const ref = cli(["run", file, "--json", "--quiet"]);
        assert.equal(ref.code, 0, ref.stderr);

        const url = urlFor(schema);
        const rng = new Rng(7);
        const doneAtKill: number[] = [];
        for (let k = 0; k < 3; k++) {
          const child = cliAsync(["run", file, "--storage", url]);
          const exited = once(child, "exit");
          await new Promise<void>((resolve) => {
            child.stderr.on("data", (d: Buffer) => {
              if (/\[\d+\/\d+\]/.test(d.toString())) resolve();
            });
            child.on("exit", () => resolve());
          });
          await sleep(rng.intBetween(20, 250));
          child.kill("SIGKILL");
          await exited;
          const store = await PostgresStore.connect(url);
          const exp = await store.getExperiment("resume-pg");
          const counts = exp ? await store.countTrials(exp.id) : undefined;
          doneAtKill.push(counts ? counts.finished + counts.failed : 0);
          await store.close();
        }
        assert.ok(doneAtKill.some((n) => n > 0 && n < BUDGET), `a kill should land mid-run; finished trials at each kill: ${doneAtKill}`);

        const last = cli(["run", file, "--storage", url, "--json", "--quiet"]);
        assert.equal(last.code, 0, last.stderr);
        const a = JSON.parse(ref.stdout.trim().split("\n").pop()!);
        const b = JSON.parse(last.stdout.trim().split("\n").pop()!);
        assert.equal(b.trials, BUDGET);
        assert.deepEqual(b.best, a.best);
        const refStore = new SqliteStore(join(dir, "ref.db"));
        const pgStore = await PostgresStore.connect(url);
        const killed = await trialDigest(pgStore, "resume-pg");
        assert.deepEqual(killed.map((t) => t.n), Array.from({ length: BUDGET }, (_, i) => i), "no trial lost or duplicated");
        assert.deepEqual(killed, await trialDigest(refStore, "resume-pg"));
        const exp = (await pgStore.getExperiment("resume-pg"))!;
        assert.deepEqual(await pgStore.loadSearchState(exp.id), await refStore.loadSearchState(1));
        await refStore.close();
        await pgStore.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }));
}
