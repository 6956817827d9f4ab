import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { once } from "node:events";
import { get as httpGet } from "node:http";
import type { ChildProcess } from "node:child_process";
import { cli, cliAsync } from "./cli-util.js";
import { run } from "./dashboard-util.js";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { ROOT } from "./cli-util.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { tmpdir } from "node:os";
import { startDashboard, type Dashboard } from "../src/server/index.js";
import { pageConfig } from "../src/server/api.js";

/** Starts `archsearch dashboard` and waits for the line with the address it prints. */
async function startCli(args: string[]): Promise<{ child: ChildProcess; url: URL }> {
  const child = cliAsync(["dashboard", ...args]);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!/open (http:\S+)/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`dashboard did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url: new URL(/open (http:\S+)/.exec(out)![1]) };
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

describe("dashboard command: bad input and access", () => {
  let db: string;
  before(() => {
    db = join(mkdtempSync(join(tmpdir(), "archsearch-dash-cli-")), "s.db");
    run(["run", "examples/nb201-rea.yaml", "--storage", db, "--trials", "10", "-q"]);
  });

  test("a store that cannot be opened: a clear message, no stack trace, no file created", () => {
    const missing = join(db, "..", "nope.db");
    const r = cli(["dashboard", "--storage", missing, "--port", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no store at .*nope\.db/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(existsSync(missing), false);
    const pg = cli(["dashboard", "--storage", "mysql://me:hunter2@db.example/x", "--port", "0"]);
    assert.equal(pg.code, 2);
    assert.match(pg.stderr, /unknown storage/);
    assert.doesNotMatch(pg.stderr, /hunter2/);
  });

  test("a port in use: a clear message", async () => {
    const d: Dashboard = await startDashboard({ storage: db, port: 0, log: () => {} });
    try {
      const port = new URL(d.url).port;
      const r = cli(["dashboard", "--storage", db, "--port", port]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    } finally {
      await d.close();
    }
  });

  test("a non-loopback host needs the token, generated and printed, on every request", async () => {
    const { child, url } = await startCli(["--storage", db, "--host", "0.0.0.0", "--port", "0"]);
    try {
      const token = url.searchParams.get("token")!;
      assert.ok(token.length >= 20);
      const base = `http://127.0.0.1:${url.port}`;
      for (const path of ["/", "/app.js", "/api/experiments", "/api/experiments/nb201-rea-cifar10/trials"]) {
        const r = await fetch(base + path);
        assert.equal(r.status, 401, path);
        assert.match(await r.text(), /needs its access token/);
      }
      assert.equal((await fetch(`${base}/api/experiments`, { headers: { authorization: "Bearer wrong" } })).status, 401);
      const ok = await fetch(`${base}/api/experiments`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { experiments: unknown[] }).experiments.length, 1);
      // the printed URL sets a cookie and leaves the token out of the address
      const page = await fetch(`${base}/?token=${token}`, { redirect: "manual" });
      assert.equal(page.status, 303);
      const cookie = page.headers.get("set-cookie")!.split(";")[0];
      assert.equal((await fetch(`${base}/api/experiments`, { headers: { cookie } })).status, 200);
      // read-only
      assert.equal((await fetch(`${base}/api/experiments`, { method: "POST", headers: { authorization: `Bearer ${token}` } })).status, 405);
    } finally {
      await stop(child);
    }
  });

  test("loopback without a token answers only requests addressed to localhost", async () => {
    const { child, url } = await startCli(["--storage", db, "--port", "0"]);
    try {
      assert.equal(url.hostname, "127.0.0.1");
      assert.equal((await fetch(new URL("/api/experiments", url))).status, 200);
      // fetch may not set Host: a plain request does, as a page on a rebound domain would send it
      const status = await new Promise<number | undefined>((ok, fail) =>
        httpGet({ host: "127.0.0.1", port: url.port, path: "/api/experiments", headers: { host: `evil.example:${url.port}` } }, (res) => {
          res.resume();
          ok(res.statusCode);
        }).on("error", fail),
      );
      assert.equal(status, 403);
    } finally {
      await stop(child);
    }
  });

  test("storage passwords never reach the page", () => {
    const cfg = pageConfig({ name: "x", storage: "postgres://nas:s3cret@db.internal:5432/nas?schema=a" });
    assert.doesNotMatch(JSON.stringify(cfg), /s3cret/);
    assert.match(String(cfg.storage), /nas:\*\*\*@db\.internal/);
  });

  test("an older store is refused, not migrated: the file stays byte for byte as it was", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archsearch-dash-old-"));
    const old = join(dir, "release-0.1.sqlite");
    copyFileSync(join(ROOT, "test/fixtures/release-0.1-rea.sqlite"), old);
    const digest = () => createHash("sha256").update(readFileSync(old)).digest("hex");
    const before = digest();
    const r = cli(["dashboard", "--storage", old, "--port", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /written by an older archsearch \(schema version 3 of \d+\): run `archsearch run` on it once to upgrade it/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(digest(), before);
    assert.deepEqual(readdirSync(dir), ["release-0.1.sqlite"]); // no journal, WAL or shared-memory file left either
    // the digest does see a migration: a read-write opening changes the file
    await new SqliteStore(old).close();
    assert.notEqual(digest(), before);
  });

  test("a running dashboard writes nothing: the store file is unchanged after every view's data was read", async () => {
    const digest = () => createHash("sha256").update(readFileSync(db)).digest("hex");
    const before = digest();
    const d: Dashboard = await startDashboard({ storage: db, port: 0, log: () => {} });
    try {
      const name = "nb201-rea-cifar10";
      for (const path of ["", "/points", "/trials?limit=5", "/trials/1", "/curves", "/columns", "/importance", "/workers"]) {
        const res = await fetch(new URL(`/api/experiments/${name}${path}`, d.url));
        assert.equal(res.status, 200, path);
      }
    } finally {
      await d.close();
    }
    assert.equal(digest(), before);
  });
});
