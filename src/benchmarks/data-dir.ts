import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder with the bundled benchmark tables: $ARCHSEARCH_DATA if set, else the package's own
 * `data/` (found by walking up from this file, so it works from src/, dist/ and an installed package).
 */
export function dataDir(): string {
  const env = process.env.ARCHSEARCH_DATA;
  if (env) return resolve(env);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "data", "nas-bench-201"))) return join(dir, "data");
    dir = dirname(dir);
  }
  throw new Error("cannot find the archsearch data/ folder; set ARCHSEARCH_DATA");
}
