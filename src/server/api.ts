import type { ServerResponse } from "node:http";
import type { Json, JsonObject } from "../core/json.js";
import type { ArtifactRecord, Store } from "../core/store.js";
import { FileArtifacts } from "../core/artifacts.js";
import { redactUrl } from "../stores/postgres/index.js";
import { exportPytorch } from "../export/pytorch.js";
import { archView } from "./architecture.js";
import type { CachedTrial, ExperimentCache } from "./experiment-cache.js";
import type { Hub } from "./hub.js";
import { HttpError, intParam, Router, sendJson, type Request } from "./http.js";
import { parseFilters } from "./trial-query.js";
import { importance } from "./importance.js";
import { workersOf } from "./workers.js";

export interface ApiOptions {
  hub: Hub;
  /** The storage string as given (shown redacted). */
  storage: string;
  /** Artifact folder of an experiment (its config's artifact_dir, or the default for the storage). */
  artifactRoot: (config: JsonObject) => string;
}

/** The experiment's config as the page may see it: storage passwords hidden. */
export function pageConfig(config: JsonObject): JsonObject {
  const out: JsonObject = { ...config };
  if (typeof out.storage === "string") out.storage = redactUrl(out.storage);
  return out;
}

function section(config: JsonObject, key: string): JsonObject | undefined {
  const v = config[key];
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}

/** One line of the experiments view. */
export function summary(c: ExperimentCache) {
  const cfg = c.exp.config;
  const budget = section(cfg, "budget")?.trials;
  return {
    name: c.exp.name,
    space: section(cfg, "space")?.name ?? null,
    strategy: section(cfg, "strategy")?.name ?? null,
    scheduler: section(cfg, "scheduler")?.name ?? "fifo",
    evaluator: section(cfg, "evaluator")?.name ?? null,
    status: c.exp.status,
    counts: c.counts,
    trials: c.trials.size,
    budget: typeof budget === "number" ? budget : null,
    objectives: c.objectives.list,
    constraints: c.objectives.constraints,
    best: c.bestValue(),
    bestTrial: c.best?.number ?? null,
    createdAt: c.exp.createdAt,
    updatedAt: Math.max(c.exp.updatedAt, c.lastActivity),
    seq: c.seq,
  };
}

async function experiment(hub: Hub, name: string): Promise<ExperimentCache> {
  const c = await hub.cache(name);
  if (!c) {
    const names = (await hub.store.listExperiments()).map((e) => e.name);
    throw new HttpError(404, `no experiment "${name}" in this store${names.length ? ` (it has: ${names.join(", ")})` : " (it has none)"}`);
  }
  return c;
}

function trialOf(c: ExperimentCache, raw: string): CachedTrial {
  const n = Number(raw);
  const t = Number.isInteger(n) ? c.trials.get(n) : undefined;
  if (!t) throw new HttpError(404, `experiment "${c.exp.name}" has no trial ${raw}`);
  return t;
}

/** An artifact's id in URLs: its trial (or `e` for the experiment's own) and content hash; never a path. */
const artifactId = (a: ArtifactRecord) => `${a.trial ?? "e"}.${a.sha256}`;

