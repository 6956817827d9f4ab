import { Tensor } from "../engine/tensor.js";
import * as F from "../engine/functional.js";
import { Module } from "../engine/nn/module.js";
import { BatchNorm2d, Conv2d, Linear } from "../engine/nn/layers.js";
import { NB201_EDGES, parseArchString, type Nb201Op } from "../benchmarks/nb201.js";
import { UserError } from "../core/errors.js";

/** The active ReLU observer (see withReluRecorder); undefined in normal use. */
let reluRecorder: ((reluOutput: Tensor) => void) | undefined;

/**
 * Runs fn with `record` called on the output of every ReLU of an Nb201Network forward pass made
 * inside it: the ReLU of each ReLU-Conv-BN unit (cell convolutions and the residual reductions)
 * and the final ReLU before pooling, in execution order. Used by zero-cost proxies that look at
 * activation patterns (NASWOT). Observing changes nothing in the computation; scopes nest.
 */
export function withReluRecorder<T>(record: (reluOutput: Tensor) => void, fn: () => T): T {
  const prev = reluRecorder;
  reluRecorder = record;
  try {
    return fn();
  } finally {
    reluRecorder = prev;
  }
}

/** ReLU -> Conv (no bias) -> BatchNorm: NAS-Bench-201's convolution unit. */
export class ReluConvBn extends Module {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm2d;
  constructor(cin: number, cout: number, kernel: number, stride: number) {
    super();
    this.conv = this.module("conv", new Conv2d(cin, cout, kernel, { stride, padding: (kernel - 1) >> 1, bias: false }));
    this.bn = this.module("bn", new BatchNorm2d(cout));
  }
  forward(x: Tensor): Tensor {
    const r = x.relu();
    reluRecorder?.(r);
    const out = this.afterRelu(r);
    if (!reluRecorder) r.dispose(); // autograd keeps what backward needs; the memory is reused sooner
    return out;
  }
  /** Conv -> BatchNorm of an input already through ReLU (a supernet edge shares one ReLU between its convolutions). */
  afterRelu(r: Tensor): Tensor {
    const c = this.conv.forward(r);
    const out = this.bn.forward(c);
    c.dispose();
    return out;
  }
}

/** The operation on one cell edge; `none` and `skip_connect` have no parameters. */
class EdgeOp extends Module {
  private readonly conv?: ReluConvBn;
  constructor(readonly op: Nb201Op, channels: number) {
    super();
    if (op === "nor_conv_1x1") this.conv = this.module("op", new ReluConvBn(channels, channels, 1, 1));
    if (op === "nor_conv_3x3") this.conv = this.module("op", new ReluConvBn(channels, channels, 3, 1));
  }
  forward(x: Tensor): Tensor {
    switch (this.op) {
      case "none":
        return x.mul(0);
      case "skip_connect":
        return x;
      case "avg_pool_3x3":
        return F.avgPool2d(x, 3, 1, 1, false);
      default:
        return this.conv!.forward(x);
    }
  }
}

/** A NAS-Bench-201 cell: node j = sum over i < j of op(i->j)(node i); node 3 is the output. */
export class Nb201Cell extends Module {
  private readonly edges: EdgeOp[];
  constructor(ops: readonly Nb201Op[], channels: number) {
    super();
    this.edges = ops.map((op, k) => this.module(`edges.${NB201_EDGES[k][0]}to${NB201_EDGES[k][1]}`, new EdgeOp(op, channels)));
  }
  forward(x: Tensor): Tensor {
    const nodes: Tensor[] = [x];
    for (let j = 1; j <= 3; j++) {
      let sum: Tensor | undefined;
      NB201_EDGES.forEach(([s, t], k) => {
        if (t !== j) return;
        const y = this.edges[k].forward(nodes[s]);
        sum = sum ? sum.add(y) : y;
      });
      nodes.push(sum!);
    }
    return nodes[3];
  }
}

/** Residual reduction between stages: two ReLU-Conv-BN (the first with stride 2) plus avg-pool + 1x1 shortcut. */
export class ResidualReduction extends Module {
  private readonly a: ReluConvBn;
  private readonly b: ReluConvBn;
  private readonly shortcut: Conv2d;
  constructor(cin: number, cout: number) {
    super();
    this.a = this.module("conv_a", new ReluConvBn(cin, cout, 3, 2));
    this.b = this.module("conv_b", new ReluConvBn(cout, cout, 3, 1));
    this.shortcut = this.module("downsample", new Conv2d(cin, cout, 1, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    const residual = this.shortcut.forward(F.avgPool2d(x, 2, 2));
    return this.b.forward(this.a.forward(x)).add(residual);
  }
}

export interface Nb201NetworkOptions {
  /** Channels of the first stage (doubled at each of the two reductions); NB201 uses 16. */
  channels?: number;
  /** Cells per stage; NB201 uses 5. */
  cellsPerStage?: number;
  classes?: number;
  inputChannels?: number;
}

/**
 * The NAS-Bench-201 network for a cell: stem conv3x3 + BN, three stages of N cells with C, 2C,
 * 4C channels separated by residual reductions, then BN + ReLU, global average pooling and a
 * linear classifier. Works for any input size (32x32 CIFAR, 16x16 ImageNet16, 28x28 MNIST).
 */
export class Nb201Network extends Module {
  private readonly stem: Conv2d;
  private readonly stemBn: BatchNorm2d;
  private readonly body: Module[] = [];
  private readonly lastBn: BatchNorm2d;
  private readonly classifier: Linear;

  constructor(readonly arch: string, opts: Nb201NetworkOptions = {}) {
    super();
    const ops = parseArchString(arch);
    if (!ops) throw new UserError(`not a NAS-Bench-201 architecture string: ${JSON.stringify(arch)}`);
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
      for (let i = 0; i < n; i++) this.body.push(this.module(`cells.${this.body.length}`, new Nb201Cell(ops, width)));
    }
    this.lastBn = this.module("lastact.bn", new BatchNorm2d(width));
    this.classifier = this.module("classifier", new Linear(width, opts.classes ?? 10));
  }

  forward(x: Tensor): Tensor {
    let y = this.stemBn.forward(this.stem.forward(x));
    for (const m of this.body) y = m.forward(y);
    return this.classify(y);
  }

  /** The features after the stem and after each of the three stages (a teacher's targets in block-wise distillation). */
  stageFeatures(x: Tensor): Tensor[] {
    const n = (this.body.length - 2) / 3;
    const out = [this.stemBn.forward(this.stem.forward(x))];
    let y = out[0];
    this.body.forEach((m, i) => {
      y = m.forward(y);
      if (i === n - 1 || i === 2 * n || i === 3 * n + 1) out.push(y);
    });
    return out;
  }

  /** Logits from the last stage's features. */
  classify(y: Tensor): Tensor {
    const r = this.lastBn.forward(y).relu();
    reluRecorder?.(r);
    return this.classifier.forward(F.adaptiveAvgPool2d(r, 1).flatten(1));
  }
}
