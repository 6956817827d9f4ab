import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { tmpdir } from "node:os";
import YAML, { LineCounter } from "yaml";
import type { JsonObject } from "../core/json.js";
import { hashJson } from "../core/json.js";
import { ConfigError, UserError } from "../core/errors.js";
import type { Evaluator } from "../core/evaluator.js";
import { Objectives } from "../core/objectives.js";
import type { Scheduler } from "../core/scheduler.js";
import { capabilitiesOf, splitPoint, supports, type SearchSpace } from "../core/space.js";
import type { Store } from "../core/store.js";
import type { Strategy } from "../core/strategy.js";
import { Experiment, type ExperimentEvent, type WarmStart } from "../core/experiment.js";
import type { Json } from "../core/json.js";
import { registry, type ComponentKind } from "../registry.js";
import { hyperparameterSpace, type Param } from "../spaces/dsl.js";
import { JointSpace } from "../spaces/joint.js";
import { configSchema, paramSchema, section, RUN_ONLY_FIELDS, type ExperimentConfig, type Section } from "./schema.js";
import { check, suggest, type Problem } from "./validate.js";
import { z } from "zod";
import { defaultArtifactDir } from "../core/artifacts.js";
import { openStore } from "../stores/open.js";
import { withoutPassword } from "../stores/postgres/index.js";

/** The parts an experiment is made of, built and cross-checked from a config. */
export interface ExperimentParts {
  config: ExperimentConfig;
  space: SearchSpace;
  strategy: Strategy;
  scheduler: Scheduler;
  evaluator: Evaluator;
  objectives: Objectives;
  /** Validated warm-start points (list and file) and the earlier experiments to take the best of. */
  warmStart?: WarmStart;
}

const KIND_WORD: Record<ComponentKind, string> = { spaces: "space", strategies: "strategy", schedulers: "scheduler", evaluators: "evaluator" };

/** Looks up a section's component and validates its options; problems are collected, not thrown. */
function component(kind: ComponentKind, key: string, sec: Section, problems: Problem[], ignore: string[] = []) {
  const table = registry[kind] as Record<string, { options: z.ZodType; create: (o: any, c: any) => any; requires?: readonly string[] }>;
  const c = table[sec.name];
  if (!c) {
    const hint = suggest(sec.name, Object.keys(table));
    problems.push({
      path: `${key}.name`,
      message: `unknown ${KIND_WORD[kind]} "${sec.name}"${hint ? `; did you mean "${hint}"?` : ""} (known: ${Object.keys(table).join(", ")})`,
    });
    return undefined;
  }
  const { name: _n, ...rest } = sec;
  for (const k of ignore) delete (rest as Record<string, unknown>)[k];
  const r = check(c.options, rest, [key]);
  problems.push(...r.problems);
  return r.problems.length ? undefined : { component: c, options: r.value };
}

function attempt<T>(problems: Problem[], path: string, make: () => T): T | undefined {
  try {
    return make();
  } catch (e) {
    if (e instanceof ConfigError) problems.push(...e.problems);
    else problems.push({ path, message: (e as Error).message });
    return undefined;
  }
}

/**
 * Validates a raw config (parsed YAML or JSON) and builds its parts. Every problem is reported
 * at once, each with the path of the bad field; `file` names the config in the error.
 */