export function apiRoutes(o: ApiOptions): Router {
  const { hub } = o;
  const r = new Router();

  r.get("/api/info", ({ res }) => sendJson(res, 200, { storage: redactUrl(o.storage), readOnly: true }));

  r.get("/api/experiments", async ({ res }) => {
    const list = await hub.store.listExperiments();
    const caches = [];
    for (const e of list) {
      const c = await hub.cache(e.name);
      if (c) caches.push(summary(c));
    }
    sendJson(res, 200, { storage: redactUrl(o.storage), experiments: caches });
  });

  r.get("/api/experiments/:name", async ({ res, params }) => {
    const c = await experiment(hub, params.name);
    const best = c.best ? c.trials.get(c.best.number) : undefined;
    sendJson(res, 200, {
      ...summary(c),
      config: pageConfig(c.exp.config),
      columns: [...c.columns].map(([name, v]) => ({ name, numeric: v.numeric })),
      bestArch: best ? { number: best.rec.number, arch: best.rec.arch, hp: best.rec.hp, view: archView(best.rec.arch, section(c.exp.config, "space")) } : null,
    });
  });

  // Convergence and Pareto data: one compact row per trial changed since `since` (0: all).
  r.get("/api/experiments/:name/points", async ({ res, params, url }) => {
    const c = await experiment(hub, params.name);
    const since = intParam(url, "since", 0, 0, Number.MAX_SAFE_INTEGER);
    const t0 = c.exp.createdAt;
    const rows: (number | string | null)[][] = [];
    for (const t of c.trials.values()) {
      if (t.seq <= since) continue;
      const m = t.rec.metrics;
      rows.push([
        t.rec.number,
        t.rec.status,
        t.rec.finishedAt === null ? null : (t.rec.finishedAt - t0) / 1000,
        t.rec.costSeconds,
        t.rec.cachedFrom === null ? 0 : 1,
        m && c.objectives.feasible(m) ? 1 : 0,
        ...c.objectives.list.map((ob) => (m && typeof m[ob.metric] === "number" ? m[ob.metric] : null)),
      ]);
    }
    sendJson(res, 200, { seq: c.seq, columns: ["number", "status", "finished_s", "cost_s", "cached", "feasible", ...c.objectives.list.map((ob) => ob.metric)], rows });
  });

  r.get("/api/experiments/:name/trials", async ({ res, params, url }) => {
    const c = await experiment(hub, params.name);
    let filters;
    try {
      filters = parseFilters(url.searchParams.get("filters"));
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    const sort = url.searchParams.get("sort") || "number";
    const q = { filters, sort, desc: url.searchParams.get("desc") === "1", offset: intParam(url, "offset", 0, 0, 1e9), limit: intParam(url, "limit", 50, 1, 1000) };
    const { total, rows } = c.query(q);
    sendJson(res, 200, { total, all: c.trials.size, seq: c.seq, offset: q.offset, rows: rows.map((t) => t.cols) });
  });

  r.get("/api/experiments/:name/trials/:number", async ({ res, params }) => {
    const c = await experiment(hub, params.name);
    const t = trialOf(c, params.number);
    const rec = t.rec;
    const artifacts = await hub.store.listArtifacts(c.exp.id, rec.number);
    sendJson(res, 200, {
      experiment: c.exp.name,
      number: rec.number,
      status: rec.status,
      point: rec.point,
      arch: rec.arch,
      hp: rec.hp,
      fidelity: rec.fidelity,
      metrics: rec.metrics,
      hidden: rec.hidden,
      feasible: rec.metrics ? c.objectives.feasible(rec.metrics) : null,
      costSeconds: rec.costSeconds,
      wallSeconds: t.cols.wall_s,
      worker: rec.worker,
      error: rec.error,
      cachedFrom: rec.cachedFrom,
      cachedFromExperiment: rec.cachedFromExperiment ?? null,
      dataVersion: rec.dataVersion ?? null,
      createdAt: rec.createdAt,
      startedAt: rec.startedAt,
      finishedAt: rec.finishedAt,
      intermediate: await c.intermediate(t),
      artifacts: artifacts.map((a) => ({ id: artifactId(a), name: a.name, bytes: a.bytes, sha256: a.sha256, createdAt: a.createdAt })),
      view: archView(rec.arch, section(c.exp.config, "space")),
      pytorch: typeof rec.arch === "string" && section(c.exp.config, "space")?.name === "nb201",
    });
  });

  r.get("/api/experiments/:name/trials/:number/export.json", async ({ res, params }) => {
    const c = await experiment(hub, params.name);
    const t = trialOf(c, params.number);
    download(res, `${safeFile(c.exp.name)}-trial-${t.rec.number}.json`, "application/json", JSON.stringify({ experiment: c.exp.name, trial: t.rec.number, arch: t.rec.arch, hp: t.rec.hp, point: t.rec.point, metrics: t.rec.metrics }, null, 2));
  });

  r.get("/api/experiments/:name/trials/:number/export.py", async ({ res, params }) => {
    const c = await experiment(hub, params.name);
    const t = trialOf(c, params.number);
    let code: string;
    try {
      code = exportPytorch(t.rec.arch as Json);
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    download(res, `${safeFile(c.exp.name)}-trial-${t.rec.number}.py`, "text/x-python", code);
  });

  r.get("/api/experiments/:name/artifacts/:id", async ({ res, params }) => {
    const c = await experiment(hub, params.name);
    const m = /^(e|\d+)\.([0-9a-f]{64})$/.exec(params.id);
    if (!m) throw new HttpError(400, "an artifact id is TRIAL.SHA256 (or e.SHA256 for the experiment's own); no paths");
    const trial = m[1] === "e" ? null : Number(m[1]);
    const rec = (await hub.store.listArtifacts(c.exp.id, trial)).find((a) => a.sha256 === m[2]);
    if (!rec) throw new HttpError(404, `no artifact ${params.id} in experiment "${c.exp.name}"`);
    // FileArtifacts only reads here (get, fileOf): the reader is all it touches.
    const files = new FileArtifacts(hub.store as unknown as Store, o.artifactRoot(c.exp.config), c.exp.id, c.exp.name);
    let bytes: Uint8Array | undefined;
    try {
      files.fileOf(rec); // refuses a recorded path that leaves the artifact folder
      bytes = await files.get(trial, rec.name); // checks size and SHA-256 against the store
    } catch (e) {
      throw new HttpError(404, (e as Error).message);
    }
    if (!bytes) throw new HttpError(404, `no artifact ${params.id} in experiment "${c.exp.name}"`);
    download(res, rec.name.split("/").pop()!, "application/octet-stream", bytes);
  });

  r.get("/api/experiments/:name/curves", async ({ res, params, url }) => {
    const c = await experiment(hub, params.name);
    const top = intParam(url, "top", 20, 1, 5000);
    sendJson(res, 200, await curves(c, top, url.searchParams.get("metric") || c.objectives.primary.metric));
  });

  // Parallel coordinates: the finished trials' objectives and decisions, column by column (an even sample above `max`).
  r.get("/api/experiments/:name/columns", async ({ res, params, url }) => {
    const c = await experiment(hub, params.name);
    const max = intParam(url, "max", 5000, 10, 100_000);
    const done = [...c.trials.values()].filter((t) => t.rec.status === "finished" && t.rec.metrics).sort((a, b) => a.rec.number - b.rec.number);
    const step = Math.max(1, done.length / max);
    const rows: CachedTrial[] = [];
    for (let i = 0; i < done.length && rows.length < max; i += step) rows.push(done[Math.floor(i)]);
    const names = [...c.objectives.list.map((ob) => `m.${ob.metric}`), ...[...c.columns.keys()].filter((k) => k.startsWith("arch.") || k.startsWith("hp."))];
    const columns = names.filter((n) => c.columns.has(n)).map((name) => ({ name, numeric: c.columns.get(name)!.numeric, values: rows.map((t) => t.cols[name] ?? null) }));
    sendJson(res, 200, { total: done.length, numbers: rows.map((t) => t.rec.number), columns });
  });

  r.get("/api/experiments/:name/importance", async ({ res, params }) => {
    const c = await experiment(hub, params.name);
    sendJson(res, 200, importance(c));
  });

  r.get("/api/experiments/:name/workers", async ({ res, params }) => {
    const c = await experiment(hub, params.name);
    sendJson(res, 200, { workers: workersOf(c) });
  });

  r.get("/api/experiments/:name/events", async ({ req, res, params }) => {
    const c = await experiment(hub, params.name);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send("hello", { seq: c.seq });
    const leave = hub.watch(params.name, send);
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    req.on("close", () => {
      clearInterval(keepAlive);
      leave();
    });
  });

  return r;
}

function safeFile(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80) || "experiment";
}

function download(res: ServerResponse, file: string, type: string, body: string | Uint8Array): void {
  res.writeHead(200, {
    "content-type": type,
    "content-disposition": `attachment; filename="${safeFile(file)}"`,
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
  });
  res.end(body);
}

/**
 * Learning curves of the top `k` trials by `metric` (their last value), with the rungs: the
 * fidelities at which trials were paused or stopped (read from the trials' recorded fidelity, so
 * no curve beyond the top k is read), and how many trials ended at each.
 */
async function curves(c: ExperimentCache, k: number, metric: string) {
  const obj = c.objectives.list.find((ob) => ob.metric === metric);
  const sign = obj?.direction === "min" ? -1 : 1;
  const stopsAt = new Map<number, { paused: number; pruned: number }>();
  const candidates: { t: CachedTrial; v: number }[] = [];
  const stepOf = (t: CachedTrial) => {
    const v = t.rec.fidelity ? Object.values(t.rec.fidelity)[0] : undefined;
    return typeof v === "number" ? v : undefined;
  };
  // No scheduler stops a trial at its final step: a trial pruned there was ruled out before
  // training (an infeasible cheap metric), not at a rung.
  let maxStep = -Infinity;
  for (const t of c.trials.values()) if (t.rec.status === "finished") maxStep = Math.max(maxStep, stepOf(t) ?? -Infinity);
  for (const t of c.trials.values()) {
    const step = stepOf(t);
    if ((t.rec.status === "paused" || t.rec.status === "pruned") && step !== undefined && step < maxStep && t.rec.metrics) {
      const s = stopsAt.get(step) ?? { paused: 0, pruned: 0 };
      s[t.rec.status]++;
      stopsAt.set(step, s);
    }
    const v = t.rec.metrics?.[metric];
    if (typeof v === "number" && t.rec.status !== "pending") candidates.push({ t, v: sign * v });
  }
  candidates.sort((a, b) => b.v - a.v || a.t.rec.number - b.t.rec.number);
  const chosen = candidates.slice(0, k);
  const out = [];
  for (const { t } of chosen) {
    const values = await c.intermediate(t);
    out.push({ number: t.rec.number, status: t.rec.status, points: values.filter((p) => typeof p.metrics[metric] === "number").map((p) => [p.step, p.metrics[metric]]) });
  }
  const rungs = [...stopsAt].map(([step, n]) => ({ step, ...n })).sort((a, b) => a.step - b.step);
  return { metric, scheduler: section(c.exp.config, "scheduler") ?? { name: "fifo" }, rungs, candidates: candidates.length, trials: out };
}
