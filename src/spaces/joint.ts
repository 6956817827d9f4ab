import type { Json, JsonObject } from "../core/json.js";
import type { Rng } from "../core/rng.js";
import type { ArchGraph, Dimension, DimensionValues, SearchSpace } from "../core/space.js";
import { UserError } from "../core/errors.js";
import { PointError } from "./dsl.js";

export type JointPoint = { arch: Json; hp: JsonObject };

/** Re-throws a part's validation error with its path prefixed by `arch` or `hp`. */
function validatePart<P extends Json>(space: SearchSpace<P>, value: unknown, part: "arch" | "hp"): P {
  try {
    return space.validate(value);
  } catch (err) {
    if (err instanceof PointError) throw new PointError(err.path ? `${part}.${err.path}` : part, err.detail);
    if (err instanceof UserError) throw new PointError(part, err.message);
    throw err;
  }
}

/** Runs a part's `fromValues`, prefixing the path of a point error with the part. */
function fromPart(build: () => Json, part: "arch" | "hp"): Json {
  try {
    return build();
  } catch (err) {
    if (err instanceof PointError) throw new PointError(err.path ? `${part}.${err.path}` : part, err.detail);
    if (err instanceof UserError) throw new PointError(part, err.message);
    throw err;
  }
}

const hasSinglePoint = (space: SearchSpace) => space.size?.() === 1;

/**
 * An architecture space joined with a hyperparameter space: points are `{ arch, hp }`. A
 * capability exists when both parts have it (graph: when the arch part has it).
 */
export class JointSpace implements SearchSpace<JointPoint> {
  readonly name: string;
  declare readonly encodingLength?: number;
  declare readonly mutate?: (point: JointPoint, rng: Rng) => JointPoint;
  declare readonly crossover?: (a: JointPoint, b: JointPoint, rng: Rng) => JointPoint;
  declare readonly neighbours?: (point: JointPoint) => JointPoint[];
  declare readonly encode?: (point: JointPoint) => number[];
  declare readonly graph?: (point: JointPoint) => ArchGraph;
  declare readonly dimensions?: () => readonly Dimension[];
  declare readonly toValues?: (point: JointPoint) => DimensionValues;
  declare readonly fromValues?: (values: DimensionValues) => JointPoint;

  constructor(
    readonly archSpace: SearchSpace,
    readonly hpSpace: SearchSpace<JsonObject>,
  ) {
    this.name = `${archSpace.name}+hp`;
    const arch = archSpace;
    const hp = hpSpace;

    if (arch.mutate && hp.mutate) {
      const [mutateArch, mutateHp] = [arch.mutate.bind(arch), hp.mutate.bind(hp)];
      this.mutate = (point, rng) => {
        // Half the time each part, but never a part with a single point (the result must differ).
        const archFixed = hasSinglePoint(arch);
        const hpFixed = hasSinglePoint(hp);
        if (archFixed && hpFixed) return { arch: point.arch, hp: point.hp };
        const mutateArchPart = hpFixed || (!archFixed && rng.bool());
        return mutateArchPart ? { arch: mutateArch(point.arch, rng), hp: point.hp } : { arch: point.arch, hp: mutateHp(point.hp, rng) };
      };
    }
    if (arch.crossover && hp.crossover) {
      const [crossArch, crossHp] = [arch.crossover.bind(arch), hp.crossover.bind(hp)];
      this.crossover = (a, b, rng) => ({ arch: crossArch(a.arch, b.arch, rng), hp: crossHp(a.hp, b.hp, rng) });
    }
    if (arch.neighbours && hp.neighbours) {
      const [archNb, hpNb] = [arch.neighbours.bind(arch), hp.neighbours.bind(hp)];
      this.neighbours = (point) => [
        ...archNb(point.arch).map((a) => ({ arch: a, hp: point.hp })),
        ...hpNb(point.hp).map((h) => ({ arch: point.arch, hp: h })),
      ];
    }
    if (arch.encode && hp.encode && arch.encodingLength !== undefined && hp.encodingLength !== undefined) {
      const [encArch, encHp] = [arch.encode.bind(arch), hp.encode.bind(hp)];
      this.encodingLength = arch.encodingLength + hp.encodingLength;
      this.encode = (point) => [...encArch(point.arch), ...encHp(point.hp)];
    }
    if (arch.dimensions && arch.toValues && arch.fromValues && hp.dimensions && hp.toValues && hp.fromValues) {
      // The arch part's decisions, then the hyperparameters', named `arch.<name>` and `hp.<name>`.
      const prefixed = (dims: readonly Dimension[], part: string) => dims.map((d) => ({ ...d, name: `${part}.${d.name}` }));
      const dims: readonly Dimension[] = [...prefixed(arch.dimensions(), "arch"), ...prefixed(hp.dimensions(), "hp")];
      const nArch = arch.dimensions().length;
      const [archTo, hpTo, archFrom, hpFrom] = [arch.toValues.bind(arch), hp.toValues.bind(hp), arch.fromValues.bind(arch), hp.fromValues.bind(hp)];
      this.dimensions = () => dims;
      this.toValues = (point) => [...archTo(point.arch), ...hpTo(point.hp)];
      this.fromValues = (values) => {
        if (!Array.isArray(values) || values.length !== dims.length) {
          throw new UserError(`space "${this.name}" has ${dims.length} decisions (${nArch} arch, ${dims.length - nArch} hp), got ${Array.isArray(values) ? `${values.length} values` : JSON.stringify(values)}`);
        }
        return { arch: fromPart(() => archFrom(values.slice(0, nArch)), "arch"), hp: fromPart(() => hpFrom(values.slice(nArch)), "hp") as JsonObject };
      };
    }
    if (arch.graph) {
      const archGraph = arch.graph.bind(arch);
      this.graph = (point) => archGraph(point.arch);
    }
  }

  describe(): JsonObject {
    const size = this.size();
    return { name: this.name, arch: this.archSpace.describe(), hp: this.hpSpace.describe(), ...(size !== undefined ? { size } : {}) };
  }

  /** Product of the parts' sizes when both are known. */
  size(): number | undefined {
    const a = this.archSpace.size?.();
    const h = this.hpSpace.size?.();
    return a === undefined || h === undefined ? undefined : a * h;
  }

  sample(rng: Rng): JointPoint {
    return { arch: this.archSpace.sample(rng), hp: this.hpSpace.sample(rng) };
  }

  canonical(point: JointPoint): Json {
    return { arch: this.archSpace.canonical(point.arch), hp: this.hpSpace.canonical(point.hp) };
  }

  validate(value: unknown): JointPoint {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new PointError("", `expected an object { arch, hp }, got ${JSON.stringify(value) ?? String(value)}`);
    }
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (key !== "arch" && key !== "hp") throw new PointError(key, "unknown key (expected arch and hp)");
    }
    if (obj.arch === undefined) throw new PointError("arch", "missing");
    if (obj.hp === undefined) throw new PointError("hp", "missing");
    return { arch: validatePart(this.archSpace, obj.arch, "arch"), hp: validatePart(this.hpSpace, obj.hp, "hp") };
  }

  split(point: JointPoint): { arch: Json; hp: JsonObject } {
    return { arch: point.arch, hp: point.hp };
  }
}
