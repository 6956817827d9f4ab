import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./cli-util.js";
import { SqliteStore } from "../src/stores/sqlite.js";

export const CHROMIUM = process.env.ARCHSEARCH_CHROMIUM ?? "/usr/bin/chromium";

/** Headless Debian chromium driven by playwright-core; a clear failure when it is not installed. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`the dashboard's browser tests need chromium at ${CHROMIUM}: apt-get install chromium (or set ARCHSEARCH_CHROMIUM)`);
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

/** Config validation refuses such names, but another writer of the store may not: it is opened through the store API. */
export const HOSTILE_NAME = `<script>window.__pwned=1</script>"q'&amp;`;
/** A run's experiment whose strings (an operation's name, error messages) hold markup. */
export const CHAIN = "hostile-chain";
export const HOSTILE_OP = `<script>window.__pwned=4</script>"op'`;
export const HOSTILE_ERROR = `<img src=x onerror="window.__pwned=2"> "quoted" 'single' <script>window.__pwned=3</script>`;

/** The experiments of the dashboard tests, each made by a real `archsearch run` into one SQLite store. */
export interface Fixture {
  dir: string;
  db: string;
}

export function run(args: string[]) {
  const r = cli(args);
  if (r.code !== 0) throw new Error(`archsearch ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r;
}

export async function makeFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-dash-"));
  const db = join(dir, "store.db");
  // single objective, REA on the NB201 table
  run(["run", "examples/nb201-rea.yaml", "--storage", db, "--trials", "40", "-q"]);
  // two objectives with a constraint, stopped early by ASHA: rungs, pruned trials, a Pareto front
  writeFileSync(
    join(dir, "mo.yaml"),
    `name: nb201-asha-mo
seed: 1
space: { name: nb201 }
strategy: { name: random }
scheduler: { name: asha, eta: 3 }
evaluator: { name: nb201, dataset: cifar10 }
objectives:
  - { metric: valid_acc, direction: max }
  - { metric: latency_ms_pixel3, direction: min }
constraints:
  - { metric: latency_ms_pixel3, max: 20 }
budget: { trials: 80 }
`,
  );
  run(["run", join(dir, "mo.yaml"), "--storage", db, "-q"]);
  // a chain space evaluated by a module that fails some trials with markup in its error and leaves artifacts
  writeFileSync(
    join(dir, "hostile.mjs"),
    `export default async function evaluate(trial, ctx) {
  const n = trial.arch.blocks.length;
  if (n === 1) throw new Error(${JSON.stringify(HOSTILE_ERROR)});
  for (let step = 1; step <= 3; step++) ctx.report(step, { score: step * n });
  return { metrics: { score: 3 * n + trial.arch.stem / 100 }, artifacts: { "notes.txt": "trial notes " + n } };
}
`,
  );
  writeFileSync(
    join(dir, "hostile.yaml"),
    `name: ${CHAIN}
seed: 0
space:
  name: declarative
  params:
    - { name: stem, type: categorical, choices: [16, 32] }
    - name: blocks
      type: repeat
      min: 1
      max: 3
      body:
        - { name: kind, type: categorical, choices: [conv, ${JSON.stringify(HOSTILE_OP)}] }
        - { name: kernel, type: categorical, choices: [3, 5] }
strategy: { name: random }
evaluator: { name: module, path: hostile.mjs }
objectives:
  - { metric: score, direction: max }
budget: { trials: 24, max_failures: 100 }
`,
  );
  run(["run", join(dir, "hostile.yaml"), "--storage", db, "-q"]);
  const store = new SqliteStore(db);
  try {
    await store.openExperiment(HOSTILE_NAME, { name: HOSTILE_NAME, objectives: [{ metric: "score", direction: "max" }], budget: { trials: 5 } }, "hostile");
  } finally {
    await store.close();
  }
  return { dir, db };
}
