import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Store } from "../core/store.js";
import { UserError } from "../core/errors.js";
import { SqliteStore } from "./sqlite.js";
import { PostgresStore, redactUrl } from "./postgres/index.js";
import { errorText, type RetryEvent, type RetryOptions } from "./postgres/retry.js";

export interface OpenStoreOptions {
  /**
   * Read-only commands (status, trials, best, export, the dashboard): the store must exist and be
   * of this version; nothing is created, migrated or written ("no store at typo.db").
   */
  readOnly?: boolean;
  /** Opened for writing, but the store must exist already (`delete`): a missing SQLite file is refused, not created. */
  existing?: boolean;
  /** Told once, at a PostgreSQL store's first retry ("not reachable, retrying for up to 21 s"). */
  note?: (line: string) => void;
}

/** The longest an operation keeps retrying with these settings (for the first retry's note). */
function retrySpanSeconds(r: RetryOptions): number {
  let ms = 0;
  for (let a = 1; a < r.attempts; a++) ms += Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** (a - 1));
  return Math.max(1, Math.round(ms / 1000));
}

/** The SQLite file a storage string names, or undefined for PostgreSQL and in-memory stores. */
export function sqlitePath(storage: string): string | undefined {
  if (storage === ":memory:" || storage === "sqlite::memory:" || /^[a-z][a-z0-9+.-]*:\/\//i.test(storage)) return undefined;
  return storage.startsWith("sqlite:") ? storage.slice("sqlite:".length) : storage;
}

/**
 * Opens a store from a storage string: a file path or `sqlite:PATH` (SQLite, WAL mode), or
 * `:memory:` for a throwaway in-memory store, or a `postgres://` / `postgresql://` URL
 * (PostgreSQL; `?schema=name` picks the schema, see PostgresStore for the other parameters).
 */
export function openStore(storage: string, opts: OpenStoreOptions = {}): Store {
  if (storage.trim() === "") throw new UserError('empty storage: give a SQLite file path, sqlite:PATH, :memory: or postgres://user@host:port/database');
  if (storage === ":memory:" || storage === "sqlite::memory:") {
    if (opts.readOnly) throw new UserError(`no store at ${storage}: an in-memory store is gone when its process ends; give the SQLite file or postgres:// URL the experiments were run with`);
    return new SqliteStore(":memory:");
  }
  // PostgreSQL: connects (and migrates) in the background; the store's first operation waits for it.
  if (/^postgres(ql)?:\/\//i.test(storage)) {
    let told = false;
    let store: PostgresStore | undefined;
    const onRetry = opts.note
      ? (e: RetryEvent) => {
          if (told || !store) return;
          told = true;
          opts.note!(`PostgreSQL ${store.url} not reachable (${errorText(e.error)}), retrying for up to ${retrySpanSeconds(store.retry)} s`);
        }
      : undefined;
    store = new PostgresStore(storage, { readOnly: opts.readOnly, onRetry });
    return store;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(storage)) {
    throw new UserError(`unknown storage "${redactUrl(storage)}": use a SQLite file path, sqlite:PATH, :memory: or postgres://user@host:port/database`);
  }
  const path = sqlitePath(storage)!;
  if (path.trim() === "") throw new UserError(`storage "${storage}" names no file: write sqlite:PATH (sqlite:experiments.db) or just the path`);
  if (opts.readOnly || opts.existing) {
    if (!existsSync(path)) throw new UserError(`no store at ${path} (give the SQLite file your experiments were run with, or a postgres:// URL, with --storage)`);
    if (statSync(path).isDirectory()) throw new UserError(`no store at ${path}: it is a folder; give the SQLite file in it`);
    if (opts.readOnly) return new SqliteStore(resolve(path), { readOnly: true });
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new UserError(`cannot use ${path} as a store: it is a folder; give a SQLite file path (for example ${path}/archsearch.db)`);
  return new SqliteStore(resolve(path));
}
