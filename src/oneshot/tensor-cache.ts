import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { stableStringify } from "../core/json.js";
import { UserError } from "../core/errors.js";
import type { Module } from "../engine/nn/module.js";
import type { Tensor } from "../engine/tensor.js";

/**
 * Files of trained weights kept by a hash of what defines them (a supernet, a distillation
 * teacher): the key, reading and writing the file, and loading it into a network. The engine is
 * imported when a file is read or written, so importing this module needs no native binding.
 */

/** A short key (20 hex digits) of everything that defines a cached network. */
export function cacheKey(defining: unknown): string {
  return createHash("sha256").update(stableStringify(defining)).digest("hex").slice(0, 20);
}

/** The tensors of a cache file; one that cannot be decoded is a UserError naming it (`what`: "supernet cache"). */
export async function readTensorFile(file: string, what: string): Promise<Map<string, Tensor>> {
  const { decodeTensors } = await import("../engine/serialize.js");
  try {
    return decodeTensors(readFileSync(file), file);
  } catch (e) {
    throw new UserError(`${what} ${file} is unreadable (${(e as Error).message}); delete it to train again`);
  }
}

/** Copies `saved[prefix + name]` into each tensor of the network's state; a missing one is a UserError. */
export async function loadState(net: Module, saved: Map<string, Tensor>, prefix: string, file: string, what: string): Promise<void> {
  const E = await import("../engine/index.js");
  for (const [name, t] of net.stateDict()) {
    const s = saved.get(`${prefix}${name}`);
    if (!s) throw new UserError(`${what} ${file} has no tensor ${prefix}${name}; delete it to train again`);
    E.noGrad(() => t.copy(s));
  }
}

/** Writes the tensors to `file` through a temporary file, so a reader never sees half a file. */
export async function writeTensorFile(file: string, tensors: Map<string, Tensor>): Promise<void> {
  const { encodeTensors } = await import("../engine/serialize.js");
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, encodeTensors(tensors));
  renameSync(tmp, file);
}

/** The entries whose names start with `prefix`, renamed without it (an optimiser's state in a checkpoint). */
export function prefixed(m: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...m].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
}
