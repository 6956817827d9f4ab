import { h, fmtTime, fmtDuration, clear } from "../dom.js";
import { expPath, getJson, enc } from "../api.js";

interface WorkerLine {
  worker: string;
  trials: number;
  running: number[];
  finished: number;
  failed: number;
  pruned: number;
  paused: number;
  costSeconds: number;
  firstStart: number | null;
  lastActivity: number | null;
}

/** Who runs what: trials per worker, what each runs now, its last activity. */
export function workersView(root: HTMLElement, name: string) {
  const body = h("div", {});
  root.append(h("h2", {}, "Workers"), body);
  async function update() {
    const r = await getJson<{ workers: WorkerLine[] }>(`${expPath(name)}/workers`);
    clear(body);
    body.append(
      h("table", { class: "trials", "data-testid": "workers" },
        h("tr", {}, ...["worker", "trials", "running now", "finished", "pruned", "paused", "failed", "trial cost", "first start", "last activity"].map((c) => h("th", {}, c))),
        ...r.workers.map((w) => h("tr", { "data-worker": w.worker },
          h("td", {}, w.worker), h("td", {}, w.trials),
          h("td", {}, ...w.running.flatMap((n, i) => [i ? ", " : "", h("a", { href: `#/e/${enc(name)}/trial/${n}` }, String(n))])),
          h("td", {}, w.finished), h("td", {}, w.pruned), h("td", {}, w.paused), h("td", {}, w.failed),
          h("td", {}, fmtDuration(w.costSeconds)), h("td", {}, fmtTime(w.firstStart)), h("td", {}, fmtTime(w.lastActivity)))),
      ),
      h("p", { class: "note" }, "From each trial's last worker. Heartbeats and reclaimed attempts are not in the store's reader yet, so they are not shown."),
    );
    root.setAttribute("data-rendered", String(Date.now()));
  }
  return { update };
}
