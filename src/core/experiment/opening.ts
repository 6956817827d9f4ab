import type { Json, JsonObject } from "../json.js";
import { stableStringify } from "../json.js";
import type { ExperimentRecord, Store } from "../store.js";
import { UserError } from "../errors.js";

/** Fields of two configs that differ, as dotted paths (for a clear "config changed" error). */
export function differingPaths(a: Json, b: Json, prefix = ""): string[] {
  if (stableStringify(a) === stableStringify(b)) return [];
  const isObj = (x: Json): x is JsonObject => x !== null && typeof x === "object" && !Array.isArray(x);
  if (!isObj(a) || !isObj(b)) return [prefix || "(root)"];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((k) => differingPaths(a[k] ?? null, b[k] ?? null, prefix ? `${prefix}.${k}` : k));
}

/**
 * Opens the experiment by name, creating it with this config when new; an existing one must have
 * been created with the same search definition (budget and storage may differ), else a clear
 * error names the fields that differ. `hint` says what to do instead.
 */
export async function openExperiment(
  store: Store,
  name: string,
  config: JsonObject,
  configHash: string,
  hint: string,
): Promise<{ experiment: ExperimentRecord; created: boolean }> {
  const opened = await store.openExperiment(name, config, configHash);
  const { experiment, created } = opened;
  if (!created && experiment.configHash !== configHash) {
    const paths = differingPaths(experiment.config, config).filter((p) => !p.startsWith("budget") && !p.startsWith("storage"));
    throw new UserError(
      `Experiment "${name}" already exists with a different search definition` + (paths.length ? ` (differs in: ${paths.join(", ")})` : "") + `. ${hint}`,
    );
  }
  return opened;
}
