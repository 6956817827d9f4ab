/**
 * A deterministic ask / tell session over NAS-Bench-201 for state tests (no experiment loop):
 * `concurrency` points in flight, one result told per round in a seeded order, one point in seven
 * failed, and one in three heard first at a lower fidelity (`tellPartial`, for strategies that
 * take it). Two objectives (validation accuracy, and a cell size to minimise) so that the
 * multi-objective strategies have something to trade. It imports no strategy, so that the
 * legacy-state fixtures can be made with an earlier release's strategies and the same session.
 */
import type { Json } from "../src/core/json.js";
import { Objectives } from "../src/core/objectives.js";
import { Rng, type RngState } from "../src/core/rng.js";
import { pointHash } from "../src/core/space.js";
import type { Strategy, TrialOutcome } from "../src/core/strategy.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { loadNb201 } from "../src/benchmarks/nb201.js";

export const sessionSpace = new Nb201Space();
export const sessionObjectives = new Objectives([
  { metric: "valid_acc", direction: "max" },
  { metric: "size", direction: "min" },
]);

const table = loadNb201();
const valid = table.column("c10v_valid_acc");

/** Full-fidelity metrics of a cell: its table accuracy and the number of edges that are not "none". */
function metricsOf(point: Json, fraction = 1): { valid_acc: number; size: number } {
  const arch = point as string;
  return { valid_acc: valid[table.indexOf.get(arch)!] * fraction, size: arch.split("|").filter((e) => e.includes("~") && !e.startsWith("none")).length };
}

export interface SessionSnapshot {
  pending: { number: number; point: Json }[];
  seen: string[];
  order: RngState;
  next: number;
  told: TrialOutcome[];
}

export class AskTellSession {
  private pending: { number: number; point: Json }[] = [];
  private seen = new Set<string>();
  private order = new Rng(99);
  private next = 0;
  /** Every outcome told so far, in the order told: the history a restore is given. */
  told: TrialOutcome[] = [];

  constructor(private readonly concurrency = 3) {}

  snapshot(): SessionSnapshot {
    return { pending: this.pending.map((p) => ({ ...p })), seen: [...this.seen], order: this.order.state(), next: this.next, told: [...this.told] };
  }

  static from(s: SessionSnapshot, concurrency = 3): AskTellSession {
    const session = new AskTellSession(concurrency);
    session.pending = s.pending.map((p) => ({ ...p }));
    session.seen = new Set(s.seen);
    session.order = new Rng(s.order);
    session.next = s.next;
    session.told = [...s.told];
    return session;
  }

  /** One round: asks for the free slots, then tells one pending result. Returns the points asked. */
  async round(s: Strategy): Promise<Json[]> {
    const want = this.concurrency - this.pending.length;
    const points = want > 0 ? await s.ask(want, { pending: this.pending.map((p) => p.point), seen: (p) => this.seen.has(pointHash(sessionSpace, p)) }) : [];
    for (const point of points) {
      this.seen.add(pointHash(sessionSpace, point));
      this.pending.push({ number: this.next++, point });
    }
    if (this.pending.length === 0) return points;
    const [t] = this.pending.splice(this.order.int(this.pending.length), 1);
    const failed = t.number % 7 === 3;
    if (!failed && t.number % 3 === 1 && s.tellPartial) {
      const early = metricsOf(t.point, 0.9);
      s.tellPartial({ number: t.number, point: t.point, metrics: early, score: sessionObjectives.score(early), fidelity: { epochs: 4 } });
    }
    const metrics = failed ? {} : metricsOf(t.point);
    const outcome: TrialOutcome = {
      number: t.number,
      point: t.point,
      status: failed ? "failed" : "finished",
      metrics,
      score: failed ? -Infinity : sessionObjectives.score(metrics),
      fidelity: { epochs: 12 },
    };
    s.tell(outcome);
    this.told.push(outcome);
    return points;
  }

  /** `rounds` rounds; every point asked, in order. */
  async run(s: Strategy, rounds: number): Promise<Json[]> {
    const asked: Json[] = [];
    for (let r = 0; r < rounds; r++) asked.push(...(await this.round(s)));
    return asked;
  }
}

/** Options that keep each registered strategy quick here while reaching its model-based phase. */
export const SESSION_OPTIONS: Record<string, Record<string, unknown>> = {
  rea: { population_size: 8, sample_size: 3 },
  gp_bo: { initial_samples: 5, candidates: 40, max_train: 12 },
  local_search: { initial_samples: 4 },
  simulated_annealing: { initial_samples: 4, expected_trials: 20, restarts: 1 },
  adaptive_evolution: { population_size: 8, sample_size: 3, patience: 4 },
  rl_controller: { batch_size: 3, hidden_size: 8 },
  tpe: { n_startup: 5 },
  bohb: { min_points: 3 },
  predictor_evolution: { population_size: 6, sample_size: 3, offspring: 30, evaluate_fraction: 0.1, max_train: 12 },
  bananas: { initial_samples: 4, predictor_options: { epochs: 5 }, ensemble: 2, candidates: 30, max_train: 12, refit_every: 2 },
  nsga2: { population_size: 6 },
  mo_rea: { population_size: 8, sample_size: 3 },
  parego: { initial_samples: 5, candidates: 30, max_train: 10 },
  mo_local_search: { initial_samples: 4 },
};
