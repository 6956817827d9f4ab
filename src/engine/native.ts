import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EngineError } from "./errors.js";

/** The compiled libtorch binding's raw interface (see native/archsearch_torch.cc). */
export interface NativeTensor {
  dispose(): void;
  isDisposed(): boolean;
}
export interface NativeOptimizer {
  step(): void;
  zeroGrad(): void;
  setLr(lr: number): void;
  dispose(): void;
}
/* eslint-disable @typescript-eslint/no-explicit-any */
export type NativeBinding = Record<string, (...args: any[]) => any> & {
  NativeTensor: new () => NativeTensor;
  NativeOptimizer: new (kind: string, params: NativeTensor[], opts: Record<string, number | boolean>) => NativeOptimizer;
};

function addonPath(): string | undefined {
  const override = process.env.ARCHSEARCH_ENGINE_ADDON;
  if (override) return existsSync(override) ? override : undefined;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, "src", "engine", "native", "build", "Release", "archsearch_torch.node");
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

let binding: NativeBinding | undefined;

/** The binding with every call observed, while `observeNative` runs (ONNX tracing). */
let observed: NativeBinding | undefined;

/** Loads the libtorch binding, or throws an error that says how to get it. */
export function native(): NativeBinding {
  if (observed) return observed;
  if (binding) return binding;
  const path = addonPath();
  if (!path) {
    throw new EngineError(
      "The archsearch tensor engine is not built: it needs libtorch. Install it (Debian/Ubuntu: apt-get install libtorch-dev, " +
        "or set LIBTORCH to an unpacked libtorch) and run `npm run build:native`. Simulated search and command trials work without it.",
    );
  }
  try {
    binding = createRequire(import.meta.url)(path) as NativeBinding;
  } catch (e) {
    throw new EngineError(`The archsearch tensor engine (${path}) failed to load: ${(e as Error).message}. Rebuild it with \`npm run build:native\`.`);
  }
  return binding;
}

/** True when the engine can be loaded (for code that can do without it). */
export function engineAvailable(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}

/** Called after each binding call made inside `observeNative`, with the call's name, arguments and result. */
export type NativeObserver = (fn: string, args: unknown[], result: unknown, raw: NativeBinding) => void;

/**
 * Runs fn with every call into the binding (every tensor op) reported to `observe` after it
 * ran; the ONNX exporter traces networks this way. Nothing changes for calls outside fn.
 */
export function observeNative<T>(observe: NativeObserver, fn: () => T): T {
  const raw = binding ?? native();
  const wrapped = {} as Record<string, unknown>;
  for (const [k, v] of Object.entries(raw)) {
    wrapped[k] =
      typeof v === "function" && !k.startsWith("Native")
        ? (...args: unknown[]) => {
            const out = (v as (...a: unknown[]) => unknown)(...args);
            observe(k, args, out, raw);
            return out;
          }
        : v;
  }
  const prev = observed;
  observed = wrapped as NativeBinding;
  try {
    return fn();
  } finally {
    observed = prev;
  }
}
