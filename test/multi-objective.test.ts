import { test } from "node:test";
import assert from "node:assert/strict";
import type { Json } from "../src/core/json.js";
import type { Metrics } from "../src/core/evaluator.js";
import { Objectives, type Constraint } from "../src/core/objectives.js";
import { pointHash } from "../src/core/space.js";
import type { Strategy, TrialOutcome } from "../src/core/strategy.js";
import { UserError } from "../src/core/errors.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { loadNb201, NB201_COLUMNS } from "../src/benchmarks/nb201.js";
import { registry } from "../src/registry.js";
import { Nb201Simulator } from "../src/evaluators/nb201-simulator.js";
import { hypervolume } from "../src/objectives/hypervolume.js";
import { paretoFront } from "../src/objectives/pareto.js";

const table = loadNb201();
const space = new Nb201Space();
const acc = table.column(NB201_COLUMNS.cifar10.valid);
const DEVICE = "fpga";
const lat = table.column(`lat_ms_${DEVICE}`);
const LAT = `latency_ms_${DEVICE}`;
const simulator = new Nb201Simulator({ dataset: "cifar10", noise: false, devices: [DEVICE] }, table);

function objectivesWith(constraints: Constraint[] = []) {
  return new Objectives(
    [
      { metric: "valid_acc", direction: "max" },
      { metric: LAT, direction: "min", cheap: true },
    ],
    constraints,
  );
}

function make(name: string, seed: number, options: object = {}, objectives = objectivesWith(), cheap = false): Strategy {
  const c = registry.strategies[name];
  const cheapMetrics = cheap ? (p: Json) => simulator.cheapMetrics({ arch: p, hp: {} }) : undefined;
  return c.create(c.options.parse(options), { space, objectives, seed, cheapMetrics });
}

/** The loop with concurrency 1: ask one, evaluate from the table, tell. Returns evaluated rows. */
function drive(strategy: Strategy, evaluations: number, objectives = objectivesWith(), start: { rows: number[]; seen: Set<string>; told?: TrialOutcome[] } = { rows: [], seen: new Set() }) {
  const { rows, seen } = start;
  const told = start.told ?? [];
  for (let n = rows.length; n < evaluations; n++) {
    const [point] = strategy.ask(1, { pending: [], seen: (p) => seen.has(pointHash(space, p)) }) as Json[];
    seen.add(pointHash(space, point));
    const i = table.indexOf.get(point as string)!;
    rows.push(i);
    const metrics: Metrics = { valid_acc: acc[i], [LAT]: lat[i] };
    const outcome: TrialOutcome = { number: n, point, status: "finished", metrics, score: objectives.score(metrics) };
    strategy.tell(outcome);
    told.push(outcome);
  }
  return { rows, seen, told };
}

// Normalised to [0,1] over the table, reference (0,0): the bench's definition.
const [amin, amax] = [Math.min(...acc), Math.max(...acc)];
const [lmin, lmax] = [Math.min(...lat), Math.max(...lat)];
const norm = (i: number) => [(acc[i] - amin) / (amax - amin), (lmax - lat[i]) / (lmax - lmin)];
const all = Array.from({ length: table.rows }, (_, i) => norm(i));
const trueHv = hypervolume(paretoFront(all).map((i) => all[i]), [0, 0]);
const fraction = (rows: number[]) => hypervolume(rows.map(norm), [0, 0]) / trueHv;

test("nsga2, mo_rea, mo_local_search and parego beat random search's hypervolume on NB201 accuracy vs FPGA latency", () => {
  const seeds = [0, 1, 2, 3];
  const evaluations = 100;
  const mean = (name: string, opts: object = {}) => seeds.reduce((s, seed) => s + fraction(drive(make(name, seed, opts), evaluations).rows), 0) / seeds.length;
  const random = mean("random");
  for (const name of ["nsga2", "mo_rea", "mo_local_search", "parego"]) {
    const f = mean(name, name === "parego" ? { candidates: 100 } : {});
    assert.ok(f > random, `${name}: ${f.toFixed(4)} should beat random ${random.toFixed(4)}`);
    assert.ok(f > 0.9 && f <= 1 + 1e-12, `${name}: ${f}`);
  }
});

test("same seed, same search; state()/restore() mid-run continues exactly", () => {
  for (const name of ["nsga2", "mo_rea", "mo_local_search", "parego"]) {
    const opts = name === "parego" ? { candidates: 50, initial_samples: 5 } : name === "mo_rea" ? { population_size: 8, sample_size: 3 } : name === "mo_local_search" ? { initial_samples: 5 } : { population_size: 8 };
    const a = drive(make(name, 7, opts), 30).rows;
    const b = drive(make(name, 7, opts), 30).rows;
    assert.deepEqual(a, b, name);
    const first = make(name, 7, opts);
    const half = drive(first, 17);
    const resumed = make(name, 7, opts);
    resumed.restore(JSON.parse(JSON.stringify(first.state())), { outcomes: half.told });
    assert.deepEqual(drive(resumed, 30, undefined, half).rows, a, `${name} resumed`);
  }
});

test("a constraint on a cheap metric filters candidates before evaluation; without the lookup the penalty steers", () => {
  const limit = 3; // ms on the FPGA: about a third of the cells are within it
  const objectives = objectivesWith([{ metric: LAT, max: limit }]);
  for (const name of ["nsga2", "mo_rea", "mo_local_search", "parego"]) {
    const opts = name === "parego" ? { candidates: 60 } : {};
    const rows = drive(make(name, 1, opts, objectives, true), 40, objectives).rows;
    assert.ok(rows.every((i) => lat[i] <= limit), `${name}: every suggestion is feasible when the latency is known in advance`);
  }
  const rows = drive(make("nsga2", 1, {}, objectives, false), 120, objectives).rows;
  const late = rows.slice(60);
  const early = rows.slice(0, 20);
  const share = (r: number[]) => r.filter((i) => lat[i] <= limit).length / r.length;
  assert.ok(share(late) > share(early), `feasible share grows: ${share(early)} -> ${share(late)}`);
});

test("preference weights target one trade-off", () => {
  for (const name of ["mo_rea", "parego", "nsga2", "mo_local_search"]) {
    const opts = (w: number[]) => (name === "parego" ? { candidates: 60, weights: w } : { weights: w });
    const accurate = drive(make(name, 2, opts([1, 0.02])), 60).rows.slice(30);
    const fast = drive(make(name, 2, opts([0.02, 1])), 60).rows.slice(30);
    const meanOf = (rows: number[], col: Float64Array) => rows.reduce((s, i) => s + col[i], 0) / rows.length;
    assert.ok(meanOf(accurate, acc) > meanOf(fast, acc), `${name}: accuracy preference gives more accurate cells`);
    assert.ok(meanOf(fast, lat) < meanOf(accurate, lat), `${name}: latency preference gives faster cells`);
  }
  assert.throws(() => make("parego", 0, { weights: [1, 2, 3] }), (e: unknown) => e instanceof UserError && /3 values but the experiment has 2 objectives/.test((e as Error).message));
  assert.throws(() => make("nsga2", 0, { weights: [0, 0] }), UserError);
});
