import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { FASHION_MNIST_DIR, loadIdxDataset, parseIdx } from "../src/data/idx.js";
import { loadImageData } from "../src/data/datasets.js";

/** An IDX file of unsigned bytes with these dimensions and data. */
function idx(dims: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

test("Fashion-MNIST from Debian's dataset-fashion-mnist: 60,000 training and 10,000 test images of 28x28 in 10 classes", () => {
  // .ci/run installs the package; without it this fails (it does not skip), naming the package.
  const { data, test: t } = loadImageData("fashion-mnist", process.cwd());
  assert.deepEqual([data.labels.length, t?.labels.length], [60_000, 10_000]);
  assert.deepEqual(data.shape, [1, 28, 28]);
  assert.equal(data.classes, 10);
  assert.equal(data.images.length, 60_000 * 784);
  const counts = new Array(10).fill(0);
  for (const y of data.labels) counts[y]++;
  assert.deepEqual(counts, new Array(10).fill(6000), "Fashion-MNIST's training set is balanced, 6,000 per class");
  let max = 0;
  for (const v of data.images.subarray(0, 784 * 100)) max = Math.max(max, v);
  assert.ok(max > 0.9 && max <= 1, "pixels scaled to 0..1");
  assert.equal(FASHION_MNIST_DIR, "/usr/share/datasets/fashion-mnist");
});

test("IDX files: plain or gzipped, any folder; corrupt, truncated or mismatched files are clear errors naming the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-idx-"));
  try {
    writeFileSync(join(dir, "train-images-idx3-ubyte.gz"), gzipSync(idx([2, 2, 3], [0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 6])));
    writeFileSync(join(dir, "train-labels-idx1-ubyte"), idx([2], [1, 3]));
    const { data, test: t } = loadIdxDataset(dir, "mine");
    assert.equal(t, undefined, "no t10k files: no test split");
    assert.deepEqual(data.shape, [1, 2, 3]);
    assert.deepEqual(Array.from(data.labels), [1, 3]);
    assert.equal(data.classes, 4);
    assert.ok(Math.abs(data.images[1] - 1) < 1e-7 && Math.abs(data.images[2] - 0.2) < 1e-7);
    assert.deepEqual(loadImageData(`idx:${dir}`, "/").data.labels, data.labels);

    assert.throws(() => parseIdx(Buffer.from("not an idx file"), "f", 3), /f is not an IDX file/);
    assert.throws(() => parseIdx(idx([2, 2, 3], [1, 2, 3]), "f", 3), /f is corrupt: its header says 12 bytes of data \(2 x 2 x 3\), the file holds 3/);
    assert.throws(() => parseIdx(idx([2], [1, 2]), "f", 3), /expected an IDX file with 3 dimensions, found 1/);
    assert.throws(() => parseIdx(Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), "f", 1), /data type 0xd is not supported/);
    writeFileSync(join(dir, "train-labels-idx1-ubyte"), idx([3], [1, 3, 5]));
    assert.throws(() => loadIdxDataset(dir, "mine"), /2 images but 3 labels/);
    writeFileSync(join(dir, "train-images-idx3-ubyte.gz"), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    assert.throws(() => loadIdxDataset(dir, "mine"), /train-images-idx3-ubyte.gz is not a valid gzip file/);
    assert.throws(() => loadIdxDataset(join(dir, "nowhere"), "x"), /IDX dataset folder .*nowhere not found/);
    assert.throws(() => loadImageData("imagenet", "/"), /unknown dataset "imagenet": use "mnist"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
