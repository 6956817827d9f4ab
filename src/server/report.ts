import { createHash } from "node:crypto";
import { UserError } from "../core/errors.js";
import { redactUrl } from "../stores/postgres/index.js";
import { loadAssets } from "./assets.js";
import { startDashboard } from "./server.js";

export interface ReportOptions {
  storage: string;
  name: string;
  artifactDir?: string;
  /** Trials whose own page the report holds (the best first; all of them when there are no more). Default 1000. */
  trialPages?: number;
}

export interface Report {
  html: string;
  trials: number;
  trialPages: number;
}

/** The curve counts the intermediate-values view offers that a report holds. */
const CURVE_TOPS = [10, 20, 50, 100];

/**
 * One experiment's dashboard as a single HTML file: the page's script and style and the
 * server's answers inlined, so it opens from a file with no server and no network (its content
 * security policy allows no request at all). The answers come from the dashboard itself, run on
 * a loopback port for the time it takes to ask them, so the report shows what the dashboard shows.
 */
export async function buildReport(o: ReportOptions): Promise<Report> {
  const d = await startDashboard({ storage: o.storage, host: "127.0.0.1", port: 0, artifactDir: o.artifactDir, log: () => {} });
  try {
    const c = await d.hub.cache(o.name);
    if (!c) {
      const names = (await d.hub.store.listExperiments()).map((e) => e.name);
      throw new UserError(`no experiment "${o.name}" in ${redactUrl(o.storage)}${names.length ? ` (it has: ${names.join(", ")})` : " (it has none)"}`);
    }
    const answers: Record<string, unknown> = {};
    const ask = async (path: string) => {
      const res = await fetch(new URL(path, d.url));
      const body = (await res.json()) as { error?: string };
      if (!res.ok) throw new UserError(`cannot make the report: ${path}: ${body.error ?? res.status}`);
      answers[path] = body;
      return body;
    };
    const exp = `/api/experiments/${encodeURIComponent(o.name)}`;
    const list = (await ask("/api/experiments")) as { experiments: { name: string }[] };
    answers["/api/experiments"] = { ...list, experiments: list.experiments.filter((e) => e.name === o.name) };
    for (const path of [exp, `${exp}/points?since=0`, ...CURVE_TOPS.map((k) => `${exp}/curves?top=${k}`), `${exp}/columns?max=5000`, `${exp}/importance`, `${exp}/workers`]) await ask(path);
    // trial pages: the best by the primary objective first, then by number
    const all = [...c.trials.values()].sort((a, b) => a.rec.number - b.rec.number);
    const limit = o.trialPages ?? 1000;
    const ranked = all
      .map((t) => ({ n: t.rec.number, s: c.score(t.rec) ?? -Infinity }))
      .sort((a, b) => b.s - a.s || a.n - b.n)
      .slice(0, limit);
    for (const t of ranked) await ask(`${exp}/trials/${t.n}`);
    const note =
      ranked.length < all.length
        ? `it holds the pages of the ${ranked.length} best of ${all.length} trials, top 10 to 100 learning curves, and no artifacts; open the store with archsearch dashboard for the rest`
        : "it holds every trial's page, top 10 to 100 learning curves, and no artifacts; open the store with archsearch dashboard for the rest";
    const data = { answers, tables: { [o.name]: all.map((t) => t.cols) }, note };
    return { html: reportHtml(o.name, data), trials: all.length, trialPages: ranked.length };
  } finally {
    await d.close();
  }
}

/** JSON that can sit inside a <script> element: no `<` at all (so no `</script>` and no `<!--`). */
function scriptSafeJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function reportHtml(name: string, data: unknown): string {
  const assets = loadAssets();
  const text = (p: string) => assets.get(p)!.body.toString("utf8");
  const js = text("/app.js").replace(/<\/(script)/gi, "<\\/$1");
  const css = text("/app.css").replace(/<\/(style)/gi, "<\\/$1");
  const hash = createHash("sha256").update(js).digest("base64");
  // no request of any kind: the script by its hash, the data as inert JSON, styles and images inline
  const csp = `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const when = new Date().toISOString().replace("T", " ").slice(0, 16);
  return text("/")
    .replace("<title>archsearch dashboard</title>", () => `<meta http-equiv="Content-Security-Policy" content="${csp}">\n<title>archsearch report: ${escapeHtml(name)}</title>`)
    .replace('<link rel="stylesheet" href="/app.css">', () => `<style>${css}</style>`)
    .replace('<span class="ro">read-only</span>', () => `<span class="ro">report made ${when} UTC: a snapshot, not live</span>`)
    .replace('<script src="/app.js"></script>', () => `<script type="application/json" id="archsearch-report">${scriptSafeJson(data)}</script>\n<script>${js}</script>`);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
