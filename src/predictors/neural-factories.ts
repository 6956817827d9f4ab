/**
 * Registry entries of the neural predictors (MLP, GCN, GIN, forward + reverse GNN) and the
 * ensemble wrapper. This module never imports the tensor engine: the networks' modules are loaded
 * on first use, and a missing libtorch gives a UserError that says how to install it.
 */
import { z } from "zod";
import type { Json } from "../core/json.js";
import { UserError } from "../core/errors.js";
import { native } from "../engine/native.js";
import type { LabelledPoint, Prediction, Predictor, PredictorContext, PredictorFactory } from "./predictor.js";
import { parseOptions } from "./common.js";
import { EnsemblePredictor } from "./ensemble.js";

const train = {
  epochs: z.number().int().min(1).describe("passes over the training set"),
  lr: z.number().positive().default(0.01).describe("AdamW learning rate (cosine-annealed to 1% of it)"),
  weight_decay: z.number().min(0).default(1e-4).describe("AdamW weight decay"),
  batch_size: z.number().int().min(2).default(128).describe("minibatch size (the whole set when smaller)"),
  max_steps: z
    .number()
    .int()
    .min(1)
    .default(600)
    .describe("at most this many optimiser steps (fewer epochs on large training sets): bounds fit time"),
  rank_weight: z.number().min(0).default(0.5).describe("weight of the pairwise margin-ranking (hinge) term added to the MSE; 0 = plain MSE"),
  margin: z.number().min(0).default(0.1).describe("hinge margin, in standard deviations of the training targets"),
  canonical: z
    .boolean()
    .default(true)
    .describe("encode the space's canonical form of each point when it is a valid point (NB201: dead edges become none)"),
  target: z
    .enum(["standard", "rank"])
    .default("rank")
    .describe("standard: standardised targets; rank: normal scores of the targets' ranks (robust to collapsed architectures), mapped back monotonically"),
  drop_ops: z.array(z.string()).default(["none"]).describe("operations that mean 'no connection': they cut paths and edges"),
};

export const mlpOptions = z.strictObject({
  encoding: z
    .enum(["path", "adjacency", "space"])
    .default("path")
    .describe("path: path encoding (White et al.; needs graph); adjacency: adjacency + one-hot ops (needs graph); space: the space's own encode"),
  truncate: z.number().int().min(1).optional().describe("path encoding: keep only the first (shortest) this many paths"),
  path_mode: z.enum(["binary", "count"]).default("binary").describe("path encoding: 1 when a path is present, or the number of times"),
  hidden: z.number().int().min(1).default(64).describe("units per hidden layer"),
  layers: z.number().int().min(1).default(2).describe("hidden layers"),
  members: z.number().int().min(1).default(1).describe("MLPs trained together with different initialisations; > 1 gives mean and std"),
  ...train,
  epochs: train.epochs.default(60),
});
export type MlpOptions = z.infer<typeof mlpOptions>;

export const gnnOptions = z.strictObject({
  hidden: z.number().int().min(1).default(32).describe("node embedding width"),
  layers: z.number().int().min(1).default(3).describe("message-passing layers"),
  ...train,
  epochs: train.epochs.default(150),
});
export type GnnOptions = z.infer<typeof gnnOptions>;

/** Throws a UserError naming the predictor when libtorch is missing. */
export function requireEngine(predictor: string): void {
  try {
    native();
  } catch (e) {
    throw new UserError(`predictor "${predictor}" runs on the tensor engine: ${(e as Error).message}`);
  }
}

/** A predictor whose implementation module (and libtorch) is loaded on the first call. */
export class LazyPredictor implements Predictor {
  private inner?: Predictor;
  constructor(
    readonly name: string,
    private readonly load: () => Promise<Predictor>,
  ) {}

  private async get(): Promise<Predictor> {
    if (!this.inner) {
      requireEngine(this.name);
      this.inner = await this.load();
    }
    return this.inner;
  }
  async fit(data: readonly LabelledPoint[]): Promise<void> {
    await (await this.get()).fit(data);
  }
  async predict(points: readonly Json[]): Promise<Prediction[]> {
    return (await this.get()).predict(points);
  }
  async update(data: readonly LabelledPoint[]): Promise<void> {
    const p = await this.get();
    if (!p.update) throw new Error(`predictor "${this.name}" cannot be updated`);
    await p.update(data);
  }
  dispose(): void {
    this.inner?.dispose?.();
  }
}

export const mlpPredictor: PredictorFactory = {
  name: "mlp",
  description: "MLP on the path encoding (or adjacency / the space's encoding), MSE + pairwise ranking loss; members > 1 gives an ensemble",
  requires: ["graph"],
  needsEngine: true,
  create(ctx: PredictorContext, options?: Record<string, unknown>) {
    const opts = parseOptions("mlp", mlpOptions, options);
    return new LazyPredictor("mlp", async () => (await import("./mlp.js")).createMlp("mlp", ctx, opts));
  },
};

function gnnFactory(kind: "gcn" | "gin" | "fr_gnn", description: string): PredictorFactory {
  return {
    name: kind,
    description,
    requires: ["graph"],
    needsEngine: true,
    create(ctx: PredictorContext, options?: Record<string, unknown>) {
      const opts = parseOptions(kind, gnnOptions, options);
      return new LazyPredictor(kind, async () => (await import("./gnn.js")).createGnn(kind, kind, ctx, opts));
    },
  };
}

export const gcnPredictor = gnnFactory("gcn", "graph convolutional network over the architecture DAG (data flow), MSE + pairwise ranking loss");
export const ginPredictor = gnnFactory("gin", "graph isomorphism network over the architecture DAG (data flow), MSE + pairwise ranking loss");
export const frGnnPredictor = gnnFactory(
  "fr_gnn",
  "forward + reverse GNN (FR-NAS, Zhang & Cheng 2024): GIN encoders on the data flow and on the reverse flow, embeddings fused",
);

const ensembleOptions = z.strictObject({
  predictor: z.string().default("fr_gnn").describe("the member predictor's registry name"),
  members: z.number().int().min(2).default(3).describe("members, each with its own seed"),
  options: z.record(z.string(), z.unknown()).default({}).describe("options of every member"),
});

/** `ensemble`: K copies of a registered predictor with different seeds; mean and std across them. */
export function ensembleFactory(lookup: () => Record<string, PredictorFactory>): PredictorFactory {
  return {
    name: "ensemble",
    description: "K members of another predictor with different seeds: mean and standard deviation across them",
    requires: [],
    needsEngine: false,
    create(ctx: PredictorContext, options?: Record<string, unknown>) {
      const opts = parseOptions("ensemble", ensembleOptions, options);
      const all = lookup();
      const base = all[opts.predictor];
      if (!base || base.name === "ensemble") {
        throw new UserError(`ensemble: unknown member predictor "${opts.predictor}" (known: ${Object.keys(all).filter((k) => k !== "ensemble").join(", ")})`);
      }
      return EnsemblePredictor.of(base, ctx, opts.members, opts.options);
    },
  };
}
