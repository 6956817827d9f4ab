import { resolve } from "node:path";
import type { Store } from "../core/store.js";
import { UserError } from "../core/errors.js";
import { SqliteStore } from "./sqlite.js";

/**
 * Opens a store from a storage string: a file path or `sqlite:PATH` (SQLite, WAL mode), or
 * `:memory:` for a throwaway in-memory store.
 */
export function openStore(storage: string): Store {
  if (storage === ":memory:" || storage === "sqlite::memory:") return new SqliteStore(":memory:");
  if (/^postgres(ql)?:\/\//.test(storage)) {
    throw new UserError(`PostgreSQL storage (${storage.replace(/:[^:@/]*@/, ":***@")}) is not available in this version; use a SQLite file path`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(storage)) throw new UserError(`unknown storage "${storage}": use a SQLite file path, sqlite:PATH or :memory:`);
  const path = storage.startsWith("sqlite:") ? storage.slice("sqlite:".length) : storage;
  return new SqliteStore(resolve(path));
}
