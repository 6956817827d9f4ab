import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { dataDir } from "./data-dir.js";

/**
 * HW-NAS-Bench's FBNet space (Li et al., ICLR 2021; the space of FBNet, Wu et al. 2019): 22
 * searchable layers, each one of 9 blocks; latency and energy on hardware composed from a per-block
 * lookup table (sum of the 22 layer blocks plus stem and head).
 */
export const FBNET_OPS = ["k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"] as const;
export const FBNET_LAYERS = 22;
/** Output channels of each searchable layer (input = the previous layer's output; 16 for layer 0). */
export const FBNET_CHANNELS = [16, 24, 24, 24, 24, 32, 32, 32, 32, 64, 64, 64, 64, 112, 112, 112, 112, 184, 184, 184, 184, 352];
export const FBNET_DATASETS = ["cifar100", "imagenet"] as const;
export type FbnetDataset = (typeof FBNET_DATASETS)[number];
const STRIDES: Record<FbnetDataset, number[]> = {
  cifar100: [1, 1, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1],
  imagenet: [1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1],
};
/** Input resolution of layer 0 (ImageNet: 112 after the stride-2 stem). */
const FIRST_H: Record<FbnetDataset, number> = { cifar100: 32, imagenet: 112 };
const STEM_HEAD: Record<FbnetDataset, string[]> = {
  cifar100: [
    "ConvNorm_H32_W32_Cin3_Cout16_kernel3_stride1_group1",
    "ConvNorm_H4_W4_Cin352_Cout1504_kernel1_stride1_group1",
    "AvgP_H4_W4_Cin1504_Cout1504_kernel4_stride1",
    "FC_Cin1504_Cout100",
  ],
  imagenet: [
    "ConvNorm_H224_W224_Cin3_Cout16_kernel3_stride2_group1",
    "ConvNorm_H7_W7_Cin352_Cout1984_kernel1_stride1_group1",
    "AvgP_H7_W7_Cin1984_Cout1984_kernel7_stride1",
    "FC_Cin1984_Cout1000",
  ],
};
/** LUT metric -> archsearch metric name. */
export const FBNET_METRICS: Record<string, string> = {
  edgegpu_latency: "latency_ms_edgegpu",
  edgegpu_energy: "energy_mj_edgegpu",
  raspi4_latency: "latency_ms_raspi4",
  pixel3_latency: "latency_ms_pixel3",
  eyeriss_latency: "latency_ms_eyeriss",
  eyeriss_energy: "energy_mj_eyeriss",
  fpga_latency: "latency_ms_fpga",
  fpga_energy: "energy_mj_fpga",
};

function blockKey(op: number, h: number, cin: number, cout: number, stride: number): string {
  if (op === 8) return `Skip_H${h}_W${h}_Cin${cin}_Cout${cout}_stride${stride}`;
  const kernel = op < 4 ? 3 : 5;
  const [exp, group] = [
    [1, 1],
    [1, 2],
    [3, 1],
    [6, 1],
  ][op % 4];
  return `ConvBlock_H${h}_W${h}_Cin${cin}_Cout${cout}_exp${exp}_kernel${kernel}_stride${stride}_group${group}`;
}

/** The lookup-table keys an architecture's cost sums: 22 layer blocks, then stem and head. */
export function fbnetBlocks(ops: readonly number[], dataset: FbnetDataset): string[] {
  const keys: string[] = [];
  let h = FIRST_H[dataset];
  let cin = 16;
  for (let l = 0; l < FBNET_LAYERS; l++) {
    const s = STRIDES[dataset][l];
    keys.push(blockKey(ops[l], h, cin, FBNET_CHANNELS[l], s));
    cin = FBNET_CHANNELS[l];
    h = h / s;
  }
  return [...keys, ...STEM_HEAD[dataset]];
}

export interface FbnetLut {
  metrics: string[];
  blocks: Map<string, Float64Array>;
}

let cached: { path: string; lut: FbnetLut } | undefined;

