/**
 * Architecture encodings computed from a space's `graph` capability (operations on nodes plus an
 * adjacency matrix), for predictors:
 *
 * - `AdjacencyEncoding`: the upper triangle of the adjacency matrix followed by a one-hot
 *   operation per node, padded to a fixed node count.
 * - `PathEncoding` (White et al., "A Study on Encodings for Neural Architecture Search", 2020, and
 *   BANANAS, 2021): one entry per possible sequence of operations along an input -> output path;
 *   an architecture sets the entries of the paths it contains. Nodes whose operation is in
 *   `dropOps` (NB201's `none`) cut every path through them. Optional truncation keeps only the
 *   first entries, which are the shortest paths (the most frequent ones under random sampling).
 * - `graphBatch` / `normalizeAdjacency`: node features (one-hot over the vocabulary) and adjacency
 *   arrays for graph neural networks, edges into or out of dropped nodes removed.
 *
 * Everything here is plain TypeScript (no tensor engine).
 */
import type { Json } from "../core/json.js";
import { Rng } from "../core/rng.js";
import type { ArchGraph, SearchSpace } from "../core/space.js";
import { UserError } from "../core/errors.js";

/** Labels of nodes that carry no operation of their own: they start or end paths and are not part of a path's op sequence. */
export const DEFAULT_TERMINALS: readonly string[] = ["input", "output"];
/** Operations that mean "no connection": a path through such a node does not exist. */
export const DEFAULT_DROP_OPS: readonly string[] = ["none"];

/** Throws a clear UserError when the space has no `graph`. */
export function requireGraph(space: SearchSpace, consumer: string): (point: Json) => ArchGraph {
  if (typeof space.graph !== "function") {
    throw new UserError(`${consumer} needs a space with an architecture graph (capability "graph"); space "${space.name}" has none.`);
  }
  return (p) => space.graph!(p);
}

/**
 * The space's canonical form of a point when that is itself a valid point (NB201: dead edges set to
 * `none`), so equivalent architectures get one encoding; the point itself otherwise.
 */
export function canonicalPoint(space: SearchSpace, p: Json): Json {
  try {
    return space.validate(space.canonical(p));
  } catch {
    return p;
  }
}

/** Graphs of a few points drawn with a fixed generator: used to size fixed-length encodings for a space. */
function probeGraphs(space: SearchSpace, consumer: string, count = 64): ArchGraph[] {
  const graph = requireGraph(space, consumer);
  const rng = new Rng(0x5eed);
  return Array.from({ length: count }, () => graph(space.sample(rng)));
}

function checkGraph(g: ArchGraph): void {
  const n = g.ops.length;
  if (g.adjacency.length !== n || g.adjacency.some((row) => row.length !== n)) {
    throw new UserError(`architecture graph has ${n} nodes but an adjacency matrix of ${g.adjacency.length} rows; expected ${n} x ${n}`);
  }
}

/** Number of nodes on the longest path (nodes are in topological order). */
function longestPathNodes(adjacency: number[][]): number {
  const n = adjacency.length;
  const best = new Array<number>(n).fill(1);
  for (let j = 0; j < n; j++) for (let i = 0; i < j; i++) if (adjacency[i][j]) best[j] = Math.max(best[j], best[i] + 1);
  return n === 0 ? 0 : Math.max(...best);
}

export interface PathEncodingOptions {
  /** Operations that cut paths (default ["none"]). */
  dropOps?: readonly string[];
  /** Labels that start or end paths and are left out of op sequences (default ["input", "output"]). */
  terminals?: readonly string[];
  /** Longest op sequence encoded (default: derived from the space's graphs). */
  maxLength?: number;
  /** Keep only the first this many entries (shortest paths first); default: all. */
  truncate?: number;
  /** "binary": 1 when the architecture has the path (White et al.); "count": how many times. Default binary. */
  mode?: "binary" | "count";
}

/**
 * The path encoding. Entry order: paths of length 1, then 2, ...; within a length, op sequences in
 * lexicographic order of the ops' positions in the path vocabulary (the space's vocabulary minus
 * terminals and dropped ops).
 */
export class PathEncoding {
  readonly ops: readonly string[];
  readonly maxLength: number;
  /** Length of the full (untruncated) encoding. */
  readonly fullLength: number;
  /** Length of the encoding vectors (after truncation). */
  readonly length: number;
  private readonly opIndex: Map<string, number>;
  private readonly drop: Set<string>;
  private readonly terminals: Set<string>;
  private readonly offsets: number[];
  private readonly mode: "binary" | "count";

