import { test } from "node:test";
import assert from "node:assert/strict";
import { ParetoFront2D } from "../src/objectives/pareto-incremental.js";
import { paretoFront } from "../src/objectives/pareto.js";
import { hypervolume } from "../src/objectives/hypervolume.js";
import { Rng } from "../src/core/rng.js";

test("incremental 2-D Pareto front: same set and hypervolume as the batch algorithms after every insertion", () => {
  for (const seed of [1, 2, 3]) {
    const rng = new Rng(seed);
    const front = new ParetoFront2D<number>();
    const pts: number[][] = [];
    for (let i = 0; i < 400; i++) {
      // a coarse grid: ties and repeated points occur
      const p = [Math.round(rng.next() * 50), Math.round(rng.next() * 50)];
      pts.push(p);
      front.add(p[0], p[1], i);
      if (i % 37 !== 0 && i !== 399) continue;
      const key = (p: ArrayLike<number>) => `${p[0]},${p[1]}`;
      const batch = [...new Set(paretoFront(pts).map((j) => key(pts[j])))].sort();
      assert.deepEqual(front.points().map((q) => key([q.x, q.y])).sort(), batch, `seed ${seed}, after ${i + 1} points`);
      assert.ok(Math.abs(front.hypervolume(-1, -1) - hypervolume(pts, [-1, -1])) < 1e-9);
    }
    // the front is kept sorted by x ascending, y descending
    const f = front.points();
    for (let k = 1; k < f.length; k++) assert.ok(f[k].x > f[k - 1].x && f[k].y < f[k - 1].y);
  }
});
