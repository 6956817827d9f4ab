/**
 * Latency predictor for a new device with few measurements, on the NAS-Bench-201 latency table
 * (27 devices). Each device in turn is the "new" one: k architectures (k = 10, 20, 50, drawn at
 * random per seed) are "measured" on it, a ridge model on log latency is fitted on them (the
 * ridge strength by leave-one-out), and the Spearman correlation between predicted and true
 * latency is computed over every other architecture of the table. Three feature sets:
 *
 * - ops:            per-op features only (the op on each of the 6 cell edges, one-hot: 30 values);
 * - transfer:       ops + standardised log latency on the 26 other devices (their tables known);
 * - transfer-xfam:  as transfer, but devices of the same family are left out too (titanx_1 is
 *                   predicted without titanx_32 / titanx_256; gold_6226 without gold_6240): the
 *                   case of a new model of known hardware;
 * - transfer-xcat:  only devices of other categories are references (categories: accelerators
 *                   eyeriss / fpga; mobile and ARM: phones and raspi4; GPUs; server CPUs): the
 *                   honest case of a genuinely new kind of hardware.
 *
 *   npm run bench -- latency-predictor [--seeds 5] [--measured 10,20,50] [--devices all]
 */
import { loadNb201, parseArchString, NB201_OPS } from "../src/benchmarks/nb201.js";
import { Rng } from "../src/core/rng.js";
import { LatencyFeatures, RidgeLatencyModel, spearman } from "../src/predictors/latency.js";
import { benchArgs, intList, meanStd } from "./args.js";

/** Family of a device column: the name without a trailing batch size or model number. */
export function deviceFamily(device: string): string {
  return device.replace(/_\d+[a-z]?$/, "");
}

/** Hardware category of a device column (for the strictest transfer setting). */
export function deviceCategory(device: string): string {
  if (device === "eyeriss" || device === "fpga") return "accelerator";
  if (/^(pixel|samsung|essential|raspi)/.test(device)) return "mobile";
  if (/^(gold|silver)/.test(device)) return "cpu";
  return "gpu";
}

export async function latencyPredictorBench(argv: string[]): Promise<void> {
  const { values } = benchArgs(argv, {
    seeds: { type: "string", default: "5" },
    measured: { type: "string", default: "10,20,50" },
    devices: { type: "string", default: "all" },
  });
  const seeds = Number(values.seeds);
  const ks = intList(String(values.measured));
  const table = loadNb201();
  const devices = values.devices === "all" ? table.latencyDevices : String(values.devices).split(",");
  const rows = table.rows;
  const onehot = table.archStrings.map((a) => {
    const ops = parseArchString(a)!;
    const v = new Float64Array(ops.length * NB201_OPS.length);
    ops.forEach((op, k) => (v[k * NB201_OPS.length + NB201_OPS.indexOf(op)] = 1));
    return v;
  });
  const methods = ["ops", "transfer", "transfer-xfam", "transfer-xcat"] as const;
  const results: Record<string, Record<string, Record<number, number>>> = {};
  for (const m of methods) results[m] = {};
  console.log(`latency predictor on NB201 (27 devices, each held out in turn): Spearman over all unmeasured cells, mean of ${seeds} seeds`);
  console.log(`${"device".padEnd(14)} ${methods.map((m) => ks.map((k) => `${m}@${k}`.padStart(17)).join("")).join("")}`);
  for (const device of devices) {
    const truth = table.column(`lat_ms_${device}`);
    const valid = Array.from({ length: rows }, (_, i) => i).filter((i) => truth[i] > 0 && Number.isFinite(truth[i]));
    const others = table.latencyDevices.filter((d) => d !== device);
    const xfam = others.filter((d) => deviceFamily(d) !== deviceFamily(device));
    const xcat = others.filter((d) => deviceCategory(d) !== deviceCategory(device));
    const featureSets = {
      "transfer-xcat": new LatencyFeatures((i) => onehot[i], xcat.map((d) => table.column(`lat_ms_${d}`))),
      ops: new LatencyFeatures((i) => onehot[i]),
      transfer: new LatencyFeatures((i) => onehot[i], others.map((d) => table.column(`lat_ms_${d}`))),
      "transfer-xfam": new LatencyFeatures((i) => onehot[i], xfam.map((d) => table.column(`lat_ms_${d}`))),
    };
    const cells: string[] = [];
    for (const m of methods) {
      const feats = valid.map((i) => featureSets[m].of(i));
      results[m][device] = {};
      for (const k of ks) {
        const scores: number[] = [];
        for (let seed = 0; seed < seeds; seed++) {
          const rng = Rng.derive(seed, "latency-predictor", device, k);
          const pick = rng.sampleIndices(valid.length, k);
          const picked = new Set(pick);
          const model = new RidgeLatencyModel().fit(
            pick.map((j) => feats[j]),
            pick.map((j) => truth[valid[j]]),
          );
          const pred: number[] = [];
          const real: number[] = [];
          valid.forEach((i, j) => {
            if (picked.has(j)) return;
            pred.push(model.predict(feats[j]));
            real.push(truth[i]);
          });
          scores.push(spearman(pred, real));
        }
        const { mean } = meanStd(scores);
        results[m][device][k] = Number(mean.toFixed(4));
        cells.push(mean.toFixed(3).padStart(17));
      }
    }
    console.log(`${device.padEnd(14)} ${cells.join("")}`);
  }
  const summary: Record<string, Record<string, number>> = {};
  for (const m of methods) {
    summary[m] = {};
    for (const k of ks) summary[m][String(k)] = Number(meanStd(devices.map((d) => results[m][d][k])).mean.toFixed(4));
  }
  console.log(`${"mean".padEnd(14)} ${methods.map((m) => ks.map((k) => summary[m][String(k)].toFixed(3).padStart(17)).join("")).join("")}`);
  console.log(JSON.stringify({ bench: "latency-predictor", devices: devices.length, seeds, spearman: summary, per_device: results }));
}
