import { writeFileSync } from "node:fs";
import type { JsonObject } from "../core/json.js";
import { UserError } from "../core/errors.js";
import type { TrialRecord } from "../core/store.js";
import { exportPytorch, type PytorchExportOptions } from "../export/pytorch.js";
import { ranked, withExperiment } from "./commands.js";

export interface ExportCommandOptions {
  storage: string;
  trial?: number;
  format: string;
  out?: string;
  channels?: number;
  cells?: number;
  classes?: number;
  inputChannels?: number;
}

const FORMATS = ["json", "pytorch", "onnx"] as const;

/**
 * Network size for code export: explicit flags first, then the experiment's training evaluator
 * options (so the exported model is the one that was trained), then NAS-Bench-201's defaults.
 */
function modelOptions(evaluator: JsonObject, o: ExportCommandOptions): PytorchExportOptions {
  const trained = evaluator.name === "train";
  const dataset = trained ? String(evaluator.dataset ?? "mnist") : "";
  const num = (k: string) => (trained && typeof evaluator[k] === "number" ? (evaluator[k] as number) : undefined);
  return {
    channels: o.channels ?? num("channels") ?? 16,
    cellsPerStage: o.cells ?? num("cells_per_stage") ?? 5,
    classes: o.classes ?? 10,
    inputChannels: o.inputChannels ?? (dataset === "mnist" ? 1 : 3),
  };
}

/** `archsearch export NAME`: the best (or a given) trial's architecture as JSON or standalone PyTorch code. */
export async function exportCommand(name: string, o: ExportCommandOptions): Promise<void> {
  if (!(FORMATS as readonly string[]).includes(o.format)) throw new UserError(`--format must be one of ${FORMATS.join(", ")}, got "${o.format}"`);
  await withExperiment(name, o.storage, async (store, id, objectives, config) => {
    let trial: TrialRecord | undefined;
    if (o.trial !== undefined) {
      trial = await store.getTrial(id, o.trial);
      if (!trial) throw new UserError(`experiment "${name}" has no trial ${o.trial}`);
      if (trial.status !== "finished") throw new UserError(`trial ${o.trial} of "${name}" is ${trial.status}, not finished`);
    } else {
      trial = ranked(await store.getTrials(id, { status: ["finished"] }), objectives)[0];
      if (!trial) throw new UserError(`experiment "${name}" has no finished trial yet`);
    }
    if (o.format === "onnx") {
      if (config.space.name !== "nb201") throw new UserError(`ONNX export needs an nb201 architecture; experiment "${name}" searched space "${config.space.name}"`);
      if (!o.out) throw new UserError("ONNX export writes a binary file: give --out FILE");
      const evaluator = config.evaluator as unknown as JsonObject;
      const m = modelOptions(evaluator, o);
      const side = evaluator.name === "train" && String(evaluator.dataset ?? "mnist") === "mnist" ? 28 : 32;
      const { Nb201Network } = await import("../models/nb201.js");
      const E = await import("../engine/index.js");
      const { saveOnnx } = await import("../export/onnx.js");
      // Random weights: the exported graph is the architecture; train it (or load a checkpoint) to use it.
      const net = new Nb201Network(trial.arch as string, m);
      saveOnnx(o.out, net, E.randn([1, m.inputChannels!, side, side]));
      net.dispose();
      process.stderr.write(`wrote trial ${trial.number} of ${name} as ONNX (untrained weights, input 1x${m.inputChannels}x${side}x${side}) to ${o.out}\n`);
      return;
    }
    let text: string;
    if (o.format === "json") {
      text = JSON.stringify({ experiment: name, trial: trial.number, space: config.space.name, arch: trial.arch, hp: trial.hp, metrics: trial.metrics, hidden_metrics: trial.hidden }, null, 2) + "\n";
    } else {
      if (config.space.name !== "nb201") throw new UserError(`PyTorch export needs an nb201 architecture; experiment "${name}" searched space "${config.space.name}"`);
      text = exportPytorch(trial.arch, modelOptions(config.evaluator as unknown as JsonObject, o));
    }
    if (o.out) {
      writeFileSync(o.out, text);
      process.stderr.write(`wrote trial ${trial.number} of ${name} as ${o.format} to ${o.out}\n`);
    } else process.stdout.write(text);
  });
}
