import { tensor, zeros, noGrad, type Tensor } from "../tensor.js";
import { EngineError } from "../errors.js";
import { Module } from "./module.js";
import { Linear } from "./layers.js";

/**
 * A graph for message passing: `nodes` nodes and directed edges src -> dst (messages flow from
 * src to dst). `undirected: true` adds every edge in both directions. The index tensors live
 * until `dispose()`.
 */
export class Graph {
  readonly src: Tensor;
  readonly dst: Tensor;
  readonly edges: number;
  private readonly pairs: readonly (readonly [number, number])[];
  private gcn?: { src: Tensor; dst: Tensor; norm: Tensor };

  constructor(readonly nodes: number, edgeList: readonly (readonly [number, number])[], opts: { undirected?: boolean } = {}) {
    const pairs = opts.undirected ? edgeList.flatMap(([a, b]) => (a === b ? [[a, b] as const] : [[a, b] as const, [b, a] as const])) : edgeList;
    for (const [a, b] of pairs) {
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= nodes || b >= nodes) {
        throw new EngineError(`graph edge ${a} -> ${b} is outside the ${nodes} nodes`);
      }
    }
    this.edges = pairs.length;
    this.src = tensor(pairs.map(([a]) => a), [pairs.length], "int64").keep();
    this.dst = tensor(pairs.map(([, b]) => b), [pairs.length], "int64").keep();
    this.pairs = pairs;
  }

  /**
   * The edges plus a self loop on every node, each weighted 1 / sqrt(deg(src) deg(dst)) with
   * degrees counted with the loops (Kipf & Welling's symmetric normalisation).
   */
  normalizedWithSelfLoops(): { src: Tensor; dst: Tensor; norm: Tensor } {
    if (this.gcn) return this.gcn;
    const all = [...this.pairs, ...Array.from({ length: this.nodes }, (_, i) => [i, i] as const)];
    const deg = new Array<number>(this.nodes).fill(0);
    for (const [, b] of all) deg[b]++;
    this.gcn = {
      src: tensor(all.map(([a]) => a), [all.length], "int64").keep(),
      dst: tensor(all.map(([, b]) => b), [all.length], "int64").keep(),
      norm: tensor(all.map(([a, b]) => 1 / Math.sqrt(deg[a] * deg[b])), [all.length, 1]).keep(),
    };
    return this.gcn;
  }

  dispose(): void {
    this.src.dispose();
    this.dst.dispose();
    if (this.gcn) for (const t of Object.values(this.gcn)) t.dispose();
  }
}

/** Sums the rows of `messages` [E, F] into `nodes` rows by destination index (scatter_add). */
export function aggregateSum(messages: Tensor, dst: Tensor, nodes: number): Tensor {
  const [e, f] = messages.shape;
  return zeros([nodes, f], messages.dtype).scatterAdd(0, dst.unsqueeze(1).expand([e, f]), messages);
}

function needGraph(layer: string, g: Graph | undefined, x: Tensor): Graph {
  if (!g) throw new EngineError(`${layer}.forward(x, graph) needs the graph`);
  if (x.shape.length !== 2 || x.shape[0] !== g.nodes) throw new EngineError(`${layer}: node features must be [${g.nodes}, features], got ${JSON.stringify(x.shape)}`);
  return g;
}

/**
 * Graph convolution (Kipf & Welling 2017): out = D^-1/2 (A + I) D^-1/2 X W + b, as messages
 * gathered with index_select and summed with scatter_add.
 */
export class GCNConv extends Module {
  readonly lin: Linear;
  readonly bias: Tensor;
  constructor(readonly inFeatures: number, readonly outFeatures: number) {
    super();
    this.lin = this.module("lin", new Linear(inFeatures, outFeatures, false));
    this.bias = this.parameter("bias", noGrad(() => zeros([outFeatures])));
  }
  forward(x: Tensor, graph?: Graph): Tensor {
    const g = needGraph("GCNConv", graph, x);
    const { src, dst, norm } = g.normalizedWithSelfLoops();
    const h = this.lin.forward(x);
    return aggregateSum(h.indexSelect(0, src).mul(norm), dst, g.nodes).add(this.bias);
  }
}

/**
 * Graph isomorphism layer (Xu et al. 2019): out = MLP((1 + eps) x + sum of neighbour features),
 * with a two-layer MLP; eps is learned when `trainEps` is set.
 */
export class GINConv extends Module {
  readonly mlp1: Linear;
  readonly mlp2: Linear;
  readonly eps: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { hidden?: number; trainEps?: boolean } = {}) {
    super();
    const hidden = opts.hidden ?? outFeatures;
    this.mlp1 = this.module("mlp.0", new Linear(inFeatures, hidden));
    this.mlp2 = this.module("mlp.2", new Linear(hidden, outFeatures));
    this.eps = opts.trainEps ? this.parameter("eps", noGrad(() => zeros([1]))) : null;
  }
  forward(x: Tensor, graph?: Graph): Tensor {
    const g = needGraph("GINConv", graph, x);
    const self = this.eps ? x.mul(this.eps.add(1)) : x;
    const h = self.add(aggregateSum(x.indexSelect(0, g.src), g.dst, g.nodes));
    return this.mlp2.forward(this.mlp1.forward(h).relu());
  }
}
