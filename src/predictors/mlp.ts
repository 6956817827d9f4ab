/**
 * MLP predictor on an architecture encoding (path, adjacency + ops, or the space's own `encode`),
 * with K members trained together (batched matrix products): K > 1 gives an ensemble whose
 * members differ by their initialisation, and predictions with a standard deviation (BANANAS).
 * Needs the tensor engine; load through the registry (lazy) to stay usable without libtorch.
 */
import type { Json } from "../core/json.js";
import type { PredictorContext } from "./predictor.js";
import * as E from "../engine/index.js";
import { Module } from "../engine/nn/module.js";
import type { Tensor } from "../engine/tensor.js";
import { AdjacencyEncoding, canonicalPoint, PathEncoding, requireGraph } from "./encodings.js";
import { NeuralPredictor, type NeuralSpec } from "./neural-train.js";
import type { MlpOptions } from "./neural-factories.js";
import { UserError } from "../core/errors.js";

/** K independent linear layers applied to [K, B, in] at once. */
export class MemberLinear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly members: number,
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    const u = (shape: number[]) => E.noGrad(() => E.rand(shape).mul(2 * bound).sub(bound));
    this.weight = this.parameter("weight", u([members, inFeatures, outFeatures]));
    this.bias = this.parameter("bias", u([members, 1, outFeatures]));
  }
  forward(x: Tensor): Tensor {
    return x.bmm(this.weight).add(this.bias);
  }
}

/** K MLPs: rows [B, in] -> predictions [K, B]. */
export class MemberMlp extends Module {
  private readonly layers: MemberLinear[];
  constructor(
    readonly members: number,
    inFeatures: number,
    hidden: number,
    depth: number,
  ) {
    super();
    const sizes = [inFeatures, ...new Array<number>(depth).fill(hidden), 1];
    this.layers = sizes.slice(1).map((out, i) => this.module(String(i), new MemberLinear(members, sizes[i], out)));
  }
  forward(x: Tensor): Tensor {
    const [B, W] = x.shape;
    let h = x.unsqueeze(0).expand([this.members, B, W]);
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i < this.layers.length - 1) h = h.relu();
    });
    return h.squeeze(2);
  }
}

/** The input encoding of the MLP predictor for a space. */
export function mlpEncoding(ctx: PredictorContext, opts: MlpOptions, name: string): { width: number; encode: (p: Json) => number[] } {
  const space = ctx.space;
  if (opts.encoding === "space") {
    if (typeof space.encode !== "function" || !space.encodingLength) {
      throw new UserError(`predictor "${name}" with encoding "space" needs a space with an encoding (capability "encode"); space "${space.name}" has none.`);
    }
    return { width: space.encodingLength, encode: (p) => space.encode!(p) };
  }
  const graph = requireGraph(space, `predictor "${name}" (encoding "${opts.encoding}")`);
  if (opts.encoding === "adjacency") {
    const enc = AdjacencyEncoding.forSpace(space);
    return { width: enc.length, encode: (p) => enc.encode(graph(p)) };
  }
  const enc = PathEncoding.forSpace(space, { truncate: opts.truncate, mode: opts.path_mode, dropOps: opts.drop_ops });
  return { width: enc.length, encode: (p) => enc.encode(graph(p)) };
}

export function createMlp(name: string, ctx: PredictorContext, opts: MlpOptions): NeuralPredictor {
  const { width, encode } = mlpEncoding(ctx, opts, name);
  const spec: NeuralSpec = {
    inputWidth: width,
    input: (p) => encode(opts.canonical ? canonicalPoint(ctx.space, p) : p),
    build: (extra) => new MemberMlp(opts.members, width + extra, opts.hidden, opts.layers),
  };
  return new NeuralPredictor(name, ctx, spec, opts);
}
