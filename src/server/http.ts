import type { IncomingMessage, ServerResponse } from "node:http";

/** An error the page should see as it is (a bad request, an unknown experiment): no stack trace. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

type Handler = (r: Request) => Promise<void> | void;

/** A small GET router: patterns like `/api/experiments/:name/trials/:number`, segments URL-decoded. */
export class Router {
  private readonly routes: { parts: string[]; handler: Handler }[] = [];

  get(pattern: string, handler: Handler): this {
    this.routes.push({ parts: pattern.split("/").filter(Boolean), handler });
    return this;
  }

  match(pathname: string): { handler: Handler; params: Record<string, string> } | undefined {
    let segs: string[];
    try {
      segs = pathname.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      return undefined;
    }
    for (const r of this.routes) {
      if (r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      if (r.parts.every((p, i) => (p.startsWith(":") ? ((params[p.slice(1)] = segs[i]), true) : p === segs[i]))) return { handler: r.handler, params };
    }
    return undefined;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

/** An integer query parameter within bounds, or the default. */
export function intParam(url: URL, name: string, dflt: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}
