import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { UserError } from "../core/errors.js";
import type { ImageDataset } from "./datasets.js";

/**
 * The IDX format of MNIST and Fashion-MNIST (LeCun et al.): a big-endian header, magic
 * 0x00 0x00 <type> <dims> (type 0x08: unsigned bytes), one 32-bit size per dimension, then the
 * data. Images are idx3 [N, rows, cols], labels idx1 [N]. Files may be gzipped (`.gz`), as Debian
 * ships them.
 */

/** Where Debian's `dataset-fashion-mnist` package installs the original files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

function readMaybeGzip(path: string): Buffer {
  const candidates = path.endsWith(".gz") ? [path] : [path, `${path}.gz`];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new UserError(`IDX file ${candidates.join(" or ")} not found`);
  const raw = readFileSync(found);
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (e) {
      throw new UserError(`${found} is not a valid gzip file: ${(e as Error).message}`);
    }
  }
  return raw;
}

/** The dimensions and data of one IDX file of unsigned bytes, checked. */
export function parseIdx(buf: Buffer, where: string, expectDims: number): { dims: number[]; data: Uint8Array } {
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new UserError(`${where} is not an IDX file (its first bytes are not the IDX magic 00 00)`);
  if (buf[2] !== 0x08) throw new UserError(`${where}: IDX data type 0x${buf[2].toString(16)} is not supported (only unsigned bytes, 0x08)`);
  const nd = buf[3];
  if (nd !== expectDims) throw new UserError(`${where}: expected an IDX file with ${expectDims} dimensions, found ${nd}`);
  if (buf.length < 4 + 4 * nd) throw new UserError(`${where} is truncated (its header is incomplete)`);
  const dims = Array.from({ length: nd }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  if (buf.length !== start + size) throw new UserError(`${where} is corrupt: its header says ${size} bytes of data (${dims.join(" x ")}), the file holds ${buf.length - start}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, size) };
}

/** An IDX pair (`<prefix>-images-idx3-ubyte[.gz]`, `<prefix>-labels-idx1-ubyte[.gz]`) as a dataset, pixels scaled to 0..1. */
export function loadIdxPair(dir: string, prefix: string, name: string): ImageDataset {
  const imagesPath = join(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = join(dir, `${prefix}-labels-idx1-ubyte`);
  const images = parseIdx(readMaybeGzip(imagesPath), imagesPath, 3);
  const labels = parseIdx(readMaybeGzip(labelsPath), labelsPath, 1);
  const [n, rows, cols] = images.dims;
  if (labels.dims[0] !== n) throw new UserError(`${dir}: ${n} images but ${labels.dims[0]} labels (${prefix})`);
  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i] / 255;
  const y = Int32Array.from(labels.data);
  const classes = y.reduce((m, v) => Math.max(m, v), 0) + 1;
  return { name, images: pixels, labels: y, shape: [1, rows, cols], classes };
}

/**
 * An IDX image set in a folder with the MNIST file names: `train-*` as the data, and `t10k-*`
 * as the test split when present (Fashion-MNIST: 60,000 / 10,000 images of 28x28, 10 classes).
 */
export function loadIdxDataset(dir: string, name: string): { data: ImageDataset; test?: ImageDataset } {
  if (!existsSync(dir)) {
    const hint = dir === FASHION_MNIST_DIR ? " (install Debian's dataset-fashion-mnist: apt-get install dataset-fashion-mnist)" : "";
    throw new UserError(`IDX dataset folder ${dir} not found${hint}`);
  }
  const data = loadIdxPair(dir, "train", `${name}/train`);
  const hasTest = existsSync(join(dir, "t10k-images-idx3-ubyte")) || existsSync(join(dir, "t10k-images-idx3-ubyte.gz"));
  return { data, test: hasTest ? loadIdxPair(dir, "t10k", `${name}/test`) : undefined };
}
