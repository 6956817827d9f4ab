import type { Json } from "./json.js";
import type { Metrics } from "./evaluator.js";
import type { SearchSpace } from "./space.js";
import type { Objectives } from "./objectives.js";

/** A checkpoint of a searcher's job: the step it was taken at and the job's own bytes. */
export interface SearcherCheckpoint {
  step: number;
  data: Uint8Array;
}

/** What a searcher's job gets from the experiment it runs in. */
export interface SearcherJob {
  readonly seed: number;
  /** Fires when the experiment stops: the job should return (or throw) soon; it resumes from its last checkpoint. */
  readonly signal: AbortSignal;
  /** The latest checkpoint of an earlier run of this job (after a crash or a stop), if any. */
  readonly resume?: SearcherCheckpoint;
  /** Progress at a step (an epoch of supernet training): stored and shown. */
  report(step: number, metrics: Metrics): Promise<void>;
  /** Stores a checkpoint the job can resume from; the previous one is replaced. */
  checkpoint(step: number, data: Uint8Array): Promise<void>;
  /** Keeps a file the job made (a plot, a derived cell) with the experiment, by name. */
  saveArtifact(name: string, data: Uint8Array | string): Promise<void>;
}

/** What a searcher is built from. */
export interface SearcherContext {
  space: SearchSpace;
  objectives: Objectives;
  seed: number;
}

/**
 * A method that trains once and then outputs architectures (one-shot supernets, DARTS and its
 * variants), beside the ask / tell strategies. Its job is long-running: it reports progress,
 * checkpoints itself (kept as artifacts, so it resumes after kill -9 from its last checkpoint),
 * and returns the architectures it derived, best first; they become ordinary trials of the
 * experiment (stored, evaluated by the experiment's evaluator, shown by `best`).
 */
export interface Searcher {
  readonly name: string;
  search(job: SearcherJob): Promise<Json[]>;
}

/** The experiment's artifact files as a searcher's job keeps them (experiment-level: trial null). */
export interface ExperimentArtifacts {
  put(trial: number | null, name: string, data: Uint8Array | string): Promise<void>;
  /** The file's bytes, checked against its recorded checksum; undefined when there is none. */
  get(trial: number | null, name: string): Promise<Uint8Array | undefined>;
}
