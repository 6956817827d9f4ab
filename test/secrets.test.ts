import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, ROOT } from "./cli-util.js";
import { inPgSchema } from "./helpers.js";
import { childrenOf, cmdline, until } from "./process-util.js";

const PASSWORD = "s3cret-Pw-7781";

test("postgres: the URL's password is on no worker's command line and in no stored row", async () => {
  await inPgSchema("secret", async (url, { schema, admin }) => {
    const u = new URL(url);
    u.password = PASSWORD; // trust authentication: the server ignores it, archsearch must hide it
    const dir = mkdtempSync(join(tmpdir(), "archsearch-secret-"));
    try {
      const file = join(dir, "c.yaml");
      writeFileSync(
        file,
        ["name: secret", `storage: "${u.toString()}"`, "space: { name: nb201 }", "strategy: { name: random }", `evaluator: { name: module, path: ${join(ROOT, "test/fixtures/abortable-trial.mjs")} }`, "budget: { trials: 16 }"].join("\n"),
      );
      const child = spawn(process.execPath, [CLI, "run", file, "--workers", "2"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TRIAL_MS: "150" } });
      let stderr = "";
      let stdout = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
      const seen: string[] = [];
      await until("the workers", 30_000, () => {
        const kids = childrenOf(child.pid!);
        seen.push(...kids.map(cmdline).filter(Boolean));
        return kids.length === 2;
      });
      // Read every command line of the workers (and theirs) while they run.
      for (let i = 0; i < 10; i++) {
        for (const k of childrenOf(child.pid!)) seen.push(cmdline(k), ...childrenOf(k).map(cmdline));
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(await exit, 0, stderr);
      assert.ok(seen.some((c) => c.includes(" worker ")), "the workers' command lines were read");
      for (const c of seen) assert.ok(!c.includes(PASSWORD), `password on a command line: ${c}`);
      assert.ok(!stderr.includes(PASSWORD) && !stdout.includes(PASSWORD), "password in the output");
      // Every text of every row of the store.
      const tables = await admin.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", [schema]);
      assert.ok(tables.rows.length >= 4);
      let rows = 0;
      for (const { table_name } of tables.rows) {
        const r = await admin.query(`SELECT * FROM "${schema}"."${table_name}"`);
        rows += r.rows.length;
        for (const row of r.rows) assert.ok(!JSON.stringify(row).includes(PASSWORD), `password stored in ${table_name}: ${JSON.stringify(row).slice(0, 300)}`);
      }
      assert.ok(rows >= 16);
      const stored = await admin.query<{ config: { storage: string } }>(`SELECT config FROM "${schema}".experiments`);
      const storage = typeof stored.rows[0].config === "string" ? JSON.parse(stored.rows[0].config).storage : stored.rows[0].config.storage;
      assert.equal(new URL(storage).password, "", "the stored config keeps the URL without credentials");
      assert.equal(new URL(storage).username, u.username);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
