/**
 * Zero-cost proxies: scores of a network at initialisation, from one batch (or none), that rank
 * architectures without training them (Abdelfattah et al. 2021, "Zero-Cost Proxies for
 * Lightweight NAS"; Mellor et al. 2021; Tanaka et al. 2020).
 *
 * Every proxy is `(net, batch, opts) => number` (higher = predicted better) and leaves the
 * network as it found it: parameters and buffers (batch-norm statistics) are copied back
 * bit-for-bit, gradients are cleared (`grad` is null afterwards, also if the network had
 * gradients before) and the train/eval mode of the top module is restored (`net.train(mode)`,
 * which sets every submodule to it). Every tensor made is disposed (tidy scopes).
 *
 * Conventions, where the literature leaves a choice:
 *  - grad_norm, snip, jacob_cov and naswot run the network in training mode (batch statistics in
 *    batch norm), as the reference implementations do; synflow runs in eval mode.
 *  - grad_norm, snip and synflow sum over parameter tensors; `opts.params` picks which: "all"
 *    (default) or "weights" (tensors of rank >= 2, i.e. conv and linear weights, the layers the
 *    zero-cost-nas reference code sums over).
 *  - synflow is returned as log10 of Tanaka's score (see `synflow`), because the raw score of a
 *    full-size NAS-Bench-201 network (~1e50) is far beyond float32.
 *  - naswot needs a network that reports its ReLU outputs: `Nb201Network` does (through
 *    `withReluRecorder`); other modules make it throw.
 */
import { Tensor, tidy, noGrad, ones, zeros, full } from "../engine/tensor.js";
import * as F from "../engine/functional.js";
import type { Module } from "../engine/nn/module.js";
import { Conv2d, Linear } from "../engine/nn/layers.js";
import { withReluRecorder } from "../models/nb201.js";
import { slogdet, symmetricEigenvalues } from "./linalg.js";

/** Images [N, C, H, W] (float32) and int64 class labels [N]. */
export interface ProxyBatch {
  x: Tensor;
  y: Tensor;
}

export interface ProxyOptions {
  /** Parameter tensors summed by grad_norm, snip and synflow: "all" (default) or "weights" (rank >= 2: conv/linear weights). */
  params?: "all" | "weights";
  /** jacob_cov: the constant k added to the eigenvalues (default 1e-5, as Mellor et al.). */
  jacobK?: number;
  /** synflow: always use the rescaled computation (for checking it; normally only used when float32 overflows). */
  synflowForceScaled?: boolean;
}

export const PROXY_NAMES = ["grad_norm", "snip", "synflow", "jacob_cov", "naswot", "params", "flops"] as const;
export type ProxyName = (typeof PROXY_NAMES)[number];
export type Proxy = (net: Module, batch: ProxyBatch, opts?: ProxyOptions) => number;

// ---------------------------------------------------------------------------------------------
// keeping the network as it was

/**
 * Runs fn (in a tidy scope) and then puts the network back: every parameter and buffer copied
 * back from a snapshot (bit-identical), gradients cleared, the original train/eval mode.
 */
function preserving<T>(net: Module, fn: () => T): T {
  const wasTraining = net.training;
  const state = [...net.stateDict().values()];
  const params = net.parameters();
  const saved = noGrad(() => state.map((t) => t.clone()));
  for (const p of params) p.zeroGrad();
  try {
    return tidy(fn);
  } finally {
    noGrad(() => state.forEach((t, i) => t.copy(saved[i])));
    for (const t of saved) t.dispose();
    for (const p of params) p.zeroGrad();
    net.train(wasTraining);
  }
}

function selectedParams(net: Module, opts: ProxyOptions = {}): Tensor[] {
  const all = net.parameters();
  return opts.params === "weights" ? all.filter((p) => p.shape.length >= 2) : all;
}

/** Sum over the selected parameters of f(θ, ∂/∂θ) (parameters without a gradient count 0). */
function sumOverParams(params: Tensor[], f: (p: Tensor, g: Tensor) => Tensor): number {
  let total = 0;
  for (const p of params) {
    total += tidy(() => {
      const g = p.grad;
      return g ? f(p, g).cast("float64").item() : 0;
    });
  }
  return total;
}