export function buildParts(raw: unknown, opts: { file?: string; configDir?: string } = {}): ExperimentParts {
  const top = check(configSchema, raw);
  if (!top.value) {
    // Still check the component sections that parse, so one run reports every problem.
    const problems = [...top.problems];
    const obj = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
    const sections: [ComponentKind, string, string[]][] = [["spaces", "space", ["hyperparameters"]], ["strategies", "strategy", []], ["schedulers", "scheduler", []], ["evaluators", "evaluator", []]];
    for (const [kind, key, ignore] of sections) {
      const sec = section.safeParse(obj[key]);
      if (sec.success) component(kind, key, sec.data, problems, ignore);
    }
    throw new ConfigError(opts.file, problems);
  }
  const config = top.value;
  const problems: Problem[] = [];

  const spaceSec = component("spaces", "space", config.space, problems, ["hyperparameters"]);
  let evaluatorRef: Evaluator | undefined;
  let space = spaceSec && attempt(problems, "space", () => spaceSec.component.create(spaceSec.options, {}) as SearchSpace);
  const hpRaw = (config.space as Record<string, unknown>).hyperparameters;
  if (space && hpRaw !== undefined) {
    const hp = check(z.array(paramSchema).min(1), hpRaw, ["space", "hyperparameters"]);
    problems.push(...hp.problems);
    if (hp.value) {
      const hpSpace = attempt(problems, "space.hyperparameters", () => hyperparameterSpace(hp.value as Param[]));
      space = hpSpace && new JointSpace(space, hpSpace);
    }
  }

  const objectives = new Objectives(config.objectives, config.constraints);
  const seed = config.seed;
  const stratSec = component("strategies", "strategy", config.strategy, problems);
  let strategy: Strategy | undefined;
  if (space && stratSec) {
    const needs = (stratSec.component.requires ?? []) as readonly Parameters<typeof supports>[1][];
    const missing = needs.filter((c) => !supports(space!, c));
    if (missing.length) {
      problems.push({
        path: "strategy.name",
        message: `strategy "${config.strategy.name}" needs the space to support ${missing.join(", ")}; space "${space.name}" supports only ${capabilitiesOf(space).join(", ")}`,
      });
    } else {
      // The evaluator is built below; cheap metrics (table lookups) reach the strategy through it once it exists.
      const sp = space;
      const cheapMetrics = (point: Json) => evaluatorRef?.cheapMetrics?.(splitPoint(sp, point));
      strategy = attempt(problems, "strategy", () => stratSec.component.create(stratSec.options, { space: sp, objectives, seed, cheapMetrics, configDir: opts.configDir }) as Strategy);
    }
  }

  const evalSec = component("evaluators", "evaluator", config.evaluator, problems);
  const evaluator = evalSec && attempt(problems, "evaluator", () => evalSec.component.create(evalSec.options, { configDir: opts.configDir ?? process.cwd(), seed }) as Evaluator);
  evaluatorRef = evaluator;
  if (evaluator?.metrics) {
    const known = evaluator.metrics;
    const check = (path: string, metric: string) => {
      if (!known.includes(metric)) {
        const hint = suggest(metric, known);
        problems.push({ path, message: `evaluator "${evaluator.name}" has no metric "${metric}"${hint ? `; did you mean "${hint}"?` : ""} (it reports: ${known.slice(0, 8).join(", ")}${known.length > 8 ? ", ..." : ""})` });
      }
    };
    config.objectives.forEach((o, i) => check(`objectives[${i}].metric`, o.metric));
    config.constraints.forEach((c, i) => check(`constraints[${i}].metric`, c.metric));
  }

  const schedSec = component("schedulers", "scheduler", config.scheduler, problems);
  // The space goes along for schedulers that learn from architectures (lc_stop's early-to-final model).
  const schedCtx = evaluator && { fidelity: evaluator.fidelity, seed, objectives, space };
  const scheduler = schedSec && schedCtx && attempt(problems, "scheduler", () => schedSec.component.create(schedSec.options, schedCtx) as Scheduler);

  const warmStart = space && config.warm_start ? warmStartOf(config.warm_start, space, opts.configDir ?? process.cwd(), problems) : undefined;

  if (problems.length || !space || !strategy || !evaluator || !scheduler) throw new ConfigError(opts.file, problems);
  return { config, space, strategy, scheduler, evaluator, objectives, warmStart };
}

/** Reads `warm_start.file` and validates every given point against the space; problems name the point. */
function warmStartOf(ws: NonNullable<ExperimentConfig["warm_start"]>, space: SearchSpace, configDir: string, problems: Problem[]): WarmStart {
  const points: Json[] = [];
  const take = (value: unknown, path: string) => {
    try {
      points.push(space.validate(value));
    } catch (e) {
      problems.push({ path, message: `not a point of space "${space.name}": ${(e as Error).message}` });
    }
  };
  ws.points.forEach((p, i) => take(p, `warm_start.points[${i}]`));
  if (ws.file !== undefined) {
    const path = resolve(configDir, ws.file);
    let list: unknown;
    try {
      list = YAML.parse(readFileSync(path, "utf8"));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push({ path: "warm_start.file", message: `cannot read ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message.split("\n")[0]}` });
    }
    if (list !== undefined) {
      if (!Array.isArray(list)) problems.push({ path: "warm_start.file", message: `${path} must hold a list of points (YAML or JSON), got ${list === null ? "nothing" : typeof list}` });
      else list.forEach((p, i) => take(p, `warm_start.file[${i}] (${ws.file})`));
    }
  }
  return { points, experiments: ws.experiments, topK: ws.top_k };
}

