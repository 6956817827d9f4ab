import type { Tensor } from "../tensor.js";
import * as F from "../functional.js";
import { EngineError } from "../errors.js";
import { Module } from "./module.js";
import { LayerNorm, Linear } from "./layers.js";

/**
 * Multi-head self-attention over sequences [batch, tokens, dim]: one projection to queries,
 * keys and values, scaled dot-product attention per head (softmax over keys), an output
 * projection. Dropout on the attention weights in training mode.
 */
export class MultiHeadSelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;

  constructor(readonly dim: number, readonly heads: number, readonly dropout = 0) {
    super();
    if (dim % heads !== 0) throw new EngineError(`attention: dim ${dim} is not divisible by ${heads} heads`);
    this.headDim = dim / heads;
    this.qkv = this.module("qkv", new Linear(dim, 3 * dim));
    this.proj = this.module("proj", new Linear(dim, dim));
  }

  forward(x: Tensor): Tensor {
    const [b, t, d] = x.shape;
    if (d !== this.dim) throw new EngineError(`attention: expected inputs [batch, tokens, ${this.dim}], got ${JSON.stringify(x.shape)}`);
    const h = this.heads;
    const hd = this.headDim;
    // [b, t, 3, h, hd] -> [3, b, h, t, hd]; each of q, k, v as [b * h, t, hd].
    const qkv = this.qkv.forward(x).reshape([b, t, 3, h, hd]).permute([2, 0, 3, 1, 4]);
    const part = (i: number) => qkv.slice(0, i, i + 1).reshape([b * h, t, hd]);
    const [q, k, v] = [part(0), part(1), part(2)];
    let attn = F.softmax(q.bmm(k.transpose(1, 2)).mul(1 / Math.sqrt(hd)), -1);
    if (this.dropout > 0) attn = F.dropout(attn, this.dropout, this.training);
    const out = attn.bmm(v).reshape([b, h, t, hd]).permute([0, 2, 1, 3]).reshape([b, t, d]);
    return this.proj.forward(out);
  }
}

export interface TransformerEncoderLayerOptions {
  /** Hidden size of the feed-forward part (default 4 x dim). */
  ffDim?: number;
  dropout?: number;
  activation?: "relu" | "gelu";
  /** Layer norm before each block (pre-norm) instead of after the residual sum (PyTorch's default, post-norm). */
  normFirst?: boolean;
}

/** A transformer encoder layer: self-attention and a feed-forward block, each with a residual connection and layer norm. */
export class TransformerEncoderLayer extends Module {
  readonly attn: MultiHeadSelfAttention;
  readonly ff1: Linear;
  readonly ff2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  private readonly p: number;

  constructor(readonly dim: number, heads: number, readonly opts: TransformerEncoderLayerOptions = {}) {
    super();
    this.p = opts.dropout ?? 0;
    this.attn = this.module("self_attn", new MultiHeadSelfAttention(dim, heads, this.p));
    this.ff1 = this.module("linear1", new Linear(dim, opts.ffDim ?? 4 * dim));
    this.ff2 = this.module("linear2", new Linear(opts.ffDim ?? 4 * dim, dim));
    this.norm1 = this.module("norm1", new LayerNorm(dim));
    this.norm2 = this.module("norm2", new LayerNorm(dim));
  }

  private drop(x: Tensor): Tensor {
    return this.p > 0 ? F.dropout(x, this.p, this.training) : x;
  }
  private feedForward(x: Tensor): Tensor {
    const h = this.ff1.forward(x);
    return this.drop(this.ff2.forward(this.drop(this.opts.activation === "gelu" ? h.gelu() : h.relu())));
  }

  forward(x: Tensor): Tensor {
    if (this.opts.normFirst) {
      const y = x.add(this.drop(this.attn.forward(this.norm1.forward(x))));
      return y.add(this.feedForward(this.norm2.forward(y)));
    }
    const y = this.norm1.forward(x.add(this.drop(this.attn.forward(x))));
    return this.norm2.forward(y.add(this.feedForward(y)));
  }
}
