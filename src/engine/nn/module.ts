import { Tensor } from "../tensor.js";

/**
 * A network part with parameters (trained), buffers (state such as batch-norm statistics) and
 * child modules, named like PyTorch's (`stages.0.conv.weight`) so state dicts read naturally.
 */
export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  protected parameter(name: string, t: Tensor): Tensor {
    t.keep().requiresGrad(true);
    this.params.set(name, t);
    return t;
  }
  protected buffer(name: string, t: Tensor): Tensor {
    t.keep();
    this.buffers.set(name, t);
    return t;
  }
  protected module<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.params].map(([k, t]) => [prefix + k, t]);
    for (const [k, c] of this.children) out.push(...c.namedParameters(`${prefix}${k}.`));
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  /** Parameters and buffers by name: what a checkpoint holds. */
  stateDict(prefix = ""): Map<string, Tensor> {
    const out = new Map<string, Tensor>([...this.params, ...this.buffers].map(([k, t]) => [prefix + k, t]));
    for (const [k, c] of this.children) for (const [n, t] of c.stateDict(`${prefix}${k}.`)) out.set(n, t);
    return out;
  }
  /** This module and every module below it, depth first. */
  modules(): Module[] {
    return [this, ...[...this.children.values()].flatMap((c) => c.modules())];
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.parameters().reduce((a, t) => a + t.size, 0);
  }

  train(on = true): this {
    this.training = on;
    for (const c of this.children.values()) c.train(on);
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer now (instead of waiting for the garbage collector). */
  dispose(): void {
    for (const t of this.stateDict().values()) t.dispose();
  }
}
