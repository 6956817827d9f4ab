/**
 * archsearch library API. The CLI is a thin layer over the same pieces:
 * build parts from a config (`loadParts` / `buildParts`) or by hand, then `new Experiment(...).run()`.
 */
export type { Json, JsonObject } from "./core/json.js";
export { stableStringify, hashJson } from "./core/json.js";
export { Rng, deriveSeed, type RngState } from "./core/rng.js";
export { UserError, ConfigError } from "./core/errors.js";
export type { SearchSpace, Capability, ArchGraph } from "./core/space.js";
export { supports, capabilitiesOf, requireCapabilities, pointHash, splitPoint, ALL_CAPABILITIES } from "./core/space.js";
export type { Strategy, StrategyContext, AskContext, TrialOutcome } from "./core/strategy.js";
export type { Scheduler, SchedulerContext, Decision, Fidelity } from "./core/scheduler.js";
export type { Evaluator, EvalContext, EvalResult, TrialSpec, Metrics, FidelitySpec } from "./core/evaluator.js";
export { Objectives, type Objective, type Constraint, type Direction } from "./core/objectives.js";
export type { Store, TrialRecord, TrialStatus, ExperimentRecord, NewTrial, TrialCompletion, IntermediateValue } from "./core/store.js";
export { TRIAL_STATUSES, TERMINAL_STATUSES } from "./core/store.js";
export type { Component } from "./core/component.js";
export { Experiment, type ExperimentOptions, type ExperimentEvent, type ExperimentSummary, type Budget, type BestTrial, type Progress } from "./core/experiment.js";

export { Nb201Space, canonicalNb201 } from "./spaces/nb201.js";
export { DeclarativeSpace, hyperparameterSpace, cellEdges, categorical, int, float, repeat, cell, when, PointError, type Param } from "./spaces/dsl.js";
export { JointSpace, type JointPoint } from "./spaces/joint.js";

export { RandomSearch } from "./strategies/random.js";
export { RegularizedEvolution, type RegularizedEvolutionOptions } from "./strategies/regularized-evolution.js";
export type { StrategyComponent } from "./strategies/component.js";
export { FifoScheduler } from "./schedulers/fifo.js";
export { FunctionEvaluator, type EvalFunction } from "./evaluators/function.js";
export { Nb201Simulator, type Nb201SimulatorOptions } from "./evaluators/nb201-simulator.js";
export { ModuleEvaluator } from "./evaluators/module.js";
export { LatencyEvaluator, onnxLatency, type LatencyOptions, type LatencyResult } from "./evaluators/latency.js";

export { loadNb201, parseArchString, archString, NB201_OPS, NB201_EDGES, NB201_DATASETS, type Nb201Table, type Nb201Dataset } from "./benchmarks/nb201.js";
export { SqliteStore } from "./stores/sqlite.js";
export { PostgresStore, isTransientError, type PostgresStoreOptions, type RetryOptions, type RetryEvent } from "./stores/postgres/index.js";
export { openStore } from "./stores/open.js";

export { registry } from "./registry.js";
export { buildParts, loadParts, createExperiment, searchHash, type ExperimentParts } from "./config/build.js";
export { configSchema, type ExperimentConfig } from "./config/schema.js";
export type { PrepareContext, PreviousExperiment, PreviousTrial } from "./core/strategy.js";
export type { WarmStart } from "./core/experiment.js";
export { RlController, type RlControllerOptions } from "./strategies/rl-controller.js";
export { nonDominatedRanks, nonDominatedSort, paretoFront, crowdingDistance, constrainedRanks, dominates } from "./objectives/pareto.js";
export { hypervolume } from "./objectives/hypervolume.js";
export { Nsga2, type Nsga2Options } from "./strategies/nsga2.js";
export { MoRea, type MoReaOptions } from "./strategies/mo-rea.js";
export { Parego, type ParegoOptions } from "./strategies/parego.js";
export { cheapConstraintViolation } from "./strategies/mo-common.js";
export { FbnetSpace } from "./spaces/fbnet.js";
export { HwnasFbnet, type HwnasFbnetOptions } from "./evaluators/hwnas-fbnet.js";
export { loadFbnetLut, fbnetCost, FBNET_OPS, type FbnetDataset } from "./benchmarks/hwnas.js";
export { RidgeLatencyModel, LatencyFeatures, spearman } from "./predictors/latency.js";
export { MoLocalSearch, type MoLocalSearchOptions } from "./strategies/mo-local-search.js";
