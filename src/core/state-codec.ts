import type { Json } from "./json.js";

/**
 * The JSON form of a search state. JSON has no -Infinity, Infinity or NaN (a failed trial's
 * score is -Infinity), so `encodeState` writes each as a tag object `{"$n": "-Infinity"}` and
 * `decodeState` turns tags back into numbers: a state survives the store unchanged, with no
 * per-strategy fix-up.
 *
 * Escaping: a genuine object whose only key is "$n" or "$o" is written as `{"$o": {...}}`, so it
 * is never read as a tag. States written before this codec are plain JSON (non-finite numbers
 * became null); they decode to themselves, and a strategy's state schema maps those nulls.
 */

const TAG = "$n";
const ESCAPE = "$o";
const NON_FINITE: Record<string, number> = { Infinity: Infinity, "-Infinity": -Infinity, NaN: NaN };

/** Whether `o` has exactly one own key, `key`. */
function onlyKey(o: object, key: string): boolean {
  const keys = Object.keys(o);
  return keys.length === 1 && keys[0] === key;
}

/** `value` (JSON-like: numbers of any kind, strings, booleans, null, arrays, plain objects) as JSON. */
export function encodeState(value: unknown): Json {
  return encode(value, "state");
}

function encode(value: unknown, path: string): Json {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : { [TAG]: String(value) };
  if (Array.isArray(value)) {
    return value.map((v, i) => {
      if (v === undefined) throw new TypeError(`encodeState: ${path}[${i}] is undefined, which JSON cannot hold`);
      return encode(v, `${path}[${i}]`);
    });
  }
  if (typeof value === "object" && isPlain(value)) {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = encode(v, `${path}.${k}`); // as JSON.stringify: an undefined field is left out
    }
    return onlyKey(out, TAG) || onlyKey(out, ESCAPE) ? { [ESCAPE]: out } : out;
  }
  const what = typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
  throw new TypeError(`encodeState: ${path} is a ${what}; a search state holds only numbers, strings, booleans, null, arrays and plain objects`);
}

function isPlain(o: object): boolean {
  const proto = Object.getPrototypeOf(o);
  return proto === Object.prototype || proto === null;
}

/** The value `encodeState` was given, from its JSON (a plain JSON state of an earlier release decodes to itself). */
export function decodeState(json: Json): unknown {
  if (json === null || typeof json !== "object") return json;
  if (Array.isArray(json)) return json.map(decodeState);
  if (onlyKey(json, TAG)) {
    const tag = json[TAG];
    if (typeof tag === "string" && tag in NON_FINITE) return NON_FINITE[tag];
  }
  const inner = onlyKey(json, ESCAPE) && json[ESCAPE] !== null && typeof json[ESCAPE] === "object" && !Array.isArray(json[ESCAPE]) ? (json[ESCAPE] as { [key: string]: Json }) : json;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inner)) out[k] = decodeState(v);
  return out;
}

/**
 * The lossy encoding of one number that scheduler states still use: -Infinity and the other
 * non-finite values become null (the reader maps null back). New state code should use `encodeState`.
 */
export function jsonNumber(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
