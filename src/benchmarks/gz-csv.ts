import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { UserError } from "../core/errors.js";

/** A gzip CSV table as text cells: the header and every row (no quoting: the bundled tables have none). */
export interface CsvTable {
  header: string[];
  rows: string[][];
  /** Index of a column; throws naming the file when it is missing. */
  col(name: string): number;
}

/** Reads a bundled gzip CSV; a missing, corrupt or ragged file is a UserError naming `label` and the path. */
export function readGzCsv(path: string, label: string): CsvTable {
  let text: string;
  try {
    text = gunzipSync(readFileSync(path)).toString("utf8");
  } catch (e) {
    throw new UserError(`Cannot read ${label} data file ${path}: ${(e as Error).message}`);
  }
  const lines = text.split("\n");
  const header = lines[0].trim().split(",");
  const rows: string[][] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].length === 0) continue;
    const cells = lines[i].split(",");
    if (cells.length !== header.length) throw new UserError(`${label} data file ${path} is corrupt: line ${i + 1} has ${cells.length} fields, expected ${header.length}`);
    rows.push(cells);
  }
  return {
    header,
    rows,
    col(name: string) {
      const k = header.indexOf(name);
      if (k < 0) throw new UserError(`${label} data file ${path} has no column "${name}"`);
      return k;
    },
  };
}
