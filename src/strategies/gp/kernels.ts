import type { ArchGraph } from "../../core/space.js";

/**
 * A family of kernels over some feature representation, indexed by a small discrete
 * hyperparameter (the "variant": WL iterations h, or an exponential kernel's length scale) that
 * the GP picks by marginal likelihood. Every kernel here has k(x, x) = 1.
 */
export interface KernelFamily<F> {
  readonly variants: number;
  /** Base Gram matrices (n x n, row-major), one per variant. May set data-dependent scales. */
  gram(train: readonly F[]): Float64Array[];
  /** Kernel values between x and each training point, for one variant (after `gram`). */
  cross(variant: number, x: F, train: readonly F[]): Float64Array;
  describe(variant: number): string;
}

// ---------------------------------------------------------------------------------------------
// Weisfeiler-Lehman subtree features (Shervashidze et al. 2011; as a GP kernel for NAS: NAS-BOWL,
// Ru et al. 2021).

/** Sparse label counts of one WL iteration: label ids ascending, with their counts. */
export interface SparseCounts {
  ids: Int32Array;
  counts: Float64Array;
}

/** Label counts at iterations 0..h, and each level's squared norm. */
export interface WlFeatures {
  levels: SparseCounts[];
  selfDots: Float64Array;
}

/**
 * Removes nodes whose op is in `drop` (zero operations: the edge does not exist), then nodes no
 * longer on a path from a source to a sink of the original graph (dead branches compute nothing
 * the output sees). Returns the surviving ops and, per survivor, its surviving predecessors.
 */
export function pruneGraph(graph: ArchGraph, drop: ReadonlySet<string>): { ops: string[]; preds: number[][] } {
  const n = graph.ops.length;
  const adj = graph.adjacency;
  const isSource = (i: number) => adj.every((row) => !row[i]);
  const isSink = (i: number) => !adj[i].some((v) => v);
  const kept = graph.ops.map((op) => !drop.has(op));
  if (drop.size === 0 || kept.every((k) => k)) {
    return { ops: [...graph.ops], preds: graph.ops.map((_, j) => graph.ops.flatMap((__, i) => (adj[i][j] ? [i] : []))) };
  }
  // Nodes are in topological order, so one forward and one backward sweep find liveness.
  const fromSource = new Array<boolean>(n).fill(false);
  for (let j = 0; j < n; j++) {
    if (!kept[j]) continue;
    if (isSource(j)) fromSource[j] = true;
    else for (let i = 0; i < j; i++) if (adj[i][j] && fromSource[i]) fromSource[j] = true;
  }
  const toSink = new Array<boolean>(n).fill(false);
  for (let i = n - 1; i >= 0; i--) {
    if (!kept[i]) continue;
    if (isSink(i)) toSink[i] = true;
    else for (let j = i + 1; j < n; j++) if (adj[i][j] && toSink[j]) toSink[i] = true;
  }
  // Sources and sinks (the cell's inputs and outputs) always stay, even when cut off.
  const live = graph.ops.map((_, i) => kept[i] && ((fromSource[i] && toSink[i]) || isSource(i) || isSink(i)));
  const index = new Array<number>(n).fill(-1);
  const ops: string[] = [];
  for (let i = 0; i < n; i++) {
    if (live[i]) {
      index[i] = ops.length;
      ops.push(graph.ops[i]);
    }
  }
  const preds: number[][] = ops.map(() => []);
  for (let i = 0; i < n; i++) {
    if (!live[i]) continue;
    for (let j = i + 1; j < n; j++) if (live[j] && adj[i][j]) preds[index[j]].push(index[i]);
  }
  return { ops, preds };
}

function toSparse(labels: number[]): SparseCounts {
  const sorted = [...labels].sort((a, b) => a - b);
  const ids: number[] = [];
  const counts: number[] = [];
  for (const id of sorted) {
    if (ids.length > 0 && ids[ids.length - 1] === id) counts[counts.length - 1]++;
    else {
      ids.push(id);
      counts.push(1);
    }
  }
  return { ids: Int32Array.from(ids), counts: Float64Array.from(counts) };
}

/** Dot product of two sparse count vectors (merge of the sorted id lists). */
export function sparseDot(a: SparseCounts, b: SparseCounts): number {
  let i = 0;
  let j = 0;
  let s = 0;
  while (i < a.ids.length && j < b.ids.length) {
    const x = a.ids[i];
    const y = b.ids[j];
    if (x === y) s += a.counts[i++] * b.counts[j++];
    else if (x < y) i++;
    else j++;
  }
  return s;
}

/**
 * Computes WL features: iteration 0 labels are the ops; at each next iteration a node's label
 * becomes (its label, sorted multiset of its predecessors' labels), compressed to an integer id
 * by a dictionary shared by every graph this featuriser sees (so ids are comparable). Counts are
 * integers, so dot products are exact whatever ids the dictionary happened to assign.
 */
export class WlFeaturizer {
  private dictionary = new Map<string, number>();

  constructor(
    readonly iterations: number,
    private readonly drop: ReadonlySet<string> = new Set(),
  ) {}

