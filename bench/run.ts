/** Benchmark dispatcher: `npm run bench -- NAME [flags]`. */
import { searchBench } from "./search.js";
import { overheadBench } from "./overhead.js";
import { workersBench } from "./workers.js";
import { PeerMissingError } from "./peers.js";

// Benchmarks that need the tensor engine are imported on demand, so the others run without libtorch.
const trainBench = async (argv: string[]) => (await import("./train.js")).trainBench(argv);
const zeroCostBench = async (argv: string[]) => (await import("./zero-cost.js")).zeroCostBench(argv);
const predictorsBench = async (argv: string[]) => (await import("./predictors.js")).predictorsBench(argv);
const policyReuseBench = async (argv: string[]) => (await import("./policy-reuse.js")).policyReuseBench(argv);
const multiObjectiveBench = async (argv: string[]) => (await import("./multi-objective.js")).multiObjectiveBench(argv);
const multiFidelityBench = async (argv: string[]) => (await import("./multi-fidelity.js")).multiFidelityBench(argv);
const rankFidelityBench = async (argv: string[]) => (await import("./rank-fidelity.js")).rankFidelityBench(argv);
const oneShotBench = async (argv: string[]) => (await import("./one-shot.js")).oneShotBench(argv);
const supernetBench = async (argv: string[]) => (await import("./supernet.js")).supernetBench(argv);
const dashboardBench = async (argv: string[]) => (await import("./dashboard.js")).dashboardBench(argv);
const latencyPredictorBench = async (argv: string[]) => (await import("./latency-predictor.js")).latencyPredictorBench(argv);

const benches: Record<string, (argv: string[]) => Promise<void>> = { search: searchBench, overhead: overheadBench, train: trainBench, "zero-cost": zeroCostBench, predictors: predictorsBench, "policy-reuse": policyReuseBench, "multi-objective": multiObjectiveBench, "latency-predictor": latencyPredictorBench, "multi-fidelity": multiFidelityBench, workers: workersBench, supernet: supernetBench, "one-shot": oneShotBench, "rank-fidelity": rankFidelityBench, dashboard: dashboardBench };

const [name, ...rest] = process.argv.slice(2);
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join("|")}> [flags]`);
  process.exit(2);
}
bench(rest).catch((e: Error) => {
  // A missing peer is a set-up problem, not a bug: its message says what to install.
  console.error(e instanceof PeerMissingError ? e.message : (e.stack ?? String(e)));
  process.exit(1);
});