  constructor(vocabulary: readonly string[], maxLength: number, opts: PathEncodingOptions = {}) {
    this.drop = new Set(opts.dropOps ?? DEFAULT_DROP_OPS);
    this.terminals = new Set(opts.terminals ?? DEFAULT_TERMINALS);
    this.ops = vocabulary.filter((op) => !this.drop.has(op) && !this.terminals.has(op));
    this.opIndex = new Map(this.ops.map((op, i) => [op, i]));
    this.mode = opts.mode ?? "binary";
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new UserError(`path encoding: maxLength must be a positive integer, got ${maxLength}`);
    this.maxLength = maxLength;
    const k = this.ops.length;
    if (k === 0) throw new UserError("path encoding: the vocabulary has no operations besides terminals and dropped ops");
    this.offsets = [0];
    let total = 0;
    for (let l = 1; l <= maxLength; l++) {
      total += k ** l;
      this.offsets.push(total);
    }
    this.fullLength = total;
    if (opts.truncate !== undefined && (!Number.isInteger(opts.truncate) || opts.truncate < 1)) {
      throw new UserError(`path encoding: truncate must be a positive integer, got ${opts.truncate}`);
    }
    this.length = Math.min(total, opts.truncate ?? total);
    if (this.length > 1_000_000) {
      throw new UserError(
        `path encoding of ${total} entries (${k} ops, paths up to ${maxLength}) is too long; set truncate (e.g. 1000) to keep the shortest paths`,
      );
    }
  }

  /** Sized for a space: vocabulary from its graphs, maxLength the longest op sequence seen on a fixed sample of its graphs. */
  static forSpace(space: SearchSpace, opts: PathEncodingOptions = {}): PathEncoding {
    const graphs = probeGraphs(space, "the path encoding");
    const terminals = new Set(opts.terminals ?? DEFAULT_TERMINALS);
    let longest = 1;
    for (const g of graphs) {
      checkGraph(g);
      const terminalCount = g.ops.filter((op) => terminals.has(op)).length;
      longest = Math.max(longest, longestPathNodes(g.adjacency) - Math.min(2, terminalCount));
    }
    return new PathEncoding(graphs[0].vocabulary, opts.maxLength ?? longest, opts);
  }

  /** Op sequences of every source -> sink path that avoids dropped nodes (terminals left out of the sequences). */
  paths(g: ArchGraph): string[][] {
    checkGraph(g);
    const n = g.ops.length;
    const hasIn = new Array<boolean>(n).fill(false);
    const hasOut = new Array<boolean>(n).fill(false);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (g.adjacency[i][j]) (hasOut[i] = true), (hasIn[j] = true);
    const out: string[][] = [];
    const seq: string[] = [];
    const walk = (v: number) => {
      if (this.drop.has(g.ops[v])) return;
      const own = !this.terminals.has(g.ops[v]);
      if (own) seq.push(g.ops[v]);
      if (!hasOut[v]) {
        if (seq.length > 0) out.push([...seq]);
      } else {
        for (let w = 0; w < n; w++) if (g.adjacency[v][w]) walk(w);
      }
      if (own) seq.pop();
    };
    for (let s = 0; s < n; s++) if (!hasIn[s]) walk(s);
    return out;
  }

  /** Index of an op sequence in the full encoding, or -1 when it cannot be encoded (too long, unknown op). */
  index(path: readonly string[]): number {
    const l = path.length;
    if (l < 1 || l > this.maxLength) return -1;
    const k = this.ops.length;
    let code = 0;
    for (const op of path) {
      const i = this.opIndex.get(op);
      if (i === undefined) return -1;
      code = code * k + i;
    }
    return this.offsets[l - 1] + code;
  }

  /** The op sequence of entry `index` (inverse of `index`). */
  pathAt(index: number): string[] {
    if (index < 0 || index >= this.fullLength) throw new RangeError(`path index ${index} out of range`);
    let l = 1;
    while (index >= this.offsets[l]) l++;
    let code = index - this.offsets[l - 1];
    const k = this.ops.length;
    const path = new Array<string>(l);
    for (let p = l - 1; p >= 0; p--) {
      path[p] = this.ops[code % k];
      code = Math.floor(code / k);
    }
    return path;
  }

  /** The encoding vector; paths longer than maxLength, or beyond the truncation, are left out. */
  encode(g: ArchGraph): number[] {
    const v = new Array<number>(this.length).fill(0);
    for (const p of this.paths(g)) {
      const i = this.index(p);
      if (i < 0 || i >= this.length) continue;
      v[i] = this.mode === "count" ? v[i] + 1 : 1;
    }
    return v;
  }
}

/**
 * Adjacency + operations: the strict upper triangle of the adjacency matrix (row by row), then a
 * one-hot operation per node over the vocabulary; graphs with fewer nodes are padded with zeros.
 */
export class AdjacencyEncoding {
  readonly length: number;
  private readonly vocabIndex: Map<string, number>;

  constructor(
    readonly vocabulary: readonly string[],
    readonly maxNodes: number,
  ) {
    this.vocabIndex = new Map(vocabulary.map((op, i) => [op, i]));
    this.length = (maxNodes * (maxNodes - 1)) / 2 + maxNodes * vocabulary.length;
  }

  static forSpace(space: SearchSpace): AdjacencyEncoding {
    const graphs = probeGraphs(space, "the adjacency encoding");
    return new AdjacencyEncoding(graphs[0].vocabulary, Math.max(...graphs.map((g) => g.ops.length)));
  }

