import type { WorkerOptions } from "../core/experiment.js";
import { WORKER_DEFAULTS } from "../core/experiment.js";
import { UserError } from "../core/errors.js";
import type { ExperimentConfig } from "./schema.js";

/** Worker settings given on the command line; each one given overrides the config's `workers:` key. */
export interface WorkerFlags {
  heartbeat?: number;
  grace?: number;
  maxRetries?: number;
}

export type WorkerSettings = Required<WorkerOptions>;

interface Setting {
  value: number;
  /** Where the value came from, for messages. */
  from: string;
}

function pick(flag: number | undefined, flagName: string, key: number | undefined, keyName: string, fallback: number): Setting {
  if (flag !== undefined) return { value: flag, from: flagName };
  if (key !== undefined) return { value: key, from: `workers.${keyName} in the config` };
  return { value: fallback, from: "default" };
}

/**
 * The settings a worker runs with: a CLI flag, else the config's `workers:` key, else the
 * default (WORKER_DEFAULTS). Checks the combination, since a flag may break what the config
 * alone satisfied (grace period longer than the heartbeat interval), naming where each value came from.
 */
export function workerSettings(section: ExperimentConfig["workers"], flags: WorkerFlags = {}): WorkerSettings {
  const heartbeat = pick(flags.heartbeat, "--heartbeat", section?.heartbeat_seconds, "heartbeat_seconds", WORKER_DEFAULTS.heartbeatSeconds);
  const grace = pick(flags.grace, "--grace", section?.grace_seconds, "grace_seconds", WORKER_DEFAULTS.graceSeconds);
  const retries = pick(flags.maxRetries, "--max-retries", section?.max_retries, "max_retries", WORKER_DEFAULTS.maxRetries);
  const poll = pick(undefined, "", section?.poll_ms, "poll_ms", WORKER_DEFAULTS.pollMs); // no flag for it
  const sync = pick(undefined, "", section?.scheduler_sync_ms, "scheduler_sync_ms", WORKER_DEFAULTS.schedulerSyncMs); // no flag for it
  const positive = (s: Setting, what: string) => {
    if (!(Number.isFinite(s.value) && s.value > 0)) throw new UserError(`worker ${what} must be a positive number, got ${s.value} (${s.from})`);
  };
  positive(heartbeat, "heartbeat interval");
  positive(grace, "grace period");
  positive(poll, "polling interval");
  positive(sync, "scheduler sync interval");
  if (!(Number.isInteger(retries.value) && retries.value >= 0)) throw new UserError(`worker max retries must be an integer >= 0, got ${retries.value} (${retries.from})`);
  if (!(grace.value > heartbeat.value)) {
    throw new UserError(
      `worker grace period ${grace.value} s (${grace.from}) must be longer than the heartbeat interval ${heartbeat.value} s (${heartbeat.from}); ` +
        "otherwise a live worker's trial is reclaimed between two heartbeats",
    );
  }
  return { heartbeatSeconds: heartbeat.value, graceSeconds: grace.value, maxRetries: retries.value, pollMs: poll.value, schedulerSyncMs: sync.value };
}
