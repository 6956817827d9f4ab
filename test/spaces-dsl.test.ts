import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/rng.js";
import { UserError } from "../src/core/errors.js";
import { stableStringify, type Json, type JsonObject } from "../src/core/json.js";
import { capabilitiesOf, supports, type SearchSpace } from "../src/core/space.js";
import {
  DeclarativeSpace,
  PointError,
  categorical,
  cell,
  cellEdges,
  float,
  hyperparameterSpace,
  int,
  repeat,
  when,
  type Param,
} from "../src/spaces/dsl.js";
import { JointSpace } from "../src/spaces/joint.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { NB201_OPS, archString } from "../src/benchmarks/nb201.js";

const OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"];

const mixed = new DeclarativeSpace("mixed", [
  categorical("optimizer", ["sgd", "adam", "none"]),
  float("lr", 1e-4, 1e-1, { log: true, when: when("optimizer", "sgd", "adam") }),
  int("warmup", 1, 1000, { log: true, when: when("optimizer", "sgd") }),
  int("width", 16, 256),
  repeat("layers", 1, 3, [
    categorical("kind", ["conv", "pool"]),
    categorical("kernel", [3, 5, 7], { when: when("kind", "conv") }),
    float("dropout", 0, 0.5),
  ]),
  cell("cell", 4, OPS),
]);

const key = (p: Json) => stableStringify(p);

function checkConditionals(p: JsonObject): void {
  const opt = p.optimizer;
  assert.equal("lr" in p, opt === "sgd" || opt === "adam");
  assert.equal("warmup" in p, opt === "sgd");
  const layers = p.layers as JsonObject[];
  assert.ok(layers.length >= 1 && layers.length <= 3);
  for (const b of layers) assert.equal("kernel" in b, b.kind === "conv");
}

function samples(space: DeclarativeSpace, n: number, seed: number): JsonObject[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => space.sample(rng));
}

test("cellEdges orders edges by target then source (NAS-Bench-201 order for 4 nodes)", () => {
  assert.deepEqual(cellEdges(4), [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3]]);
  assert.deepEqual(cellEdges(2), [[0, 1]]);
  assert.equal(cellEdges(5).length, 10);
});

test("1000 samples validate and hold exactly the active conditionals", () => {
  for (const p of samples(mixed, 1000, 1)) {
    assert.deepEqual(mixed.validate(p), p);
    checkConditionals(p);
    assert.equal((p.cell as string[]).length, 6);
  }
});

test("a log-scale float is log-uniform: median near the geometric mean, a third per decade", () => {
  const lrs = samples(mixed, 3000, 2)
    .map((p) => p.lr as number | undefined)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  assert.ok(lrs.length > 1500);
  const median = lrs[Math.floor(lrs.length / 2)];
  assert.ok(Math.abs(Math.log10(median) - -2.5) < 0.1, `median ${median}`);
  for (const [lo, hi] of [[1e-4, 1e-3], [1e-3, 1e-2], [1e-2, 1e-1]]) {
    const frac = lrs.filter((x) => x >= lo && x < hi).length / lrs.length;
    assert.ok(Math.abs(frac - 1 / 3) < 0.05, `fraction in [${lo}, ${hi}): ${frac}`);
  }
});

test("log int covers its range with more mass on small values", () => {
  const ws = samples(mixed, 3000, 3).flatMap((p) => (p.warmup === undefined ? [] : [p.warmup as number]));
  assert.ok(ws.every((w) => Number.isInteger(w) && w >= 1 && w <= 1000));
  const small = ws.filter((w) => w < 32).length / ws.length; // log-uniform: about log(32)/log(1001) = 0.5
  assert.ok(Math.abs(small - 0.5) < 0.05, `fraction below 32: ${small}`);
});

test("1000 mutations validate and differ from their parent", () => {
  const rng = new Rng(4);
  let p = mixed.sample(rng);
  const lengths = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const m = mixed.mutate(p, rng);
    assert.deepEqual(mixed.validate(m), m);
    checkConditionals(m);
    assert.notEqual(key(m), key(p));
    lengths.add((m.layers as JsonObject[]).length);
    p = i % 10 === 0 ? mixed.sample(rng) : m;
  }
  assert.deepEqual([...lengths].sort(), [1, 2, 3], "blocks are added and removed");
});

