import { Tensor, tensor, zeros, noGrad, tidy, stack } from "../../engine/tensor.js";
import * as F from "../../engine/functional.js";
import { Module } from "../../engine/nn/module.js";
import type { Rng } from "../../core/rng.js";

/**
 * An LSTM cell (Hochreiter & Schmidhuber) from linear maps: gates = x W_ih^T + h W_hh^T + b,
 * split into input, forget, cell and output gates; c' = f c + i g, h' = o tanh(c').
 */
export class LstmCell extends Module {
  readonly wIh: Tensor;
  readonly wHh: Tensor;
  readonly bias: Tensor;
  constructor(readonly inputSize: number, readonly hiddenSize: number, rng: Rng, scale: number) {
    super();
    this.wIh = this.parameter("weight_ih", uniformTensor([4 * hiddenSize, inputSize], scale, rng));
    this.wHh = this.parameter("weight_hh", uniformTensor([4 * hiddenSize, hiddenSize], scale, rng));
    this.bias = this.parameter("bias", uniformTensor([4 * hiddenSize], scale, rng));
  }
  /** One step from a zero state; use `step` to carry the state. */
  forward(x: Tensor): Tensor {
    const b = x.shape[0];
    return this.step(x, zeros([b, this.hiddenSize]), zeros([b, this.hiddenSize]))[0];
  }
  step(x: Tensor, h: Tensor, c: Tensor): [Tensor, Tensor] {
    const H = this.hiddenSize;
    const gates = F.linear(x, this.wIh, this.bias).add(F.linear(h, this.wHh, null));
    const i = gates.slice(1, 0, H).sigmoid();
    const f = gates.slice(1, H, 2 * H).sigmoid();
    const g = gates.slice(1, 2 * H, 3 * H).tanh();
    const o = gates.slice(1, 3 * H, 4 * H).sigmoid();
    const c2 = f.mul(c).add(i.mul(g));
    return [o.mul(c2.tanh()), c2];
  }
}

/** Uniform(-scale, scale) drawn from our own seeded generator (not libtorch's), so a search is reproducible. */
export function uniformTensor(shape: number[], scale: number, rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform(-scale, scale);
  return tensor(data, shape);
}

/**
 * The controller of Zoph & Le (2017): an LSTM reads the previous decision's choice (an embedding
 * per decision and choice, plus rows for "start" and "inactive") and a softmax head per decision
 * gives the distribution of the next one.
 */
export class ControllerPolicy extends Module {
  readonly embedding: Tensor;
  readonly cell: LstmCell;
  readonly heads: { weight: Tensor; bias: Tensor }[];
  /** Row of the embedding table for decision t's choice k is offsets[t] + k; row offsets[t] + choices[t] is "inactive". */
  private readonly offsets: number[];
  private readonly startRow: number;

  constructor(readonly choices: readonly number[], readonly hiddenSize: number, rng: Rng, scale = 0.1) {
    super();
    this.offsets = [];
    let rows = 0;
    for (const k of choices) {
      this.offsets.push(rows);
      rows += k + 1;
    }
    this.startRow = rows;
    this.embedding = this.parameter("embedding", uniformTensor([rows + 1, hiddenSize], scale, rng));
    this.cell = this.module("cell", new LstmCell(hiddenSize, hiddenSize, rng, scale));
    this.heads = choices.map((k, t) => ({
      weight: this.parameter(`head${t}.weight`, uniformTensor([k, hiddenSize], scale, rng)),
      bias: this.parameter(`head${t}.bias`, zeros([k])),
    }));
  }

  forward(_x: Tensor): Tensor {
    throw new Error("ControllerPolicy: use sample() or logProb()");
  }

  /** Embedding row that feeds step t+1 after decision t took `index` (-1: inactive). */
  private inputRow(t: number, index: number): number {
    return t < 0 ? this.startRow : this.offsets[t] + (index < 0 ? this.choices[t] : index);
  }

