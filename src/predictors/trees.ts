/**
 * Regression trees (CART, squared-error splits) and two ensembles of them: a random forest
 * (Breiman 2001; uncertainty = spread of the trees' predictions) and gradient-boosted trees
 * (Friedman 2001; squared loss, or pinball loss for quantiles, whose 16th and 84th percentile
 * models give an uncertainty).
 *
 * Written here rather than taken from npm: ml-random-forest / ml-cart (the maintained JS option)
 * search splits in time quadratic in the node size, cannot use archsearch's seeded, serialisable
 * generator and have no boosting; the code below is small and O(n log n) per feature and node.
 */
import { Rng } from "../core/rng.js";

/** A fitted tree in flat arrays: node i is a leaf when feature[i] < 0. */
export interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

export interface TreeOptions {
  maxDepth: number;
  minLeaf: number;
  /** Features tried at each split (random subset of this size; all when >= the number of features). */
  mtry: number;
  /** Leaf value from the targets of its samples (default: their mean). */
  leafValue?: (targets: number[]) => number;
}

/** Fits a regression tree on rows X[i] (all of one length) and targets y, using the sample indices `idx` (repeats allowed). */
export function fitTree(X: readonly Float64Array[], y: ArrayLike<number>, idx: readonly number[], opts: TreeOptions, rng: Rng): Tree {
  const d = X[0]?.length ?? 0;
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const leafValue = opts.leafValue ?? ((t: number[]) => t.reduce((a, b) => a + b, 0) / t.length);
  const allFeatures = Array.from({ length: d }, (_, j) => j);
  // Binary (0/1) columns, such as one-hot and path encodings, are split in one counting pass without sorting.
  const binary = allFeatures.map((f) => idx.every((i) => X[i][f] === 0 || X[i][f] === 1));

  const grow = (samples: number[], depth: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    value.push(leafValue(samples.map((i) => y[i])));
    if (depth >= opts.maxDepth || samples.length < 2 * opts.minLeaf) return id;
    const n = samples.length;
    let total = 0;
    for (const i of samples) total += y[i];
    let bestGain = 1e-12;
    let bestFeature = -1;
    let bestThreshold = 0;
    const tried = opts.mtry >= d ? allFeatures : rng.sampleIndices(d, opts.mtry);
    const order = samples.slice();
    const parentScore = (total * total) / n;
    for (const f of tried) {
      if (binary[f]) {
        let sumL = 0;
        let nl = 0;
        for (const i of samples) {
          if (X[i][f] === 0) {
            sumL += y[i];
            nl++;
          }
        }
        if (nl < opts.minLeaf || n - nl < opts.minLeaf) continue;
        const sumR = total - sumL;
        const gain = (sumL * sumL) / nl + (sumR * sumR) / (n - nl) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestThreshold = 0.5;
        }
        continue;
      }
      order.sort((a, b) => X[a][f] - X[b][f]);
      if (X[order[0]][f] === X[order[n - 1]][f]) continue;
      let sumL = 0;
      for (let k = 0; k < n - 1; k++) {
        sumL += y[order[k]];
        const nl = k + 1;
        const a = X[order[k]][f];
        const b = X[order[k + 1]][f];
        if (a === b || nl < opts.minLeaf || n - nl < opts.minLeaf) continue;
        const sumR = total - sumL;
        const gain = (sumL * sumL) / nl + (sumR * sumR) / (n - nl) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestThreshold = (a + b) / 2;
        }
      }
    }
    if (bestFeature < 0) return id;
    const ls = samples.filter((i) => X[i][bestFeature] <= bestThreshold);
    const rs = samples.filter((i) => X[i][bestFeature] > bestThreshold);
    feature[id] = bestFeature;
    threshold[id] = bestThreshold;
    const l = grow(ls, depth + 1);
    const r = grow(rs, depth + 1);
    left[id] = l;
    right[id] = r;
    return id;
  };
  grow([...idx], 0);
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
  };
}

export function predictTree(tree: Tree, x: ArrayLike<number>): number {
  let i = 0;
  while (tree.feature[i] >= 0) i = x[tree.feature[i]] <= tree.threshold[i] ? tree.left[i] : tree.right[i];
  return tree.value[i];
}

export interface ForestOptions {
  trees: number;
  maxDepth: number;
  minLeaf: number;
  /** Share of the features tried at each split. */
  maxFeatures: number;
  bootstrap: boolean;
}

