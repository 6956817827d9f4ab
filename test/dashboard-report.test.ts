import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { existsSync, readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { openStore } from "../src/stores/open.js";
import type { Store, TrialRecord } from "../src/core/store.js";
import { Objectives } from "../src/core/objectives.js";
import { paretoTrials } from "../src/cli/commands.js";
import { cli } from "./cli-util.js";
import { CHAIN, HOSTILE_ERROR, HOSTILE_OP, launchBrowser, makeFixture, run, type Fixture } from "./dashboard-util.js";

const MO = "nb201-asha-mo";

describe("archsearch report: one self-contained HTML file, opened from file:// in chromium", () => {
  let fx: Fixture;
  let browser: Browser;
  let page: Page;
  let store: Store;
  /** Every request the page made that was not for the report file itself. */
  let network: string[] = [];
  const reportOf = (name: string, extra: string[] = []) => {
    const out = join(fx.dir, `${[name, ...extra].join("_").replace(/\W+/g, "_")}.html`);
    const r = run(["report", name, "--storage", fx.db, "--out", out, ...extra]);
    assert.match(r.stdout, /wrote .*\.html \(\d+ bytes\)/);
    return out;
  };
  const trialsOf = async (name: string): Promise<TrialRecord[]> => store.getTrials((await store.getExperiment(name))!.id);
  const open = async (file: string, hash: string, selector = "#view[data-rendered]") => {
    await page.goto(`${pathToFileURL(file).href}#${hash}`);
    await page.waitForSelector(selector, { timeout: 15_000 });
  };
  const attr = async (selector: string, name: string) => (await page.getAttribute(selector, name)) ?? "";

  before(async () => {
    fx = await makeFixture();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on("request", (r) => {
      if (!r.url().startsWith("file://") && !r.url().startsWith("data:")) network.push(r.url());
    });
    store = openStore(fx.db);
  });
  after(async () => {
    await browser?.close();
    await store?.close();
  });

  test("the views show the store's numbers: counts, best, table, trial page, rungs, Pareto front; no request leaves the file", async () => {
    const file = reportOf(MO);
    const html = readFileSync(file, "utf8");
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/); // script and style inlined
    const trials = await trialsOf(MO);
    const finished = trials.filter((t) => t.status === "finished");
    const feasible = finished.filter((t) => t.metrics!.latency_ms_pixel3 <= 20);
    const best = feasible.reduce((a, t) => (t.metrics!.valid_acc > a.metrics!.valid_acc ? t : a));

    await open(file, "/", "#view[data-rendered] tr[data-exp]");
    assert.equal(await page.locator("tr[data-exp]").count(), 1); // this experiment only
    assert.equal(Number(await page.textContent(`tr[data-exp="${MO}"] td[data-col="finished"]`)), finished.length);
    assert.equal(Number(await page.textContent(`tr[data-exp="${MO}"] td[data-col="pruned"]`)), trials.filter((t) => t.status === "pruned").length);

    await open(file, `/e/${MO}/convergence`, "#view[data-rendered] .line[data-exp]");
    assert.equal(Number(await attr(`.line[data-exp="${MO}"]`, "data-finished")), finished.length);
    assert.equal(Number(await attr(`.line[data-exp="${MO}"]`, "data-best")), best.metrics!.valid_acc);
    assert.equal(Number(await attr(`.line[data-exp="${MO}"]`, "data-best-trial")), best.number);

    // the table filters, sorts and pages in the page, as the server does
    const pruned = trials.filter((t) => t.status === "pruned");
    await open(file, `/e/${MO}/trials?filters=${encodeURIComponent(JSON.stringify([["status", "=", "pruned"]]))}&offset=10`, '#view[data-rendered] [data-testid="table-info"][data-total]');
    assert.equal(Number(await attr('[data-testid="table-info"]', "data-total")), pruned.length);
    assert.equal(await attr('[data-testid="trial-table"] tbody tr', "data-number"), String(pruned[10].number));
    await open(file, `/e/${MO}/trials?sort=m.valid_acc&desc=1`, '#view[data-rendered] [data-testid="table-info"][data-total]');
    const byAcc = trials.filter((t) => t.metrics).sort((a, b) => b.metrics!.valid_acc - a.metrics!.valid_acc || a.number - b.number);
    assert.equal(await attr('[data-testid="trial-table"] tbody tr', "data-number"), String(byAcc[0].number));

    await open(file, `/e/${MO}/trial/${best.number}`, '#view[data-rendered] [data-testid="arch"] svg');
    assert.equal(Number(await page.textContent('td[data-key="valid_acc"]')), best.metrics!.valid_acc);
    assert.equal(await page.locator('[data-testid="intermediate"] tr').count(), (await store.getIntermediate(best.id)).length + 1);

    await open(file, `/e/${MO}/curves`, '#view[data-rendered] [data-testid="rungs"]');
    assert.equal(Number(await attr('[data-testid="rungs"] li', "data-pruned")), trials.filter((t) => t.status === "pruned" && t.fidelity?.epochs === 12).length);

    await open(file, `/e/${MO}/pareto`, '#view[data-rendered] [data-testid="pareto-info"][data-front]');
    const cfg = (await store.getExperiment(MO))!.config as { objectives: never; constraints: never };
    const front = paretoTrials(trials, new Objectives(cfg.objectives, cfg.constraints)).map((t) => t.number).sort((a, b) => a - b);
    assert.deepEqual((await attr('[data-testid="pareto-info"]', "data-front")).split(",").map(Number).sort((a, b) => a - b), front);

    for (const tab of ["parallel", "importance", "workers"]) await open(file, `/e/${MO}/${tab}`);
    assert.equal(await page.textContent('[data-testid="problem"]'), "");
    assert.deepEqual(network, []);
  });

  test("a trial page the report does not hold says so; strings from the store stay text", async () => {
    const file = reportOf(CHAIN, ["--trial-pages", "3"]);
    const chain = await trialsOf(CHAIN);
    const failed = chain.find((t) => t.status === "failed")!;
    // failed trials rank last: its page is not among the 3 best
    await page.goto(`${pathToFileURL(file).href}#/e/${CHAIN}/trial/${failed.number}`);
    await page.waitForSelector('[data-testid="problem"]:not([hidden])');
    assert.match((await page.textContent('[data-testid="problem"]'))!, /this report does not hold that view .*the 3 best of 24 trials/);
    const withOp = chain.filter((t) => (t.arch as { blocks: { kind: string }[] }).blocks[0].kind === HOSTILE_OP);
    await open(file, `/e/${CHAIN}/trials?filters=${encodeURIComponent(JSON.stringify([["arch.blocks.0.kind", "=", HOSTILE_OP]]))}`, '#view[data-rendered] [data-testid="table-info"][data-total]');
    assert.equal(Number(await attr('[data-testid="table-info"]', "data-total")), withOp.length);
    assert.equal(await page.textContent('[data-testid="trial-table"] tbody tr td[data-col="arch.blocks.0.kind"]'), HOSTILE_OP);
    const all = reportOf(CHAIN);
    await open(all, `/e/${CHAIN}/trial/${failed.number}`, '#view[data-rendered] [data-testid="trial-error"]');
    assert.ok(failed.error!.includes(HOSTILE_ERROR));
    assert.equal(await page.textContent('[data-testid="trial-error"]'), failed.error);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.deepEqual(network, []);
  });

  test("an unknown experiment: a clear message, no file", () => {
    const out = join(fx.dir, "none.html");
    const r = cli(["report", "no-such", "--storage", fx.db, "--out", out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no experiment "no-such" in .* \(it has: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(existsSync(out), false);
  });
});
