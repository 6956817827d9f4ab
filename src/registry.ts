import { z } from "zod";
import type { Component } from "./core/component.js";
import type { Evaluator } from "./core/evaluator.js";
import type { Scheduler, SchedulerContext } from "./core/scheduler.js";
import type { SearchSpace } from "./core/space.js";
import type { StrategyComponent } from "./strategies/component.js";
import type { EvaluatorContext } from "./evaluators/context.js";
import { Nb201Space } from "./spaces/nb201.js";
import { DeclarativeSpace, type Param } from "./spaces/dsl.js";
import { paramSchema } from "./config/schema.js";
import { randomSearch } from "./strategies/random.js";
import { regularizedEvolution } from "./strategies/regularized-evolution.js";
import { gpBo } from "./strategies/gp-bo.js";
import { localSearch } from "./strategies/local-search.js";
import { simulatedAnnealing } from "./strategies/simulated-annealing.js";
import { adaptiveEvolution } from "./strategies/adaptive-evolution.js";
import { fifo } from "./schedulers/fifo.js";
import { medianStop } from "./schedulers/median-stop.js";
import { asha } from "./schedulers/asha.js";
import { hyperband, successiveHalving } from "./schedulers/hyperband.js";
import { learningCurveStop } from "./schedulers/learning-curve-stop.js";
import { nb201Simulator } from "./evaluators/nb201-simulator.js";
import { moduleEvaluator } from "./evaluators/module.js";
import { commandEvaluator } from "./evaluators/command.js";
import { latencyEvaluator } from "./evaluators/latency.js";
import { tpe } from "./strategies/tpe.js";
import { bohb } from "./strategies/bohb.js";
import { rlController } from "./strategies/rl-controller.js";
import { FbnetSpace } from "./spaces/fbnet.js";
import { hwnasFbnet } from "./evaluators/hwnas-fbnet.js";
import { nsga2 } from "./strategies/nsga2.js";
import { moRea } from "./strategies/mo-rea.js";
import { parego } from "./strategies/parego.js";
import { moLocalSearch } from "./strategies/mo-local-search.js";
import { bananas } from "./strategies/bananas.js";
import { predictorEvolution } from "./strategies/predictor-evolution.js";
import { trainingEvaluator } from "./evaluators/train.js";
import { betaDarts, darts, drnas, fbnetDnas, gdas } from "./oneshot/components.js";
import { supernetEvaluator } from "./evaluators/supernet.js";
import { TransNasMicroSpace } from "./spaces/transnas-micro.js";
import { TransNasMacroSpace } from "./spaces/transnas-macro.js";
import { NasBenchGraphSpace } from "./spaces/nas-bench-graph.js";
import { transNasSimulator } from "./evaluators/transnas-simulator.js";
import { nasBenchGraphSimulator } from "./evaluators/nas-bench-graph-simulator.js";
import { NBG_OPS } from "./benchmarks/nas-bench-graph.js";

export type SpaceComponent = Component<any, Record<string, never>, SearchSpace>;
export type SchedulerComponent = Component<any, SchedulerContext, Scheduler>;
export type EvaluatorComponent = Component<any, EvaluatorContext, Evaluator>;

const nb201Space: SpaceComponent = {
  name: "nb201",
  description: "NAS-Bench-201 cell: 6 edges x 5 operations (15,625 architectures); points are NB201 arch strings.",
  options: z.strictObject({}),
  create: () => new Nb201Space(),
};

const declarativeSpace: SpaceComponent = {
  name: "declarative",
  description: "Your own space from a list of decisions: categorical, int, float (log), conditional, repeated blocks, DAG cells.",
  options: z.strictObject({ params: z.array(paramSchema).min(1) }),
  create: (opts: { params: Param[] }) => new DeclarativeSpace("declarative", opts.params),
};

const fbnetSpace: SpaceComponent = {
  name: "fbnet",
  description: "HW-NAS-Bench FBNet space: 22 layers x 9 blocks (kernel 3/5, expansion 1/3/6, grouped, skip); points are lists of 22 op ids.",
  options: z.strictObject({}),
  create: () => new FbnetSpace(),
};

const transNasMicroSpace: SpaceComponent = {
  name: "transnas-micro",
  description: "TransNAS-Bench-101 micro cell: NB201's 6 edges x 4 operations (4,096 cells); points are the benchmark's arch strings 64-41414-a_bc_def.",
  options: z.strictObject({}),
  create: () => new TransNasMicroSpace(),
};

const transNasMacroSpace: SpaceComponent = {
  name: "transnas-macro",
  description: "TransNAS-Bench-101 macro skeletons: 4-6 modules (plain / double channels / stride 2 / both), the 725 with known results; points are arch strings 64-4111-basic.",
  options: z.strictObject({}),
  create: () => new TransNasMacroSpace(),
};

const nasBenchGraphSpace: SpaceComponent = {
  name: "nas-bench-graph",
  description: "NAS-Bench-Graph GNNs: 4 nodes, 9 link patterns, 9 operations (26,206 distinct architectures); points are <links>:<op1>,<op2>,<op3>,<op4>.",
  options: z.strictObject({ ops: z.array(z.enum(NBG_OPS)).min(1).optional().describe("operations allowed (default all 9; proteins: gcn, sage, arma, fc, skip)") }),
  create: (opts: { ops?: string[] }) => new NasBenchGraphSpace(opts),
};

/**
 * Every component by kind and name: the CLI and config builder find parts here, so adding a
 * strategy is a new file plus one line below, never a change to the experiment loop.
 */
export const registry = {
  spaces: { nb201: nb201Space, declarative: declarativeSpace, fbnet: fbnetSpace, "transnas-micro": transNasMicroSpace, "transnas-macro": transNasMacroSpace, "nas-bench-graph": nasBenchGraphSpace } as Record<string, SpaceComponent>,
  strategies: { random: randomSearch, rea: regularizedEvolution, gp_bo: gpBo, local_search: localSearch, simulated_annealing: simulatedAnnealing, adaptive_evolution: adaptiveEvolution, rl_controller: rlController, tpe, bohb, predictor_evolution: predictorEvolution, bananas, nsga2, mo_rea: moRea, parego, mo_local_search: moLocalSearch, darts, gdas, beta_darts: betaDarts, drnas, fbnet_dnas: fbnetDnas } as Record<string, StrategyComponent<any>>,
  schedulers: { fifo, median_stop: medianStop, asha, hyperband, successive_halving: successiveHalving, lc_stop: learningCurveStop } as Record<string, SchedulerComponent>,
  evaluators: { nb201: nb201Simulator, module: moduleEvaluator, train: trainingEvaluator, command: commandEvaluator, latency: latencyEvaluator, hwnas_fbnet: hwnasFbnet, supernet: supernetEvaluator, transnas: transNasSimulator, nas_bench_graph: nasBenchGraphSimulator } as Record<string, EvaluatorComponent>,
};

export type ComponentKind = keyof typeof registry;
