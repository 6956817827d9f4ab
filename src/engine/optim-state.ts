import { noGrad, tidy, zeros, type Tensor } from "./tensor.js";

/**
 * Optimisers whose state (momentum buffers, Adam moments, step count) is tensors held here, so
 * a checkpoint can keep it and a resumed run continues bit for bit (libtorch's optimisers, in
 * optim.ts, keep theirs inside the binding). The update rules are PyTorch's.
 */
export interface StatefulOptimizer {
  step(): void;
  zeroGrad(): void;
  learningRate: number;
  /** The state by name (`buf.3`, `m.3`, `v.3`, `t`), for a checkpoint. */
  state(): Map<string, Tensor>;
  /** Continues from `state()` (of an optimiser over the same parameters). */
  load(state: Map<string, Tensor>): void;
  dispose(): void;
}

abstract class Base implements StatefulOptimizer {
  constructor(
    protected readonly params: Tensor[],
    public learningRate: number,
  ) {}
  abstract step(): void;
  abstract state(): Map<string, Tensor>;
  abstract load(state: Map<string, Tensor>): void;
  abstract dispose(): void;
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
  /** Replaces a state tensor's value in place (the tensor keeps its identity and its place). */
  protected static set(target: Tensor, value: Tensor): void {
    target.copy(value);
  }
}

/** SGD with momentum and (L2) weight decay: g += wd p; buf = mu buf + g; p -= lr buf (PyTorch, dampening 0). */
export class Sgd extends Base {
  private readonly bufs: Tensor[];
  private started = false;

  constructor(
    params: Tensor[],
    private readonly o: { lr: number; momentum?: number; weightDecay?: number },
  ) {
    super(params, o.lr);
    this.bufs = params.map((p) => zeros(p.shape).keep());
  }

  step(): void {
    const mu = this.o.momentum ?? 0;
    const wd = this.o.weightDecay ?? 0;
    const lr = this.learningRate;
    noGrad(() =>
      tidy(() => {
        this.params.forEach((p, i) => {
          const g0 = p.grad;
          if (!g0) return;
          const g = wd ? g0.add(p.mul(wd)) : g0;
          // PyTorch: the first step's buffer is the gradient itself.
          const buf = mu ? (this.started ? this.bufs[i].mul(mu).add(g) : g) : g;
          if (mu) Base.set(this.bufs[i], buf);
          p.copy(p.sub(buf.mul(lr)));
        });
      }),
    );
    this.started = true;
  }

  state(): Map<string, Tensor> {
    const out = new Map<string, Tensor>(this.bufs.map((b, i) => [`buf.${i}`, b]));
    out.set("started", zeros([1]).add(this.started ? 1 : 0).keep());
    return out;
  }

  load(state: Map<string, Tensor>): void {
    this.bufs.forEach((b, i) => {
      const s = state.get(`buf.${i}`);
      if (!s) throw new Error(`SGD state has no buf.${i}`);
      b.copy(s);
    });
    this.started = (state.get("started")?.item() ?? 0) > 0;
  }

  dispose(): void {
    for (const b of this.bufs) b.dispose();
  }
}

/** Adam with (L2) weight decay added to the gradient (PyTorch's Adam, not AdamW). */
export class Adam extends Base {
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private t = 0;

  constructor(
    params: Tensor[],
    private readonly o: { lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number },
  ) {
    super(params, o.lr);
    this.m = params.map((p) => zeros(p.shape).keep());
    this.v = params.map((p) => zeros(p.shape).keep());
  }

  step(): void {
    const b1 = this.o.beta1 ?? 0.9;
    const b2 = this.o.beta2 ?? 0.999;
    const eps = this.o.eps ?? 1e-8;
    const wd = this.o.weightDecay ?? 0;
    this.t++;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const lr = this.learningRate;
    noGrad(() =>
      tidy(() => {
        this.params.forEach((p, i) => {
          const g0 = p.grad;
          if (!g0) return;
          const g = wd ? g0.add(p.mul(wd)) : g0;
          Base.set(this.m[i], this.m[i].mul(b1).add(g.mul(1 - b1)));
          Base.set(this.v[i], this.v[i].mul(b2).add(g.square().mul(1 - b2)));
          const denom = this.v[i].div(c2).sqrt().add(eps);
          p.copy(p.sub(this.m[i].div(denom).mul(lr / c1)));
        });
      }),
    );
  }

  state(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.m.forEach((m, i) => out.set(`m.${i}`, m));
    this.v.forEach((v, i) => out.set(`v.${i}`, v));
    out.set("t", zeros([1]).add(this.t).keep());
    return out;
  }

  load(state: Map<string, Tensor>): void {
    const get = (k: string) => {
      const s = state.get(k);
      if (!s) throw new Error(`Adam state has no ${k}`);
      return s;
    };
    this.m.forEach((m, i) => m.copy(get(`m.${i}`)));
    this.v.forEach((v, i) => v.copy(get(`v.${i}`)));
    this.t = Math.round(get("t").item());
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/** Scales gradients so that their global L2 norm is at most `maxNorm` (PyTorch's clip_grad_norm_); returns the norm before. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      let total = 0;
      for (const g of grads) total += g.square().sum().item();
      const norm = Math.sqrt(total);
      const scale = maxNorm / (norm + 1e-6);
      if (scale < 1) for (const g of grads) g.copy(g.mul(scale));
      return norm;
    }),
  );
}
