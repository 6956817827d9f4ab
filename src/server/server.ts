import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JsonObject } from "../core/json.js";
import type { Store } from "../core/store.js";
import { UserError } from "../core/errors.js";
import { defaultArtifactDir } from "../core/artifacts.js";
import { openStore } from "../stores/open.js";
import { redactUrl } from "../stores/postgres/index.js";
import { resolve } from "node:path";
import { apiRoutes } from "./api.js";
import { loadAssets } from "./assets.js";
import { HttpError, sendJson } from "./http.js";
import { Hub } from "./hub.js";
import { isLoopback, loopbackHostHeader, newToken, sameToken, TOKEN_COOKIE, tokenOf } from "./security.js";

export interface DashboardOptions {
  storage: string;
  host?: string;
  /** 0: any free port. */
  port?: number;
  /** Required (generated when absent) on a non-loopback host; optional on loopback. */
  token?: string;
  /** Artifact folder for experiments whose config names none (default: beside the SQLite file). */
  artifactDir?: string;
  /** Poll interval of a watched experiment (ms). */
  pollMs?: number;
  /** Where problems with requests are told (the terminal); default stderr. */
  log?: (line: string) => void;
}

export interface Dashboard {
  url: string;
  /** The token every request needs, when one is needed. */
  token: string | undefined;
  tokenGenerated: boolean;
  hub: Hub;
  server: Server;
  /** Resolves once every experiment's cache was first loaded (started with the server). */
  preloaded: Promise<void>;
  close(): Promise<void>;
}

const HEADERS = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/**
 * Opens the store read-only (openStore's readOnly: no migration, a SQLite file through a
 * read-only connection, a missing file refused), checking it can be read.
 */
async function openForReading(storage: string): Promise<Store> {
  const store = openStore(storage, { readOnly: true });
  try {
    await store.listExperiments();
  } catch (e) {
    await store.close().catch(() => undefined);
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot open store "${redactUrl(storage)}": ${(e as Error).message.replace(storage, redactUrl(storage))}`);
  }
  return store;
}

/** Starts the dashboard: a read-only HTTP server over the store. */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const host = o.host ?? "127.0.0.1";
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const assets = loadAssets();
  const token = o.token ?? (isLoopback(host) ? undefined : newToken());
  const store = await openForReading(o.storage);
  const hub = new Hub(store, o.pollMs);
  const artifactRoot = (config: JsonObject) =>
    typeof config.artifact_dir === "string" ? resolve(config.artifact_dir) : (o.artifactDir ?? defaultArtifactDir(o.storage));
  const routes = apiRoutes({ hub, storage: o.storage, artifactRoot });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(HEADERS)) res.setHeader(k, v);
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    const api = url.pathname.startsWith("/api/");
    const refuse = (status: number, message: string) => {
      if (api) sendJson(res, status, { error: message });
      else {
        res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
        res.end(`${message}\n`);
      }
    };
    if (token !== undefined) {
      const given = tokenOf(req, url);
      if (!sameToken(given, token)) return refuse(401, "this dashboard needs its access token: open the URL that `archsearch dashboard` printed (it ends in ?token=...)");
      if (url.searchParams.has("token") && !api) {
        // keep the token out of the address bar and history: a cookie carries it from now on
        res.writeHead(303, { location: "/", "set-cookie": `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/` });
        return res.end();
      }
    } else if (!loopbackHostHeader(req)) {
      return refuse(403, "this dashboard answers requests to localhost only (start it with --host and a token to reach it from elsewhere)");
    }
    if (req.method !== "GET" && req.method !== "HEAD") return refuse(405, "the dashboard is read-only: GET only");
    if (api) {
      const m = routes.match(url.pathname);
      if (!m) return refuse(404, `no such API endpoint: ${url.pathname}`);
      try {
        await m.handler({ req, res, url, params: m.params });
      } catch (e) {
        if (res.headersSent) return res.end();
        if (e instanceof HttpError) return refuse(e.status, e.message);
        log(`archsearch dashboard: ${req.method} ${url.pathname} failed: ${(e as Error).message}`);
        refuse(500, `the store could not be read: ${(e as Error).message.replace(o.storage, redactUrl(o.storage))}`);
      }
      return;
    }
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204);
      return res.end();
    }
    const asset = assets.get(url.pathname);
    if (!asset) return refuse(404, `not found: ${url.pathname} (the dashboard is at /)`);
    res.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache" });
    res.end(req.method === "HEAD" ? undefined : asset.body);
  };

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((ok, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      void store.close();
      if (e.code === "EADDRINUSE") fail(new UserError(`port ${o.port} on ${host} is in use (another dashboard?): choose another with --port`));
      else if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND") fail(new UserError(`cannot listen on ${host}: no such address on this machine`));
      else if (e.code === "EACCES") fail(new UserError(`not allowed to listen on port ${o.port} (ports below 1024 need privileges): choose another with --port`));
      else fail(new UserError(`cannot listen on ${host}:${o.port}: ${e.message}`));
    });
    server.listen(o.port ?? 8080, host, () => ok());
  });
  const preloaded = new Promise<void>((ok) => setImmediate(() => void hub.preload(log).then(ok)));
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/`,
    token,
    tokenGenerated: o.token === undefined && token !== undefined,
    hub,
    server,
    preloaded,
    async close() {
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await store.close();
    },
  };
}
