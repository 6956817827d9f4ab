import { z } from "zod";
import type { Json } from "./json.js";
import type { Metrics } from "./evaluator.js";
import type { AskContext, SearcherProgress, Strategy, StrategyAttachment } from "./strategy.js";
import { UserError } from "./errors.js";
import type { ExperimentArtifacts, Searcher, SearcherCheckpoint } from "./searcher.js";

/** A searcher strategy's state: what its job derived (null before the job ended) and how many of them were handed out. */
const STATE = z.object({ derived: z.array(z.json()).nullable(), served: z.number().int().min(0) });

/** Artifact names of a searcher's job, experiment-level. */
export const SEARCHER_ARTIFACTS = {
  checkpoint: "searcher/checkpoint.bin",
  progress: "searcher/progress.json",
  derived: "searcher/derived.json",
} as const;

export type { SearcherProgress } from "./strategy.js";

/** A checkpoint file: one JSON header line (the step), then the job's bytes; one file, so it is written at once. */
function encodeCheckpoint(c: SearcherCheckpoint): Uint8Array {
  const head = new TextEncoder().encode(`${JSON.stringify({ step: c.step })}\n`);
  const out = new Uint8Array(head.length + c.data.length);
  out.set(head, 0);
  out.set(c.data, head.length);
  return out;
}

function decodeCheckpoint(bytes: Uint8Array): SearcherCheckpoint {
  const nl = bytes.indexOf(10);
  const head = nl > 0 ? (JSON.parse(new TextDecoder().decode(bytes.subarray(0, nl))) as { step?: unknown }) : {};
  if (typeof head.step !== "number") throw new UserError(`searcher checkpoint ${SEARCHER_ARTIFACTS.checkpoint} is corrupt (no step header)`);
  return { step: head.step, data: bytes.slice(nl + 1) };
}

/**
 * The searcher mode as a strategy of the one loop: its first ask runs the searcher's job (a
 * long training, resumed from its last checkpoint after a crash), and the architectures it
 * derived are then handed out in order as ordinary trials; it is exhausted after the last. The
 * state is the derived list and how many were served: bounded by the searcher's output.
 */
export class SearcherStrategy implements Strategy {
  readonly name: string;
  private derived: Json[] | undefined;
  private served = 0;

  constructor(
    private readonly searcher: Searcher,
    private o: { seed: number; artifacts?: () => Promise<ExperimentArtifacts>; signal?: AbortSignal; onProgress?: (p: SearcherProgress) => void },
  ) {
    this.name = `searcher:${searcher.name}`;
  }

  /** The experiment's artifacts, stop signal and progress channel (options given to the constructor take precedence). */
  attach(a: StrategyAttachment): void {
    this.o = { artifacts: async () => a.artifacts, signal: a.signal, onProgress: (p) => a.progress(p), ...definedOnly(this.o), seed: this.o.seed };
  }

  async ask(n: number, ctx: AskContext): Promise<Json[]> {
    this.derived ??= await this.runJob();
    const out: Json[] = [];
    while (out.length < n && this.served < this.derived.length) {
      const p = this.derived[this.served++];
      if (!ctx.seen(p)) out.push(p);
    }
    return out;
  }

  tell(): void {
    // The derived architectures are fixed once the job is done: results change nothing here.
  }

  state(): Json {
    return { derived: this.derived ?? null, served: this.served };
  }

  restore(state: Json): void {
    const r = STATE.safeParse(state);
    if (!r.success) {
      const where = r.error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`).join("; ");
      throw new Error(`strategy "${this.name}": the saved search state does not fit this strategy (${where})`);
    }
    this.derived = r.data.derived ?? undefined;
    this.served = r.data.served;
  }

  /** Runs the job to its end (or returns what an earlier run of it derived), resuming from the latest checkpoint. */
  private async runJob(): Promise<Json[]> {
    if (!this.o.artifacts) throw new Error(`${this.name}: no artifact store to keep the job's checkpoints in (run it in an experiment, or pass artifacts)`);
    const artifacts = await this.o.artifacts();
    const done = await artifacts.get(null, SEARCHER_ARTIFACTS.derived);
    if (done) return JSON.parse(new TextDecoder().decode(done)) as Json[];
    const saved = await artifacts.get(null, SEARCHER_ARTIFACTS.checkpoint);
    const resume = saved ? decodeCheckpoint(saved) : undefined;
    const progressRaw = await artifacts.get(null, SEARCHER_ARTIFACTS.progress);
    // Progress up to the checkpoint survives; reports after it are repeated by the resumed job.
    const progress = (progressRaw ? (JSON.parse(new TextDecoder().decode(progressRaw)) as { step: number; metrics: Metrics }[]) : []).filter((p) => !resume || p.step <= resume.step);
    let first = true;
    const derived = await this.searcher.search({
      seed: this.o.seed,
      signal: this.o.signal ?? new AbortController().signal,
      resume,
      report: async (step, metrics) => {
        progress.push({ step, metrics });
        await artifacts.put(null, SEARCHER_ARTIFACTS.progress, JSON.stringify(progress));
        this.o.onProgress?.({ searcher: this.searcher.name, step, metrics, resumed: first && resume !== undefined });
        first = false;
      },
      checkpoint: (step, data) => artifacts.put(null, SEARCHER_ARTIFACTS.checkpoint, encodeCheckpoint({ step, data })),
      saveArtifact: (name, data) => artifacts.put(null, `searcher/${name}`, data),
    });
    await artifacts.put(null, SEARCHER_ARTIFACTS.derived, JSON.stringify(derived));
    return derived;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
