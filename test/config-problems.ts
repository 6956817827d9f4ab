import assert from "node:assert/strict";
import { buildParts } from "../src/config/build.js";
import { ConfigError } from "../src/core/errors.js";

/** The problems a config is refused with, each as "path: message"; fails the test when it is accepted. */
export function configProblems(raw: unknown): string[] {
  try {
    buildParts(raw, { file: "x.yaml" });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, /^Invalid config x\.yaml:/);
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail("config was accepted");
}
