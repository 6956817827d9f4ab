import { z } from "zod";
import { supernetTrainingOptions } from "../oneshot/training-options.js";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Component } from "../core/component.js";
import type { EvalContext, EvalResult, Evaluator, TrialSpec } from "../core/evaluator.js";
import type { Metrics } from "../core/evaluator.js";
import { UserError } from "../core/errors.js";
import { DATASET_HELP } from "../data/names.js";
import type { ImageDataset } from "../data/datasets.js";
import type { EvaluatorContext } from "./context.js";
import { NB201_COLUMNS, NB201_OPS, loadNb201, parseArchString, type Nb201Table } from "../benchmarks/nb201.js";
import type { Nb201Supernet } from "../oneshot/nb201-supernet.js";
import type { DistillTeacher } from "../oneshot/single-path.js";
import { DEFAULT_TEACHER_CELL } from "../oneshot/distill-teacher.js";

const options = z.strictObject({
  dataset: z.string().default("fashion-mnist").describe(DATASET_HELP),
  max_train: z.number().int().min(2).optional().describe("cap on the images the supernet trains on"),
  valid_fraction: z.number().gt(0).lt(1).default(0.2).describe("share of the training split that scores cells (never the test split)"),
  eval_images: z.number().int().min(1).default(2000).describe("validation images each cell is scored on"),
  ...supernetTrainingOptions,
  sampling: z.enum(["uniform", "fair"]).default("uniform").describe("uniform single paths (SPOS / RS-WS) or FairNAS' strict fairness (every operation once per step)"),
  bn_batches: z.number().int().min(1).default(10).describe("training batches that recalibrate BatchNorm for each cell before it is scored"),
  threads: z.number().int().min(1).default(2),
  cache_dir: z.string().optional().describe("where the trained supernet is kept (default: a folder under the system's temporary folder)"),
  few_shot: z
    .strictObject({ edge: z.number().int().min(0).max(5).default(0), epochs: z.number().int().min(1).default(5) })
    .optional()
    .describe("few-shot NAS (Zhao et al. 2021): after the one-shot training, one sub-supernet per operation of this edge (0-5), each fine-tuned `epochs` with that edge fixed; a cell is scored by the sub-supernet of its operation there"),
  distill: z
    .strictObject({
      teacher: z.string().default(DEFAULT_TEACHER_CELL).describe("the teacher's NB201 cell (default: every edge a 3x3 convolution)"),
      teacher_epochs: z.number().int().min(1).optional().describe("epochs the teacher is trained from scratch (default: the supernet's epochs)"),
      lr: z.number().positive().default(0.01).describe("the supernet's learning rate when distilled (Adam, cosine to 0; `lr` stays the teacher's, SGD)"),
    })
    .optional()
    .describe("block-wise distillation (DNA, Li et al. 2020): a teacher network (same skeleton) is trained first; each supernet stage then learns to map the teacher's features at its input to those at its output; cells report distill_loss (DNA's rating, lower is better) and valid_acc through the teacher's stem and classifier"),
  report_nb201: z.boolean().default(true).describe("also report, hidden from the strategy, the cell's NAS-Bench-201 test accuracy on CIFAR-10 / CIFAR-100 / ImageNet16-120 (a table lookup)"),
});
export type SupernetEvaluatorOptions = z.infer<typeof options>;

const checkedOptions = options.superRefine((o, ctx) => {
  if (o.distill && o.few_shot) ctx.addIssue({ code: "custom", path: ["distill"], message: "distill and few_shot cannot be combined: pick one supernet training" });
  if (o.distill && !parseArchString(o.distill.teacher)) ctx.addIssue({ code: "custom", path: ["distill", "teacher"], message: `not an NB201 cell: ${JSON.stringify(o.distill.teacher)}` });
});

/**
 * Scores NB201 cells with the weights they inherit from one trained supernet (one-shot NAS):
 * the supernet is trained once along single paths (uniform: SPOS / RS-WS; or fair), kept in a
 * cache folder, and each cell is then scored in seconds on validation images after BatchNorm
 * recalibration. Any strategy runs on it: `rea` is SPOS' evolutionary search, `random` is
 * RS-WS, `tpe`, `bananas` ... as they are.
 */
export class SupernetEvaluator implements Evaluator {
  readonly name = "supernet";
  readonly metrics: string[];
  private loaded?: Promise<{ net: Nb201Supernet; subs?: Nb201Supernet[]; teacher?: DistillTeacher; train: ImageDataset; valid: ImageDataset; table?: Nb201Table }>;

