import type { EvalResult, Metrics, TrialSpec } from "./evaluator.js";
import type { Decision } from "./scheduler.js";

/** One run of a trial as the loop hands it to a backend. */
export interface BackendRun {
  spec: TrialSpec;
  /** Called for every intermediate result, at the moment it is known (real or simulated); answers go on / pause / stop. */
  report(step: number, metrics: Metrics): Decision;
  /** Fires when the loop gives up on the run (reclaimed from this worker, the experiment stopping). */
  signal: AbortSignal;
  /** Wall-clock limit of the run in seconds (in the backend's time); past it the run fails with a timeout. */
  timeoutSeconds?: number;
}

/**
 * Where trials run (syne-tune's backend): start a run at a fidelity, deliver its reports, end
 * it. The loop is the same for every backend; only time differs. The local backend runs the
 * evaluator in this process in real time; the simulated one replays a benchmark's runs in
 * simulated time, each report at the moment real training would have produced it.
 */
export interface Backend {
  readonly name: string;
  /** Runs one trial; resolves with the evaluator's result, rejects when it fails, times out or is aborted. */
  run(run: BackendRun): Promise<EvalResult>;
  /**
   * Waits until one of the loop's tasks in flight has settled. A real-time backend just races
   * them; a simulated one advances its clock event by event until one has.
   */
  waitAny(inFlight: ReadonlySet<Promise<unknown>>): Promise<void>;
  /** The backend's clock (ms): real time, or the simulated clock. */
  now(): number;
  /** True once the backend stopped the search (a simulated time limit reached): the loop leaves at once, abandoning what runs. */
  readonly halted: boolean;
}

/** A run that ran past its time limit. */
export class TrialTimeout extends Error {}
