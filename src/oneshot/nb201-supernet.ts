import type { Tensor } from "../engine/tensor.js";
import * as F from "../engine/functional.js";
import { Module } from "../engine/nn/module.js";
import { BatchNorm2d, Conv2d, Linear } from "../engine/nn/layers.js";
import { NB201_EDGES, NB201_OPS, archString, type Nb201Op } from "../benchmarks/nb201.js";
import { ReluConvBn, ResidualReduction } from "../models/nb201.js";

/**
 * How the edges of every cell combine their candidate operations in one forward pass:
 * - `mixed`: a weighted sum over the operations (DARTS): `weights` [6, 5], rows summing to 1
 *   (operations whose weight is exactly 0 are still computed, so gradients reach every weight);
 * - `single`: one operation per edge (SPOS, RS-WS, GDAS): `ops[e]` its index, and optionally
 *   `gates` [6, 5], whose entry of the chosen operation scales its output (GDAS' straight-through
 *   one-hot: 1 in value, the soft probability's gradient backwards).
 * The `none` operation outputs zeros: on a single path it contributes nothing and is skipped.
 */
export type PathChoice = { kind: "mixed"; weights: Tensor } | { kind: "single"; ops: readonly number[]; gates?: Tensor };

/** The candidate operations of one edge, in NB201_OPS order: none, skip, conv 1x1, conv 3x3, avg-pool 3x3. */
class MixedEdge extends Module {
  private readonly conv1: ReluConvBn;
  private readonly conv3: ReluConvBn;

  constructor(channels: number) {
    super();
    this.conv1 = this.module("nor_conv_1x1", new ReluConvBn(channels, channels, 1, 1));
    this.conv3 = this.module("nor_conv_3x3", new ReluConvBn(channels, channels, 3, 1));
  }

  /** The output of operation `k` on x; undefined for `none` (zeros). `relu`: x through ReLU, when the caller has it (shared by both convolutions). */
  op(k: number, x: Tensor, relu?: Tensor): Tensor | undefined {
    switch (NB201_OPS[k] as Nb201Op) {
      case "none":
        return undefined;
      case "skip_connect":
        return x;
      case "nor_conv_1x1":
        return relu ? this.conv1.afterRelu(relu) : this.conv1.forward(x);
      case "nor_conv_3x3":
        return relu ? this.conv3.afterRelu(relu) : this.conv3.forward(x);
      default:
        return F.avgPool2d(x, 3, 1, 1, false);
    }
  }

  forward(): Tensor {
    throw new Error("MixedEdge.forward: use mix() or single()");
  }

  /**
   * sum_k w_k op_k(x), `w` the edge's row of weights [5]. Intermediate handles are let go as soon
   * as they are used (autograd keeps what backward needs): freed memory is reused by the next
   * operations instead of the step's memory growing with every edge.
   */
  mix(x: Tensor, w: Tensor): Tensor | undefined {
    let out: Tensor | undefined;
    const relu = x.relu();
    for (let k = 0; k < NB201_OPS.length; k++) {
      const y = this.op(k, x, relu);
      if (!y) continue;
      const wk = w.slice(0, k, k + 1);
      const term = y.mul(wk);
      wk.dispose();
      if (y !== x) y.dispose();
      if (out) {
        const sum = out.add(term);
        out.dispose();
        term.dispose();
        out = sum;
      } else out = term;
    }
    relu.dispose();
    return out;
  }
}

/** A cell of the supernet: every edge a MixedEdge; node j sums its incoming edges. */
class SupernetCell extends Module {
  private readonly edges: MixedEdge[];
  constructor(channels: number) {
    super();
    this.edges = NB201_EDGES.map(([s, t]) => this.module(`edges.${s}to${t}`, new MixedEdge(channels)));
  }
  forward(): Tensor {
    throw new Error("SupernetCell.forward: use run()");
  }
  run(x: Tensor, path: PathChoice, rows: Tensor[] | undefined): Tensor {
    const nodes: Tensor[] = [x];
    for (let j = 1; j <= 3; j++) {
      let sum: Tensor | undefined;
      NB201_EDGES.forEach(([s, t], e) => {
        if (t !== j) return;
        let y: Tensor | undefined;
        if (path.kind === "mixed") y = this.edges[e].mix(nodes[s], rows![e]);
        else {
          const k = path.ops[e];
          y = this.edges[e].op(k, nodes[s]);
          if (y && rows) y = y.mul(rows[e].slice(0, k, k + 1));
        }
        if (!y) return;
        if (!sum) sum = y === nodes[s] ? y.mul(1) : y; // a node never aliases another (nodes are let go below)
        else {
          const next = sum.add(y);
          sum.dispose();
          if (y !== nodes[s]) y.dispose();
          sum = next;
        }
      });
      // A node with only `none` inputs is zeros; later edges see zeros (avg-pool and convs of zeros).
      nodes.push(sum ?? nodes[0].mul(0));
    }
    for (let j = 1; j < 3; j++) nodes[j].dispose();
    return nodes[3];
  }
}