/** Cross-entropy of the network (training mode) on the batch, back-propagated. */
function lossBackward(net: Module, batch: ProxyBatch): void {
  net.train();
  F.crossEntropy(net.forward(batch.x), batch.y).backward();
}

// ---------------------------------------------------------------------------------------------
// gradient-based proxies

/** grad_norm and snip from one backward pass of the loss. */
function lossGradientScores(net: Module, batch: ProxyBatch, opts: ProxyOptions = {}): { grad_norm: number; snip: number } {
  return preserving(net, () => {
    lossBackward(net, batch);
    const params = selectedParams(net, opts);
    return {
      grad_norm: sumOverParams(params, (_p, g) => g.square().sum().sqrt()),
      snip: sumOverParams(params, (p, g) => p.mul(g).abs().sum()),
    };
  });
}

/** grad_norm: Σ over parameter tensors of ‖∂L/∂θ‖₂, L = cross-entropy on the batch (training mode). */
export const gradNorm: Proxy = (net, batch, opts = {}) => lossGradientScores(net, batch, opts).grad_norm;

/** snip (Lee et al. 2019): Σ over parameters of |θ ⊙ ∂L/∂θ| (connection sensitivity), training mode. */
export const snip: Proxy = (net, batch, opts = {}) => lossGradientScores(net, batch, opts).snip;

/**
 * synflow (Tanaka et al. 2020), data-free: every parameter replaced by its absolute value (in
 * place, restored afterwards), eval mode with batch-norm statistics (0, 1) so each BN is its
 * affine part only (like the BN-free copy of the zero-cost-nas reference code; at initialisation
 * the statistics are (0, 1) anyway), an all-ones input of the batch's shape with batch size 1,
 * R = Σ outputs, score S = Σ θ ⊙ ∂R/∂θ. Only the batch's shape is used.
 *
 * Returned as log10(S): full-size NB201 networks reach S ~ 1e50, beyond float32 (3.4e38). When
 * the direct float32 pass overflows, it is redone with the input scaled by 2^-a and the
 * backward seed by 2^-b (exact power-of-two scalings, chosen from a probe so that activations and
 * gradients both stay near the middle of float32's range). With all parameters non-negative
 * the network is affine in its input, so the measured M(s) = 2^-b (s A + B), where B (the
 * part from bias parameters) is measured separately at s = 0; S = A + B is then assembled in
 * float64. log10(0) = -Infinity (no path from input to output and no biases); +Infinity only
 * if even the scaled pass overflows (S beyond ~1e70).
 */
export const synflow: Proxy = (net, batch, opts = {}) =>
  preserving(net, () => {
    const params = selectedParams(net, opts);
    noGrad(() => {
      for (const p of net.parameters()) p.copy(p.abs());
      for (const [name, t] of net.stateDict()) {
        if (name.endsWith("running_mean")) t.copy(zeros(t.shape, t.dtype));
        else if (name.endsWith("running_var")) t.copy(ones(t.shape, t.dtype));
      }
    });
    net.eval();
    const shape = [1, ...batch.x.shape.slice(1)];
    /** One pass: input value `inputScale` everywhere, backward seed `seed`; {R, M}. */
    const pass = (inputScale: number, seed: number) =>
      tidy(() => {
        for (const p of net.parameters()) p.zeroGrad();
        const out = net.forward(full(shape, inputScale));
        out.backward(full(out.shape, seed));
        const r = out.cast("float64").sum().item();
        return { r, m: sumOverParams(params, (p, g) => p.mul(g).sum()) };
      });
    const direct = pass(1, 1);
    if (!opts.synflowForceScaled && Number.isFinite(direct.r) && Number.isFinite(direct.m)) return Math.log10(direct.m);
    // Probe the overall gain G ~ R(s) / s with a tiny input (forward only).
    let gain = NaN;
    for (const k of [100, 126]) {
      const r = noGrad(() => tidy(() => net.forward(full(shape, 2 ** -k)).cast("float64").sum().item()));
      if (Number.isFinite(r)) {
        gain = Math.max(r, Number.MIN_VALUE) * 2 ** k;
        break;
      }
    }
    if (!Number.isFinite(gain)) return Infinity;
    const half = Math.max(opts.synflowForceScaled ? 16 : 0, Math.ceil(Math.log2(gain) / 2));
    const a = Math.min(half, 126);
    const b = Math.min(half, 126);
    const scaled = pass(2 ** -a, 2 ** -b);
    const bias = pass(0, 2 ** -b);
    if (!Number.isFinite(scaled.m) || !Number.isFinite(bias.m)) return Infinity;
    const s = ((scaled.m - bias.m) * 2 ** a + bias.m) * 2 ** b;
    return Math.log10(s);
  });

