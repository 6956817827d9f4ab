// Bundles the dashboard's front-end (src/ui, TypeScript + uPlot) into dist/ui: nothing is fetched at run time.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/ui");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, "src/ui/main.ts")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile: join(out, "app.js"),
  logLevel: "warning",
});
const uplotCss = createRequire(import.meta.url).resolve("uplot/dist/uPlot.min.css");
writeFileSync(join(out, "app.css"), readFileSync(uplotCss, "utf8") + "\n" + readFileSync(join(root, "src/ui/app.css"), "utf8"));
copyFileSync(join(root, "src/ui/index.html"), join(out, "index.html"));
