import type { Json, JsonObject } from "../core/json.js";
import type { SearchSpace } from "../core/space.js";
import { NB201_EDGES, parseArchString } from "../benchmarks/nb201.js";
import { FBNET_OPS } from "../benchmarks/hwnas.js";
import { registry } from "../registry.js";

/**
 * What the architecture view draws:
 * - `cell`: a cell DAG with operations on its edges (NB201, TransNAS-style cells);
 * - `chain`: a sequence of blocks (FBNet, a declarative space's repeated blocks);
 * - `graph`: any other space's `graph` capability (operations on nodes, adjacency matrix);
 * - `json`: nothing to draw; the point as it is.
 */
export type ArchView =
  | { kind: "cell"; nodes: number; edges: { from: number; to: number; op: string }[] }
  | { kind: "chain"; blocks: string[] }
  | { kind: "graph"; ops: string[]; adjacency: number[][] }
  | { kind: "json" };

/** The architecture view of a trial's `arch`, for the experiment's space section of its config. */
export function archView(arch: Json, spaceSection: JsonObject | undefined): ArchView {
  if (typeof arch === "string") {
    const ops = parseArchString(arch);
    if (ops) return { kind: "cell", nodes: 4, edges: NB201_EDGES.map(([from, to], k) => ({ from, to, op: ops[k] })) };
  }
  if (spaceSection?.name === "fbnet" && Array.isArray(arch) && arch.every((x) => typeof x === "number")) {
    return { kind: "chain", blocks: (arch as number[]).map((op) => FBNET_OPS[op] ?? String(op)) };
  }
  const chain = chainOf(arch);
  if (chain) return { kind: "chain", blocks: chain };
  const space = archSpace(spaceSection);
  if (space?.graph) {
    try {
      const g = space.graph(arch);
      return { kind: "graph", ops: g.ops, adjacency: g.adjacency };
    } catch {
      // a point the space does not accept: shown as JSON
    }
  }
  return { kind: "json" };
}

/** A point holding one list of blocks (objects) or a list of scalars: its blocks as labels. */
function chainOf(arch: Json): string[] | undefined {
  const label = (b: Json) =>
    b !== null && typeof b === "object" && !Array.isArray(b)
      ? Object.entries(b)
          .filter(([, v]) => v !== null)
          .map(([k, v]) => (k === "kind" || k === "op" || k === "type" ? String(v) : `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`))
          .join(" ")
      : String(b);
  if (Array.isArray(arch)) return arch.length > 0 && arch.every((b) => b === null || typeof b !== "object" || !Array.isArray(b)) ? arch.map(label) : undefined;
  if (arch === null || typeof arch !== "object") return undefined;
  const lists = Object.entries(arch).filter(([, v]) => Array.isArray(v));
  if (lists.length !== 1) return undefined;
  const [key, list] = lists[0] as [string, Json[]];
  const head = Object.entries(arch)
    .filter(([k, v]) => k !== key && v !== null && typeof v !== "object")
    .map(([k, v]) => `${k}=${String(v)}`);
  const blocks = list.map(label);
  return head.length ? [head.join(" "), ...blocks] : blocks;
}

const spaces = new Map<string, SearchSpace | undefined>();

/** The experiment's architecture space (its hyperparameters left out), built once per config; undefined when it cannot be. */
function archSpace(section: JsonObject | undefined): SearchSpace | undefined {
  if (!section || typeof section.name !== "string") return undefined;
  const key = JSON.stringify(section);
  if (spaces.has(key)) return spaces.get(key);
  let space: SearchSpace | undefined;
  try {
    const component = registry.spaces[section.name];
    const { name: _name, hyperparameters: _hp, ...options } = section;
    space = component ? (component.create(component.options.parse(options), {}) as SearchSpace) : undefined;
  } catch {
    space = undefined;
  }
  spaces.set(key, space);
  return space;
}
