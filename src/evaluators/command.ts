import { fidelityOption } from "./fidelity-option.js";
import { z } from "zod";
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync, rmSync, type WriteStream } from "node:fs";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { CappedLines } from "./capped-lines.js";
import type { Component } from "../core/component.js";
import type { EvalContext, EvalResult, Evaluator, FidelitySpec, Metrics, TrialSpec } from "../core/evaluator.js";
import type { JsonObject } from "../core/json.js";
import { UserError } from "../core/errors.js";
import type { EvaluatorContext } from "./context.js";
import { exportPytorch } from "../export/pytorch.js";
import { ConfigError } from "../core/errors.js";
import { existsSync } from "node:fs";
import { programProblem } from "./program-check.js";

/** The line prefix by which a trial program reports metrics on stdout. */
export const METRIC_PREFIX = "archsearch-metric:";
/** Bytes of one stdout line kept for parsing (the log file gets everything). */
export const MAX_LINE_BYTES = 1 << 20;

/** Copies a program's output into its log file, pausing the program's pipe while the file catches up (memory stays bounded). */
function toLog(from: Readable, log: WriteStream, onChunk: (chunk: Buffer) => void): void {
  from.on("data", (chunk: Buffer) => {
    onChunk(chunk);
    if (!log.write(chunk)) {
      from.pause();
      log.once("drain", () => from.resume());
    }
  });
}

const options = z.strictObject({
  command: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .describe('the program to run per trial: an argument list (["python3", "train.py"]), or one string run by /bin/sh'),
  cwd: z.string().optional().describe("working folder, relative to the config file (default: the config's folder)"),
  env: z.record(z.string(), z.string()).default({}).describe("extra environment variables for the program"),
  metrics: z.array(z.string().min(1)).optional().describe("metric names the program reports (lets the config check objectives against them)"),
  log_dir: z
    .string()
    .default("archsearch-logs")
    .describe("folder (relative to the config file) for each trial's stdout and stderr: <log_dir>/<experiment>/trial-<n>.out / .err"),
  kill_grace_s: z.number().min(0).default(5).describe("after SIGTERM (trial stopped, timed out or the run ended), seconds before SIGKILL"),
  stderr_tail: z.number().int().min(100).default(2000).describe("characters of stderr kept in the trial's error when the program fails"),
  export_model: z
    .strictObject({
      format: z.literal("pytorch"),
      channels: z.number().int().min(1).default(16),
      cells_per_stage: z.number().int().min(1).default(5),
      classes: z.number().int().min(1).default(10),
      input_channels: z.number().int().min(1).default(3),
    })
    .optional()
    .describe("also write each trial's network as a standalone PyTorch module, named by $ARCHSEARCH_MODEL_FILE (nb201 architectures)"),
  fidelity: fidelityOption.describe("the resource the program understands (e.g. epochs 1..50), so schedulers can grant part of it"),
});
export type CommandEvaluatorOptions = z.infer<typeof options>;

function parseMetricLine(line: string, where: string): { step?: number; metrics: Metrics; hidden?: Metrics; costSeconds?: number } {
  const text = line.slice(line.indexOf(METRIC_PREFIX) + METRIC_PREFIX.length).trim();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${where}: metric line is not JSON: ${text.slice(0, 200)}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${where}: metric line must be a JSON object, got ${text.slice(0, 200)}`);
  const metrics: Metrics = {};
  let step: number | undefined;
  let hidden: Metrics | undefined;
  let costSeconds: number | undefined;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === "step") {
      if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${where}: "step" must be a number, got ${JSON.stringify(v)}`);
      step = v;
    } else if (k === "hidden") {
      hidden = numbers(v, `${where}: "hidden"`);
    } else if (k === "cost_seconds") {
      if (typeof v !== "number") throw new Error(`${where}: "cost_seconds" must be a number`);
      costSeconds = v;
    } else if (typeof v === "number") {
      metrics[k] = v;
    } else if (v === null) {
      metrics[k] = NaN; // JSON has no NaN: a program that diverged may print null
    } else {
      throw new Error(`${where}: metric "${k}" must be a number, got ${JSON.stringify(v)}`);
    }
  }
  return { step, metrics, hidden, costSeconds };
}

