import type { Evaluator, Metrics, SimulatedStep, TrialSpec } from "../core/evaluator.js";
import type { Json } from "../core/json.js";
import type { Objectives } from "../core/objectives.js";
import { deriveSeed } from "../core/rng.js";
import type { Fidelity, NextJob, Scheduler } from "../core/scheduler.js";
import { promotes } from "../core/scheduler.js";
import type { SearchSpace } from "../core/space.js";
import { pointHash, splitPoint } from "../core/space.js";
import type { Strategy } from "../core/strategy.js";
import { UserError } from "../core/errors.js";
import { Heap } from "../core/heap.js";

/** A trial's run ending in simulated time (a pause at a rung, a stop, the end of training). */
export interface SimulatedResult {
  /** Simulated seconds since the search started, when the result is known. */
  time: number;
  number: number;
  point: Json;
  status: "finished" | "paused" | "pruned" | "failed";
  fidelity: Fidelity;
  metrics: Metrics;
  hidden: Metrics;
}

export interface SimulationOptions {
  space: SearchSpace;
  strategy: Strategy;
  scheduler: Scheduler;
  /** Must implement `simulate` (a benchmark table). */
  evaluator: Evaluator;
  objectives: Objectives;
  seed: number;
  /** Simulated workers running trials at the same time. */
  workers: number;
  /** New trials the strategy may start (default unlimited: stop by time or `stopWhen`). */
  maxTrials?: number;
  /** Stop once the simulated clock passes this many seconds. */
  maxSeconds?: number;
  /** Called on every result; return true to end the simulation there. */
  onResult?: (r: SimulatedResult) => boolean | void;
}

export interface SimulationSummary {
  /** Simulated seconds at the end. */
  time: number;
  trials: number;
  results: number;
  /** Sum of the workers' busy time: the compute a real run would have paid. */
  busySeconds: number;
}

interface Run {
  number: number;
  point: Json;
  spec: TrialSpec;
  steps: SimulatedStep[];
  start: number;
  index: number;
}

interface PendingEvent {
  time: number;
  seq: number;
  run: Run;
}

/**
 * Runs a strategy and a scheduler against a benchmark evaluator in simulated time with N
 * workers (syne-tune's simulator backend): each intermediate report is delivered at the moment
 * the real training would have produced it, so a scheduler's decisions, the order results arrive
 * in and the time to a result are what a real parallel run would see, at the cost of a table
 * lookup. The same Strategy and Scheduler objects as the experiment loop are used.
 */
export async function runSimulated(o: SimulationOptions): Promise<SimulationSummary> {
  const ev = o.evaluator;
  if (!ev.simulate) throw new UserError(`evaluator "${ev.name}" cannot be simulated (it has no simulate method); use a benchmark evaluator such as nb201`);
  if (!(o.workers >= 1)) throw new UserError(`simulated workers must be >= 1, got ${o.workers}`);
  const sched = o.scheduler;
  const promoting = promotes(sched);
  // Earliest first; events at the same moment keep their creation order.
  const queue = new Heap<PendingEvent>((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));
  const running = new Map<number, Run>();
  const paused = new Map<number, SimulatedResult>();
  const seen = new Set<string>();
  let time = 0;
  let seq = 0;
  let created = 0;
  let results = 0;
  let busy = 0;
  let exhausted = false;
  let stopped = false;

  const emit = (r: SimulatedResult) => {
    results++;
    if (o.onResult?.(r) === true) stopped = true;
  };

  const startRun = (number: number, point: Json, resumed: boolean) => {
    const fidelity = sched.onStart({ number });
    const { arch, hp } = splitPoint(o.space, point);
    const spec: TrialSpec = { experiment: "simulation", number, point, arch, hp, fidelity, seed: deriveSeed(o.seed, "trial", number) };
    const from = resumed ? sched.resumeFrom?.(number) : undefined;
    if (from) spec.resumeFrom = from;
    const steps = ev.simulate!(spec);
    const run: Run = { number, point, spec, steps, start: time, index: 0 };
    running.set(number, run);
    queue.push({ time: time + steps[0].elapsedSeconds, seq: seq++, run });
  };

  const fill = async () => {
    while (running.size < o.workers && !stopped) {
      const canStartNew = !exhausted && (o.maxTrials === undefined || created < o.maxTrials);
      const job: NextJob = promoting ? sched.next!({ canStartNew }) : canStartNew ? { kind: "new" } : { kind: "wait" };
      if (job.kind === "wait") return;
      if (job.kind === "stop" || job.kind === "resume") {
        const p = paused.get(job.trial);
        if (!p) throw new Error(`scheduler "${sched.name}" asked to ${job.kind} trial ${job.trial}, which is not paused`);
        paused.delete(job.trial);
        if (job.kind === "resume") startRun(job.trial, p.point, true);
        else {
          o.strategy.tell({ number: p.number, point: p.point, status: "pruned", metrics: p.metrics, score: -Infinity, fidelity: p.fidelity });
          emit({ ...p, time, status: "pruned" });
        }
        continue;
      }
      const pending = [...running.values()].map((r) => r.point);
      const [point] = await o.strategy.ask(1, { pending, seen: (p) => seen.has(pointHash(o.space, p)) });
      if (point === undefined) {
        exhausted = true;
        if (!promoting) return;
        continue;
      }
      const number = created++;
      seen.add(pointHash(o.space, point));
      startRun(number, point, false);
    }
  };

  await fill();
  while (!stopped) {
    const e = queue.pop();
    if (!e) break;
    if (o.maxSeconds !== undefined && e.time > o.maxSeconds) {
      time = o.maxSeconds;
      break;
    }
    time = e.time;
    const run = e.run;
    const step = run.steps[run.index];
    const decision = sched.onReport({ number: run.number }, step.step, step.metrics);
    if (decision === "continue" && run.index < run.steps.length - 1) {
      run.index++;
      queue.push({ time: run.start + run.steps[run.index].elapsedSeconds, seq: seq++, run });
      continue;
    }
    running.delete(run.number);
    busy += time - run.start;
    const status = decision === "stop" ? "pruned" : decision === "pause" ? "paused" : "finished";
    const resource = ev.fidelity?.resource ?? "step";
    const r: SimulatedResult = { time, number: run.number, point: run.point, status, fidelity: { [resource]: step.step }, metrics: step.metrics, hidden: step.hidden ?? {} };
    sched.onEnd?.({ number: run.number, status, metrics: step.metrics });
    if (status === "paused") {
      paused.set(run.number, r);
      o.strategy.tellPartial?.({ number: r.number, point: r.point, metrics: r.metrics, score: o.objectives.score(r.metrics), fidelity: r.fidelity });
    } else {
      const score = status === "finished" ? o.objectives.score(r.metrics) : -Infinity;
      o.strategy.tell({ number: r.number, point: r.point, status, metrics: r.metrics, score, fidelity: r.fidelity });
    }
    emit(r);
    await fill();
  }
  return { time, trials: created, results, busySeconds: busy };
}