/** Hash of what defines the search: a rerun with a different budget or storage is the same experiment. */
export function searchHash(config: ExperimentConfig): string {
  const rest: Record<string, unknown> = { ...config };
  for (const k of RUN_ONLY_FIELDS) delete rest[k];
  return hashJson(rest);
}

/** Parses a YAML or JSON config file; syntax errors and bad fields name the file and line. */
export function readConfigFile(file: string): { raw: unknown; lineOf: (path: string) => number | undefined } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`Cannot read config ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(file, doc.errors.map((e) => ({ path: `line ${e.linePos?.[0].line ?? "?"}`, message: `YAML syntax error: ${e.message.split("\n")[0]}` })));
  }
  const lineOf = (path: string): number | undefined => {
    const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== "").map((k) => (/^\d+$/.test(k) ? Number(k) : k));
    for (let n = keys.length; n > 0; n--) {
      const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === "object" && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return { raw: doc.toJS(), lineOf };
}

/** Reads, validates and builds a config file; errors carry file, line and field path. */
export function loadParts(file: string, overrides: Partial<ExperimentConfig> = {}): ExperimentParts {
  const { raw, lineOf } = readConfigFile(file);
  const merged = raw && typeof raw === "object" && !Array.isArray(raw) ? { ...(raw as object), ...overrides } : raw;
  try {
    return buildParts(merged, { file, configDir: dirname(resolve(file)) });
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new ConfigError(
        file,
        e.problems.map((p) => {
          const line = p.path.startsWith("line ") ? undefined : lineOf(p.path);
          return line ? { path: `${p.path} (line ${line})`, message: p.message } : p;
        }),
      );
    }
    throw e;
  }
}

export interface RunOptions {
  store?: Store;
  onEvent?: (event: ExperimentEvent) => void;
  signal?: AbortSignal;
  /** Name of this process in the store's trials (workers). */
  worker?: string;
  /** Stop now: trials in flight are put back as pending (see ExperimentOptions.interrupt). */
  interrupt?: AbortSignal;
  /** Where the store's notes for the user go (PostgreSQL's first retry). */
  storageNote?: (line: string) => void;
}

/**
 * Where paused trials keep their checkpoints: beside a SQLite file (`archsearch.db.checkpoints/`),
 * else under the system's temporary directory (per process).
 */
export function checkpointDirFor(storage: string, configured?: string): string {
  if (configured) return resolve(configured);
  const file = storage.startsWith("sqlite:") ? storage.slice("sqlite:".length) : storage;
  if (file === ":memory:" || file === "") return join(tmpdir(), `archsearch-checkpoints-${process.pid}`);
  // One folder per database (and schema), shared by the workers of this machine.
  if (/^postgres(ql)?:\/\//.test(storage)) return join(tmpdir(), `archsearch-checkpoints-${createHash("sha256").update(storage).digest("hex").slice(0, 16)}`);
  return `${resolve(file)}.checkpoints`;
}

/** An experiment ready to run (or resume) from built parts; the caller closes the store. */
export function createExperiment(parts: ExperimentParts, opts: RunOptions = {}): { experiment: Experiment; store: Store } {
  const { config } = parts;
  const store = opts.store ?? openStore(config.storage, { note: opts.storageNote });
  // The stored config never holds a password: the URL is kept without it.
  const stored = { ...config, storage: withoutPassword(config.storage) };
  const experiment = new Experiment({
    name: config.name,
    seed: config.seed,
    space: parts.space,
    strategy: parts.strategy,
    scheduler: parts.scheduler,
    evaluator: parts.evaluator,
    objectives: parts.objectives,
    store,
    config: stored as unknown as JsonObject,
    configHash: searchHash(config),
    budget: {
      trials: config.budget.trials,
      concurrency: config.budget.concurrency,
      trialTimeoutSeconds: config.budget.trial_timeout_s,
      maxFailures: config.budget.max_failures,
    },
    cache: config.cache,
    checkpointDir: checkpointDirFor(config.storage, config.checkpoint_dir),
    artifactDir: config.artifact_dir ? resolve(config.artifact_dir) : defaultArtifactDir(config.storage),
    dataVersion: config.data_version,
    warmStart: parts.warmStart,
    onEvent: opts.onEvent,
    signal: opts.signal,
    interrupt: opts.interrupt,
    worker: opts.worker,
  });
  return { experiment, store };
}
