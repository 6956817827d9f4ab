import type { Cell } from "./cell.js";

/** One filter of the trial table: `column op value`. */
export interface Filter {
  column: string;
  op: "=" | "!=" | ">" | ">=" | "<" | "<=" | "~";
  value: string;
}

export interface TrialQuery {
  filters: Filter[];
  sort: string;
  desc: boolean;
  offset: number;
  limit: number;
}

const OPS: readonly Filter["op"][] = ["=", "!=", ">", ">=", "<", "<=", "~"];

/**
 * Reads the `filters` query parameter: a JSON list of `[column, op, value]` (ops `= != > >= < <= ~`;
 * `~` is "contains", `=` with values separated by `|` is "one of"). Column names may hold any
 * character (an NB201 edge is `arch.0->1`), hence JSON rather than a text syntax. Throws a
 * message for the page on anything else.
 */
export function parseFilters(text: string | null): Filter[] {
  if (!text) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error("filters must be a JSON list of [column, op, value]");
  }
  if (!Array.isArray(raw)) throw new Error("filters must be a JSON list of [column, op, value]");
  return raw.map((f) => {
    if (!Array.isArray(f) || f.length !== 3 || typeof f[0] !== "string" || !OPS.includes(f[1]) || (typeof f[2] !== "string" && typeof f[2] !== "number")) {
      throw new Error(`bad filter ${JSON.stringify(f)}: expected [column, op, value] with op one of ${OPS.join(" ")}`);
    }
    return { column: f[0], op: f[1] as Filter["op"], value: String(f[2]) };
  });
}

/** A predicate over a trial's columns. Numbers compare as numbers when the value parses as one. */
export function matcher(f: Filter): (cols: Record<string, Cell>) => boolean {
  const num = f.value === "" ? NaN : Number(f.value);
  const choices = f.value.split("|");
  return (cols) => {
    const v = cols[f.column];
    if (v === undefined || v === null) return f.op === "!=" ? true : false;
    switch (f.op) {
      case "=":
        return choices.some((c) => (typeof v === "number" ? v === Number(c) : String(v) === c));
      case "!=":
        return typeof v === "number" ? v !== num : String(v) !== f.value;
      case "~":
        return String(v).toLowerCase().includes(f.value.toLowerCase());
      default: {
        if (typeof v !== "number" || Number.isNaN(num)) return false;
        if (f.op === ">") return v > num;
        if (f.op === ">=") return v >= num;
        if (f.op === "<") return v < num;
        return v <= num;
      }
    }
  };
}

/** Ascending order of two cells: numbers before strings, nulls (missing values) always last. */
export function compareCells(a: Cell | undefined, b: Cell | undefined): number {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}
