import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/rng.js";
import { UserError } from "../src/core/errors.js";
import type { JsonObject } from "../src/core/json.js";
import { supports, type SearchSpace } from "../src/core/space.js";
import { DeclarativeSpace, categorical, cell, float, hyperparameterSpace, int, repeat, when } from "../src/spaces/dsl.js";
import { JointSpace } from "../src/spaces/joint.js";
import { Nb201Space } from "../src/spaces/nb201.js";

const OPS = ["none", "skip_connect", "conv"];

const mixed = new DeclarativeSpace("mixed", [
  categorical("optimizer", ["sgd", "adam", "none"]),
  float("lr", 1e-4, 1e-1, { log: true, when: when("optimizer", "sgd", "adam") }),
  int("warmup", 1, 1000, { log: true, when: when("optimizer", "sgd") }),
  int("width", 16, 256),
  repeat("layers", 1, 3, [categorical("kind", ["conv", "pool"]), categorical("kernel", [3, 5, 7], { when: when("kind", "conv") }), float("dropout", 0, 0.5)]),
  cell("cell", 3, OPS),
  cell("head", 2, OPS, { when: when("optimizer", "adam") }),
]);

test("declarative space: flat decisions with names, kinds and bounds", () => {
  assert.ok(supports(mixed, "dimensions"));
  const dims = mixed.dimensions();
  assert.deepEqual(
    dims.map((d) => d.name),
    [
      "optimizer", "lr", "warmup", "width", "layers.count",
      "layers[0].kind", "layers[0].kernel", "layers[0].dropout",
      "layers[1].kind", "layers[1].kernel", "layers[1].dropout",
      "layers[2].kind", "layers[2].kernel", "layers[2].dropout",
      "cell[0->1]", "cell[0->2]", "cell[1->2]", "head[0->1]",
    ],
  );
  assert.deepEqual(dims[1], { name: "lr", kind: "float", low: 1e-4, high: 1e-1, log: true });
  assert.deepEqual(dims[2], { name: "warmup", kind: "int", low: 1, high: 1000, log: true });
  assert.deepEqual(dims[4], { name: "layers.count", kind: "int", low: 1, high: 3, log: false });
  assert.deepEqual(dims[6], { name: "layers[0].kernel", kind: "categorical", choices: [3, 5, 7] });
  assert.deepEqual(dims[14], { name: "cell[0->1]", kind: "categorical", choices: OPS });
});

test("declarative space: toValues / fromValues round trip, nulls exactly where inactive", () => {
  const rng = new Rng(3);
  const n = mixed.dimensions().length;
  for (let i = 0; i < 300; i++) {
    const p = mixed.sample(rng);
    const v = mixed.toValues(p);
    assert.equal(v.length, n);
    assert.deepEqual(mixed.fromValues(v), p);
    const opt = p.optimizer;
    assert.equal(v[1] === null, opt === "none");
    assert.equal(v[2] === null, opt !== "sgd");
    assert.equal(v[17] === null, opt !== "adam");
    const layers = p.layers as JsonObject[];
    assert.equal(v[4], layers.length);
    for (let b = 0; b < 3; b++) {
      const [kind, kernel, dropout] = v.slice(5 + 3 * b, 8 + 3 * b);
      if (b >= layers.length) assert.deepEqual([kind, kernel, dropout], [null, null, null]);
      else {
        assert.equal(kind, layers[b].kind);
        assert.equal(kernel === null, layers[b].kind !== "conv");
        assert.equal(dropout, layers[b].dropout);
      }
    }
    // Values of inactive decisions are ignored.
    const junk = v.map((x, d) => (x === null ? mixed.dimensions()[d].kind === "categorical" ? "junk" : -5 : x));
    assert.deepEqual(mixed.fromValues(junk), p);
  }
});

test("declarative space: fromValues rejects missing, out-of-range and wrongly sized values with the decision's path", () => {
  const p = mixed.validate({ optimizer: "sgd", lr: 0.01, warmup: 10, width: 64, layers: [{ kind: "pool", dropout: 0.1 }], cell: ["none", "conv", "conv"] });
  const v = mixed.toValues(p);
  const bad = (d: number, x: unknown) => mixed.fromValues(v.map((y, i) => (i === d ? (x as never) : y)));
  assert.throws(() => bad(1, null), (e: Error) => e instanceof UserError && /lr/.test(e.message) && /null/.test(e.message));
  assert.throws(() => bad(3, 300), /width.*\[16, 256\]/);
  assert.throws(() => bad(3, 20.5), /width/);
  assert.throws(() => bad(4, 4), /layers\.count/);
  assert.throws(() => bad(15, "conv5"), /cell/);
  assert.throws(() => mixed.fromValues(v.slice(1)), /18 decisions, got 17 values/);
});

const hp = hyperparameterSpace([
  categorical("optimizer", ["sgd", "adam"]),
  float("lr", 1e-4, 1, { log: true }),
  float("momentum", 0, 0.99, { when: when("optimizer", "sgd") }),
]);

test("joint space: arch decisions then hp decisions, prefixed; round trips; errors name the part", () => {
  const nb = new Nb201Space();
  const joint = new JointSpace(nb, hp);
  assert.ok(supports(joint, "dimensions"));
  const dims = joint.dimensions!();
  assert.deepEqual(
    dims.map((d) => d.name),
    ["arch.0->1", "arch.0->2", "arch.1->2", "arch.0->3", "arch.1->3", "arch.2->3", "hp.optimizer", "hp.lr", "hp.momentum"],
  );
  const rng = new Rng(1);
  for (let i = 0; i < 100; i++) {
    const p = joint.sample(rng);
    const v = joint.toValues!(p);
    assert.equal(v.length, 9);
    assert.equal(v[8] === null, p.hp.optimizer !== "sgd");
    assert.deepEqual(joint.fromValues!(v), p);
  }
  const v = joint.toValues!(joint.sample(rng));
  assert.throws(() => joint.fromValues!(v.map((x, d) => (d === 7 ? 5 : x))), /hp\.lr/);
  assert.throws(() => joint.fromValues!(v.map((x, d) => (d === 0 ? "conv" : x))), /arch/);
  assert.throws(() => joint.fromValues!(v.slice(2)), /9 decisions \(6 arch, 3 hp\)/);

  // Both parts declarative.
  const dj = new JointSpace(mixed, hp);
  for (let i = 0; i < 50; i++) {
    const p = dj.sample(rng);
    assert.deepEqual(dj.fromValues!(dj.toValues!(p)), p);
  }
  assert.equal(dj.dimensions!()[4].name, "arch.layers.count");
});

test("joint space: no dimensions when a part has none", () => {
  const bare: SearchSpace<JsonObject> = { name: "bare", describe: () => ({}), sample: (r) => ({ x: r.int(3) }), canonical: (q) => q, validate: (v) => v as JsonObject };
  const j = new JointSpace(new Nb201Space(), bare);
  assert.ok(!supports(j, "dimensions") && !("dimensions" in j));
  assert.ok(!supports(new JointSpace(bare, hp), "dimensions"));
});
