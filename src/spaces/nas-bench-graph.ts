import type { JsonObject } from "../core/json.js";
import type { Rng } from "../core/rng.js";
import type { ArchGraph, Dimension, DimensionValues, SearchSpace } from "../core/space.js";
import { UserError } from "../core/errors.js";
import { loadNbgRawKeys, NBG_LINKS, NBG_OPS, nbgRawId, type NbgOp } from "../benchmarks/nas-bench-graph.js";

const LINK_NAMES = NBG_LINKS.map((l) => l.join(""));
const NODES = 4;

/**
 * NAS-Bench-Graph's GNN space: 4 computing nodes wired by one of 9 link patterns (each node takes
 * one input: the graph's features or an earlier node; nodes no other node reads feed the output),
 * each node one operation (gat, gcn, gin, cheb, sage, arma, graph, fc, skip). A point is
 * `<links>:<op1>,<op2>,<op3>,<op4>`, e.g. `0123:skip,skip,gcn,gcn` (the chain holding a 2-layer
 * GCN); `links` is the pattern's input list. All-skip networks compute nothing and are not in the
 * benchmark: they are not points (sampling and moves avoid them; decision values naming one get
 * `fix_op` on the last node). Canonical form: the benchmark's key (its own canonicalisation; 26,206 classes).
 * Option `ops` restricts the operations (ogbn-proteins was run with gcn, sage, arma, fc, skip).
 */
export class NasBenchGraphSpace implements SearchSpace<string> {
  readonly name = "nas-bench-graph";
  readonly ops: readonly NbgOp[];
  readonly encodingLength: number;
  private readonly fixOp: NbgOp;
  private rawKeys?: Map<string, number>;

  constructor(opts: { ops?: readonly string[] } = {}) {
    const ops = opts.ops ?? NBG_OPS;
    for (const op of ops) if (!(NBG_OPS as readonly string[]).includes(op)) throw new UserError(`NAS-Bench-Graph has no operation "${op}"; its operations are ${NBG_OPS.join(", ")}`);
    this.ops = NBG_OPS.filter((op) => ops.includes(op));
    if (this.ops.filter((op) => op !== "skip").length === 0) throw new UserError(`NAS-Bench-Graph space: ops must include an operation other than skip`);
    this.fixOp = this.ops.find((op) => op !== "skip")!;
    this.encodingLength = NBG_LINKS.length + NODES * NBG_OPS.length;
  }

  describe(): JsonObject {
    return {
      name: this.name,
      point: "<link list>:<op1>,<op2>,<op3>,<op4>, e.g. 0123:skip,skip,gcn,gcn",
      links: LINK_NAMES,
      ops: [...this.ops],
      size: this.size(),
    };
  }

  size(): number {
    return NBG_LINKS.length * (this.ops.length ** NODES - 1);
  }

  private parse(point: string): { link: number; ops: NbgOp[] } {
    const m = typeof point === "string" ? /^([0-9]{4}):([a-z]+),([a-z]+),([a-z]+),([a-z]+)$/.exec(point) : null;
    const link = m ? LINK_NAMES.indexOf(m[1]) : -1;
    const ops = m ? (m.slice(2) as NbgOp[]) : [];
    if (!m || link < 0) {
      throw new UserError(`not a NAS-Bench-Graph architecture: ${JSON.stringify(point)} (expected "<links>:<op1>,<op2>,<op3>,<op4>" with links one of ${LINK_NAMES.join(", ")})`);
    }
    const bad = ops.find((op) => !this.ops.includes(op));
    if (bad) throw new UserError(`NAS-Bench-Graph architecture ${point}: operation "${bad}" is not in this space (${this.ops.join(", ")})`);
    if (ops.every((op) => op === "skip")) throw new UserError(`NAS-Bench-Graph architecture ${point}: an all-skip network is not in the benchmark`);
    return { link, ops };
  }

  private str(link: number, ops: readonly string[]): string {
    return nbgRawId(NBG_LINKS[link], ops);
  }

  /** A point from a link pattern and ops, with the all-skip network mended. */
  private make(link: number, ops: NbgOp[]): string {
    if (ops.every((op) => op === "skip")) ops = [...ops.slice(0, NODES - 1), this.fixOp];
    return this.str(link, ops);
  }