test("a mutation of a categorical/cell space changes exactly one decision", () => {
  const space = new DeclarativeSpace("flat", [categorical("a", [1, 2, 3]), categorical("b", [true, false]), cell("c", 3, ["x", "y"])]);
  const rng = new Rng(5);
  for (let i = 0; i < 200; i++) {
    const p = space.sample(rng);
    const m = space.mutate(p, rng);
    const diffs =
      Number(p.a !== m.a) + Number(p.b !== m.b) + (p.c as string[]).filter((op, k) => op !== (m.c as string[])[k]).length;
    assert.equal(diffs, 1);
  }
});

test("int mutation prefers nearby steps but can reach far values", () => {
  const space = new DeclarativeSpace("w", [int("width", 1, 1000)]);
  const rng = new Rng(6);
  const steps = Array.from({ length: 2000 }, () => Math.abs((space.mutate({ width: 500 }, rng).width as number) - 500));
  assert.ok(steps.every((s) => s > 0));
  const near = steps.filter((s) => s <= 250).length / steps.length;
  assert.ok(near > 0.75, `near fraction ${near}`);
  assert.ok(steps.some((s) => s > 400), "far values stay reachable");
});

test("a space with a single point mutates to itself", () => {
  const space = new DeclarativeSpace("one", [categorical("a", ["only"]), int("b", 3, 3)]);
  assert.equal(space.size(), 1);
  assert.deepEqual(space.mutate({ a: "only", b: 3 }, new Rng(0)), { a: "only", b: 3 });
});

test("crossover validates and takes each top-level value from a parent", () => {
  const rng = new Rng(7);
  for (let i = 0; i < 500; i++) {
    const a = mixed.sample(rng);
    const b = mixed.sample(rng);
    const c = mixed.crossover(a, b, rng);
    assert.deepEqual(mixed.validate(c), c);
    checkConditionals(c);
    assert.ok(c.optimizer === a.optimizer || c.optimizer === b.optimizer);
    assert.ok(c.width === a.width || c.width === b.width);
    (c.cell as string[]).forEach((op, k) => assert.ok(op === (a.cell as string[])[k] || op === (b.cell as string[])[k]));
    const la = (a.layers as JsonObject[]).length;
    const lb = (b.layers as JsonObject[]).length;
    assert.ok([la, lb].includes((c.layers as JsonObject[]).length));
  }
});

test("neighbours validate, are distinct and never the point itself", () => {
  const rng = new Rng(8);
  for (let i = 0; i < 200; i++) {
    const p = mixed.sample(rng);
    const ns = mixed.neighbours(p);
    assert.ok(ns.length > 0);
    const keys = ns.map(key);
    assert.equal(new Set(keys).size, keys.length);
    assert.ok(!keys.includes(key(p)));
    for (const n of ns) {
      assert.deepEqual(mixed.validate(n), n);
      checkConditionals(n);
    }
  }
  // Deterministic.
  const p = mixed.sample(new Rng(9));
  assert.deepEqual(mixed.neighbours(p), mixed.neighbours(p));
});

test("neighbour count of a categorical/cell space is the sum of (choices - 1)", () => {
  const space = new DeclarativeSpace("flat", [
    categorical("a", [1, 2, 3]),
    categorical("b", ["x", "y"]),
    cell("c", 4, OPS),
  ]);
  const p = space.sample(new Rng(10));
  assert.equal(space.neighbours(p).length, 2 + 1 + 6 * 4);
});

