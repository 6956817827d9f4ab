import { h, clear, fmt } from "./dom.js";
import { ApiError, enc, expPath, getJson, traffic } from "./api.js";
import { report } from "./offline.js";
import type { ExperimentDetail, Summary } from "./types.js";
import { experimentsView } from "./views/experiments.js";
import { overviewView } from "./views/overview.js";
import { convergenceView } from "./views/convergence.js";
import { tableStateFromQuery, tableView } from "./views/table.js";
import { trialView } from "./views/trial.js";
import { curvesView } from "./views/curves.js";
import { paretoView } from "./views/pareto.js";
import { importanceView } from "./views/importance.js";
import { workersView } from "./views/workers.js";
import { parallelView } from "./views/parallel.js";

interface View {
  update(): Promise<void>;
  dispose?(): void;
  poll?: boolean;
}

const app = document.getElementById("app")!;
const problem = document.getElementById("problem")!;
(window as unknown as { archsearchTraffic: typeof traffic }).archsearchTraffic = traffic;

function showProblem(e: unknown) {
  clear(problem);
  if (e === undefined) {
    problem.hidden = true;
    return;
  }
  problem.hidden = false;
  problem.append(e instanceof ApiError || e instanceof Error ? e.message : String(e));
}

let teardown: (() => void)[] = [];

/** Runs a view's update; a change arriving meanwhile runs it once more afterwards, never twice at once. */
function serialised(view: View): () => void {
  let running = false;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await view.update();
        showProblem(undefined);
      } while (again);
    } catch (e) {
      showProblem(e);
    } finally {
      running = false;
    }
  };
  return () => void run();
}

/** Listens to an experiment's server-sent change events. */
function live(name: string, onChange: (d: { counts: Summary["counts"]; status: string; best: number | null; trials: number; seq: number }) => void) {
  if (report()) return; // a report is a snapshot: nothing to listen to
  const es = new EventSource(`${expPath(name)}/events`);
  es.addEventListener("change", (ev) => onChange(JSON.parse((ev as MessageEvent).data)));
  es.addEventListener("problem", (ev) => showProblem(JSON.parse((ev as MessageEvent).data).message));
  teardown.push(() => es.close());
}

const TABS = [
  ["overview", "Overview"],
  ["convergence", "Convergence"],
  ["trials", "Trials"],
  ["curves", "Intermediate values"],
  ["pareto", "Pareto front"],
  ["parallel", "Parallel coordinates"],
  ["importance", "Importance"],
  ["workers", "Workers"],
] as const;

function header(exp: ExperimentDetail, tab: string) {
  const counts = h("span", { class: "counts", "data-testid": "counts" });
  const setCounts = (d: { counts: Summary["counts"]; status: string; best: number | null; trials: number }) => {
    clear(counts);
    counts.setAttribute("data-trials", String(d.trials));
    counts.setAttribute("data-finished", String(d.counts.finished));
    counts.append(
      d.trials === 0
        ? "no trials yet: this experiment is empty (its run has not started a trial)"
        : `${d.status} · ${d.trials} trials: ${d.counts.finished} finished, ${d.counts.running} running, ${d.counts.pruned} pruned, ${d.counts.paused} paused, ${d.counts.failed} failed · budget ${exp.budget ?? "?"} · best ${exp.objectives[0].metric} ${d.best === null ? "none yet" : fmt(d.best)}`,
    );
  };
  setCounts(exp);
  const nav = h("nav", { class: "tabs" }, ...TABS.filter(([t]) => t !== "pareto" || exp.objectives.length >= 2).map(([t, label]) => h("a", { href: `#/e/${enc(exp.name)}/${t}`, class: t === tab ? "active" : "" }, label)));
  app.append(h("h1", {}, h("a", { href: "#/" }, "Experiments"), " / ", h("span", { "data-testid": "exp-name" }, exp.name)), counts, nav);
  return setCounts;
}

async function route() {
  for (const t of teardown) t();
  teardown = [];
  clear(app);
  showProblem(undefined);
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const q = new URLSearchParams(query ?? "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const root = h("section", { id: "view" });
  try {
    let view: View;
    if (parts.length === 0) {
      app.append(root);
      view = experimentsView(root);
    } else if (parts[0] === "compare") {
      const names = JSON.parse(q.get("names") ?? "[]") as string[];
      const exps = await Promise.all(names.map((n) => getJson<ExperimentDetail>(expPath(n))));
      app.append(h("h1", {}, h("a", { href: "#/" }, "Experiments"), " / compare ", exps.map((e) => e.name).join(", ")), root);
      view = convergenceView(root, exps.map((e) => ({ name: e.name, objective: e.objectives[0] })));
      const update = serialised(view);
      for (const e of exps) live(e.name, update);
    } else if (parts[0] === "e" && parts[1]) {
      const exp = await getJson<ExperimentDetail>(expPath(parts[1]));
      const tab = parts[2] ?? "overview";
      const setCounts = header(exp, tab);
      app.append(root);
      if (tab === "trial") view = trialView(root, exp.name, Number(parts[3]));
      else if (tab === "convergence") view = convergenceView(root, [{ name: exp.name, objective: exp.objectives[0] }]);
      else if (tab === "trials") view = tableView(root, exp, tableStateFromQuery(q));
      else if (tab === "curves") view = curvesView(root, exp.name);
      else if (tab === "pareto") view = exp.objectives.length >= 2 ? paretoView(root, exp) : { update: async () => void root.append(h("p", { class: "empty" }, "this experiment has one objective")) };
      else if (tab === "parallel") view = parallelView(root, exp);
      else if (tab === "importance") view = importanceView(root, exp.name);
      else if (tab === "workers") view = workersView(root, exp.name);
      else view = overviewView(root, exp);
      const update = serialised(view);
      live(exp.name, (d) => {
        setCounts(d);
        update();
      });
    } else {
      throw new Error(`no such page: ${location.hash}`);
    }
    teardown.push(() => view.dispose?.());
    await view.update();
    if (view.poll && !report()) {
      const update = serialised(view);
      const timer = setInterval(update, 2000);
      teardown.push(() => clearInterval(timer));
    }
  } catch (e) {
    showProblem(e);
  }
}

window.addEventListener("hashchange", () => void route());
void route();
