import type { Backend, BackendRun } from "../backend.js";
import type { EvalResult, Evaluator, SimulatedStep } from "../evaluator.js";
import { UserError } from "../errors.js";
import { Heap } from "../heap.js";

interface SimRun {
  run: BackendRun;
  steps: SimulatedStep[];
  /** Simulated seconds when it started. */
  start: number;
  /** The step delivered next. */
  index: number;
  resolve(r: EvalResult): void;
  reject(e: unknown): void;
}

interface SimEvent {
  time: number;
  seq: number;
  sim: SimRun;
}

/**
 * Runs trials in simulated time (syne-tune's simulator backend): a benchmark evaluator's
 * `simulate` gives each run's steps with their simulated times, and every report is delivered
 * at its moment, earliest first (events at the same moment in the order they were made). The
 * clock moves only while the loop waits and nothing else is left to do, so scheduler decisions,
 * the order results arrive in and the time to a result are those a real parallel run would see.
 */
export class SimulatedBackend implements Backend {
  readonly name = "simulated";
  private time = 0;
  private seq = 0;
  private stopped = false;
  private queue = SimulatedBackend.emptyQueue();
  /** Sum of the runs' simulated durations: the compute a real run would have paid. */
  busySeconds = 0;

  constructor(
    private readonly evaluator: Evaluator,
    private readonly opts: { maxSeconds?: number } = {},
  ) {
    if (!evaluator.simulate) throw new UserError(`evaluator "${evaluator.name}" cannot be simulated (it has no simulate method); use a benchmark evaluator such as nb201`);
  }

  private static emptyQueue(): Heap<SimEvent> {
    return new Heap<SimEvent>((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));
  }

  get halted(): boolean {
    return this.stopped;
  }

  /** Simulated seconds since the search started. */
  get seconds(): number {
    return this.time;
  }

  now(): number {
    return this.time * 1000;
  }

  /** Ends the simulation now: nothing more is delivered and the loop leaves. */
  halt(): void {
    this.stopped = true;
    this.queue = SimulatedBackend.emptyQueue();
  }

  run(run: BackendRun): Promise<EvalResult> {
    const steps = this.evaluator.simulate!(run.spec);
    if (steps.length === 0) return Promise.reject(new Error(`evaluator "${this.evaluator.name}" simulated trial ${run.spec.number} with no steps`));
    return new Promise<EvalResult>((resolve, reject) => this.schedule({ run, steps, start: this.time, index: 0, resolve, reject }));
  }

  private schedule(sim: SimRun): void {
    this.queue.push({ time: sim.start + sim.steps[sim.index].elapsedSeconds, seq: this.seq++, sim });
  }

  async waitAny(inFlight: ReadonlySet<Promise<unknown>>): Promise<void> {
    let settled = false;
    const mark = () => (settled = true);
    Promise.race(inFlight).then(mark, mark);
    for (;;) {
      // Let every task finish what it can without the clock (store writes, tells, new runs
      // reaching run()): only then is the earliest event in the queue the next one in time.
      await new Promise<void>((r) => setImmediate(r));
      if (settled || this.stopped) return;
      const e = this.queue.pop();
      if (!e) throw new Error("simulated backend: the loop waits for trials that no simulated run will end");
      if (this.opts.maxSeconds !== undefined && e.time > this.opts.maxSeconds) {
        this.time = this.opts.maxSeconds;
        this.halt();
        return;
      }
      this.time = e.time;
      this.deliver(e.sim);
    }
  }

  private deliver(sim: SimRun): void {
    if (sim.run.signal.aborted) {
      this.busySeconds += this.time - sim.start;
      sim.reject(sim.run.signal.reason);
      return;
    }
    const step = sim.steps[sim.index];
    let decision;
    try {
      decision = sim.run.report(step.step, step.metrics);
    } catch (e) {
      sim.reject(e);
      return;
    }
    if (decision === "continue" && sim.index < sim.steps.length - 1) {
      sim.index++;
      this.schedule(sim);
      return;
    }
    this.busySeconds += this.time - sim.start;
    sim.resolve({ metrics: step.metrics, hidden: step.hidden ?? {}, costSeconds: step.elapsedSeconds });
  }
}
