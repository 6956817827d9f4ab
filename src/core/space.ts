import type { Json, JsonObject } from "./json.js";
import { hashJson } from "./json.js";
import type { Rng } from "./rng.js";
import { UserError } from "./errors.js";

/** What a search space can do beyond sampling; strategies list the ones they need (Archai's idea). */
export type Capability = "sample" | "mutate" | "crossover" | "neighbours" | "encode" | "graph" | "dimensions" | "supernet";
export const ALL_CAPABILITIES: readonly Capability[] = ["sample", "mutate", "crossover", "neighbours", "encode", "graph", "dimensions", "supernet"];

/**
 * One decision of a space seen as a flat list of decisions (for TPE, RL controllers and other
 * per-decision models). `active` names the decisions whose values make this one matter, when it is
 * conditional: a decision is inactive in a point whose value there is `null`.
 */
export type Dimension =
  | { name: string; kind: "categorical"; choices: readonly Json[] }
  | { name: string; kind: "int"; low: number; high: number; log: boolean }
  | { name: string; kind: "float"; low: number; high: number; log: boolean };

/** A point as values of the space's dimensions, in order; `null` marks an inactive (conditional) decision. */
export type DimensionValues = (Json | null)[];

/**
 * An architecture as a labelled DAG, operations on nodes (edge ops of a cell become nodes), for
 * graph encoders: `adjacency[i][j] = 1` means an edge i -> j; nodes are in topological order.
 */
export interface ArchGraph {
  ops: string[];
  adjacency: number[][];
  /** Every label a node of this space can carry, in a fixed order (for one-hot node features). */
  vocabulary: readonly string[];
}

/**
 * A search space. A point is a plain JSON value. `sample`, `canonical` and `validate` are
 * required; the other capabilities are optional and detected by their presence.
 */
export interface SearchSpace<P extends Json = Json> {
  readonly name: string;
  /** Human-readable summary: its decisions and their choices (for `archsearch spaces`). */
  describe(): JsonObject;
  /** Number of distinct points when finite and countable, else undefined. */
  size?(): number | undefined;
  sample(rng: Rng): P;
  /**
   * A form in which two points that compute the same function are equal, for hashing.
   * Identity (up to key order) where the space knows no equivalences.
   */
  canonical(point: P): Json;
  /** Checks an outside value (a warm-start list, a user file) and returns it typed, or throws UserError. */
  validate(value: unknown): P;
  /** The architecture and hyperparameter parts of a point (a joint space has both). */
  split?(point: P): { arch: Json; hp: JsonObject };
  mutate?(point: P, rng: Rng): P;
  crossover?(a: P, b: P, rng: Rng): P;
  /** Every point one elementary change away. */
  neighbours?(point: P): P[];
  /** A fixed-length numeric vector; `encodingLength` gives its length. */
  encode?(point: P): number[];
  readonly encodingLength?: number;
  graph?(point: P): ArchGraph;
  /**
   * The space as an ordered list of decisions (capability "dimensions"), with `toValues` and
   * `fromValues` converting between points and decision values. `fromValues(toValues(p))` equals
   * `p`; `fromValues` ignores values of decisions that are inactive given the others.
   */
  dimensions?(): readonly Dimension[];
  toValues?(point: P): DimensionValues;
  fromValues?(values: DimensionValues): P;
  /**
   * Capability "supernet": the family of weight-sharing supernet that holds every point of the
   * space ("nb201"), for one-shot and differentiable searchers (src/oneshot/).
   */
  supernet?(): string;
}

export function supports(space: SearchSpace, capability: Capability): boolean {
  if (capability === "sample") return true;
  return typeof (space as unknown as Record<string, unknown>)[capability] === "function";
}

export function capabilitiesOf(space: SearchSpace): Capability[] {
  return ALL_CAPABILITIES.filter((c) => supports(space, c));
}

/** Throws a UserError naming what is missing when `space` lacks a capability the consumer needs. */
export function requireCapabilities(space: SearchSpace, needed: readonly Capability[], consumer: string): void {
  const missing = needed.filter((c) => !supports(space, c));
  if (missing.length > 0) {
    throw new UserError(
      `${consumer} needs the search space to support ${missing.join(", ")}, but space "${space.name}" ` +
        `supports only ${capabilitiesOf(space).join(", ")}. Pick another strategy or space.`,
    );
  }
}

/** Hash of the canonical form: equal for points that compute the same function. */
export function pointHash(space: SearchSpace, point: Json): string {
  return hashJson(space.canonical(point));
}

export function splitPoint(space: SearchSpace, point: Json): { arch: Json; hp: JsonObject } {
  return space.split ? space.split(point) : { arch: point, hp: {} };
}