  constructor(
    private readonly o: SupernetEvaluatorOptions,
    private readonly ctx: EvaluatorContext,
  ) {
    this.metrics = o.distill ? ["valid_acc", "valid_loss", "distill_loss"] : ["valid_acc", "valid_loss"];
  }

  private load() {
    this.loaded ??= (async () => {
      const { engineAvailable } = await import("../engine/native.js");
      if (!engineAvailable()) throw new UserError("the supernet evaluator trains on the tensor engine, which is not built (apt-get install libtorch-dev, then npm run build:native)");
      const D = await import("../data/datasets.js");
      const { data } = D.loadImageData(this.o.dataset, this.ctx.configDir);
      const split = D.splitDataset(data, this.o.valid_fraction, this.o.split_seed, this.o.max_train);
      const valid = D.splitDataset(split.valid, 1e-9, this.o.split_seed + 1, this.o.eval_images).train;
      const { trainSinglePath } = await import("../oneshot/single-path.js");
      const cacheDir = this.o.cache_dir ? resolve(this.ctx.configDir, this.o.cache_dir) : join(tmpdir(), "archsearch-supernets");
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const { few_shot: fewShot, distill, ...base } = this.o;
      let teacher: DistillTeacher | undefined;
      if (distill) {
        const { trainTeacher } = await import("../oneshot/distill-teacher.js");
        teacher = { ...(await trainTeacher({ ...base, cell: distill.teacher, epochs: distill.teacher_epochs ?? base.epochs }, split.train, this.ctx.seed, cacheDir, log)), lr: distill.lr };
      }
      const net = await trainSinglePath(base, split.train, this.ctx.seed, cacheDir, log, undefined, teacher);
      const subs: Nb201Supernet[] | undefined = fewShot ? [] : undefined;
      for (let op = 0; fewShot && op < NB201_OPS.length; op++) {
        subs!.push(await trainSinglePath({ ...base, epochs: fewShot.epochs, fixed: { edge: fewShot.edge, op } }, split.train, this.ctx.seed, cacheDir, log, { net, key: net.cacheKey }));
      }
      return { net, subs, teacher, train: split.train, valid, table: this.o.report_nb201 ? loadNb201() : undefined };
    })();
    return this.loaded;
  }

  async run(spec: TrialSpec, _ctx: EvalContext): Promise<EvalResult> {
    const cell = String(spec.arch);
    const parsed = parseArchString(cell);
    if (!parsed) throw new UserError(`the supernet evaluator scores NB201 cells; ${JSON.stringify(spec.arch)} is not one`);
    const { net: oneShot, subs, teacher, train, valid, table } = await this.load();
    const started = performance.now();
    const { inheritedAccuracy, distilledScore } = await import("../oneshot/single-path.js");
    const ops = parsed.map((op) => NB201_OPS.indexOf(op));
    const net = subs ? subs[ops[this.o.few_shot!.edge]] : oneShot;
    const r = teacher ? await distilledScore(net, teacher.net, ops, train, valid, this.o) : await inheritedAccuracy(net, ops, train, valid, this.o);
    const metrics: Metrics = { valid_acc: r.acc, valid_loss: r.loss };
    const distill = (r as { distill?: number }).distill;
    if (distill !== undefined) metrics.distill_loss = distill;
    const hidden: Metrics = {};
    if (table) {
      const row = table.indexOf.get(cell);
      if (row !== undefined) {
        hidden.nb201_cifar10_test = table.column(NB201_COLUMNS.cifar10.test)[row];
        hidden.nb201_cifar100_test = table.column(NB201_COLUMNS.cifar100.test)[row];
        hidden.nb201_imagenet16_test = table.column(NB201_COLUMNS.imagenet16.test)[row];
      }
    }
    return { metrics, hidden, costSeconds: (performance.now() - started) / 1000 };
  }
}

export const supernetEvaluator: Component<SupernetEvaluatorOptions, EvaluatorContext, Evaluator> = {
  name: "supernet",
  description: "One-shot scoring of NB201 cells with weights inherited from a single-path-trained supernet (SPOS with rea, RS-WS with random), BN recalibrated per cell.",
  options: checkedOptions,
  create: (opts, ctx) => new SupernetEvaluator(opts, ctx),
};
