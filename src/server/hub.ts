import type { StoreReader } from "../core/store.js";
import { ExperimentCache } from "./experiment-cache.js";

/** Something that receives a watched experiment's change notices (one open SSE connection). */
export type Listener = (event: string, data: unknown) => void;

/**
 * The experiments' caches and their poll loops. A loop runs per experiment being watched (by
 * any number of pages), not per page: it refreshes the cache from `changedSince` and tells
 * every listener once per change.
 */
export class Hub {
  private readonly caches = new Map<string, ExperimentCache>();
  private readonly watches = new Map<string, { listeners: Set<Listener>; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(
    readonly store: StoreReader,
    readonly pollMs = 250,
  ) {}

  /** The experiment's cache, refreshed; undefined when the store has no experiment of that name. */
  async cache(name: string): Promise<ExperimentCache | undefined> {
    let c = this.caches.get(name);
    if (!c) {
      const exp = await this.store.getExperiment(name);
      if (!exp) return undefined;
      c = this.caches.get(name) ?? new ExperimentCache(this.store, exp);
      this.caches.set(name, c);
    }
    await c.refresh();
    return c;
  }

  /**
   * Loads every experiment's cache, one after the other, in the background: started with the
   * server, so that the first page opened finds the large experiments read already (or being read).
   */
  preload(log: (line: string) => void): Promise<void> {
    return (async () => {
      for (const e of await this.store.listExperiments()) {
        if (this.closed) return;
        await this.cache(e.name);
      }
    })().catch((e: Error) => log(`archsearch dashboard: could not read the store ahead of the first page: ${e.message}`));
  }

  /** The experiment's cache if it was loaded already (without reading the store). */
  loaded(name: string): ExperimentCache | undefined {
    return this.caches.get(name);
  }

  /** Starts (or joins) the poll loop of an experiment; returns the function that leaves it. */
  watch(name: string, listener: Listener): () => void {
    let w = this.watches.get(name);
    if (!w) {
      const listeners = new Set<Listener>();
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return; // a slow store: skip a tick rather than pile reads up
        busy = true;
        this.tick(name, listeners).finally(() => (busy = false));
      }, this.pollMs);
      w = { listeners, timer };
      this.watches.set(name, w);
    }
    w.listeners.add(listener);
    return () => {
      const cur = this.watches.get(name);
      if (!cur) return;
      cur.listeners.delete(listener);
      if (cur.listeners.size === 0) {
        clearInterval(cur.timer);
        this.watches.delete(name);
      }
    };
  }

  /** Number of poll loops running (what the tests check: one per experiment, however many pages). */
  loops(): number {
    return this.watches.size;
  }

  private async tick(name: string, listeners: Set<Listener>): Promise<void> {
    try {
      const c = this.caches.get(name);
      if (!c) {
        await this.cache(name);
        return;
      }
      if (await c.refresh()) {
        const msg = { seq: c.seq, status: c.exp.status, counts: c.counts, best: c.bestValue(), trials: c.trials.size };
        for (const l of listeners) l("change", msg);
      }
    } catch (e) {
      for (const l of listeners) l("problem", { message: `cannot read the store: ${(e as Error).message}` });
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) clearInterval(w.timer);
    this.watches.clear();
  }
}