// ---------------------------------------------------------------------------------------------
// input-Jacobian and activation-pattern proxies

/**
 * jacob_cov (Mellor et al. 2021, v1 of "NAS without training"): J = ∂(Σ outputs)/∂x for the
 * batch (training mode), one flattened row per example, C = their correlation matrix (N x N),
 * score = -Σ_i [log(λ_i + k) + 1/(λ_i + k)] over the eigenvalues λ of C (k = 1e-5; eigenvalues
 * that rounding made slightly negative count as 0). Higher = less correlated Jacobians.
 * -Infinity when an example's Jacobian is constant (its correlation is undefined: the output
 * does not depend on that input, as for a network whose cells are all `none`).
 */
export const jacobCov: Proxy = (net, batch, opts = {}) =>
  preserving(net, () => {
    net.train();
    const x = batch.x.detach().requiresGrad();
    // Only the input gradient is needed: parameters are taken out of autograd for this pass.
    const params = net.parameters();
    const flags = params.map((p) => p.requiresGradEnabled);
    try {
      for (const p of params) p.requiresGrad(false);
      net.forward(x).sum().backward();
    } finally {
      params.forEach((p, i) => p.requiresGrad(flags[i]));
    }
    const g = x.grad;
    if (!g) return -Infinity;
    const j = g.flatten(1).cast("float64");
    const n = j.shape[0];
    const centred = j.sub(j.mean([1], true));
    const gram = centred.matmul(centred.transpose(0, 1)).data() as Float64Array;
    const d = Array.from({ length: n }, (_, i) => gram[i * n + i]);
    if (d.some((v) => !(v > 0) || !Number.isFinite(v))) return -Infinity;
    const corr = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = i; k < n; k++) {
        const c = i === k ? 1 : gram[i * n + k] / Math.sqrt(d[i] * d[k]);
        corr[i * n + k] = c;
        corr[k * n + i] = c;
      }
    }
    const k = opts.jacobK ?? 1e-5;
    let score = 0;
    for (const l of symmetricEigenvalues(corr, n)) {
      const v = Math.max(l, 0) + k;
      score -= Math.log(v) + 1 / v;
    }
    return score;
  });

/**
 * naswot (Mellor et al. 2021, v2 "NAS without training"): for every ReLU layer, the binary code
 * c (N x units) of which units are active (output > 0) per example; K = Σ over layers of
 * c cᵀ + (1 - c)(1 - c)ᵀ (so K[i][j] = number of units where examples i and j agree);
 * score = log|det K|. Training mode, forward only. -Infinity when K is singular (e.g. two
 * examples with identical codes everywhere, or a network whose ReLUs all see zeros).
 */
