import { z } from "zod";
import { WORKER_DEFAULTS } from "../core/experiment.js";

/** A component section: `name` picks it from the registry, the other keys are its options. */
export const section = z.looseObject({ name: z.string().min(1) });
export type Section = z.infer<typeof section>;

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const when = z.strictObject({ param: z.string(), in: z.array(scalar).min(1) });

/** One decision of a declarative space (see spaces/dsl.ts). */
export const paramSchema: z.ZodType<unknown> = z.lazy(() =>
  z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("categorical"), name: z.string(), choices: z.array(scalar).min(1), when: when.optional() }),
    z.strictObject({ type: z.literal("int"), name: z.string(), low: z.number().int(), high: z.number().int(), log: z.boolean().optional(), when: when.optional() }),
    z.strictObject({ type: z.literal("float"), name: z.string(), low: z.number(), high: z.number(), log: z.boolean().optional(), when: when.optional() }),
    z.strictObject({ type: z.literal("repeat"), name: z.string(), min: z.number().int().min(0), max: z.number().int().min(1), body: z.array(paramSchema).min(1), when: when.optional() }),
    z.strictObject({ type: z.literal("cell"), name: z.string(), nodes: z.number().int().min(2), ops: z.array(z.string()).min(1), when: when.optional() }),
  ]),
);

export const objectiveSchema = z.strictObject({
  metric: z.string().min(1),
  direction: z.enum(["max", "min"]),
  cheap: z.boolean().optional(),
});

export const constraintSchema = z
  .strictObject({ metric: z.string().min(1), min: z.number().optional(), max: z.number().optional() })
  .refine((c) => c.min !== undefined || c.max !== undefined, { message: "a constraint needs min, max or both" })
  // min > max would make every trial infeasible (each one pruned): surely a mistake.
  .refine((c) => c.min === undefined || c.max === undefined || c.min <= c.max, { message: "min is greater than max: no value can satisfy this constraint" });

const experimentName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-', starting with a letter or digit");

/** The first suggestions of a new experiment, served before the strategy is asked. */
export const warmStartSchema = z
  .strictObject({
    points: z.array(z.unknown()).default([]).describe("points of the space, evaluated first, in this order"),
    file: z.string().min(1).optional().describe("a YAML or JSON file with a list of points (relative to the config), after `points`"),
    experiments: z.array(experimentName).default([]).describe("earlier experiments in the same store whose best architectures are evaluated next"),
    top_k: z.number().int().min(1).default(10).describe("how many of each earlier experiment's best distinct architectures"),
  })
  .refine((w) => w.points.length > 0 || w.file !== undefined || w.experiments.length > 0, { message: "warm_start needs points, file or experiments" });

/** Settings of `archsearch worker` and `run --workers N` (CLI flags override them); use the same on every worker. */
export const workersSchema = z
  .strictObject({
    heartbeat_seconds: z.number().positive().default(WORKER_DEFAULTS.heartbeatSeconds).describe("seconds between heartbeats of a running trial"),
    grace_seconds: z.number().positive().default(WORKER_DEFAULTS.graceSeconds).describe("a running trial whose worker is silent this long is retried (more than heartbeat_seconds)"),
    max_retries: z.number().int().min(0).default(WORKER_DEFAULTS.maxRetries).describe("times a trial whose worker stopped beating is retried before it is failed"),
    poll_ms: z.number().int().min(1).default(WORKER_DEFAULTS.pollMs).describe("milliseconds between looks at the store while there is nothing to claim"),
    scheduler_sync_ms: z
      .number()
      .int()
      .min(1)
      .default(WORKER_DEFAULTS.schedulerSyncMs)
      .describe("milliseconds between reads of the other workers' reports, so that a stopping scheduler (asha, hyperband, median_stop, lc_stop) decides from every worker's trials"),
  })
  .superRefine((w, ctx) => {
    if (!(w.grace_seconds > w.heartbeat_seconds)) {
      ctx.addIssue({
        code: "custom",
        path: ["grace_seconds"],
        message: `must be longer than heartbeat_seconds (${w.heartbeat_seconds}), got ${w.grace_seconds}: a trial would be reclaimed between two heartbeats`,
      });
    }
  });

export const configSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-', starting with a letter or digit"),
  description: z.string().optional(),
  seed: z.number().int().min(0).default(0),
  storage: z.string().min(1).default("archsearch.db").describe("SQLite file path, sqlite:PATH, :memory:, or postgres://user@host:port/database?schema=NAME"),
  checkpoint_dir: z
    .string()
    .min(1)
    .optional()
    .describe("where paused trials keep their checkpoints (default: beside the SQLite file; for PostgreSQL a folder per database under the system's temporary folder, so workers on several machines need a shared folder here)"),
  artifact_dir: z
    .string()
    .min(1)
    .optional()
    .describe("where trials and searchers keep artifacts (checkpoints, derived cells, plots), a folder per experiment; the store records each file's checksum (default: beside the SQLite file; for PostgreSQL ./archsearch-artifacts, which workers on several machines must share)"),
  data_version: z
    .string()
    .min(1)
    .optional()
    .describe("the version of the data trials are measured on: recorded on every trial and part of the cache key, so results never cross versions; change it when the data changes and the search goes on with a fresh cache"),
  space: section,
  strategy: section,
  scheduler: section.default({ name: "fifo" }),
  evaluator: section,
  objectives: z.array(objectiveSchema).min(1).default([{ metric: "valid_acc", direction: "max" }]),
  constraints: z.array(constraintSchema).default([]),
  budget: z.strictObject({
    trials: z.number().int().min(1),
    concurrency: z.number().int().min(1).default(1),
    trial_timeout_s: z.number().positive().optional(),
    max_failures: z.number().int().min(0).optional(),
  }),
  cache: z
    .union([z.boolean(), z.literal("shared")])
    .default(true)
    .describe('reuse the result of an equivalent architecture at the same fidelity: within the experiment (true), also from the store\'s other experiments with the same space and evaluator ("shared"), or never (false)'),
  warm_start: warmStartSchema.optional(),
  workers: workersSchema.optional().describe("worker settings (heartbeat, grace period, retries, polling); not part of the search definition"),
});

export type ExperimentConfig = z.infer<typeof configSchema>;
/** Config fields that can change between runs of one experiment without changing the search. */
export const RUN_ONLY_FIELDS = ["budget", "storage", "checkpoint_dir", "artifact_dir", "data_version", "description", "workers"] as const;
