import type { Json } from "../json.js";
import { pointHash } from "../space.js";
import type { SearchSpace } from "../space.js";
import type { PreviousExperiment } from "../strategy.js";
import { Objectives } from "../objectives.js";
import type { Store } from "../store.js";
import { UserError } from "../errors.js";
import { errorText } from "./errors.js";
import type { WarmStart } from "./options.js";

/** An earlier experiment of the store: its last strategy state and finished trials, scored by its own objectives. */
export async function previousExperiment(store: Store, self: { name: string; objectives: Objectives }, name: string): Promise<PreviousExperiment> {
  if (name === self.name) throw new UserError(`Experiment "${name}" cannot start from itself`);
  const exp = await store.getExperiment(name);
  if (!exp) {
    const known = (await store.listExperiments()).map((e) => e.name).filter((n) => n !== self.name);
    throw new UserError(`No experiment "${name}" in the store to start from${known.length ? ` (it holds: ${known.slice(0, 10).join(", ")}${known.length > 10 ? ", ..." : ""})` : " (it holds no other experiment)"}`);
  }
  const cfg = exp.config as { objectives?: unknown; constraints?: unknown };
  let objectives = self.objectives;
  if (Array.isArray(cfg.objectives) && cfg.objectives.length > 0) {
    objectives = new Objectives(cfg.objectives as never, (Array.isArray(cfg.constraints) ? cfg.constraints : []) as never);
  }
  const saved = (await store.loadSearchState(exp.id)) as { strategy?: Json } | undefined;
  const trials = (await store.getTrials(exp.id, { status: ["finished"] }))
    .filter((t) => t.metrics)
    .map((t) => ({ number: t.number, point: t.point, metrics: t.metrics!, score: objectives.score(t.metrics!) }));
  return { name, strategy: saved?.strategy ?? undefined, trials };
}

/** The warm-start list of a new experiment: given points, then each named experiment's top_k, distinct, validated. */
export async function warmPoints(space: SearchSpace, ws: WarmStart, previous: (name: string) => Promise<PreviousExperiment>): Promise<Json[]> {
  const out: Json[] = [];
  const hashes = new Set<string>();
  const add = (value: unknown, where: string) => {
    let point: Json;
    try {
      point = space.validate(value);
    } catch (e) {
      throw new UserError(`warm_start: ${where} is not a point of space "${space.name}": ${errorText(e)}`);
    }
    const h = pointHash(space, point);
    if (!hashes.has(h)) {
      hashes.add(h);
      out.push(point);
    }
  };
  (ws.points ?? []).forEach((p, i) => add(p, `points[${i}]`));
  for (const name of ws.experiments ?? []) {
    const prev = await previous(name).catch((e: unknown) => {
      throw e instanceof UserError ? new UserError(`warm_start.experiments: ${e.message}`) : e;
    });
    const best = prev.trials.filter((t) => Number.isFinite(t.score)).sort((a, b) => b.score - a.score || a.number - b.number);
    const own = new Set<string>();
    for (const t of best) {
      if (own.size >= (ws.topK ?? 10)) break;
      const h = pointHash(space, t.point);
      if (own.has(h)) continue;
      own.add(h);
      add(t.point, `trial ${t.number} of experiment "${name}"`);
    }
  }
  return out;
}