export const naswot: Proxy = (net, batch) =>
  preserving(net, () => {
    net.train();
    const n = batch.x.shape[0];
    const acc: { kernel?: Tensor } = {};
    noGrad(() =>
      withReluRecorder(
        (out) => {
          const next = tidy(() => {
            // Counts stay below 2^24 per layer, so the float32 products are exact integers.
            const c = out.flatten(1).gt(0).cast("float32");
            const units = c.shape[1];
            // c cᵀ as a 1x1 convolution (libtorch's convolution path is ~10x faster here than its matmul).
            const codes = c.reshape([n, units, 1, 1]);
            const both = F.conv2d(codes, codes, null).reshape([n, n]);
            const rows = c.sum([1], true); // [n, 1]
            // c cᵀ + (1 - c)(1 - c)ᵀ = 2 c cᵀ - rows_i - rows_j + units
            const k = both.mul(2).sub(rows).sub(rows.transpose(0, 1)).add(units).cast("float64");
            return acc.kernel ? acc.kernel.add(k) : k;
          });
          acc.kernel?.dispose();
          acc.kernel = next;
        },
        () => net.forward(batch.x),
      ),
    );
    if (!acc.kernel) throw new Error("naswot needs a network that reports its ReLU activations (Nb201Network, via withReluRecorder); this one reported none");
    return slogdet(acc.kernel.data() as Float64Array, n).logAbsDet;
  });

// ---------------------------------------------------------------------------------------------
// cost proxies

/** params: trainable parameters, in millions. */
export const paramsM: Proxy = (net) => net.parameterCount() / 1e6;

/**
 * Multiply-accumulates for one input of the given shape ([C, H, W] or [1, C, H, W]), counted by
 * instrumenting the Conv2d and Linear modules during one eval-mode forward pass (their
 * `forward` is wrapped on the prototype for the duration of the call): a convolution costs
 * out_elements x (in_channels / groups x k x k), plus out_elements for a bias; a linear layer
 * out x in, plus out for a bias. Pooling, batch norm, ReLU, additions and convolutions called
 * directly through `F.conv2d` are not counted: NAS-Bench-201's convention (`calc_flops_m_*`).
 */
export function countMacs(net: Module, inputShape: number[]): number {
  const shape = inputShape.length === 3 ? [1, ...inputShape] : [1, ...inputShape.slice(1)];
  let macs = 0;
  const convForward = Conv2d.prototype.forward;
  const linearForward = Linear.prototype.forward;
  Conv2d.prototype.forward = function (this: Conv2d, x: Tensor): Tensor {
    const y = convForward.call(this, x);
    const out = y.size / y.shape[0];
    const [, cinPerGroup, kh, kw] = this.weight.shape;
    macs += out * (cinPerGroup * kh * kw + (this.bias ? 1 : 0));
    return y;
  };
  Linear.prototype.forward = function (this: Linear, x: Tensor): Tensor {
    const y = linearForward.call(this, x);
    const rows = x.size / this.inFeatures;
    macs += rows * this.outFeatures * (this.inFeatures + (this.bias ? 1 : 0));
    return y;
  };
  const wasTraining = net.training;
  try {
    net.eval();
    noGrad(() => tidy(() => void net.forward(zeros(shape))));
  } finally {
    Conv2d.prototype.forward = convForward;
    Linear.prototype.forward = linearForward;
    net.train(wasTraining);
  }
  return macs;
}

/** flops: multiply-accumulates of convolutions and linear layers for one input of the batch's shape, in millions (see countMacs). */
export const flopsM: Proxy = (net, batch) => countMacs(net, batch.x.shape.slice(1)) / 1e6;

// ---------------------------------------------------------------------------------------------

export const PROXIES: Record<ProxyName, Proxy> = {
  grad_norm: gradNorm,
  snip,
  synflow,
  jacob_cov: jacobCov,
  naswot,
  params: paramsM,
  flops: flopsM,
};

/** Several proxies of one network on one batch: { name: score }. */
export function zeroCostScores(net: Module, batch: ProxyBatch, which: readonly ProxyName[] = PROXY_NAMES, opts: ProxyOptions = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of which) if (!PROXIES[name]) throw new Error(`unknown zero-cost proxy "${name}"; known: ${PROXY_NAMES.join(", ")}`);
  // grad_norm and snip share one backward pass.
  const shared = which.includes("grad_norm") && which.includes("snip") ? lossGradientScores(net, batch, opts) : undefined;
  for (const name of which) out[name] = shared && (name === "grad_norm" || name === "snip") ? shared[name] : PROXIES[name](net, batch, opts);
  return out;
}
