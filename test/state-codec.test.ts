import { test } from "node:test";
import assert from "node:assert/strict";
import type { Json } from "../src/core/json.js";
import { decodeState, encodeState, jsonNumber } from "../src/core/state-codec.js";

/** Through the codec and a store's JSON text, and back. */
const roundTrip = (value: unknown) => decodeState(JSON.parse(JSON.stringify(encodeState(value))) as Json);

test("state codec: -Infinity, Infinity and NaN survive JSON, at any depth", () => {
  const value = {
    score: -Infinity,
    list: [1, Infinity, NaN, -0.5, null, "x", true],
    nested: { deeper: [{ v: -Infinity }], s: "-Infinity" },
  };
  const back = roundTrip(value) as typeof value;
  assert.equal(back.score, -Infinity);
  assert.deepEqual(back.list.slice(0, 2), [1, Infinity]);
  assert.ok(Number.isNaN(back.list[2]));
  assert.deepEqual(back.list.slice(3), [-0.5, null, "x", true]);
  assert.equal(back.nested.deeper[0].v, -Infinity);
  assert.equal(back.nested.s, "-Infinity", "a string stays a string");
  // Finite values are written as they are.
  assert.deepEqual(encodeState({ a: [1, "b", null, { c: false }] }), { a: [1, "b", null, { c: false }] });
});

test("state codec: objects that look like its tags are escaped, so they come back unchanged", () => {
  const lookalikes = [{ $n: "NaN" }, { $n: "-Infinity" }, { $o: { $n: "Infinity" } }, { $o: 3 }, { $n: 1, other: 2 }, { $$n: "NaN" }];
  for (const v of lookalikes) assert.deepEqual(roundTrip(v), v, JSON.stringify(v));
  assert.deepEqual(roundTrip([{ $o: { $o: {} } }]), [{ $o: { $o: {} } }]);
});

test("state codec: a plain JSON state of an earlier release decodes to itself (its nulls stay null)", () => {
  const legacy: Json = { rng: [1, 2, 3, 4], population: [{ point: "|a~0|", score: null }, { point: { x: 1 }, score: 90.5 }] };
  assert.deepEqual(decodeState(legacy), legacy);
});

test("state codec: what JSON cannot hold is refused with its path; undefined fields are left out as JSON does", () => {
  assert.throws(() => encodeState({ a: { b: new Float64Array(2) } }), /state\.a\.b is a Float64Array/);
  assert.throws(() => encodeState({ m: new Map() }), /state\.m is a Map/);
  assert.throws(() => encodeState({ f: () => 1 }), /state\.f is a function/);
  assert.throws(() => encodeState([1, undefined]), /state\[1\] is undefined/);
  assert.deepEqual(encodeState({ a: 1, b: undefined }), { a: 1 });
});

test("jsonNumber: the lossy form scheduler states use (non-finite as null)", () => {
  assert.equal(jsonNumber(-Infinity), null);
  assert.equal(jsonNumber(NaN), null);
  assert.equal(jsonNumber(2.5), 2.5);
});
