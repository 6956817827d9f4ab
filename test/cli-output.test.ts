import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, cli } from "./cli-util.js";

test("output to a closed pipe ends quietly with status 0 (trials --format json | head, status | head)", () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-pipe-"));
  try {
    const db = join(dir, "a.db");
    assert.equal(cli(["run", "examples/nb201-rea.yaml", "--storage", db, "--quiet", "--trials", "400"]).code, 0);
    for (const cmd of [`trials nb201-rea-cifar10 --storage ${db} --format json`, `trials nb201-rea-cifar10 --storage ${db}`, `status nb201-rea-cifar10 --storage ${db}`]) {
      // pipefail: the status is archsearch's, not head's
      const r = spawnSync("bash", ["-c", `set -o pipefail; "${process.execPath}" "${CLI}" ${cmd} | head -c 10 > /dev/null`], { encoding: "utf8" });
      assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
      assert.equal(r.stderr, "", `${cmd}: nothing on stderr`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unreachable PostgreSQL store says so at its first retry, then fails naming it", () => {
  const r = cli(["status", "x", "--storage", "postgres://u:pw@127.0.0.1:1/db?retry_attempts=3&retry_base_delay_ms=10&connect_timeout_ms=500"]);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines[0], /^archsearch: PostgreSQL postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db.* not reachable \(.*ECONNREFUSED.*\), retrying for up to 1 s$/);
  assert.equal(lines.filter((l) => /retrying/.test(l)).length, 1, "one line, at the first retry only");
  assert.match(lines[lines.length - 1], /cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db.* after 3 tries/);
  assert.doesNotMatch(r.stderr, /:pw@/);
});