  encode(g: ArchGraph): number[] {
    checkGraph(g);
    const n = g.ops.length;
    const N = this.maxNodes;
    if (n > N) throw new UserError(`adjacency encoding sized for ${N} nodes got a graph of ${n}`);
    const v = new Array<number>(this.length).fill(0);
    let k = 0;
    for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++, k++) if (i < n && j < n && g.adjacency[i][j]) v[k] = 1;
    const V = this.vocabulary.length;
    g.ops.forEach((op, i) => {
      const o = this.vocabIndex.get(op);
      if (o === undefined) throw new UserError(`operation "${op}" is not in the space's vocabulary (${this.vocabulary.join(", ")})`);
      v[k + i * V + o] = 1;
    });
    return v;
  }
}

/** Graphs as dense arrays for a GNN: B graphs padded to N nodes, V node features. */
export interface GraphBatch {
  B: number;
  N: number;
  V: number;
  /** [B, N, V] one-hot operations (all zero for padding nodes). */
  nodes: Float32Array;
  /** [B, N, N] adjacency, `adj[b, i, j] = 1` for an edge i -> j (edges touching dropped nodes removed). */
  adjacency: Float32Array;
  /** [B, N] 1 for real nodes, 0 for padding. */
  mask: Float32Array;
}

export interface GraphBatchOptions {
  vocabulary: readonly string[];
  maxNodes: number;
  /** Nodes with these ops keep their features but lose their edges (default ["none"]). */
  dropOps?: readonly string[];
}

/** Node features and adjacency for a GNN (see GraphBatch). */
export function graphBatch(graphs: readonly ArchGraph[], opts: GraphBatchOptions): GraphBatch {
  const B = graphs.length;
  const N = opts.maxNodes;
  const V = opts.vocabulary.length;
  const vocab = new Map(opts.vocabulary.map((op, i) => [op, i]));
  const drop = new Set(opts.dropOps ?? DEFAULT_DROP_OPS);
  const nodes = new Float32Array(B * N * V);
  const adjacency = new Float32Array(B * N * N);
  const mask = new Float32Array(B * N);
  graphs.forEach((g, b) => {
    checkGraph(g);
    const n = g.ops.length;
    if (n > N) throw new UserError(`graph of ${n} nodes exceeds the ${N} nodes the model was sized for`);
    for (let i = 0; i < n; i++) {
      const o = vocab.get(g.ops[i]);
      if (o === undefined) throw new UserError(`operation "${g.ops[i]}" is not in the vocabulary (${opts.vocabulary.join(", ")})`);
      nodes[(b * N + i) * V + o] = 1;
      mask[b * N + i] = 1;
    }
    for (let i = 0; i < n; i++) {
      if (drop.has(g.ops[i])) continue;
      for (let j = 0; j < n; j++) if (g.adjacency[i][j] && !drop.has(g.ops[j])) adjacency[(b * N + i) * N + j] = 1;
    }
  });
  return { B, N, V, nodes, adjacency, mask };
}

export interface NormalizeOptions {
  /** "forward": node j aggregates its predecessors (data flow); "reverse": its successors; "undirected": both. */
  direction: "forward" | "reverse" | "undirected";
  /** Add self loops for real nodes (GCN); default true. */
  selfLoops?: boolean;
  /** "sym": D^-1/2 A D^-1/2 (Kipf & Welling); "row": mean over neighbours; "none": raw sums (GIN). Default "sym". */
  norm?: "sym" | "row" | "none";
}

/**
 * Message-passing matrices M [B, N, N] from a batch's adjacency, with `M[b, j, i]` the weight of node
 * i's message to node j, so a layer computes `M @ H`.
 */
export function normalizeAdjacency(batch: GraphBatch, opts: NormalizeOptions): Float32Array {
  const { B, N, adjacency, mask } = batch;
  const out = new Float32Array(B * N * N);
  const selfLoops = opts.selfLoops ?? true;
  const norm = opts.norm ?? "sym";
  for (let b = 0; b < B; b++) {
    const base = b * N * N;
    const a = (i: number, j: number) => adjacency[base + i * N + j];
    for (let j = 0; j < N; j++) {
      for (let i = 0; i < N; i++) {
        let w = 0;
        if (opts.direction === "forward") w = a(i, j);
        else if (opts.direction === "reverse") w = a(j, i);
        else w = Math.max(a(i, j), a(j, i));
        if (selfLoops && i === j && mask[b * N + i]) w = 1;
        out[base + j * N + i] = w;
      }
    }
    if (norm === "none") continue;
    const deg = new Float64Array(N);
    for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) deg[j] += out[base + j * N + i];
    for (let j = 0; j < N; j++) {
      for (let i = 0; i < N; i++) {
        const k = base + j * N + i;
        if (out[k] === 0) continue;
        if (norm === "row") out[k] /= deg[j];
        else {
          // Symmetric normalisation with the in-degree of each side (columns of the message matrix).
          let degI = 0;
          for (let m = 0; m < N; m++) degI += out[base + i * N + m];
          out[k] /= Math.sqrt(deg[j] * Math.max(degI, 1e-12));
        }
      }
    }
  }
  return out;
}