test("numeric and repeat neighbours: +-1, x2 / /2, clipped; add/remove the last block", () => {
  const space = new DeclarativeSpace("n", [
    int("a", 1, 64, { log: true }),
    int("b", 0, 10),
    float("f", 0, 1),
    repeat("r", 1, 2, [categorical("k", [3, 5])]),
  ]);
  const ns = space.neighbours({ a: 8, b: 10, f: 0, r: [{ k: 3 }] });
  assert.deepEqual(
    ns.map((n) => key(n)),
    [
      { a: 7, b: 10, f: 0, r: [{ k: 3 }] },
      { a: 9, b: 10, f: 0, r: [{ k: 3 }] },
      { a: 4, b: 10, f: 0, r: [{ k: 3 }] },
      { a: 16, b: 10, f: 0, r: [{ k: 3 }] },
      { a: 8, b: 9, f: 0, r: [{ k: 3 }] },
      { a: 8, b: 10, f: 0.1, r: [{ k: 3 }] },
      { a: 8, b: 10, f: 0, r: [{ k: 5 }] },
      { a: 8, b: 10, f: 0, r: [{ k: 3 }, { k: 3 }] },
    ].map(key),
  );
});

test("a categorical neighbour activates its children with defaults and drops deactivated ones", () => {
  const ns = mixed.neighbours({ optimizer: "none", width: 16, layers: [{ kind: "pool", dropout: 0 }], cell: ["none", "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"] });
  const sgd = ns.find((n) => n.optimizer === "sgd")!;
  assert.ok(sgd.lr !== undefined && sgd.warmup !== undefined);
  const conv = ns.find((n) => (n.layers as JsonObject[])[0].kind === "conv")!;
  assert.equal((conv.layers as JsonObject[])[0].kernel, 3);
  const back = mixed.neighbours(sgd).find((n) => n.optimizer === "none")!;
  assert.ok(!("lr" in back) && !("warmup" in back));
});

test("encoding length is constant and equals encodingLength", () => {
  // optimizer 3 + lr 2 + warmup 2 + width 1 + layers 3 * (1 + 2 + 3 + 1) + cell 6 * 5
  assert.equal(mixed.encodingLength, 3 + 2 + 2 + 1 + 3 * 7 + 30);
  for (const p of samples(mixed, 300, 11)) {
    const e = mixed.encode(p);
    assert.equal(e.length, mixed.encodingLength);
    assert.ok(e.every((x) => Number.isFinite(x) && x >= 0 && x <= 1));
    assert.equal(e[3 + 1], "lr" in p ? 1 : 0, "active flag of lr");
  }
});

test("canonical ignores key order and drops inactive keys", () => {
  const p = mixed.sample(new Rng(12));
  const reordered = Object.fromEntries(Object.entries(p).reverse()) as JsonObject;
  assert.notEqual(JSON.stringify(reordered), JSON.stringify(p));
  assert.equal(JSON.stringify(mixed.canonical(reordered)), JSON.stringify(mixed.canonical(p)));
  const withDead = { ...p, optimizer: "none", lr: 0.01, warmup: 5 };
  assert.ok(!("lr" in mixed.canonical(withDead)) && !("warmup" in mixed.canonical(withDead)));
});

test("validate names the bad field path", () => {
  const good: JsonObject = {
    optimizer: "sgd",
    lr: 0.01,
    warmup: 10,
    width: 32,
    layers: [{ kind: "pool", dropout: 0.1 }, { kind: "conv", kernel: 3, dropout: 0 }, { kind: "conv", kernel: 5, dropout: 0.2 }],
    cell: ["none", "none", "none", "none", "none", "skip_connect"],
  };
  assert.deepEqual(mixed.validate(good), good);
  const bad = (patch: (p: JsonObject) => void, message: string | RegExp) => {
    const p = structuredClone(good);
    patch(p);
    assert.throws(() => mixed.validate(p), (err: unknown) => {
      assert.ok(err instanceof UserError);
      if (typeof message === "string") assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    });
  };
  bad((p) => (((p.layers as JsonObject[])[2].kernel = 4)), "layers[2].kernel: expected one of 3, 5, 7, got 4");
  bad((p) => delete p.lr, /^lr: missing \(active because optimizer = "sgd"\)/);
  bad((p) => delete (p.layers as JsonObject[])[1].kernel, /^layers\[1\]\.kernel: missing/);
  bad((p) => ((p.layers as JsonObject[])[0].kernel = 3), /^layers\[0\]\.kernel: not allowed here/);
  bad((p) => (p.optimizer = "none"), /^lr: not allowed here/);
  bad((p) => (p.extra = 1), /^extra: unknown parameter/);
  bad((p) => (p.width = 16.5), /^width: expected an integer in \[16, 256\]/);
  bad((p) => (p.lr = 1), /^lr: expected a number in/);
  bad((p) => (p.layers = []), /^layers: expected 1 to 3 blocks, got 0/);
  bad((p) => ((p.cell as string[])[4] = "conv"), /^cell\[4\]: edge 1->3: expected one of/);
  bad((p) => (p.cell = ["none"]), /^cell: expected a list of 6 ops/);
  assert.throws(() => mixed.validate([1]), /expected an object/);
  assert.throws(() => mixed.validate(null), PointError);
});

