import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineAvailable } from "../src/engine/native.js";

const required = process.env.ARCHSEARCH_REQUIRE_ENGINE === "1";
const skip = !engineAvailable() && !required ? "libtorch binding not built" : false;

test("MNIST digits: 10,000 real images in 10 classes, values in [0, 1]", { skip }, async () => {
  const D = await import("../src/data/datasets.js");
  const d = D.loadMnist();
  assert.equal(D.datasetSize(d), 10000);
  assert.deepEqual(d.shape, [1, 28, 28]);
  const counts = new Array(10).fill(0);
  for (const l of d.labels) counts[l]++;
  assert.ok(counts.every((c) => c > 800 && c < 1200), `class counts ${counts}`);
  let max = 0;
  for (const v of d.images) max = Math.max(max, v);
  assert.ok(max <= 1 && max > 0.9);
});

test("seeded splits are disjoint, deterministic and capped", { skip }, async () => {
  const D = await import("../src/data/datasets.js");
  const d = D.loadMnist();
  const a = D.splitDataset(d, 0.2, 7, 1000);
  const b = D.splitDataset(d, 0.2, 7, 1000);
  assert.equal(a.valid.labels.length, 2000);
  assert.equal(a.train.labels.length, 1000);
  assert.deepEqual(a.train.labels, b.train.labels);
  assert.notDeepEqual(D.splitDataset(d, 0.2, 8, 1000).train.labels, a.train.labels);
  const batches = [...D.batches(a.train, 300)];
  assert.deepEqual(batches.map((x) => x.x.shape[0]), [300, 300, 300, 100]);
  assert.deepEqual(batches[0].x.shape, [300, 1, 28, 28]);
  assert.equal(batches[0].y.dtype, "int64");
  for (const x of batches) {
    x.x.dispose();
    x.y.dispose();
  }
});

test("CIFAR-10 binary format and tensor files are read; corrupt files are named", { skip }, async () => {
  const D = await import("../src/data/datasets.js");
  const E = await import("../src/engine/index.js");
  const dir = mkdtempSync(join(tmpdir(), "archsearch-data-"));
  try {
    // Three records in the CIFAR-10 binary layout: a label byte, then 3 x 32 x 32 pixel bytes.
    const rec = Buffer.alloc(3 * 3073);
    for (let r = 0; r < 3; r++) {
      rec[r * 3073] = r + 4;
      rec.fill(r * 100, r * 3073 + 1, (r + 1) * 3073);
    }
    writeFileSync(join(dir, "b.bin"), rec);
    const c = D.loadCifar10Binary(dir, ["b.bin"]);
    assert.deepEqual(Array.from(c.labels), [4, 5, 6]);
    assert.ok(Math.abs(c.images[3072 + 5] - 100 / 255) < 1e-6);
    writeFileSync(join(dir, "bad.bin"), Buffer.alloc(100));
    assert.throws(() => D.loadCifar10Binary(dir, ["bad.bin"]), /bad\.bin is corrupt: 100 bytes is not a multiple of 3073/);
    assert.throws(() => D.loadCifar10Binary(dir, ["missing.bin"]), /missing\.bin not found/);

    const file = join(dir, "mine.tensors");
    E.saveTensors(file, new Map([["images", E.rand([5, 2, 4, 4])], ["labels", E.tensor([0, 1, 2, 1, 0], [5], "int64")]]));
    const t = D.loadTensorDataset(file);
    assert.deepEqual(t.shape, [2, 4, 4]);
    assert.equal(t.classes, 3);
    E.saveTensors(file, new Map([["x", E.rand([2])]]));
    assert.throws(() => D.loadTensorDataset(file), /must hold tensors named "images" and "labels" \(it has: x\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