  sample(rng: Rng): string {
    for (;;) {
      const ops = Array.from({ length: NODES }, () => rng.choice(this.ops));
      if (!ops.every((op) => op === "skip")) return this.str(rng.int(NBG_LINKS.length), ops);
    }
  }

  /** The benchmark key of the point. */
  key(point: string): number {
    const { link, ops } = this.parse(point);
    this.rawKeys ??= loadNbgRawKeys();
    const key = this.rawKeys.get(this.str(link, ops));
    if (key === undefined) throw new UserError(`NAS-Bench-Graph architecture ${point} has no benchmark key`);
    return key;
  }

  canonical(point: string): number {
    return this.key(point);
  }

  validate(value: unknown): string {
    this.parse(value as string);
    return value as string;
  }

  /** The 4 x (|ops| - 1) op changes and 8 link-pattern changes that are points. */
  neighbours(point: string): string[] {
    const { link, ops } = this.parse(point);
    const out: string[] = [];
    for (let l = 0; l < NBG_LINKS.length; l++) if (l !== link) out.push(this.str(l, ops));
    ops.forEach((op, k) => {
      for (const other of this.ops) {
        if (other === op) continue;
        const next = [...ops];
        next[k] = other;
        if (!next.every((o) => o === "skip")) out.push(this.str(link, next));
      }
    });
    return out;
  }

  /** Changes one node's operation or, with probability 1/5, the link pattern. */
  mutate(point: string, rng: Rng): string {
    const { link, ops } = this.parse(point);
    for (;;) {
      if (rng.int(NODES + 1) === NODES) return this.str((link + 1 + rng.int(NBG_LINKS.length - 1)) % NBG_LINKS.length, ops);
      const k = rng.int(NODES);
      const next = [...ops];
      next[k] = rng.choice(this.ops.filter((op) => op !== ops[k]));
      if (!next.every((o) => o === "skip")) return this.str(link, next);
    }
  }

  /** The link pattern of either parent, each node's op from either. */
  crossover(a: string, b: string, rng: Rng): string {
    const pa = this.parse(a);
    const pb = this.parse(b);
    return this.make(rng.bool() ? pa.link : pb.link, pa.ops.map((op, k) => (rng.bool() ? op : pb.ops[k])));
  }

  /** One-hot link pattern (9) and one-hot op per node (4 x 9). */
  encode(point: string): number[] {
    const { link, ops } = this.parse(point);
    const v = new Array<number>(this.encodingLength).fill(0);
    v[link] = 1;
    ops.forEach((op, k) => (v[NBG_LINKS.length + k * NBG_OPS.length + NBG_OPS.indexOf(op)] = 1));
    return v;
  }

  dimensions(): readonly Dimension[] {
    return [
      { name: "links", kind: "categorical", choices: LINK_NAMES },
      ...Array.from({ length: NODES }, (_, k) => ({ name: `op${k + 1}`, kind: "categorical" as const, choices: this.ops })),
    ];
  }

  toValues(point: string): DimensionValues {
    const { link, ops } = this.parse(point);
    return [LINK_NAMES[link], ...ops];
  }

  fromValues(values: DimensionValues): string {
    const link = LINK_NAMES.indexOf(values[0] as string);
    const ops = values.slice(1) as NbgOp[];
    if (values.length !== NODES + 1 || link < 0 || ops.some((op) => !this.ops.includes(op))) {
      throw new UserError(`expected a NAS-Bench-Graph link pattern (${LINK_NAMES.join(", ")}) and ${NODES} operations (${this.ops.join(", ")}), got ${JSON.stringify(values)}`);
    }
    return this.make(link, ops);
  }

  /** Input, the 4 computing nodes (their ops), output; each node after its input, leaves into the output. */
  graph(point: string): ArchGraph {
    const { link, ops } = this.parse(point);
    const links = NBG_LINKS[link];
    const n = NODES + 2;
    const adjacency = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    links.forEach((src, k) => (adjacency[src][k + 1] = 1));
    for (let k = 1; k <= NODES; k++) if (!links.includes(k)) adjacency[k][n - 1] = 1;
    return { ops: ["input", ...ops, "output"], adjacency, vocabulary: ["input", ...NBG_OPS, "output"] };
  }
}