test("bad declarations throw UserError naming the parameter", () => {
  const cases: [Param[], RegExp][] = [
    [[categorical("a", [1]), categorical("a", [2])], /"a": duplicate name/],
    [[int("b", 0, 1, { when: when("a", 1) }), categorical("a", [1])], /"b": "when" refers to "a", which is not an earlier/],
    [[int("a", 0, 3), int("b", 0, 1, { when: when("a", 1) })], /"b": .*not categorical/],
    [[categorical("a", [1, 2]), int("b", 0, 1, { when: when("a", 3) })], /"b": "when.in" value 3 is not a choice/],
    [[int("a", 5, 1)], /"a": low \(5\) must be <= high \(1\)/],
    [[float("a", 0, 1, { log: true })], /"a": log scale needs low > 0/],
    [[int("a", 0.5, 2)], /"a": low and high must be integers/],
    [[categorical("a", [])], /"a": needs at least one choice/],
    [[repeat("r", 3, 2, [])], /"r": min \(3\) must be <= max \(2\)/],
    [[repeat("r", 1, 2, [int("k", 2, 1)])], /"r\.k": low/],
    [[cell("c", 1, ["x"])], /"c": nodes must be an integer >= 2/],
    [[cell("c", 3, [])], /"c": needs at least one op/],
    [[{ type: "matrix", name: "m" } as unknown as Param], /"m": unknown type/],
  ];
  for (const [params, message] of cases) {
    assert.throws(() => new DeclarativeSpace("bad", params), (err: unknown) => err instanceof UserError && message.test(err.message));
  }
  assert.throws(() => hyperparameterSpace([cell("c", 3, ["x"])]), UserError);
});

/** Every point of a finite space, by brute force over each block's parameters in order. */
function enumerate(params: Param[]): JsonObject[] {
  let partial: JsonObject[] = [{}];
  for (const p of params) {
    const next: JsonObject[] = [];
    for (const obj of partial) {
      const active = !p.when || (obj[p.when.param] !== undefined && p.when.in.includes(obj[p.when.param] as string));
      if (!active) {
        next.push(obj);
        continue;
      }
      for (const v of values(p)) next.push({ ...obj, [p.name]: v });
    }
    partial = next;
  }
  return partial;
}

function values(p: Param): Json[] {
  switch (p.type) {
    case "categorical":
      return p.choices;
    case "int":
      return Array.from({ length: p.high - p.low + 1 }, (_, i) => p.low + i);
    case "cell": {
      let out: string[][] = [[]];
      for (let k = 0; k < cellEdges(p.nodes).length; k++) out = out.flatMap((ops) => p.ops.map((op) => [...ops, op]));
      return out;
    }
    case "repeat": {
      const blocks = enumerate(p.body);
      const out: JsonObject[][] = [];
      let lists: JsonObject[][] = [[]];
      for (let n = 0; n <= p.max; n++) {
        if (n >= p.min) out.push(...lists);
        lists = lists.flatMap((l) => blocks.map((b) => [...l, b]));
      }
      return out;
    }
    case "float":
      throw new Error("not finite");
  }
}

