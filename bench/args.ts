/** Minimal `--name value` / `--flag` parsing for benchmark scripts (util.parseArgs with loose types). */
import { parseArgs } from "node:util";

export function benchArgs(argv: string[], spec: Record<string, { type: "string" | "boolean"; default?: string | boolean }>) {
  const { values, positionals } = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
  return { values: values as Record<string, string | boolean | undefined>, positionals };
}

export function intList(text: string): number[] {
  return text.split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a list of positive integers, got "${text}"`);
    return n;
  });
}

export function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}
