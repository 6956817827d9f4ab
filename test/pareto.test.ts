import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/rng.js";
import { constrainedRanks, crowdingDistance, dominates, nonDominatedRanks, nonDominatedSort, paretoFront } from "../src/objectives/pareto.js";
import { hypervolume, hypervolumeBruteForce } from "../src/objectives/hypervolume.js";

/** Front index by the definition: peel off non-dominated points repeatedly, O(n^3). */
function bruteRanks(points: number[][]): number[] {
  const ranks = new Array<number>(points.length).fill(-1);
  let left = points.map((_, i) => i);
  for (let k = 0; left.length > 0; k++) {
    const front = left.filter((i) => !left.some((j) => dominates(points[j], points[i])));
    for (const i of front) ranks[i] = k;
    left = left.filter((i) => ranks[i] < 0);
  }
  return ranks;
}

function randomSet(rng: Rng, n: number, m: number, grid: number): number[][] {
  // Coarse grids make ties and duplicates common, which is where sorting algorithms break.
  return Array.from({ length: n }, () => Array.from({ length: m }, () => (grid > 0 ? rng.int(grid) : rng.next())));
}

test("non-dominated ranks equal brute force for 1 to 5 objectives, with ties and duplicates", () => {
  const rng = new Rng(1);
  for (let trial = 0; trial < 60; trial++) {
    const m = 1 + (trial % 5);
    const n = 1 + rng.int(80);
    const pts = randomSet(rng, n, m, trial % 3 === 0 ? 0 : 3 + rng.int(6));
    assert.deepEqual(Array.from(nonDominatedRanks(pts)), bruteRanks(pts), `m=${m} n=${n}`);
  }
});

test("pareto front and sort agree with the definition; NaN counts as worst", () => {
  const pts = [
    [1, 5],
    [2, 4],
    [2, 4],
    [1, 4],
    [3, NaN],
    [0, 6],
  ];
  assert.deepEqual(paretoFront(pts), [0, 1, 2, 4, 5]);
  assert.deepEqual(nonDominatedSort(pts), [[0, 1, 2, 4, 5], [3]]);
});

test("crowding distance: extremes infinite, interior normalised gaps", () => {
  const pts = [
    [0, 4],
    [1, 3],
    [3, 1],
    [4, 0],
  ];
  const d = crowdingDistance(pts);
  assert.equal(d[0], Infinity);
  assert.equal(d[3], Infinity);
  assert.ok(Math.abs(d[1] - (3 / 4 + 3 / 4)) < 1e-12);
  assert.ok(Math.abs(d[2] - (3 / 4 + 3 / 4)) < 1e-12);
});

test("constrained ranks put every feasible point before infeasible ones, by violation", () => {
  const r = constrainedRanks([[5, 5], [0, 0], [9, 9], [1, 1]], [0, 0, 2, 0.5]);
  assert.deepEqual(Array.from(r), [0, 1, 3, 2]);
});

test("hypervolume equals the brute-force grid measure in 1, 2 and 3 objectives", () => {
  const rng = new Rng(2);
  for (let trial = 0; trial < 60; trial++) {
    const m = 1 + (trial % 3);
    const n = 1 + rng.int(m === 3 ? 25 : 60);
    const pts = randomSet(rng, n, m, trial % 2 === 0 ? 0 : 5);
    const ref = Array.from({ length: m }, () => (trial % 4 === 1 ? 0.5 : -0.1));
    const a = hypervolume(pts, ref);
    const b = hypervolumeBruteForce(pts, ref);
    assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, b), `m=${m} n=${n}: ${a} vs ${b}`);
  }
  assert.equal(hypervolume([[1, 1]], [1, 0]), 0);
  assert.equal(hypervolume([], [0, 0]), 0);
  assert.throws(() => hypervolume([[1, 1, 1, 1]], [0, 0, 0, 0]), /1 to 3 objectives/);
});

test("scale: 100,000 points in 2 and 3 objectives (sort, front, hypervolume) stay consistent", () => {
  const rng = new Rng(3);
  for (const m of [2, 3]) {
    const n = 100_000;
    // Anti-correlated points give large fronts, the hard case for front extraction.
    const pts = Array.from({ length: n }, () => {
      const v = Array.from({ length: m }, () => rng.next());
      const s = v.reduce((a, b) => a + b, 0);
      return v.map((x) => x / s + 0.01 * rng.next());
    });
    const ranks = nonDominatedRanks(pts);
    const front = paretoFront(pts);
    assert.ok(front.length > 10);
    // Spot-check: front members are not dominated by a sample, and a sample of non-front points is dominated by some front member.
    for (let k = 0; k < 50; k++) {
      const i = front[rng.int(front.length)];
      for (let t = 0; t < 20; t++) assert.ok(!dominates(pts[rng.int(n)], pts[i]));
      const j = rng.int(n);
      if (ranks[j] > 0) assert.ok(front.some((f) => dominates(pts[f], pts[j])));
      else assert.ok(front.includes(j));
    }
    // Hypervolume of all points equals that of the front alone.
    const ref = new Array<number>(m).fill(0);
    const all = hypervolume(pts, ref);
    const onlyFront = hypervolume(front.map((i) => pts[i]), ref);
    assert.ok(Math.abs(all - onlyFront) < 1e-9 * all);
  }
});
