import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildReport } from "../server/report.js";

export interface ReportCommandOptions {
  storage: string;
  out: string;
  artifactDir?: string;
  trialPages?: number;
}

/** `archsearch report NAME --out report.html`: the experiment's dashboard as one self-contained HTML file. */
export async function reportCommand(name: string, o: ReportCommandOptions): Promise<void> {
  const r = await buildReport({ storage: o.storage, name, artifactDir: o.artifactDir, trialPages: o.trialPages });
  const out = resolve(o.out);
  writeFileSync(out, r.html);
  process.stdout.write(`wrote ${out} (${Buffer.byteLength(r.html)} bytes): ${r.trials} trials, ${r.trialPages} trial pages; open it in a browser (no server needed)\n`);
}
