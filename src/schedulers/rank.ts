import { crowdingDistance, nonDominatedRanks } from "../objectives/pareto.js";

/**
 * Indices of oriented objective vectors (larger is better), best first. One objective: by value,
 * earlier first on ties. Several (MO-ASHA, Schmucker et al. 2021): by non-dominated front, and
 * within a front by crowding distance, larger first (NSGA-II's selection), so that a front larger
 * than the promotion quota is cut where it is most crowded rather than by arrival order.
 */
export function rankOrder(vectors: readonly (readonly number[])[]): number[] {
  const idx = vectors.map((_, i) => i);
  if (vectors.length === 0) return idx;
  if (vectors[0].length === 1) return idx.sort((a, b) => cmpDesc(vectors[a][0], vectors[b][0]) || a - b);
  const ranks = nonDominatedRanks(vectors);
  const crowd = new Float64Array(vectors.length);
  const fronts = new Map<number, number[]>();
  idx.forEach((i) => {
    const f = fronts.get(ranks[i]);
    if (f) f.push(i);
    else fronts.set(ranks[i], [i]);
  });
  for (const members of fronts.values()) {
    const d = crowdingDistance(vectors, members);
    members.forEach((m, j) => (crowd[m] = d[j]));
  }
  return idx.sort((a, b) => ranks[a] - ranks[b] || cmpDesc(crowd[a], crowd[b]) || a - b);
}

/**
 * How many vectors are strictly ahead of item `i` (several objectives): on a better front, or on
 * its front with a strictly larger crowding distance. Ties do not count, so a trade-off that
 * nothing beats is never dropped for arriving later.
 */
export function strictlyAhead(vectors: readonly (readonly number[])[], i: number): number {
  const ranks = nonDominatedRanks(vectors);
  const members = vectors.map((_, j) => j).filter((j) => ranks[j] === ranks[i]);
  const d = crowdingDistance(vectors, members);
  const mine = d[members.indexOf(i)];
  let ahead = 0;
  for (let j = 0; j < vectors.length; j++) if (ranks[j] < ranks[i]) ahead++;
  members.forEach((m, k) => {
    if (m !== i && d[k] > mine) ahead++;
  });
  return ahead;
}

function cmpDesc(a: number, b: number): number {
  if (a === b) return 0;
  if (Number.isNaN(a)) return 1;
  if (Number.isNaN(b)) return -1;
  return a > b ? -1 : 1;
}
