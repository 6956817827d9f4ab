import { UserError } from "../../core/errors.js";
import { StaleAttemptError } from "../../core/store.js";

/** How an operation that hits a transient error (lost connection, server restarting, serialization failure) is retried. */
export interface RetryOptions {
  /** Tries per operation, the first one included (also for the first connection). */
  attempts: number;
  /** Delay before the second try; it doubles at every further try (with jitter) up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RetryEvent {
  operation: string;
  /** The try that failed (1 = the first). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 10, baseDelayMs: 100, maxDelayMs: 5_000 };

const TRANSIENT_SQLSTATES = new Set([
  "57P01", // admin_shutdown (pg_terminate_backend, server stopping)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, shutting down)
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "53300", // too_many_connections
  "08000", "08001", "08003", "08004", "08006", // connection exceptions
]);
const TRANSIENT_NET_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** Whether an error is worth retrying: the connection or the server went away, or the transaction lost a race. */
export function isTransientError(e: unknown): boolean {
  if (e === null || typeof e !== "object") return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NET_CODES.has(code))) return true;
  const errors = (e as { errors?: unknown }).errors; // AggregateError from a connection to several addresses
  if (Array.isArray(errors) && errors.length > 0 && errors.every(isTransientError)) return true;
  const message = e instanceof Error ? e.message : "";
  return /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Connection timeout/i.test(message);
}

/** An error's message for people: the driver's message, or the messages of an AggregateError, with the SQLSTATE or network code. */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    const errors = (e as { errors?: unknown[] }).errors;
    const text = e.message || (Array.isArray(errors) ? errors.map(errorText).join("; ") : "") || code || e.name;
    return code && !text.includes(code) ? `${text} (${code})` : text;
  }
  return String(e);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Exponential backoff with jitter: between half and all of base * 2^(attempt-1), capped. */
export function backoffMs(attempt: number, r: RetryOptions): number {
  const full = Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(full / 2 + (Math.random() * full) / 2);
}

/** What `withRetry` needs of its caller. */
export interface RetryPolicy {
  options: RetryOptions;
  /** True once the store is closed: no more tries. */
  closed(): boolean;
  /** Called before each retry (it counts them, and tells the store's `onRetry`). */
  retrying(event: RetryEvent): void;
  /** The error to throw when giving up. */
  failure(operation: string, e: unknown, attempts: number, transient: boolean): Error;
}

/** Runs `fn` again on transient errors, waiting longer each time, up to `options.attempts` tries. */
export async function withRetry<T>(operation: string, fn: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const transient = isTransientError(e);
      if (!transient || attempt >= policy.options.attempts || policy.closed()) throw policy.failure(operation, e, attempt, transient);
      const delayMs = backoffMs(attempt, policy.options);
      policy.retrying({ operation, attempt, delayMs, error: e });
      await sleep(delayMs);
    }
  }
}

/**
 * The error a store operation ends with after its last try: errors meant for the user as they
 * are, a clear UserError when the store cannot connect or set up its tables, else an Error
 * naming the operation and the store (with the driver's error as its cause and its code).
 */
export function operationFailure(where: { url: string; schema: string }, operation: string, e: unknown, attempts: number, transient: boolean): Error {
  if (e instanceof UserError || e instanceof StaleAttemptError) return e;
  const tries = transient ? ` after ${attempts} ${attempts === 1 ? "try" : "tries"}` : "";
  if (operation === "connect") {
    const hint = transient ? "; is the server running and reachable? (retries: retry_attempts / retry_max_delay_ms URL parameters)" : "";
    return new UserError(`cannot connect to ${where.url}${tries}: ${errorText(e)}${hint}`);
  }
  if (operation === "migrate") {
    // Almost always the setup: a user who may not create the schema or its tables.
    return new UserError(`cannot set up the archsearch tables in schema "${where.schema}" of ${where.url}${tries}: ${errorText(e)}`);
  }
  const err = new Error(`PostgreSQL store ${where.url}: ${operation} failed${tries}: ${errorText(e)}`, { cause: e });
  const code = (e as { code?: unknown })?.code;
  if (code !== undefined) (err as Error & { code?: unknown }).code = code;
  return err;
}