/** Random forest regression: bootstrap samples, random feature subsets per split. */
export class RandomForest {
  private constructor(private readonly trees: Tree[]) {}

  static fit(X: readonly Float64Array[], y: ArrayLike<number>, opts: ForestOptions, rng: Rng): RandomForest {
    const n = X.length;
    const d = X[0]?.length ?? 0;
    const mtry = Math.max(1, Math.round(opts.maxFeatures * d));
    const trees: Tree[] = [];
    for (let t = 0; t < opts.trees; t++) {
      const idx = opts.bootstrap ? Array.from({ length: n }, () => rng.int(n)) : Array.from({ length: n }, (_, i) => i);
      trees.push(fitTree(X, y, idx, { maxDepth: opts.maxDepth, minLeaf: opts.minLeaf, mtry }, rng));
    }
    return new RandomForest(trees);
  }

  /** Mean and standard deviation of the trees' predictions. */
  predict(x: ArrayLike<number>): { mean: number; std: number } {
    let s = 0;
    let s2 = 0;
    for (const t of this.trees) {
      const v = predictTree(t, x);
      s += v;
      s2 += v * v;
    }
    const m = s / this.trees.length;
    return { mean: m, std: Math.sqrt(Math.max(0, s2 / this.trees.length - m * m)) };
  }
}

export interface BoostingOptions {
  rounds: number;
  learningRate: number;
  maxDepth: number;
  minLeaf: number;
  /** Share of the rows each round fits on (stochastic gradient boosting). */
  subsample: number;
  /** Share of the features tried at each split. */
  colsample: number;
  /** Undefined: squared loss (the mean); a number in (0, 1): pinball loss for that quantile. */
  quantile?: number;
}

function quantileOf(values: number[], q: number): number {
  const s = values.slice().sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Gradient-boosted regression trees (squared or pinball loss). */
export class GradientBoosting {
  private constructor(
    private readonly base: number,
    private readonly trees: Tree[],
    private readonly rate: number,
  ) {}

  static fit(X: readonly Float64Array[], y: ArrayLike<number>, opts: BoostingOptions, rng: Rng): GradientBoosting {
    const n = X.length;
    const d = X[0]?.length ?? 0;
    const ys = Array.from(y);
    const q = opts.quantile;
    const base = q === undefined ? ys.reduce((a, b) => a + b, 0) / n : quantileOf(ys, q);
    const f = new Float64Array(n).fill(base);
    const grad = new Float64Array(n);
    const trees: Tree[] = [];
    const mtry = Math.max(1, Math.round(opts.colsample * d));
    const rows = Math.max(1, Math.min(n, Math.round(opts.subsample * n)));
    for (let r = 0; r < opts.rounds; r++) {
      // Negative gradient: residual (squared loss) or q - 1[y < f] (pinball loss).
      for (let i = 0; i < n; i++) grad[i] = q === undefined ? ys[i] - f[i] : ys[i] > f[i] ? q : q - 1;
      const idx = rows < n ? rng.sampleIndices(n, rows) : Array.from({ length: n }, (_, i) => i);
      // For the pinball loss the tree is grown on the gradient but each leaf takes the q-quantile of the residuals (Friedman's line search).
      const residual = q === undefined ? undefined : Float64Array.from(ys, (v, i) => v - f[i]);
      const tree = fitTree(X, grad, idx, { maxDepth: opts.maxDepth, minLeaf: opts.minLeaf, mtry }, rng);
      if (residual) {
        const members = new Map<number, number[]>();
        for (const i of idx) {
          const leaf = leafOf(tree, X[i]);
          let list = members.get(leaf);
          if (!list) members.set(leaf, (list = []));
          list.push(residual[i]);
        }
        for (const [leaf, list] of members) tree.value[leaf] = quantileOf(list, q!);
      }
      for (let i = 0; i < n; i++) f[i] += opts.learningRate * predictTree(tree, X[i]);
      trees.push(tree);
    }
    return new GradientBoosting(base, trees, opts.learningRate);
  }

  predict(x: ArrayLike<number>): number {
    let s = this.base;
    for (const t of this.trees) s += this.rate * predictTree(t, x);
    return s;
  }
}

function leafOf(tree: Tree, x: ArrayLike<number>): number {
  let i = 0;
  while (tree.feature[i] >= 0) i = x[tree.feature[i]] <= tree.threshold[i] ? tree.left[i] : tree.right[i];
  return i;
}