test("size() counts conditional points exactly (checked by enumeration)", () => {
  const params: Param[] = [
    categorical("a", ["x", "y", "z"]),
    int("b", 1, 3, { when: when("a", "x") }),
    categorical("c", ["p", "q"], { when: when("a", "x", "y") }),
    int("d", 0, 1, { when: when("c", "q") }),
    repeat("r", 0, 2, [categorical("k", [1, 2]), categorical("m", ["u", "v"], { when: when("k", 2) })]),
    cell("g", 3, ["s", "t"]),
  ];
  const space = new DeclarativeSpace("small", params);
  const all = enumerate(params);
  assert.equal(new Set(all.map(key)).size, all.length);
  for (const p of all) space.validate(p);
  assert.equal(space.size(), all.length);
  assert.equal(space.size(), (3 * 3 + 3 + 1) * (1 + 3 + 9) * 8);
  assert.equal(space.describe().size, all.length);
  assert.equal(mixed.size(), undefined, "a float makes the space uncountable");
});

test("graph exists only for exactly one top-level cell and matches NAS-Bench-201's", () => {
  const nb = new Nb201Space();
  const space = new DeclarativeSpace("cell", [cell("cell", 4, [...NB201_OPS]), int("channels", 8, 64)]);
  assert.ok(supports(space, "graph"));
  const rng = new Rng(13);
  for (let i = 0; i < 20; i++) {
    const p = space.sample(rng);
    const g = space.graph!(p);
    const ref = nb.graph(archString(p.cell as never));
    assert.deepEqual(g.ops, ref.ops);
    assert.deepEqual(g.adjacency, ref.adjacency);
    assert.deepEqual([...g.vocabulary], [...ref.vocabulary]);
  }
  const small = new DeclarativeSpace("c2", [cell("c", 2, ["a", "b"])]).graph!({ c: ["b"] });
  assert.deepEqual(small, { ops: ["input", "b", "output"], adjacency: [[0, 1, 0], [0, 0, 1], [0, 0, 0]], vocabulary: ["input", "a", "b", "output"] });

  assert.ok(supports(mixed, "graph"), "mixed has one top-level cell");
  const twoCells = new DeclarativeSpace("two", [cell("a", 3, ["x"]), cell("b", 3, ["x"])]);
  const noCell = new DeclarativeSpace("none", [categorical("a", [1, 2])]);
  const nested = new DeclarativeSpace("nested", [repeat("r", 1, 2, [cell("c", 3, ["x", "y"])])]);
  for (const s of [twoCells, noCell, nested]) {
    assert.ok(!supports(s, "graph"), s.name);
    assert.ok(!("graph" in s), s.name);
  }
  assert.deepEqual(capabilitiesOf(noCell), ["sample", "mutate", "crossover", "neighbours", "encode", "dimensions"]);
  assert.deepEqual(capabilitiesOf(mixed), ["sample", "mutate", "crossover", "neighbours", "encode", "graph", "dimensions"]);
});

test("describe lists every parameter as JSON", () => {
  const d = mixed.describe();
  assert.equal(d.name, "mixed");
  const params = d.params as JsonObject[];
  assert.deepEqual(params.map((p) => p.name), ["optimizer", "lr", "warmup", "width", "layers", "cell"]);
  assert.deepEqual(params[1], { name: "lr", type: "float", low: 1e-4, high: 1e-1, log: true, when: { param: "optimizer", in: ["sgd", "adam"] } });
  assert.equal(JSON.parse(JSON.stringify(d)).params[4].body.length, 3);
});

test("same seed, same samples, mutations and crossovers", () => {
  const run = (seed: number) => {
    const rng = new Rng(seed);
    const out: Json[] = [];
    for (let i = 0; i < 50; i++) {
      const a = mixed.sample(rng);
      const b = mixed.sample(rng);
      out.push(a, mixed.mutate(a, rng), mixed.crossover(a, b, rng));
    }
    return key(out);
  };
  assert.equal(run(14), run(14));
  assert.notEqual(run(14), run(15));
});

