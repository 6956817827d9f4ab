import type { ArchGraph } from "../core/space.js";

/**
 * A 4-node cell with one operation per edge (NB201, TransNAS-Bench-101 micro) as a graph with
 * operations on nodes: input, one node per edge (in `edges` order), output. An edge node follows
 * the input when its edge leaves node 0, feeds the output when it enters the last node, and feeds
 * every edge node leaving its target.
 */
export function cellGraph(ops: readonly string[], edges: readonly (readonly [number, number])[], vocabulary: readonly string[]): ArchGraph {
  const n = ops.length + 2;
  const last = Math.max(...edges.map(([, t]) => t));
  const adjacency = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  edges.forEach(([s, t], k) => {
    const node = k + 1;
    if (s === 0) adjacency[0][node] = 1;
    if (t === last) adjacency[node][n - 1] = 1;
    edges.forEach(([s2], k2) => {
      if (s2 === t) adjacency[node][k2 + 1] = 1;
    });
  });
  return { ops: ["input", ...ops, "output"], adjacency, vocabulary };
}