/** Loads (once per process) and checks the block lookup table: every block any architecture needs must be there. */
export function loadFbnetLut(path = join(dataDir(), "hw-nas-bench", "fbnet_lut.json")): FbnetLut {
  if (cached && cached.path === path) return cached.lut;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError(`Cannot read the HW-NAS-Bench lookup table ${path}: ${(e as Error).message}`);
  }
  const o = raw as { metrics?: unknown; blocks?: unknown };
  if (!Array.isArray(o?.metrics) || typeof o.blocks !== "object" || o.blocks === null) {
    throw new UserError(`HW-NAS-Bench lookup table ${path} is corrupt: expected {"metrics": [...], "blocks": {...}}`);
  }
  const metrics = (o.metrics as unknown[]).map(String);
  for (const m of Object.keys(FBNET_METRICS)) if (!metrics.includes(m)) throw new UserError(`HW-NAS-Bench lookup table ${path} is corrupt: metric ${m} is missing`);
  const blocks = new Map<string, Float64Array>();
  for (const [k, v] of Object.entries(o.blocks as Record<string, Record<string, unknown>>)) {
    blocks.set(
      k,
      Float64Array.from(metrics, (m) => {
        const x = v?.[m];
        if (typeof x !== "number" || !Number.isFinite(x)) throw new UserError(`HW-NAS-Bench lookup table ${path} is corrupt: block ${k} has no number for ${m}`);
        return x;
      }),
    );
  }
  for (const dataset of FBNET_DATASETS) {
    for (let l = 0; l < FBNET_LAYERS; l++) {
      for (let op = 0; op < FBNET_OPS.length; op++) {
        const ops = new Array<number>(FBNET_LAYERS).fill(0);
        ops[l] = op;
        for (const key of fbnetBlocks(ops, dataset)) if (!blocks.has(key)) throw new UserError(`HW-NAS-Bench lookup table ${path} is corrupt: block ${key} is missing`);
      }
    }
  }
  const lut = { metrics, blocks };
  cached = { path, lut };
  return lut;
}

/** Latency (ms) and energy (mJ) of an architecture on every LUT device, by archsearch metric name. */
export function fbnetCost(lut: FbnetLut, ops: readonly number[], dataset: FbnetDataset): Record<string, number> {
  const sums = new Float64Array(lut.metrics.length);
  for (const key of fbnetBlocks(ops, dataset)) {
    const row = lut.blocks.get(key)!;
    for (let j = 0; j < sums.length; j++) sums[j] += row[j];
  }
  const out: Record<string, number> = {};
  lut.metrics.forEach((m, j) => {
    if (FBNET_METRICS[m]) out[FBNET_METRICS[m]] = sums[j];
  });
  return out;
}

/**
 * One metric's cost of every block choice of every layer, [layer][op] (the layers' costs add up;
 * stem and head are the same for every architecture and left out): what a differentiable search's
 * expected-latency term weighs with the operation probabilities. `metric` is an archsearch name
 * (latency_ms_pixel3, energy_mj_fpga, ...).
 */
export function fbnetLayerCosts(lut: FbnetLut, dataset: FbnetDataset, metric: string): number[][] {
  const lutMetric = Object.keys(FBNET_METRICS).find((m) => FBNET_METRICS[m] === metric);
  if (!lutMetric) throw new UserError(`unknown HW-NAS-Bench metric "${metric}"; known: ${Object.values(FBNET_METRICS).join(", ")}`);
  const j = lut.metrics.indexOf(lutMetric);
  const out: number[][] = [];
  let h = FIRST_H[dataset];
  let cin = 16;
  for (let l = 0; l < FBNET_LAYERS; l++) {
    const s = STRIDES[dataset][l];
    out.push(FBNET_OPS.map((_, op) => lut.blocks.get(blockKey(op, h, cin, FBNET_CHANNELS[l], s))![j]));
    cin = FBNET_CHANNELS[l];
    h = h / s;
  }
  return out;
}

/** The stride of each searchable layer for a dataset's input size (CIFAR: 32x32; ImageNet: 112x112 after the stem). */
export function fbnetStrides(dataset: FbnetDataset): readonly number[] {
  return STRIDES[dataset];
}