const hp = hyperparameterSpace([
  categorical("optimizer", ["sgd", "adam"]),
  float("lr", 1e-4, 1, { log: true }),
  int("batch", 32, 256, { log: true }),
  float("momentum", 0, 0.99, { when: when("optimizer", "sgd") }),
]);

test("joint space: name, split, validate with prefixed paths, capabilities", () => {
  const nb = new Nb201Space();
  const joint = new JointSpace(nb, hp);
  assert.equal(joint.name, "nb201+hp");
  assert.equal(hp.name, "hyperparameters");
  assert.deepEqual(capabilitiesOf(joint), ["sample", "mutate", "crossover", "neighbours", "encode", "graph", "dimensions"]);
  const p = joint.sample(new Rng(16));
  assert.deepEqual(joint.split(p), { arch: p.arch, hp: p.hp });
  assert.deepEqual(joint.validate(p), p);
  assert.deepEqual(joint.canonical(p), { arch: nb.canonical(p.arch as string), hp: hp.canonical(p.hp) });
  assert.throws(() => joint.validate({ arch: p.arch, hp: { ...p.hp, lr: 5 } }), /^PointError: hp\.lr: expected a number in/);
  assert.throws(() => joint.validate({ arch: "nope", hp: p.hp }), /arch: not a NAS-Bench-201 architecture string/);
  assert.throws(() => joint.validate({ arch: p.arch }), /hp: missing/);
  assert.throws(() => joint.validate({ ...p, x: 1 }), /x: unknown key/);
  assert.equal(joint.size(), undefined, "hp has floats");
  assert.deepEqual(joint.graph!(p), nb.graph(p.arch as string));

  const finiteHp = hyperparameterSpace([categorical("bs", [64, 128])]);
  assert.equal(new JointSpace(nb, finiteHp).size(), 15625 * 2);

  // A part without a capability removes it from the joint space (graph follows the arch part).
  const bare: SearchSpace<JsonObject> = {
    name: "bare",
    describe: () => ({}),
    sample: (rng) => ({ x: rng.int(3) }),
    canonical: (q) => q,
    validate: (v) => v as JsonObject,
  };
  assert.deepEqual(capabilitiesOf(new JointSpace(bare, hp)), ["sample"]);
  assert.deepEqual(capabilitiesOf(new JointSpace(nb, bare)), ["sample", "graph"]);
  const noGraph = new JointSpace(hyperparameterSpace([categorical("a", [1, 2])], "arch"), hp);
  assert.ok(!supports(noGraph, "graph") && !("graph" in noGraph));
});

test("joint space: mutate, crossover, neighbours and encode combine the parts", () => {
  const joint = new JointSpace(mixed, hp);
  const rng = new Rng(17);
  let archMoves = 0;
  for (let i = 0; i < 500; i++) {
    const a = joint.sample(rng);
    const m = joint.mutate!(a, rng);
    assert.deepEqual(joint.validate(m), m);
    assert.notEqual(key(m), key(a));
    const archChanged = key(m.arch) !== key(a.arch);
    assert.notEqual(archChanged, key(m.hp) !== key(a.hp), "exactly one part changes");
    if (archChanged) archMoves++;
    const c = joint.crossover!(a, joint.sample(rng), rng);
    assert.deepEqual(joint.validate(c), c);
    const e = joint.encode!(a);
    assert.equal(e.length, joint.encodingLength);
  }
  assert.ok(archMoves > 150 && archMoves < 350, `arch mutated ${archMoves} of 500 times`);
  assert.equal(joint.encodingLength, mixed.encodingLength + hp.encodingLength);

  const p = joint.sample(new Rng(18));
  const ns = joint.neighbours!(p);
  assert.equal(ns.length, mixed.neighbours(p.arch as JsonObject).length + hp.neighbours(p.hp).length);
  for (const n of ns) assert.deepEqual(joint.validate(n), n);

  // With a single-point hp space every mutation changes the architecture.
  const fixedHp = new JointSpace(new Nb201Space(), hyperparameterSpace([]));
  const q = fixedHp.sample(rng);
  for (let i = 0; i < 50; i++) assert.notEqual(fixedHp.mutate!(q, rng).arch, q.arch);
});