  /** Number of distinct labels seen so far (the dictionary can be reset to bound memory). */
  get size(): number {
    return this.dictionary.size;
  }

  /** Forgets every label: features computed before are no longer comparable with later ones. */
  reset(): void {
    this.dictionary = new Map();
  }

  private id(key: string): number {
    let v = this.dictionary.get(key);
    if (v === undefined) {
      v = this.dictionary.size;
      this.dictionary.set(key, v);
    }
    return v;
  }

  features(graph: ArchGraph): WlFeatures {
    const { ops, preds } = pruneGraph(graph, this.drop);
    let labels = ops.map((op) => this.id(`0:${op}`));
    const levels = [toSparse(labels)];
    for (let it = 1; it <= this.iterations; it++) {
      const prev = labels;
      labels = prev.map((own, v) => {
        const neighbours = preds[v].map((u) => prev[u]).sort((a, b) => a - b);
        return this.id(`${it}:${own}|${neighbours.join(",")}`);
      });
      levels.push(toSparse(labels));
    }
    return { levels, selfDots: Float64Array.from(levels.map((l) => sparseDot(l, l))) };
  }
}

/**
 * Normalised WL kernel for h = 0..H (the variant is h): k_h(a, b) = <phi_h(a), phi_h(b)> /
 * sqrt(<phi_h(a), phi_h(a)> <phi_h(b), phi_h(b)>), phi_h the label counts of iterations 0..h.
 */
export function wlKernel(a: WlFeatures, b: WlFeatures, h: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i <= h; i++) {
    ab += sparseDot(a.levels[i], b.levels[i]);
    aa += a.selfDots[i];
    bb += b.selfDots[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

export class WlKernelFamily implements KernelFamily<WlFeatures> {
  readonly variants: number;

  /** Variants are h = minIterations..maxIterations. */
  constructor(
    private readonly minIterations: number,
    maxIterations: number,
  ) {
    this.variants = maxIterations - minIterations + 1;
  }

  describe(variant: number): string {
    return `wl(h=${this.minIterations + variant})`;
  }

  gram(train: readonly WlFeatures[]): Float64Array[] {
    const n = train.length;
    const grams = Array.from({ length: this.variants }, () => new Float64Array(n * n));
    const levels = this.minIterations + this.variants;
    for (let i = 0; i < n; i++) {
      const a = train[i];
      for (let j = i; j < n; j++) {
        const b = train[j];
        // One pass over the levels gives the kernel for every h (cumulative sums).
        let ab = 0;
        let aa = 0;
        let bb = 0;
        for (let level = 0; level < levels; level++) {
          ab += i === j ? a.selfDots[level] : sparseDot(a.levels[level], b.levels[level]);
          aa += a.selfDots[level];
          bb += b.selfDots[level];
          const v = level - this.minIterations;
          if (v < 0) continue;
          const k = aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
          grams[v][i * n + j] = k;
          grams[v][j * n + i] = k;
        }
      }
    }
    return grams;
  }

  cross(variant: number, x: WlFeatures, train: readonly WlFeatures[]): Float64Array {
    const h = this.minIterations + variant;
    const out = new Float64Array(train.length);
    for (let i = 0; i < train.length; i++) out[i] = wlKernel(x, train[i], h);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Exponential kernel on fixed-length encodings (one-hot categoricals, unit-scaled numbers): on
// one-hot codes the L1 distance is twice the Hamming distance between the decisions.

export function l1Distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s;
}

/** Length scales tried, as multiples of the median pairwise distance of the training set. */
const LENGTH_FACTORS = [0.25, 0.5, 1, 2, 4];

/**
 * k(a, b) = exp(-|a - b|_1 / l); the variant is l, a multiple of the training set's median
 * distance (set by each `gram` call), so the grid fits any encoding's scale.
 */
export class ExponentialKernelFamily implements KernelFamily<Float64Array> {
  readonly variants = LENGTH_FACTORS.length;
  private lengths = LENGTH_FACTORS.slice();

  describe(variant: number): string {
    return `exponential(l=${this.lengths[variant].toPrecision(3)})`;
  }

  gram(train: readonly Float64Array[]): Float64Array[] {
    const n = train.length;
    const dist = new Float64Array(n * n);
    const offDiagonal: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const d = l1Distance(train[i], train[j]);
        dist[i * n + j] = d;
        dist[j * n + i] = d;
        if (d > 0) offDiagonal.push(d);
      }
    }
    offDiagonal.sort((a, b) => a - b);
    const median = offDiagonal.length > 0 ? offDiagonal[offDiagonal.length >> 1] : 1;
    this.lengths = LENGTH_FACTORS.map((f) => f * median);
    return this.lengths.map((l) => dist.map((d) => Math.exp(-d / l)));
  }

  cross(variant: number, x: Float64Array, train: readonly Float64Array[]): Float64Array {
    const l = this.lengths[variant];
    return Float64Array.from(train.map((t) => Math.exp(-l1Distance(x, t) / l)));
  }
}
