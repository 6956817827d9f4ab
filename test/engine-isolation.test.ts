/**
 * The tensor engine (src/engine) is a library of its own ("archsearch/engine"): nothing under it may
 * import a file outside src/engine. Reads the .ts sources (no libtorch needed), takes every module
 * specifier TypeScript sees (import / export ... from, import type, import(), require), resolves the
 * relative ones and checks where they land. And the engine's own error still prints as a clean
 * message in the CLI, as UserError does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import ts from "typescript";
import { CLI, ROOT } from "./cli-util.js";

const ENGINE = join(ROOT, "src", "engine");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; dependencies?: Record<string, string> };

/** Every .ts file under dir, recursively (the native addon's build folder holds none). */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The module specifiers of a TypeScript source: static and type imports, re-exports, import(), require(), references. */
function specifiers(source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  return [...info.importedFiles, ...info.referencedFiles, ...info.typeReferenceDirectives].map((f) => f.fileName);
}

/** Why a specifier in `file` leaves the engine, or undefined when it stays inside (or is Node / a runtime dependency). */
function outside(file: string, spec: string, engineDir = ENGINE): string | undefined {
  if (spec.startsWith(".")) {
    const target = resolve(dirname(file), spec);
    const rel = relative(engineDir, target);
    return rel.startsWith("..") || isAbsolute(rel) ? `resolves to ${relative(ROOT, target)}` : undefined;
  }
  if (isAbsolute(spec) || spec.startsWith("file:")) return "is an absolute path";
  if (spec.startsWith("#")) return "is a package subpath import";
  if (spec.startsWith("node:") || builtinModules.includes(spec)) return undefined;
  const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
  if (name === pkg.name) return "imports archsearch itself";
  return pkg.dependencies?.[name] ? undefined : `is not a runtime dependency in package.json`;
}

test("the import checker sees every kind of import and flags the ways out of src/engine", () => {
  const file = join(ENGINE, "nn", "example.ts");
  const src = [
    `import { UserError } from "../../core/errors.js";`,
    `import type { Json } from "../../core/json.js";`,
    `export * from "../../export/onnx.js";`,
    `import "../../../bench/args.js";`,
    `const lazy = () => import("../../models/nb201.js");`,
    `import { Tensor } from "../tensor.js";`,
    `import { readFileSync } from "node:fs";`,
    `import protobuf from "protobufjs";`,
    `import { x } from "archsearch";`,
    `import { y } from "some-dev-only-thing";`,
  ].join("\n");
  const found = specifiers(src);
  assert.deepEqual(found.sort(), [
    "../../../bench/args.js",
    "../../core/errors.js",
    "../../core/json.js",
    "../../export/onnx.js",
    "../../models/nb201.js",
    "../tensor.js",
    "archsearch",
    "node:fs",
    "protobufjs",
    "some-dev-only-thing",
  ]);
  const flagged = found.filter((s) => outside(file, s) !== undefined).sort();
  assert.deepEqual(flagged, ["../../../bench/args.js", "../../core/errors.js", "../../core/json.js", "../../export/onnx.js", "../../models/nb201.js", "archsearch", "some-dev-only-thing"]);
});

test("nothing under src/engine imports a file outside src/engine", () => {
  const files = tsFiles(ENGINE);
  assert.ok(files.length >= 10, `expected the engine's sources under ${ENGINE}, found ${files.length}`);
  const problems: string[] = [];
  let seen = 0;
  for (const file of files) {
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      seen++;
      const why = outside(file, spec);
      if (why) problems.push(`${relative(ROOT, file)}: "${spec}" ${why}`);
    }
  }
  // The parser really read the sources: the engine's index re-exports its parts, native.ts loads its error.
  assert.ok(seen > 20, `only ${seen} import specifiers found`);
  assert.ok(specifiers(readFileSync(join(ENGINE, "index.ts"), "utf8")).includes("./onnx.js"));
  assert.ok(specifiers(readFileSync(join(ENGINE, "native.ts"), "utf8")).includes("./errors.js"));
  assert.deepEqual(problems, [], `src/engine must stay a library of its own:\n${problems.join("\n")}`);
});

test("the CLI prints the engine's error (libtorch missing) as a clean message, as it does UserError", () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-engine-error-"));
  try {
    const db = join(dir, "x.db");
    const run = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0", ...env } });
    const r0 = run(["run", "examples/nb201-rea.yaml", "--storage", db, "--trials", "3", "--quiet"]);
    assert.equal(r0.status, 0, r0.stderr);
    // The engine is made unavailable whatever this machine has, so this runs with or without libtorch.
    const r = run(["export", "nb201-rea-cifar10", "--storage", db, "--format", "onnx", "--out", join(dir, "x.onnx")], {
      ARCHSEARCH_ENGINE_ADDON: join(dir, "missing", "archsearch_torch.node"),
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^archsearch: The archsearch tensor engine is not built: it needs libtorch\. Install it \(Debian\/Ubuntu: apt-get install libtorch-dev/);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
