import type { JsonObject } from "../core/json.js";
import type { Rng } from "../core/rng.js";
import type { Dimension, DimensionValues, SearchSpace } from "../core/space.js";
import { UserError } from "../core/errors.js";
import { FBNET_CHANNELS, FBNET_LAYERS, FBNET_OPS } from "../benchmarks/hwnas.js";

const K = FBNET_OPS.length;

/**
 * The FBNet space of HW-NAS-Bench: 22 searchable layers, each one of 9 blocks (op ids 0..8:
 * k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1, k5_e1_g2, k5_e3, k5_e6, skip; kN = kernel N, eM =
 * expansion M, g2 = grouped). A point is the list of 22 op ids, e.g. `[0, 3, 8, ...]`.
 * 9^22 (about 1e21) architectures; every block choice is distinct, so the canonical form is the point.
 */
export class FbnetSpace implements SearchSpace<number[]> {
  readonly name = "fbnet";
  readonly encodingLength = FBNET_LAYERS * K;

  describe(): JsonObject {
    return {
      name: this.name,
      point: `list of ${FBNET_LAYERS} op ids (0..${K - 1}), one per layer`,
      ops: [...FBNET_OPS],
      channels: FBNET_CHANNELS,
      size: `${K}^${FBNET_LAYERS}`,
    };
  }

  /** 9^22 is beyond exact integers: not countable here. */
  size(): number | undefined {
    return undefined;
  }

  sample(rng: Rng): number[] {
    return Array.from({ length: FBNET_LAYERS }, () => rng.int(K));
  }

  /** Capability "supernet": the FBNet supernet (src/oneshot/fbnet-supernet.ts) holds every architecture. */
  supernet(): string {
    return "fbnet";
  }

  canonical(point: number[]): number[] {
    return [...point];
  }

  validate(value: unknown): number[] {
    if (!Array.isArray(value) || value.length !== FBNET_LAYERS || !value.every((v) => Number.isInteger(v) && v >= 0 && v < K)) {
      throw new UserError(`expected an FBNet architecture: a list of ${FBNET_LAYERS} op ids in 0..${K - 1}, got ${JSON.stringify(value)}`);
    }
    return value as number[];
  }

  /** Changes the block of one layer to a different one. */
  mutate(point: number[], rng: Rng): number[] {
    const out = [...point];
    const l = rng.int(FBNET_LAYERS);
    out[l] = (out[l] + 1 + rng.int(K - 1)) % K;
    return out;
  }

  /** Uniform crossover: each layer from either parent. */
  crossover(a: number[], b: number[], rng: Rng): number[] {
    return a.map((op, l) => (rng.bool() ? op : b[l]));
  }

  /** The 176 architectures that differ in exactly one layer. */
  neighbours(point: number[]): number[][] {
    const out: number[][] = [];
    for (let l = 0; l < FBNET_LAYERS; l++) {
      for (let op = 0; op < K; op++) {
        if (op === point[l]) continue;
        const next = [...point];
        next[l] = op;
        out.push(next);
      }
    }
    return out;
  }

  /** One-hot block per layer (198 values). */
  encode(point: number[]): number[] {
    const v = new Array<number>(this.encodingLength).fill(0);
    point.forEach((op, l) => (v[l * K + op] = 1));
    return v;
  }

  dimensions(): readonly Dimension[] {
    const choices = Array.from({ length: K }, (_, i) => i);
    return Array.from({ length: FBNET_LAYERS }, (_, l) => ({ name: `layer${l}`, kind: "categorical" as const, choices }));
  }

  toValues(point: number[]): DimensionValues {
    return [...point];
  }

  fromValues(values: DimensionValues): number[] {
    return this.validate(values);
  }
}
