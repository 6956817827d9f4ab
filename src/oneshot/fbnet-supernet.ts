import type { Tensor } from "../engine/tensor.js";
import * as F from "../engine/functional.js";
import { Module } from "../engine/nn/module.js";
import { BatchNorm2d, Conv2d, Linear } from "../engine/nn/layers.js";
import { FBNET_CHANNELS, FBNET_LAYERS, FBNET_OPS, fbnetStrides } from "../benchmarks/hwnas.js";

/** Channels scaled by a width multiplier, kept even (grouped blocks split them in two) and at least 4. */
export function scaledChannels(c: number, width: number): number {
  return Math.max(4, 2 * Math.round((c * width) / 2));
}

/** Conv -> BatchNorm (-> ReLU). */
class ConvBn extends Module {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm2d;
  constructor(cin: number, cout: number, kernel: number, stride: number, groups: number, private readonly relu: boolean) {
    super();
    this.conv = this.module("conv", new Conv2d(cin, cout, kernel, { stride, padding: (kernel - 1) >> 1, bias: false, groups }));
    this.bn = this.module("bn", new BatchNorm2d(cout));
  }
  forward(x: Tensor): Tensor {
    const c = this.conv.forward(x);
    const b = this.bn.forward(c);
    c.dispose();
    if (!this.relu) return b;
    const r = b.relu();
    b.dispose();
    return r;
  }
}

/** Interleaves the channels of `groups` groups, so the next grouped convolution mixes them (ShuffleNet). */
function shuffle(x: Tensor, groups: number): Tensor {
  const [n, c, h, w] = x.shape;
  return x.reshape([n, groups, c / groups, h, w]).transpose(1, 2).reshape([n, c, h, w]);
}

/**
 * One FBNet block (HW-NAS-Bench's op ids 0..8): an inverted residual, 1x1 expansion (grouped for
 * g2, then a channel shuffle) -> kxk depthwise (the stride) -> 1x1 projection, with a residual
 * when the shape allows; op 8 is a skip (identity, or a 1x1 convolution when the shape changes).
 */
class FbnetBlock extends Module {
  private readonly parts: ConvBn[] = [];
  private readonly residual: boolean;
  private readonly groups: number;
  constructor(readonly op: number, cin: number, cout: number, stride: number) {
    super();
    if (op === 8) {
      this.groups = 1;
      this.residual = false;
      if (stride !== 1 || cin !== cout) this.parts.push(this.module("skip", new ConvBn(cin, cout, 1, stride, 1, false)));
      return;
    }
    const kernel = op < 4 ? 3 : 5;
    const [exp, groups] = [
      [1, 1],
      [1, 2],
      [3, 1],
      [6, 1],
    ][op % 4];
    this.groups = groups;
    const mid = cin * exp;
    this.parts.push(this.module("expand", new ConvBn(cin, mid, 1, 1, groups, true)));
    this.parts.push(this.module("depthwise", new ConvBn(mid, mid, kernel, stride, mid, true)));
    this.parts.push(this.module("project", new ConvBn(mid, cout, 1, 1, groups, false)));
    this.residual = stride === 1 && cin === cout;
  }
  forward(x: Tensor): Tensor {
    if (this.parts.length === 0) return x;
    let y = this.parts[0].forward(x);
    if (this.groups > 1) {
      const s = shuffle(y, this.groups);
      y.dispose();
      y = s;
    }
    for (const p of this.parts.slice(1)) {
      const next = p.forward(y);
      y.dispose();
      y = next;
    }
    if (!this.residual) return y;
    const out = y.add(x);
    y.dispose();
    return out;
  }
}

/** One searchable layer: every block choice, of which a forward pass runs the sampled one. */
class ChoiceLayer extends Module {
  readonly blocks: FbnetBlock[];
  constructor(cin: number, cout: number, stride: number) {
    super();
    this.blocks = FBNET_OPS.map((_, op) => this.module(`ops.${op}`, new FbnetBlock(op, cin, cout, stride)));
  }
  forward(): Tensor {
    throw new Error("ChoiceLayer: use the supernet's run()");
  }
}

/**
 * The FBNet supernet of HW-NAS-Bench's space (22 layers of 9 block choices, CIFAR strides), at a
 * width multiplier (the latency a search weighs is the full-width network's, from the LUT).
 * `run(x, ops, gates)` runs one block per layer, its output scaled by the layer's straight-through
 * gate (value 1, the soft probability's gradient backwards), as FBNet's Gumbel sampling does.
 */
export class FbnetSupernet extends Module {
  private readonly stem: ConvBn;
  private readonly layers: ChoiceLayer[] = [];
  private readonly head: ConvBn;
  private readonly classifier: Linear;

  constructor(opts: { width: number; classes: number; inputChannels: number }) {
    super();
    const strides = fbnetStrides("cifar100");
    let cin = scaledChannels(16, opts.width);
    this.stem = this.module("stem", new ConvBn(opts.inputChannels, cin, 3, 1, 1, true));
    for (let l = 0; l < FBNET_LAYERS; l++) {
      const cout = scaledChannels(FBNET_CHANNELS[l], opts.width);
      this.layers.push(this.module(`layers.${l}`, new ChoiceLayer(cin, cout, strides[l])));
      cin = cout;
    }
    const headC = scaledChannels(1504, opts.width);
    this.head = this.module("head", new ConvBn(cin, headC, 1, 1, 1, true));
    this.classifier = this.module("classifier", new Linear(headC, opts.classes));
  }

  forward(): Tensor {
    throw new Error("FbnetSupernet: use run(x, ops, gates)");
  }

  run(x: Tensor, ops: readonly number[], gates?: Tensor): Tensor {
    let y = this.stem.forward(x);
    this.layers.forEach((layer, l) => {
      let next = layer.blocks[ops[l]].forward(y);
      if (gates) {
        const g = gates.slice(0, l, l + 1).slice(1, ops[l], ops[l] + 1).reshape([1]);
        const scaled = next.mul(g);
        if (next !== y) next.dispose();
        next = scaled;
      }
      if (next !== y) y.dispose();
      y = next;
    });
    const h = this.head.forward(y);
    y.dispose();
    const pooled = F.adaptiveAvgPool2d(h, 1);
    h.dispose();
    const logits = this.classifier.forward(pooled.flatten(1));
    pooled.dispose();
    return logits;
  }
}
