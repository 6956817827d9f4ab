/**
 * Graph neural predictors over the architecture DAG (space capability `graph`, operations on
 * nodes), on the tensor engine:
 *
 * - `gcn`: graph convolutions (Kipf & Welling) H' = relu(M H W), M the normalised adjacency with
 *   self loops, messages along the data flow (as the GCN predictor of Wen et al. 2020);
 *   mean-pooled node embeddings feed a small MLP head.
 * - `gin`: graph isomorphism network layers (Xu et al. 2019) H' = MLP((1 + eps) H + A^T H) along
 *   the data flow, the mean-pooled embeddings of every layer concatenated (jumping knowledge).
 * - `fr_gnn`: forward + reverse GNN (FR-NAS, Zhang & Cheng 2024): one GIN encoder follows the
 *   data flow (adjacency), another the reverse flow (transposed adjacency); the two graph
 *   embeddings are concatenated (fused) before the head, so each node's features see both what
 *   feeds it and what it feeds.
 *
 * Nodes whose operation is in drop_ops (NB201's `none`) keep their features but lose their edges.
 * A network here has one member (predictions [1, B]); use the ensemble wrapper for uncertainty.
 */
import type { Json } from "../core/json.js";
import type { ArchGraph } from "../core/space.js";
import type { PredictorContext } from "./predictor.js";
import * as E from "../engine/index.js";
import { Module } from "../engine/nn/module.js";
import { Linear } from "../engine/nn/layers.js";
import type { Tensor } from "../engine/tensor.js";
import { canonicalPoint, graphBatch, normalizeAdjacency, requireGraph, type NormalizeOptions } from "./encodings.js";
import { NeuralPredictor, type NeuralSpec } from "./neural-train.js";
import type { GnnOptions } from "./neural-factories.js";
import { Rng } from "../core/rng.js";
import { UserError } from "../core/errors.js";

export type GnnKind = "gcn" | "gin" | "fr_gnn";

/** Mean of node embeddings H [B, N, F] over real nodes (mask [B, N]). */
function meanPool(h: Tensor, mask: Tensor): Tensor {
  return h.mul(mask.unsqueeze(2)).sum([1]).div(mask.sum([1], true).clamp(1, 1e9));
}

class GcnEncoder extends Module {
  private readonly layers: Linear[];
  constructor(vocab: number, hidden: number, depth: number) {
    super();
    this.layers = Array.from({ length: depth }, (_, i) => this.module(`conv${i}`, new Linear(i === 0 ? vocab : hidden, hidden)));
  }
  get width(): number {
    return this.layers[this.layers.length - 1].outFeatures;
  }
  /** nodes [B, N, V], messages M [B, N, N] -> graph embeddings [B, hidden]. */
  encode(nodes: Tensor, m: Tensor, mask: Tensor): Tensor {
    let h = nodes;
    for (const layer of this.layers) h = layer.forward(m.bmm(h)).relu();
    return meanPool(h, mask);
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

class GinEncoder extends Module {
  private readonly inner: Linear[] = [];
  private readonly outer: Linear[] = [];
  constructor(
    vocab: number,
    readonly hidden: number,
    readonly depth: number,
  ) {
    super();
    for (let i = 0; i < depth; i++) {
      this.inner.push(this.module(`mlp${i}.0`, new Linear(i === 0 ? vocab : hidden, hidden)));
      this.outer.push(this.module(`mlp${i}.1`, new Linear(hidden, hidden)));
    }
  }
  get width(): number {
    return this.hidden * this.depth;
  }
  /** nodes [B, N, V], raw message sums M [B, N, N] -> concatenated per-layer mean pools [B, hidden * depth]. */
  encode(nodes: Tensor, m: Tensor, mask: Tensor): Tensor {
    let h = nodes;
    const pools: Tensor[] = [];
    for (let i = 0; i < this.depth; i++) {
      const agg = h.add(m.bmm(h)); // GIN-0: (1 + 0) h + sum of neighbours
      h = this.outer[i].forward(this.inner[i].forward(agg).relu()).relu();
      pools.push(meanPool(h, mask));
    }
    return E.cat(pools, 1);
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Input rows: nodes [N*V], then one [N*N] message matrix per encoder, then extra features. */
class GnnNet extends Module {
  private readonly encoders: (GcnEncoder | GinEncoder)[];
  private readonly head1: Linear;
  private readonly head2: Linear;
  constructor(
    private readonly N: number,
    private readonly V: number,
    kind: GnnKind,
    hidden: number,
    depth: number,
    private readonly extra: number,
  ) {
    super();
    const make = (i: number) => this.module(`enc${i}`, kind === "gcn" ? new GcnEncoder(V, hidden, depth) : new GinEncoder(V, hidden, depth));
    this.encoders = kind === "fr_gnn" ? [make(0), make(1)] : [make(0)];
    const emb = this.encoders.reduce((a, e) => a + e.width, 0);
    this.head1 = this.module("head1", new Linear(emb + extra, hidden));
    this.head2 = this.module("head2", new Linear(hidden, 1));
  }
  forward(x: Tensor): Tensor {
    const { N, V } = this;
    const B = x.shape[0];
    const nodes = x.slice(1, 0, N * V).reshape([B, N, V]);
    const mask = nodes.sum([2]);
    let at = N * V;
    const parts = this.encoders.map((enc) => {
      const m = x.slice(1, at, at + N * N).reshape([B, N, N]);
      at += N * N;
      return enc.encode(nodes, m, mask);
    });
    if (this.extra > 0) parts.push(x.slice(1, at, at + this.extra));
    const z = parts.length === 1 ? parts[0] : E.cat(parts, 1);
    return this.head2.forward(this.head1.forward(z).relu()).reshape([1, B]);
  }
}

/** The message matrices each variant needs: forward-flow (and reverse-flow) propagation. */
function messageSpecs(kind: GnnKind): NormalizeOptions[] {
  if (kind === "gcn") return [{ direction: "forward", selfLoops: true, norm: "sym" }];
  if (kind === "gin") return [{ direction: "forward", selfLoops: false, norm: "none" }];
  return [
    { direction: "forward", selfLoops: false, norm: "none" },
    { direction: "reverse", selfLoops: false, norm: "none" },
  ];
}

export function createGnn(kind: GnnKind, name: string, ctx: PredictorContext, opts: GnnOptions): NeuralPredictor {
  const space = ctx.space;
  const graph = requireGraph(space, `predictor "${name}"`);
  const rng = new Rng(0x5eed);
  const probe: ArchGraph[] = Array.from({ length: 64 }, () => graph(space.sample(rng)));
  const vocabulary = probe[0].vocabulary;
  const N = Math.max(...probe.map((g) => g.ops.length));
  const V = vocabulary.length;
  if (V === 0) throw new UserError(`predictor "${name}": the space's graph has an empty vocabulary`);
  const specs = messageSpecs(kind);
  const width = N * V + specs.length * N * N;
  const spec: NeuralSpec = {
    inputWidth: width,
    input: (p: Json) => {
      const batch = graphBatch([graph(opts.canonical ? canonicalPoint(space, p) : p)], { vocabulary, maxNodes: N, dropOps: opts.drop_ops });
      const row = new Float32Array(width);
      row.set(batch.nodes, 0);
      specs.forEach((s, i) => row.set(normalizeAdjacency(batch, s), N * V + i * N * N));
      return row;
    },
    build: (extra) => new GnnNet(N, V, kind, opts.hidden, opts.layers, extra),
  };
  return new NeuralPredictor(name, ctx, spec, opts);
}
