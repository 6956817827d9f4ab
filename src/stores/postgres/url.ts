import { UserError } from "../../core/errors.js";
import type { RetryEvent, RetryOptions } from "./retry.js";

export interface PostgresStoreOptions {
  /** Schema holding archsearch's tables (created when missing). Default `public`. */
  schema?: string;
  /** `application_name` of every connection (visible in pg_stat_activity). Default `archsearch`. */
  applicationName?: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Time allowed to open one connection. Default 10 000 ms. */
  connectTimeoutMs?: number;
  retry?: Partial<RetryOptions>;
  /** Called before each retry (for logs and tests). */
  onRetry?: (event: RetryEvent) => void;
  /** Opens without creating or migrating anything: the schema must hold a store of this version. */
  readOnly?: boolean;
}

/** Query parameters of a storage URL that archsearch reads itself (the others go to the driver). */
export const URL_PARAMS = ["schema", "application_name", "pool_size", "connect_timeout_ms", "retry_attempts", "retry_base_delay_ms", "retry_max_delay_ms"] as const;

/** The names a schema may have (used unquoted in lock keys and quoted in SQL). */
export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The URL without its password (kept in stored configs: the password is never stored). */
export function withoutPassword(url: string): string {
  if (!/^postgres(ql)?:\/\//i.test(url)) return url;
  try {
    const u = new URL(url);
    u.password = "";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, "@");
  }
}

/** The URL with its password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

/**
 * Splits a `postgres://` storage URL into the driver's connection string and the store's
 * options: `schema`, `application_name`, `pool_size`, `connect_timeout_ms`, `retry_attempts`,
 * `retry_base_delay_ms`, `retry_max_delay_ms`.
 */
export function parsePostgresUrl(url: string): { connectionString: string; options: PostgresStoreOptions } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`invalid PostgreSQL storage URL "${redactUrl(url)}" (expected postgres://user[:password]@host[:port]/database[?schema=name])`);
  }
  const where = `in storage URL ${redactUrl(url)}`;
  const int = (name: string, min: number): number | undefined => {
    const raw = u.searchParams.get(name);
    if (raw === null) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UserError(`${name}=${raw} ${where}: expected an integer >= ${min}`);
    return Number(raw);
  };
  const options: PostgresStoreOptions = {
    schema: u.searchParams.get("schema") ?? undefined,
    applicationName: u.searchParams.get("application_name") ?? undefined,
    poolSize: int("pool_size", 1),
    connectTimeoutMs: int("connect_timeout_ms", 1),
    retry: {
      attempts: int("retry_attempts", 1),
      baseDelayMs: int("retry_base_delay_ms", 0),
      maxDelayMs: int("retry_max_delay_ms", 0),
    },
  };
  for (const k of URL_PARAMS) u.searchParams.delete(k);
  return { connectionString: u.toString(), options };
}

/** The entries of `o` that are not undefined (so that they can override defaults by spreading). */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
