import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { EngineError } from "./errors.js";
import { tensor, type Dtype, type Tensor } from "./tensor.js";
import type { Module } from "./nn/module.js";

const MAGIC = "ARCHSEARCH-TENSORS-1\n";

/** Named tensors as bytes: a magic line, a JSON header line (name, dtype, shape, byte offset) and the raw little-endian data. */
export function encodeTensors(tensors: Map<string, Tensor>): Buffer {
  const entries: { name: string; dtype: Dtype; shape: number[]; offset: number; bytes: number }[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const d = t.data();
    const buf = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset, bytes: buf.length });
    chunks.push(buf);
    offset += buf.length;
  }
  const header = Buffer.from(MAGIC + JSON.stringify(entries) + "\n");
  return Buffer.concat([header, ...chunks]);
}

/** The tensors of `encodeTensors`' bytes; `where` names the source in errors. */
export function decodeTensors(file: Uint8Array, where: string): Map<string, Tensor> {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) throw new EngineError(`${where} is not an archsearch tensor file`);
  const end = buf.indexOf(10, MAGIC.length);
  let entries: { name: string; dtype: Dtype; shape: number[]; offset: number; bytes: number }[];
  try {
    entries = JSON.parse(buf.subarray(MAGIC.length, end).toString());
  } catch {
    throw new EngineError(`${where} is corrupt: bad header`);
  }
  const base = end + 1;
  const out = new Map<string, Tensor>();
  for (const e of entries) {
    if (base + e.offset + e.bytes > buf.length) throw new EngineError(`${where} is truncated (tensor ${e.name})`);
    const raw = buf.subarray(base + e.offset, base + e.offset + e.bytes);
    const copy = new Uint8Array(raw).buffer; // aligned copy
    const view =
      e.dtype === "float32" ? new Float32Array(copy) :
      e.dtype === "float64" ? new Float64Array(copy) :
      e.dtype === "int64" ? new BigInt64Array(copy) :
      e.dtype === "int32" ? new Int32Array(copy) : new Uint8Array(copy);
    out.set(e.name, tensor(view, e.shape, e.dtype));
  }
  return out;
}

/** Saves named tensors to one file (encodeTensors), written to a temp file and renamed, so a crash never leaves a half-written checkpoint. */
export function saveTensors(path: string, tensors: Map<string, Tensor>): void {
  const tmp = `${path}.tmp${process.pid}`;
  writeFileSync(tmp, encodeTensors(tensors));
  renameSync(tmp, path);
}

export function loadTensors(path: string): Map<string, Tensor> {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (e) {
    throw new EngineError(`Cannot read tensor file ${path}: ${(e as Error).message}`);
  }
  return decodeTensors(file, path);
}

export function saveModule(path: string, m: Module): void {
  saveTensors(path, m.stateDict());
}

/** Loads a checkpoint into a module of the same architecture; names and shapes must match. */
export function loadModule(path: string, m: Module): void {
  const loaded = loadTensors(path);
  const own = m.stateDict();
  const missing = [...own.keys()].filter((k) => !loaded.has(k));
  const extra = [...loaded.keys()].filter((k) => !own.has(k));
  if (missing.length || extra.length) {
    throw new EngineError(`checkpoint ${path} does not fit this network: missing ${missing.join(", ") || "none"}; unexpected ${extra.join(", ") || "none"}`);
  }
  for (const [k, t] of own) {
    const src = loaded.get(k)!;
    if (src.shape.join("x") !== t.shape.join("x")) throw new EngineError(`checkpoint ${path}: ${k} has shape ${src.shape} but the network has ${t.shape}`);
    t.copy(src);
    src.dispose();
  }
}