function numbers(v: unknown, where: string): Metrics {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error(`${where} must be an object of numbers`);
  const out: Metrics = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== "number") throw new Error(`${where}.${k} must be a number, got ${JSON.stringify(x)}`);
    out[k] = x;
  }
  return out;
}

/**
 * Runs an external program per trial, in any language. The trial (architecture, hyperparameters,
 * fidelity, trial number, seed) is given as JSON on stdin and in a file named by
 * ARCHSEARCH_TRIAL_FILE. The program prints `archsearch-metric: {json}` lines: with a "step" key
 * they are intermediate results (answered by the scheduler: on stop or pause the program gets
 * SIGTERM and the trial keeps what it reported), without one they are final metrics (optional
 * "hidden" object for reporting-only metrics, "cost_seconds"). With no final line, the last
 * intermediate metrics are final. A non-zero exit fails the trial with the tail of its stderr.
 */
export class CommandEvaluator implements Evaluator {
  readonly name = "command";
  readonly metrics?: readonly string[];
  readonly fidelity?: FidelitySpec;

  constructor(private readonly opts: CommandEvaluatorOptions, private readonly configDir: string) {
    this.metrics = opts.metrics;
    this.fidelity = opts.fidelity;
  }

  /** Files holding a trial's stdout and stderr. */
  logFiles(experiment: string, number: number): { out: string; err: string } {
    const dir = join(resolve(this.configDir, this.opts.log_dir), experiment.replace(/[^\w.-]+/g, "_"));
    return { out: join(dir, `trial-${number}.out`), err: join(dir, `trial-${number}.err`) };
  }

