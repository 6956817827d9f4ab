import { resolve } from "node:path";
import type { Store } from "../core/store.js";
import { UserError } from "../core/errors.js";
import { SqliteStore } from "./sqlite.js";
import { PostgresStore, redactUrl } from "./postgres/index.js";

/**
 * Opens a store from a storage string: a file path or `sqlite:PATH` (SQLite, WAL mode), or
 * `:memory:` for a throwaway in-memory store, or a `postgres://` / `postgresql://` URL
 * (PostgreSQL; `?schema=name` picks the schema, see PostgresStore for the other parameters).
 * `readOnly`: migrate nothing and refuse a store at another schema version (SQLite also opens
 * the file read-only and needs it to exist).
 */
export function openStore(storage: string, options: { readOnly?: boolean } = {}): Store {
  if (storage === ":memory:" || storage === "sqlite::memory:") return new SqliteStore(":memory:");
  // PostgreSQL: connects and migrates in the background; the store's first operation waits for it.
  if (/^postgres(ql)?:\/\//i.test(storage)) return new PostgresStore(storage, { readOnly: options.readOnly });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(storage)) {
    throw new UserError(`unknown storage "${redactUrl(storage)}": use a SQLite file path, sqlite:PATH, :memory: or postgres://user@host:port/database`);
  }
  const path = storage.startsWith("sqlite:") ? storage.slice("sqlite:".length) : storage;
  return new SqliteStore(resolve(path), { readOnly: options.readOnly });
}
