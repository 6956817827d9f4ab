import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UserError } from "../core/errors.js";

/** The bundled front-end (written by scripts/build-ui.mjs), beside dist/src: dist/ui/. */
export const UI_DIR = fileURLToPath(new URL("../../ui/", import.meta.url));

export interface Asset {
  type: string;
  body: Buffer;
}

/** The files the server may send, by URL path: a fixed list, so no request path ever reaches the file system. */
export function loadAssets(dir = UI_DIR): Map<string, Asset> {
  const files: [string, string, string][] = [
    ["/", "index.html", "text/html; charset=utf-8"],
    ["/app.js", "app.js", "text/javascript; charset=utf-8"],
    ["/app.css", "app.css", "text/css; charset=utf-8"],
  ];
  const out = new Map<string, Asset>();
  for (const [path, file, type] of files) {
    try {
      out.set(path, { type, body: readFileSync(dir + file) });
    } catch {
      throw new UserError(`the dashboard's front-end is not built (${dir}${file} is missing): run npm run build`);
    }
  }
  return out;
}
