/**
 * `npm run bench -- dashboard [--trials 100000] [--out bench-results/dashboard] [--updates 5] [--from FILE]`:
 * builds a simulated NB201 experiment of that many trials (two objectives, intermediate values,
 * a rung) in a temporary SQLite file, starts the dashboard on it, and opens each view in a fresh
 * headless Chromium page:
 *
 * - first render: from starting the page load to the view showing its data (the view's
 *   numbers in the page, not just a canvas); the first view opened also waits for whatever of
 *   the server's initial cache load is left: it is opened the moment the server listens, and
 *   the server starts reading the store then;
 * - bytes: everything the page received over the wire for that view (page, script, style, API);
 * - live update: from a trial's end, written by another connection to the store, to the open
 *   convergence page showing it (median of `--updates` trials; the worst is printed too).
 *
 * Screenshots of every view go to `--out`. Prints a table, then one JSON line. `--from` copies a
 * store built by the bench before (e.g. kept from bench/dashboard-data.ts) instead of building one.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { SqliteStore } from "../src/stores/sqlite.js";
import { benchArgs, intList } from "./args.js";
import { buildExperiment, TrialWriter } from "./dashboard-data.js";

const NAME = "bench";
const CHROMIUM = process.env.ARCHSEARCH_CHROMIUM ?? "/usr/bin/chromium";

interface ViewSpec {
  name: string;
  hash: string;
  /** Element that holds the view's data once drawn: it must contain a digit. */
  selector: string;
}