  async run(spec: TrialSpec, ctx: EvalContext): Promise<EvalResult> {
    const o = this.opts;
    const logs = this.logFiles(spec.experiment, spec.number);
    mkdirSync(join(logs.out, ".."), { recursive: true });
    const input: JsonObject = {
      experiment: spec.experiment,
      trial: spec.number,
      point: spec.point,
      arch: spec.arch,
      hp: spec.hp,
      fidelity: spec.fidelity,
      seed: spec.seed,
    };
    // A continued trial (promotion schedulers): where it stopped, and where its checkpoint belongs.
    if (spec.resumeFrom) input.resume_from = spec.resumeFrom;
    if (spec.checkpointDir) input.checkpoint_dir = spec.checkpointDir;
    const inputText = JSON.stringify(input);
    const trialFile = join(logs.out, "..", `trial-${spec.number}.json`);
    writeFileSync(trialFile, inputText);
    let modelFile: string | undefined;
    if (o.export_model) {
      modelFile = join(logs.out, "..", `trial-${spec.number}_model.py`);
      const m = o.export_model;
      writeFileSync(modelFile, exportPytorch(spec.arch, { channels: m.channels, cellsPerStage: m.cells_per_stage, classes: m.classes, inputChannels: m.input_channels }));
    }
    const cwd = o.cwd ? resolve(this.configDir, o.cwd) : this.configDir;
    const env = { ...process.env, ...o.env, ARCHSEARCH_TRIAL_FILE: trialFile, ARCHSEARCH_TRIAL: String(spec.number), ARCHSEARCH_EXPERIMENT: spec.experiment, ...(modelFile ? { ARCHSEARCH_MODEL_FILE: modelFile } : {}) };
    const [file, args] = typeof o.command === "string" ? ["/bin/sh", ["-c", o.command]] : [o.command[0], o.command.slice(1)];
    const shown = typeof o.command === "string" ? o.command : o.command.join(" ");

    const child = spawn(file, args, { cwd, env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    const outLog: WriteStream = createWriteStream(logs.out);
    const errLog: WriteStream = createWriteStream(logs.err);
    let stderrTail = "";
    toLog(child.stderr, errLog, (chunk) => {
      stderrTail = (stderrTail + chunk.toString("utf8")).slice(-o.stderr_tail);
    });
    child.stdin.on("error", () => undefined); // a program that never reads stdin closes it early
    child.stdin.end(inputText);

    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    // The program runs in its own process group so that a shell's children die with it.
    const terminate = () => {
      if (stopping || child.exitCode !== null) return;
      stopping = true;
      signalGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), o.kill_grace_s * 1000);
    };
    const onAbort = () => terminate();
    ctx.signal.addEventListener("abort", onAbort, { once: true });

    let final: Metrics | undefined;
    let hidden: Metrics | undefined;
    let costSeconds: number | undefined;
    let last: Metrics | undefined;
    let protocolError: Error | undefined;
    const lines = new CappedLines(MAX_LINE_BYTES, (line, truncated) => {
      if (!line.includes(METRIC_PREFIX) || protocolError) return;
      try {
        if (truncated) throw new Error(`trial ${spec.number} (${shown}): metric line longer than ${MAX_LINE_BYTES} bytes`);
        const m = parseMetricLine(line, `trial ${spec.number} (${shown})`);
        if (m.hidden) hidden = { ...hidden, ...m.hidden };
        if (m.costSeconds !== undefined) costSeconds = m.costSeconds;
        if (m.step !== undefined) {
          last = m.metrics;
          if (!stopping && ctx.report(m.step, m.metrics) !== "continue") terminate();
        } else {
          final = { ...final, ...m.metrics };
        }
      } catch (e) {
        protocolError = e as Error;
        terminate();
      }
    });
    toLog(child.stdout, outLog, (chunk) => lines.push(chunk));
    child.stdout.on("end", () => lines.end());

    const started = Date.now();
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolveExit) => {
      child.on("error", (e) => resolveExit({ code: null, signal: null, spawnError: e }));
      child.on("close", (code, signal) => resolveExit({ code, signal }));
    });
    ctx.signal.removeEventListener("abort", onAbort);
    if (killTimer) clearTimeout(killTimer);
    await Promise.all([new Promise((r) => outLog.end(r)), new Promise((r) => errLog.end(r))]);
    rmSync(trialFile, { force: true });
    if (modelFile) rmSync(modelFile, { force: true });

    if (exit.spawnError) {
      throw new UserError(`cannot start trial command "${shown}" in ${cwd}: ${exit.spawnError.message}`);
    }
    if (protocolError) throw protocolError;
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error(String(ctx.signal.reason));
    const wall = (Date.now() - started) / 1000;
    if (!stopping && exit.code !== 0) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      const tail = stderrTail.trim();
      throw new Error(`trial command "${shown}" ${how}${tail ? `; stderr ends with:\n${tail}` : " (no stderr)"}\n(full logs: ${logs.err})`);
    }
    const metrics = final ?? last;
    if (!metrics) {
      throw new Error(`trial command "${shown}" reported no metrics: print lines "${METRIC_PREFIX} {\\"valid_acc\\": 0.9}" on stdout (full logs: ${logs.out})`);
    }
    return { metrics: { ...last, ...metrics }, hidden, costSeconds: costSeconds ?? wall };
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export const commandEvaluator: Component<CommandEvaluatorOptions, EvaluatorContext, Evaluator> = {
  name: "command",
  description: "Run an external program per trial (any language): the trial as JSON on stdin and in $ARCHSEARCH_TRIAL_FILE; metrics printed as `archsearch-metric: {json}` lines.",
  options,
  create: (opts, ctx) => {
    // A program that cannot start is a config mistake: said now, not as N failed trials.
    const cwd = opts.cwd ? resolve(ctx.configDir, opts.cwd) : ctx.configDir;
    if (!existsSync(cwd)) throw new ConfigError(undefined, [{ path: "evaluator.cwd", message: `folder ${cwd} does not exist` }]);
    const viaShell = typeof opts.command === "string";
    const first = viaShell ? (opts.command as string).trim().split(/\s+/)[0] : (opts.command as string[])[0];
    const problem = programProblem(first, cwd, viaShell);
    if (problem) throw new ConfigError(undefined, [{ path: "evaluator.command", message: problem }]);
    return new CommandEvaluator(opts, ctx.configDir);
  },
};
