import type { Backend, BackendRun } from "../backend.js";
import { TrialTimeout } from "../backend.js";
import type { EvalResult, Evaluator } from "../evaluator.js";

/** A promise that rejects with the signal's reason once it fires, whatever the promise does. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Runs trials with the evaluator in this process, in real time, with a timeout per run. */
export class LocalBackend implements Backend {
  readonly name = "local";
  readonly halted = false;

  constructor(private readonly evaluator: Evaluator) {}

  async run(r: BackendRun): Promise<EvalResult> {
    // One turn of the event loop before each run: timers (a stop after so many seconds, other
    // trials' timeouts), signals (Ctrl-C) and I/O get their turn even when evaluations are
    // synchronous work chained by promises alone, which would otherwise starve them.
    await new Promise((resolve) => setImmediate(resolve));
    const abort = new AbortController();
    const forward = () => abort.abort(r.signal.reason);
    if (r.signal.aborted) forward();
    else r.signal.addEventListener("abort", forward, { once: true });
    const s = r.timeoutSeconds;
    const timer = s ? setTimeout(() => abort.abort(new TrialTimeout(`trial timed out after ${s} s`)), s * 1000) : undefined;
    try {
      return await raceAbort(this.evaluator.run(r.spec, { signal: abort.signal, report: r.report }), abort.signal);
    } finally {
      if (timer) clearTimeout(timer);
      r.signal.removeEventListener("abort", forward);
    }
  }

  async waitAny(inFlight: ReadonlySet<Promise<unknown>>): Promise<void> {
    await Promise.race(inFlight);
  }

  now(): number {
    return Date.now();
  }
}
