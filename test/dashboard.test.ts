import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { startDashboard, type Dashboard } from "../src/server/index.js";
import { openStore } from "../src/stores/open.js";
import type { Store, TrialRecord } from "../src/core/store.js";
import { Objectives } from "../src/core/objectives.js";
import { parseArchString, NB201_EDGES } from "../src/benchmarks/nb201.js";
import { paretoTrials } from "../src/cli/commands.js";
import { cliAsync } from "./cli-util.js";
import { CHAIN, HOSTILE_ERROR, HOSTILE_NAME, HOSTILE_OP, launchBrowser, makeFixture, type Fixture } from "./dashboard-util.js";

const REA = "nb201-rea-cifar10";
const MO = "nb201-asha-mo";

describe("dashboard in a browser (real runs, SQLite, chromium)", () => {
  let fx: Fixture;
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;
  let store: Store;

  const trialsOf = async (name: string): Promise<TrialRecord[]> => store.getTrials((await store.getExperiment(name))!.id);
  const open = async (hash: string, selector = "#view[data-rendered]") => {
    await page.goto(`${dash.url}#${hash}`);
    await page.waitForSelector(selector, { timeout: 15_000 });
  };
  const attr = async (selector: string, name: string) => (await page.getAttribute(selector, name)) ?? "";

  before(async () => {
    fx = await makeFixture();
    dash = await startDashboard({ storage: fx.db, port: 0, pollMs: 100, log: () => {} });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    store = openStore(fx.db); // a second connection: what the tests compare the page with
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
    await store?.close();
  });

  test("experiments view: every experiment with its counts and best value read from the store", async () => {
    await open("/", "#view[data-rendered] tr[data-exp]");
    for (const name of [REA, MO, CHAIN, HOSTILE_NAME]) {
      const trials = await trialsOf(name);
      const row = page.locator(`tr[data-exp="${name.replace(/["\\]/g, "\\$&")}"]`);
      assert.equal(await row.locator('td[data-col="name"]').textContent(), name);
      assert.equal(Number(await row.locator('td[data-col="finished"]').textContent()), trials.filter((t) => t.status === "finished").length);
      assert.equal(Number(await row.locator('td[data-col="pruned"]').textContent()), trials.filter((t) => t.status === "pruned").length);
      assert.equal(Number(await row.locator('td[data-col="failed"]').textContent()), trials.filter((t) => t.status === "failed").length);
    }
    const rea = await trialsOf(REA);
    const best = Math.max(...rea.filter((t) => t.status === "finished").map((t) => t.metrics!.valid_acc));
    assert.equal(await page.locator(`tr[data-exp="${REA}"] td[data-col="best"]`).textContent(), `valid_acc ${best}`);
  });

  test("convergence view: best so far and finished count match the store; two experiments overlaid", async () => {
    await open(`/e/${REA}/convergence`, "#view[data-rendered] .line[data-exp]");
    const rea = (await trialsOf(REA)).filter((t) => t.status === "finished");
    const best = rea.reduce((a, t) => (t.metrics!.valid_acc > a.metrics!.valid_acc ? t : a));
    assert.equal(Number(await attr(`.line[data-exp="${REA}"]`, "data-finished")), rea.length);
    assert.equal(Number(await attr(`.line[data-exp="${REA}"]`, "data-best")), best.metrics!.valid_acc);
    assert.equal(Number(await attr(`.line[data-exp="${REA}"]`, "data-best-trial")), best.number);
    assert.equal(await page.locator('[data-testid="chart-by-number"] canvas').count(), 1);
    // compare: both experiments' lines
    await open(`/compare?names=${encodeURIComponent(JSON.stringify([REA, MO]))}`, "#view[data-rendered] .line[data-exp]");
    const mo = (await trialsOf(MO)).filter((t) => t.status === "finished");
    assert.equal(Number(await attr(`.line[data-exp="${MO}"]`, "data-finished")), mo.length);
    assert.equal(Number(await attr(`.line[data-exp="${REA}"]`, "data-finished")), rea.length);
  });

  test("trial table: server-side filter (UI form), sort and pagination match the store", async () => {
    const rea = await trialsOf(REA);
    await open(`/e/${REA}/trials`, '[data-testid="table-info"][data-total]');
    assert.equal(Number(await attr('[data-testid="table-info"]', "data-total")), rea.length);
    assert.equal(await page.locator('[data-testid="trial-table"] tbody tr').count(), Math.min(50, rea.length));
    // filter on an operation of the cell through the form
    await page.selectOption('[data-testid="filter-column"]', "arch.0->1");
    await page.selectOption('[data-testid="filter-op"]', "=");
    await page.fill('[data-testid="filter-value"]', "nor_conv_3x3");
    await page.click('[data-testid="filter-add"]');
    const expected = rea.filter((t) => parseArchString(t.arch as string)![0] === "nor_conv_3x3");
    await page.waitForSelector(`[data-testid="table-info"][data-total="${expected.length}"]`, { timeout: 10_000 });
    const shown = await page.locator('[data-testid="trial-table"] tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-number"))));
    assert.deepEqual(shown, expected.map((t) => t.number).slice(0, 50));
    // sort by the objective, descending: the best first
    await open(`/e/${REA}/trials?sort=m.valid_acc&desc=1`, '[data-testid="table-info"][data-total]');
    const best = rea.filter((t) => t.status === "finished").sort((a, b) => b.metrics!.valid_acc - a.metrics!.valid_acc || a.number - b.number)[0];
    assert.equal(await attr('[data-testid="trial-table"] tbody tr', "data-number"), String(best.number));
    // status filter and the second page
    const mo = await trialsOf(MO);
    const pruned = mo.filter((t) => t.status === "pruned");
    await open(`/e/${MO}/trials?filters=${encodeURIComponent(JSON.stringify([["status", "=", "pruned"]]))}&offset=20`, '[data-testid="table-info"][data-total]');
    assert.equal(Number(await attr('[data-testid="table-info"]', "data-total")), pruned.length);
    assert.equal(await attr('[data-testid="trial-table"] tbody tr', "data-number"), String(pruned[20].number));
  });

  test("trial page: metrics, intermediate values and the NB201 cell drawn with the store's operations", async () => {
    const t = (await trialsOf(MO)).find((x) => x.status === "finished")!;
    await open(`/e/${MO}/trial/${t.number}`, '#view[data-rendered] [data-testid="arch"] svg');
    assert.equal(await page.textContent('[data-testid="trial-status"]'), "finished");
    assert.equal(Number(await page.textContent('td[data-key="valid_acc"]')), t.metrics!.valid_acc);
    const ops = parseArchString(t.arch as string)!;
    for (const [k, [s, d]] of NB201_EDGES.entries()) assert.equal(await page.textContent(`[data-testid="arch"] text[data-edge="${s}->${d}"]`), ops[k]);
    const steps = await store.getIntermediate(t.id);
    assert.ok(steps.length >= 2);
    assert.equal(await page.locator('[data-testid="intermediate"] tr').count(), steps.length + 1);
  });

  test("intermediate values: the ASHA rung and how many trials stopped there, from the store", async () => {
    await open(`/e/${MO}/curves`, '#view[data-rendered] [data-testid="rungs"]');
    const stopped = (await trialsOf(MO)).filter((t) => t.status === "pruned" && t.fidelity?.epochs === 12);
    assert.ok(stopped.length > 0);
    assert.equal(await attr('[data-testid="rungs"] li', "data-step"), "12");
    assert.equal(Number(await attr('[data-testid="rungs"] li', "data-pruned")), stopped.length);
    assert.equal(Number(await attr('[data-testid="curves-info"]', "data-curves")), 20);
    assert.equal(await page.locator('[data-testid="chart-curves"] canvas').count(), 1);
  });

  test("Pareto front: the same trials as the CLI's non-dominated set", async () => {
    await open(`/e/${MO}/pareto`, '#view[data-rendered] [data-testid="pareto-info"][data-front]');
    const exp = (await store.getExperiment(MO))!;
    const cfg = exp.config as { objectives: never; constraints: never };
    const expected = paretoTrials(await trialsOf(MO), new Objectives(cfg.objectives, cfg.constraints)).map((t) => t.number).sort((a, b) => a - b);
    const front = (await attr('[data-testid="pareto-info"]', "data-front")).split(",").map(Number).sort((a, b) => a - b);
    assert.deepEqual(front, expected);
    assert.ok(Number(await attr('[data-testid="pareto-info"]', "data-hv")) > 0);
  });

  test("architecture view of a chain space, importance, workers and parallel coordinates show the store's data", async () => {
    const chain = await trialsOf(CHAIN);
    const t = chain.find((x) => x.status === "finished" && JSON.stringify(x.arch).includes("<script>"))!;
    await open(`/e/${CHAIN}/trial/${t.number}`, '#view[data-rendered] [data-testid="arch"] svg.chain');
    const labels = await page.locator('[data-testid="arch"] svg .block-label').allTextContents();
    const arch = t.arch as { stem: number; blocks: { kind: string; kernel: number }[] };
    assert.deepEqual(labels, [`stem=${arch.stem}`, ...arch.blocks.map((b) => `${b.kind} kernel=${b.kernel}`)]);

    const rea = await trialsOf(REA);
    await open(`/e/${REA}/importance`, '#view[data-rendered] [data-testid="importance"] .imp');
    const cols = await page.locator("[data-testid=importance] .imp").evaluateAll((els) => els.map((e) => [e.getAttribute("data-column"), Number(e.getAttribute("data-share"))] as const));
    assert.deepEqual(cols.map((c) => c[0]).sort(), NB201_EDGES.map(([s, d]) => `arch.${s}->${d}`).sort());
    for (const [, share] of cols) assert.ok(share >= 0 && share <= 1);

    await open(`/e/${REA}/workers`, '#view[data-rendered] [data-testid="workers"] tr[data-worker]');
    const worker = rea[0].worker!;
    assert.equal(Number(await page.locator(`tr[data-worker="${worker}"] td`).nth(1).textContent()), rea.filter((x) => x.worker === worker).length);

    await open(`/e/${REA}/parallel`, '#view[data-rendered] [data-testid="parallel-info"]');
    const finished = rea.filter((x) => x.status === "finished");
    assert.equal(Number(await attr('[data-testid="parallel-info"]', "data-shown")), finished.length);
    // brush the top half of the first axis (the objective) and follow the link to the table
    const box = (await page.locator('[data-testid="parallel-canvas"]').boundingBox())!;
    const x = box.x + 70;
    await page.mouse.move(x, box.y + 30);
    await page.mouse.down();
    await page.mouse.move(x, box.y + 140, { steps: 4 });
    await page.mouse.up();
    const selected = Number(await attr('[data-testid="parallel-info"]', "data-selected"));
    assert.ok(selected > 0 && selected < finished.length, `brushing selected ${selected} of ${finished.length}`);
    await page.click('[data-testid="parallel-link"]');
    await page.waitForSelector('[data-testid="table-info"][data-total]');
    assert.equal(Number(await attr('[data-testid="table-info"]', "data-total")), selected);
  });

  test("a trial finished by another process appears on an open page without reload; one poll loop per experiment", async () => {
    const before = (await trialsOf(REA)).filter((t) => t.status === "finished").length;
    await open(`/e/${REA}/convergence`, `.line[data-exp="${REA}"][data-finished="${before}"]`);
    const second = await browser.newPage();
    await second.goto(`${dash.url}#/e/${REA}/trials`);
    await second.waitForSelector('[data-testid="table-info"][data-total]');
    assert.equal(dash.hub.loops(), 1, "two pages on one experiment share one poll loop");
    const child = cliAsync(["run", "examples/nb201-rea.yaml", "--storage", fx.db, "--trials", String(before + 5), "-q"]);
    const code = await new Promise<number | null>((ok) => child.on("exit", ok));
    assert.equal(code, 0);
    await page.waitForSelector(`.line[data-exp="${REA}"][data-finished="${before + 5}"]`, { timeout: 10_000 });
    await second.waitForSelector(`[data-testid="table-info"][data-total="${before + 5}"]`, { timeout: 10_000 });
    assert.equal(await page.getAttribute('[data-testid="counts"]', "data-finished"), String(before + 5));
    await second.close();
  });

  test("strings from the store are shown as text, never run: experiment name, operation and error message with markup", async () => {
    await page.goto(`${dash.url}#/`);
    await page.waitForSelector("tr[data-exp]");
    assert.ok((await page.locator('td[data-col="name"]').allTextContents()).includes(HOSTILE_NAME));
    await open(`/e/${encodeURIComponent(HOSTILE_NAME)}`);
    assert.equal(await page.textContent('[data-testid="exp-name"]'), HOSTILE_NAME);
    const chain = await trialsOf(CHAIN);
    const failed = chain.find((t) => t.status === "failed")!;
    assert.ok(failed.error!.includes(HOSTILE_ERROR));
    await open(`/e/${CHAIN}/trial/${failed.number}`, '#view[data-rendered] [data-testid="trial-error"]');
    assert.equal(await page.textContent('[data-testid="trial-error"]'), failed.error);
    // the operation with markup, in the table
    await open(`/e/${CHAIN}/trials?filters=${encodeURIComponent(JSON.stringify([["arch.blocks.0.kind", "=", HOSTILE_OP]]))}`, '[data-testid="table-info"][data-total]');
    const withOp = chain.filter((t) => (t.arch as { blocks: { kind: string }[] }).blocks[0].kind === HOSTILE_OP);
    assert.ok(withOp.length > 0);
    assert.equal(Number(await attr('[data-testid="table-info"]', "data-total")), withOp.length);
    assert.equal(await page.textContent('[data-testid="trial-table"] tbody tr td[data-col="arch.blocks.0.kind"]'), HOSTILE_OP);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(await page.locator("script").count(), 1);
    assert.equal(await page.locator("#app img").count(), 0);
  });

  test("artifacts download by id; unknown ids and paths are refused", async () => {
    const t = (await trialsOf(CHAIN)).find((x) => x.status === "finished")!;
    const exp = (await store.getExperiment(CHAIN))!;
    const [art] = await store.listArtifacts(exp.id, t.number);
    await open(`/e/${CHAIN}/trial/${t.number}`, '#view[data-rendered] [data-testid="artifacts"] a');
    const href = (await page.getAttribute('[data-testid="artifacts"] a', "href"))!;
    const res = await page.request.get(new URL(href, dash.url).toString());
    assert.equal(res.status(), 200);
    assert.equal(await res.text(), `trial notes ${(t.arch as { blocks: unknown[] }).blocks.length}`);
    const base = `${dash.url}api/experiments/${CHAIN}/artifacts/`;
    for (const bad of ["..%2F..%2F..%2Fetc%2Fpasswd", "..%2Fstore.db", `${t.number}.${"0".repeat(64)}`, `${t.number + 1000}.${art.sha256}`, encodeURIComponent(art.path)]) {
      const r = await page.request.get(base + bad);
      assert.ok(r.status() === 400 || r.status() === 404, `${bad}: ${r.status()}`);
      assert.ok(!(await r.text()).includes("root:"), bad);
    }
    for (const bad of ["/app.js/../../package.json", "/%2e%2e/package.json", "/..%2f..%2fpackage.json"]) {
      const r = await page.request.get(new URL(bad, dash.url).toString());
      assert.equal(r.status(), 404, bad);
    }
  });

  test("unknown and empty experiments: clear messages in the page", async () => {
    await page.goto(`${dash.url}#/e/no-such-experiment`);
    await page.waitForSelector('[data-testid="problem"]:not([hidden])');
    assert.match((await page.textContent('[data-testid="problem"]'))!, /no experiment "no-such-experiment" in this store \(it has: /);
    // an experiment opened by another connection that has no trial yet
    await store.openExperiment("empty-one", { name: "empty-one", objectives: [{ metric: "valid_acc", direction: "max" }], budget: { trials: 10 } }, "h");
    await open("/e/empty-one");
    assert.match((await page.textContent('[data-testid="counts"]'))!, /no trials yet: this experiment is empty/);
    await open("/e/empty-one/convergence");
    assert.match((await page.textContent("#view"))!, /no finished trial yet/);
  });
});
