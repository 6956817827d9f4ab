import type { z } from "zod";
import { closest, distance } from "fastest-levenshtein";

export interface Problem {
  path: string;
  message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** The nearest of `options` to `word`, when it is near enough to be a plausible typo. */
export function suggest(word: string, options: readonly string[]): string | undefined {
  if (options.length === 0) return undefined;
  const prefixed = options.filter((o) => o.length >= 3 && word.length >= 3 && (o.startsWith(word) || word.startsWith(o)));
  if (prefixed.length > 0) return closest(word, prefixed);
  const best = closest(word, [...options]);
  return distance(word, best) <= Math.max(2, Math.floor(Math.max(word.length, best.length) / 3)) ? best : undefined;
}

type AnyDef = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; element?: z.ZodType; getter?: () => z.ZodType; in?: z.ZodType };

/** Keys an object schema accepts at `path` (walking through optional/default/array/lazy wrappers). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  let i = 0;
  while (s) {
    const def: AnyDef = (s as unknown as { _zod: { def: AnyDef } })._zod.def;
    if (def.innerType) s = def.innerType;
    else if (def.type === "lazy" && def.getter) s = def.getter();
    else if (def.type === "pipe" && def.in) s = def.in;
    else if (i < path.length && def.type === "array" && def.element) {
      s = def.element;
      i++;
    } else if (def.type === "object" && def.shape) {
      if (i === path.length) return Object.keys(def.shape);
      s = def.shape[String(path[i])];
      i++;
    } else return [];
  }
  return [];
}

/** Validates `value` with `schema`; problems carry dotted paths under `prefix` and typo hints. */
export function check<T>(schema: z.ZodType<T>, value: unknown, prefix: readonly PropertyKey[] = []): { value?: T; problems: Problem[] } {
  const r = schema.safeParse(value);
  if (r.success) return { value: r.data, problems: [] };
  const problems: Problem[] = [];
  for (const issue of r.error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const valid = keysAt(schema, issue.path);
      for (const key of issue.keys) {
        const hint = suggest(key, valid);
        problems.push({
          path: formatPath([...path, key]),
          message: `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : ""}${valid.length ? ` (valid keys: ${valid.join(", ")})` : ""}`,
        });
      }
    } else if (issue.code === "invalid_type" && issue.message.includes("received undefined")) {
      problems.push({ path: formatPath(path), message: `missing required field (expected ${issue.expected})` });
    } else {
      problems.push({ path: formatPath(path), message: issue.message });
    }
  }
  return { problems };
}