export async function dashboardBench(argv: string[]) {
  const { values } = benchArgs(argv, {
    trials: { type: "string", default: "10000" },
    out: { type: "string", default: "bench-results/dashboard" },
    updates: { type: "string", default: "5" },
    from: { type: "string" },
  });
  const trials = intList(String(values.trials))[0];
  const updates = intList(String(values.updates))[0];
  const out = resolve(String(values.out));
  if (!existsSync(CHROMIUM)) throw new Error(`the dashboard bench needs chromium at ${CHROMIUM}: apt-get install chromium (or set ARCHSEARCH_CHROMIUM)`);
  mkdirSync(out, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "archsearch-dash-bench-"));
  const db = join(dir, "bench.db");
  try {
    let t = performance.now();
    let experimentId: number;
    if (values.from) {
      // a store this bench built before (--trials is then what it holds): copied, since the live rounds add trials
      copyFileSync(String(values.from), db);
      experimentId = 1;
    } else {
      experimentId = await buildExperiment(db, NAME, trials, (done) => (done % 10000 === 0 || done === trials) && process.stderr.write(`building the experiment: ${done} / ${trials} trials\n`));
      process.stderr.write(`\rbuilt ${trials} trials in ${((performance.now() - t) / 1000).toFixed(1)} s${" ".repeat(20)}\n`);
    }

    // the browser is up before the server starts: the first view is opened the moment the server listens
    const best = await bestTrial(db);
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const warm = await browser.newPage();
    await warm.goto("about:blank");
    await warm.close();
    t = performance.now();
    // the real command in its own process: its event loop is not the bench's (a first load blocks it)
    const d = await startServer(db);
    const serverStart = performance.now() - t;
    try {
      const views: ViewSpec[] = [
        { name: "experiments", hash: "#/", selector: "tr[data-exp] td[data-col=finished]" },
        { name: "overview", hash: `#/e/${NAME}`, selector: "[data-testid=best-arch]" },
        { name: "convergence", hash: `#/e/${NAME}/convergence`, selector: ".line[data-finished]" },
        { name: "trials", hash: `#/e/${NAME}/trials`, selector: "[data-testid=trial-table] tbody tr[data-number]" },
        { name: "trial", hash: `#/e/${NAME}/trial/${best}`, selector: "[data-testid=intermediate]" },
        { name: "curves", hash: `#/e/${NAME}/curves`, selector: "[data-testid=curve-table] tr[data-number]" },
        { name: "pareto", hash: `#/e/${NAME}/pareto`, selector: "[data-testid=front-table] tr[data-number]" },
        { name: "parallel", hash: `#/e/${NAME}/parallel`, selector: "[data-testid=parallel-info]" },
        { name: "importance", hash: `#/e/${NAME}/importance`, selector: "[data-testid=importance]" },
        { name: "workers", hash: `#/e/${NAME}/workers`, selector: "[data-testid=workers]" },
      ];
      const firstRender: Record<string, number> = {};
      const bytes: Record<string, number> = {};
      for (const v of views) {
        const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        const page = await ctx.newPage();
        const received = await countBytes(page);
        const start = performance.now();
        await page.goto(d.url + v.hash);
        await page.waitForFunction(
          (sel) => {
            const el = document.querySelector(`#view[data-rendered] ${sel}`);
            return el !== null && /\d/.test(el.textContent ?? "");
          },
          v.selector,
          { timeout: 120_000, polling: 10 },
        );
        firstRender[v.name] = Math.round(performance.now() - start);
        await page.screenshot({ path: join(out, `${v.name}.png`), fullPage: true });
        bytes[v.name] = received();
        await ctx.close();
      }
      const live = await liveUpdates(browser, d.url, db, experimentId, updates);

      console.log(`dashboard bench: ${trials} trials (NB201 simulator, 2 objectives, rung at 12 epochs), Chromium headless; server process listening after ${Math.round(serverStart)} ms`);
      console.log(`${"view".padEnd(14)}${"first render (ms)".padStart(18)}${"bytes".padStart(12)}  bar 2000 ms`);
      for (const v of views) console.log(`${v.name.padEnd(14)}${String(firstRender[v.name]).padStart(18)}${String(bytes[v.name]).padStart(12)}  ${firstRender[v.name] <= 2000 ? "met" : "NOT met"}`);
      console.log(`live update: median ${live.median} ms, worst ${live.worst} ms of ${updates} (bar 1000 ms: ${live.median <= 1000 ? "met" : "NOT met"})`);
      console.log(`screenshots: ${out}`);
      console.log(JSON.stringify({ trials, first_render_ms: firstRender, live_update_ms: live.median, bytes }));
    } finally {
      await browser.close();
      d.child.kill("SIGTERM");
      await once(d.child, "exit");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts `archsearch dashboard` on the store and waits for the address it prints (it is listening then). */
async function startServer(db: string): Promise<{ child: ChildProcess; url: string }> {
  const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
  const child = spawn(process.execPath, [cli, "dashboard", "--storage", db, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 30_000;
  while (!/open (http:\S+)/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the dashboard did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, url: /open (http:\S+)/.exec(out)![1] };
}

/** The number of the best finished trial (largest valid_acc), read through the store. */
async function bestTrial(db: string): Promise<number> {
  const store = new SqliteStore(db, { readOnly: true });
  try {
    const [e] = await store.listExperiments();
    let best = { n: 0, v: -Infinity };
    for (const t of await store.getTrials(e.id, { status: ["finished"] })) {
      const v = t.metrics?.valid_acc ?? -Infinity;
      if (v > best.v) best = { n: t.number, v };
    }
    return best.n;
  } finally {
    await store.close();
  }
}

type Page = import("playwright-core").Page;
type Browser = import("playwright-core").Browser;

/** Counts the bytes the page receives over the network (headers and bodies, as Chromium reports them). */
async function countBytes(page: Page): Promise<() => number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  let total = 0;
  cdp.on("Network.dataReceived", (e: { encodedDataLength: number }) => (total += e.encodedDataLength));
  cdp.on("Network.responseReceived", (e: { response: { encodedDataLength?: number } }) => (total += e.response.encodedDataLength ?? 0));
  return () => total;
}

/**
 * Time from a trial's end to the open convergence page counting it: each round adds a trial and
 * runs it through another connection (as a run in another process would), stamping the clock
 * just before its completion is written.
 */
async function liveUpdates(browser: Browser, url: string, db: string, experimentId: number, rounds: number) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}#/e/${NAME}/convergence`);
  const finishedNow = () => page.evaluate(() => Number(document.querySelector("#view[data-rendered] .line[data-finished]")?.getAttribute("data-finished") ?? -1));
  await page.waitForFunction(() => document.querySelector("#view[data-rendered] .line[data-finished]") !== null, undefined, { timeout: 120_000 });
  const store = new SqliteStore(db);
  const times: number[] = [];
  try {
    const w = new TrialWriter(store, experimentId, 12345);
    for (let i = 0; i < rounds; ) {
      const [t] = await w.add(1);
      const before = await finishedNow();
      await new Promise((r) => setTimeout(r, 300)); // let the page settle between rounds
      // run it; only finished trials move the convergence count (a stopped one is retried with another cell)
      const start = performance.now();
      const status = await w.run(t, "bench-writer");
      if (status !== "finished") continue;
      await page.waitForFunction((n) => Number(document.querySelector("#view[data-rendered] .line[data-finished]")?.getAttribute("data-finished")) > n, before, { timeout: 30_000, polling: 5 });
      times.push(Math.round(performance.now() - start));
      i++;
    }
  } finally {
    await store.close();
    await page.close();
  }
  const sorted = times.slice().sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], worst: sorted[sorted.length - 1], all: times };
}
