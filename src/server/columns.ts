import type { Json } from "../core/json.js";
import type { TrialRecord } from "../core/store.js";
import { NB201_EDGES, parseArchString } from "../benchmarks/nb201.js";

import type { Cell } from "./cell.js";
export type { Cell } from "./cell.js";

/**
 * A trial flattened to named columns, the unit of the trial table's sort and filter and of the
 * parallel coordinates: `number`, `status`, `worker`, `cost_s`, `wall_s`, `m.<metric>`,
 * `h.<hidden metric>`, `hp.<name>` and `arch.<decision>` (an NB201 edge `arch.0->1`, a chain's
 * layer `arch.3`, a declarative space's `arch.blocks.0.kind`).
 */
export function trialColumns(t: TrialRecord): Record<string, Cell> {
  const cols: Record<string, Cell> = {
    number: t.number,
    status: t.status,
    worker: t.worker,
    cost_s: t.costSeconds,
    wall_s: t.startedAt !== null && t.finishedAt !== null ? (t.finishedAt - t.startedAt) / 1000 : null,
    cached_from: t.cachedFrom,
  };
  for (const [k, v] of Object.entries(t.metrics ?? {})) cols[`m.${k}`] = v;
  for (const [k, v] of Object.entries(t.hidden ?? {})) cols[`h.${k}`] = v;
  flattenInto(cols, "hp", t.hp);
  flattenArch(cols, t.arch);
  return cols;
}

function flattenArch(cols: Record<string, Cell>, arch: Json): void {
  if (typeof arch === "string") {
    const ops = parseArchString(arch);
    if (ops) {
      NB201_EDGES.forEach(([s, d], k) => (cols[`arch.${s}->${d}`] = ops[k]));
      return;
    }
  }
  flattenInto(cols, "arch", arch);
}

function flattenInto(cols: Record<string, Cell>, prefix: string, v: Json): void {
  if (v === null || typeof v !== "object") {
    cols[prefix] = v;
    return;
  }
  if (Array.isArray(v)) {
    // A variable-length list (a declarative space's repeat) also gets its length, so it can be filtered.
    if (v.some((x) => x !== null && typeof x === "object")) cols[`${prefix}.length`] = v.length;
    v.forEach((x, i) => flattenInto(cols, `${prefix}.${i}`, x));
    return;
  }
  for (const [k, x] of Object.entries(v)) flattenInto(cols, `${prefix}.${k}`, x);
}