export interface Nb201SupernetOptions {
  /** Channels of the first stage (doubled at each reduction); NB201 uses 16. */
  channels?: number;
  /** Cells per stage; NB201 uses 5 (searches often use fewer). */
  cellsPerStage?: number;
  classes?: number;
  inputChannels?: number;
}

/**
 * The weight-sharing supernet of the NAS-Bench-201 space: NB201's macro network (stem, three
 * stages separated by residual reductions, classifier) whose cells hold every operation on every
 * edge. All cells share one architecture (as in NB201's own DARTS / GDAS / SPOS baselines), so a
 * path choice covers six edges. Any input size works.
 */
export class Nb201Supernet extends Module {
  private readonly stem: Conv2d;
  private readonly stemBn: BatchNorm2d;
  private readonly body: (SupernetCell | ResidualReduction)[] = [];
  private readonly lastBn: BatchNorm2d;
  private readonly classifier: Linear;

  constructor(readonly opts: Nb201SupernetOptions = {}) {
    super();
    const c = opts.channels ?? 16;
    const n = opts.cellsPerStage ?? 5;
    this.stem = this.module("stem.conv", new Conv2d(opts.inputChannels ?? 3, c, 3, { padding: 1, bias: false }));
    this.stemBn = this.module("stem.bn", new BatchNorm2d(c));
    let width = c;
    for (let stage = 0; stage < 3; stage++) {
      if (stage > 0) {
        this.body.push(this.module(`cells.${this.body.length}`, new ResidualReduction(width, width * 2)));
        width *= 2;
      }
      for (let i = 0; i < n; i++) this.body.push(this.module(`cells.${this.body.length}`, new SupernetCell(width)));
    }
    this.lastBn = this.module("lastact.bn", new BatchNorm2d(width));
    this.classifier = this.module("classifier", new Linear(width, opts.classes ?? 10));
  }

  forward(): Tensor {
    throw new Error("Nb201Supernet.forward: use run(x, path)");
  }

  /** Logits for a batch along a path choice. */
  run(x: Tensor, path: PathChoice): Tensor {
    const rows = this.edgeRows(path);
    let y = this.stemOf(x);
    for (let b = 0; b < 3; b++) {
      const next = this.block(b, y, path, rows);
      y.dispose(); // (each handle let go once used: autograd keeps what backward needs)
      y = next;
    }
    for (const row of rows ?? []) row.dispose();
    return this.head(y);
  }

  /** The per-edge rows [5] of the path's weights or gates (dispose them after use); undefined for a plain single path. */
  edgeRows(path: PathChoice): Tensor[] | undefined {
    const table = path.kind === "mixed" ? path.weights : path.gates;
    return table ? NB201_EDGES.map((_, e) => table.slice(0, e, e + 1).reshape([NB201_OPS.length])) : undefined;
  }

  /** The stem's features (stem conv + BN). */
  stemOf(x: Tensor): Tensor {
    const stem = this.stem.forward(x);
    const y = this.stemBn.forward(stem);
    stem.dispose();
    return y;
  }

  /**
   * Stage `b` (0-2) on features x: the residual reduction before it (stages 1 and 2), then its
   * cells. Blocks of block-wise distillation (DNA) are these stages. `rows` from edgeRows(path).
   */
  block(b: number, x: Tensor, path: PathChoice, rows?: Tensor[]): Tensor {
    const n = this.opts.cellsPerStage ?? 5;
    const first = b === 0 ? 0 : b * (n + 1) - 1;
    const last = (b + 1) * (n + 1) - 1; // exclusive
    let y = x;
    for (let i = first; i < last; i++) {
      const m = this.body[i];
      const next = m instanceof SupernetCell ? m.run(y, path, rows) : m.forward(y);
      if (y !== x) y.dispose();
      y = next;
    }
    return y === x ? x.mul(1) : y;
  }

  /** Logits from the last stage's features (BN, ReLU, global average pooling, classifier); lets go of y. */
  head(y: Tensor): Tensor {
    const bn = this.lastBn.forward(y);
    y.dispose();
    const r = bn.relu();
    bn.dispose();
    const pooled = F.adaptiveAvgPool2d(r, 1);
    r.dispose();
    const logits = this.classifier.forward(pooled.flatten(1));
    pooled.dispose();
    return logits;
  }
}

/** The NB201 cell of per-edge operation indices. */
export function cellOf(ops: readonly number[]): string {
  return archString(ops.map((k) => NB201_OPS[k]));
}