  /**
   * Draws one sequence of choice indices; `draw` picks an index from the probabilities (our Rng).
   * `temperature` divides the logits.
   */
  sample(draw: (probs: Float32Array) => number, temperature = 1): number[] {
    return noGrad(() =>
      tidy(() => {
        const out: number[] = [];
        let h = zeros([1, this.hiddenSize]);
        let c = zeros([1, this.hiddenSize]);
        let prev = this.inputRow(-1, 0);
        for (let t = 0; t < this.choices.length; t++) {
          const x = F.embedding(this.embedding, tensor([prev], [1], "int64"));
          [h, c] = this.cell.step(x, h, c);
          let logits = F.linear(h, this.heads[t].weight, this.heads[t].bias);
          if (temperature !== 1) logits = logits.div(temperature);
          const k = draw(F.softmax(logits, 1).data() as Float32Array);
          out.push(k);
          prev = this.inputRow(t, k);
        }
        return out;
      }),
    );
  }

  /**
   * Log-probabilities of whole sequences ([B]) and the mean entropy per active decision ([B]),
   * with gradients; index -1 marks an inactive decision (not scored, fed as "inactive").
   */
  logProb(seqs: number[][]): { logp: Tensor; entropy: Tensor } {
    const B = seqs.length;
    const T = this.choices.length;
    let h = zeros([B, this.hiddenSize]);
    let c = zeros([B, this.hiddenSize]);
    let rows = seqs.map(() => this.inputRow(-1, 0));
    const logps: Tensor[] = [];
    const ents: Tensor[] = [];
    const active = seqs.map((s) => Math.max(1, s.filter((k) => k >= 0).length));
    for (let t = 0; t < T; t++) {
      const x = F.embedding(this.embedding, tensor(rows, [B], "int64"));
      [h, c] = this.cell.step(x, h, c);
      const lp = F.logSoftmax(F.linear(h, this.heads[t].weight, this.heads[t].bias), 1);
      const mask = tensor(seqs.map((s) => (s[t] >= 0 ? 1 : 0)), [B]);
      const idx = tensor(seqs.map((s) => Math.max(0, s[t])), [B, 1], "int64");
      logps.push(lp.gather(1, idx).reshape([B]).mul(mask));
      ents.push(lp.exp().mul(lp).sum([1]).neg().mul(mask));
      rows = seqs.map((s) => this.inputRow(t, s[t]));
    }
    const logp = stack(logps, 1).sum([1]);
    const entropy = stack(ents, 1).sum([1]).div(tensor(active, [B]));
    return { logp, entropy };
  }
}

/**
 * Adam (Kingma & Ba) with its moments as tensors we own, so they can be saved and restored
 * exactly (libtorch's optimiser state is not reachable through the binding).
 */
export class OwnAdam {
  readonly m: Tensor[];
  readonly v: Tensor[];
  t = 0;
  constructor(readonly params: Tensor[], public lr: number, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly eps = 1e-8) {
    this.m = params.map((p) => zeros(p.shape).keep());
    this.v = params.map((p) => zeros(p.shape).keep());
  }

  /** One update from the parameters' gradients (clipped to a global norm of `clip`), then zeroes them. */
  step(clip: number): void {
    this.t++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    noGrad(() =>
      tidy(() => {
        const grads = this.params.map((p) => p.grad ?? zeros(p.shape));
        let sq = 0;
        for (const g of grads) sq += g.square().sum().item();
        const norm = Math.sqrt(sq);
        const scale = clip > 0 && norm > clip ? clip / norm : 1;
        this.params.forEach((p, i) => {
          const g = scale === 1 ? grads[i] : grads[i].mul(scale);
          this.m[i].copy(this.m[i].mul(b1).add(g.mul(1 - b1)));
          this.v[i].copy(this.v[i].mul(b2).add(g.square().mul(1 - b2)));
          const update = this.m[i].div(c1).div(this.v[i].div(c2).sqrt().add(this.eps)).mul(this.lr);
          p.copy(p.sub(update));
          p.zeroGrad();
        });
      }),
    );
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/** A float32 tensor's values as base64 (exact), and back into an existing tensor of the same size. */
export function toBase64(t: Tensor): string {
  const d = t.data() as Float32Array;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("base64");
}

export function fromBase64(into: Tensor, text: string, what: string): void {
  const bytes = Buffer.from(text, "base64");
  if (bytes.length !== into.size * 4) throw new Error(`${what}: ${bytes.length / 4} values for a tensor of ${into.size}`);
  const data = new Float32Array(new Uint8Array(bytes).buffer);
  noGrad(() => tidy(() => into.copy(tensor(data, into.shape))));
}
