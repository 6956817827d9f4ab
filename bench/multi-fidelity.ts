/**
 * `npm run bench -- multi-fidelity`: simulated wall-clock time until the best-by-validation
 * architecture (among those trained to 200 epochs) has test accuracy >= the target on NB201,
 * for promotion-based Hyperband, BOHB and ASHA and for full-fidelity regularized evolution, each
 * with the same number of simulated workers, through the event-driven simulator
 * (src/simulation/simulated-run.ts) that delivers every report at its simulated moment.
 */
import { Objectives } from "../src/core/objectives.js";
import type { SchedulerContext } from "../src/core/scheduler.js";
import { loadNb201 } from "../src/benchmarks/nb201.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { registry } from "../src/registry.js";
import { runSimulated } from "../src/simulation/simulated-run.js";
import { benchArgs, intList, meanStd } from "./args.js";

interface Method {
  strategy: [string, Record<string, unknown>];
  scheduler: [string, Record<string, unknown>];
}

/**
 * Every multi-fidelity method uses eta = 16: NB201 has two levels, 12 and 200 epochs, 16.7x
 * apart, and with eta equal to that ratio each rung of a bracket spends about the same budget,
 * as successive halving intends (with eta = 3 a bracket screens only 3 trials per full training:
 * on 50 seeds BOHB then needs 0.57 of REA's time and ASHA 0.51). ASHA is driven by regularized
 * evolution (any strategy can drive a scheduler; paused trials join its population with their
 * 12-epoch score); `asha_random` is the textbook random searcher, shown for comparison.
 */
const ETA = 16;
const METHODS: Record<string, Method> = {
  hyperband: { strategy: ["random", {}], scheduler: ["hyperband", { type: "promotion", eta: ETA }] },
  bohb: { strategy: ["bohb", {}], scheduler: ["hyperband", { type: "promotion", eta: ETA }] },
  asha: { strategy: ["rea", {}], scheduler: ["asha", { type: "promotion", eta: ETA }] },
  asha_random: { strategy: ["random", {}], scheduler: ["asha", { type: "promotion", eta: ETA }] },
  rea: { strategy: ["rea", {}], scheduler: ["fifo", {}] },
  // A stopping scheduler: its early-to-final model (12 -> 200 epochs, learnt from the finished
  // trials' architectures) stops a trial at 12 epochs when it cannot reach the top; it needs the
  // trial's point at every report, which the simulation gives since it runs the experiment loop.
  lc_stop: { strategy: ["rea", {}], scheduler: ["lc_stop", {}] },
};

export async function multiFidelityBench(argv: string[]): Promise<void> {
  const { values } = benchArgs(argv, {
    seeds: { type: "string", default: "50" },
    workers: { type: "string", default: "4" },
    target: { type: "string", default: "93.9" },
    dataset: { type: "string", default: "cifar10" },
    methods: { type: "string", default: Object.keys(METHODS).join(",") },
    "max-hours": { type: "string", default: "2000" },
    noise: { type: "boolean", default: false },
    // The simulation runs the experiment loop, so it reuses an equal architecture's result at an
    // equal fidelity as a real run does; this flag switches that off (the figures of the older,
    // separate simulator).
    "no-cache": { type: "boolean", default: false },
  });
  const seeds = intList(String(values.seeds))[0];
  const workers = intList(String(values.workers))[0];
  const target = Number(values.target);
  const maxSeconds = Number(values["max-hours"]) * 3600;
  const methods = String(values.methods).split(",");
  const table = loadNb201();
  const dataset = String(values.dataset) as "cifar10";
  const objectives = new Objectives([{ metric: "valid_acc", direction: "max" }]);

  console.log(`multi-fidelity on NB201 ${dataset}: simulated time until the best-by-validation 200-epoch architecture has test acc >= ${target}`);
  console.log(`${workers} simulated workers, ${seeds} seeds, cap ${values["max-hours"]} simulated hours per run${values.noise ? ", noisy 200-epoch results" : ""}`);
  const rows: Record<string, { seconds: number[]; reached: number; trials: number[] }> = {};
  for (const name of methods) {
    const m = METHODS[name];
    if (!m) throw new Error(`unknown method "${name}" (known: ${Object.keys(METHODS).join(", ")})`);
    const row = (rows[name] = { seconds: [] as number[], reached: 0, trials: [] as number[] });
    for (let seed = 0; seed < seeds; seed++) {
      const space = new Nb201Space();
      const evaluator = new Nb201Simulator({ dataset, noise: Boolean(values.noise) }, table);
      const sc = registry.strategies[m.strategy[0]];
      const strategy = sc.create(sc.options.parse(m.strategy[1]), { space, objectives, seed });
      const ctx: SchedulerContext = { fidelity: evaluator.fidelity, seed, objectives, space };
      const hc = registry.schedulers[m.scheduler[0]];
      const scheduler = hc.create(hc.options.parse(m.scheduler[1]), ctx);
      let bestValid = -Infinity;
      let hitAt: number | undefined;
      const summary = await runSimulated({
        space,
        strategy,
        scheduler,
        evaluator,
        objectives,
        seed,
        workers,
        maxSeconds,
        cache: !values["no-cache"],
        onResult: (r) => {
          if (r.status !== "finished" || (r.fidelity.epochs ?? 0) < 200) return;
          if (r.metrics.valid_acc > bestValid) {
            bestValid = r.metrics.valid_acc;
            if (r.hidden.test_acc >= target) {
              hitAt = r.time;
              return true;
            }
          }
        },
      });
      if (hitAt !== undefined) row.reached++;
      row.seconds.push(hitAt ?? maxSeconds);
      row.trials.push(summary.trials);
    }
  }

  const rea = rows.rea ? meanStd(rows.rea.seconds).mean : undefined;
  console.log("");
  console.log("method       searcher + scheduler          mean s to target   (hours)   std s      reached   trials started   vs rea");
  const out: Record<string, number> = {};
  const label: Record<string, string> = {};
  for (const [name, m] of Object.entries(METHODS)) label[name] = `${m.strategy[0]} + ${m.scheduler[0]}${m.scheduler[1].eta ? ` eta ${m.scheduler[1].eta}` : ""}`;
  for (const [name, r] of Object.entries(rows)) {
    const { mean, std } = meanStd(r.seconds);
    out[name] = Math.round(mean);
    const ratio = rea ? (mean / rea).toFixed(3) : "-";
    console.log(
      `${name.padEnd(12)} ${label[name].padEnd(28)} ${mean.toFixed(0).padStart(16)} ${(mean / 3600).toFixed(1).padStart(9)} ${std.toFixed(0).padStart(9)} ${`${r.reached}/${r.seconds.length}`.padStart(9)} ${meanStd(r.trials).mean.toFixed(1).padStart(16)}   ${ratio}`,
    );
  }
  if (rea) console.log(`bar: asha and bohb below half of rea (${(rea / 2).toFixed(0)} s)`);
  console.log(JSON.stringify({ target, seconds_to_target: out, workers, seeds }));
}
