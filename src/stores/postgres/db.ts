import pg from "pg";
import { type RetryEvent, type RetryOptions, operationFailure, withRetry } from "./retry.js";

/** Milliseconds since the epoch on the database server: one clock for every worker. */
export const NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/** bigint columns (timestamps in ms, update sequences) as numbers; everything else as the driver parses it. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** A connection taken from the pool; `done(true)` discards it instead of giving it back. */
export interface Checkout {
  client: pg.PoolClient;
  done: (broken: boolean) => void;
}

export interface PgDbOptions {
  connectionString: string;
  /** The storage URL without its password, and the schema: for messages. */
  url: string;
  schema: string;
  applicationName: string;
  poolSize: number;
  connectTimeoutMs: number;
  retry: RetryOptions;
  onRetry?: (event: RetryEvent) => void;
}

/**
 * The connection pool of a PostgresStore and the two ways its operations run on it: one
 * statement (`query`) or a transaction on one connection (`transaction`), each retried as a
 * whole on transient errors.
 */
export class PgDb {
  readonly pool: pg.Pool;
  /** Retries done so far (every operation together). */
  retries = 0;
  /** Errors of idle pooled connections (for example terminated by the server); they are replaced. */
  idleErrors = 0;
  /** Set when the store closes: no more retries. */
  closed = false;

  constructor(private readonly o: PgDbOptions) {
    this.pool = new pg.Pool({
      connectionString: o.connectionString,
      application_name: o.applicationName,
      max: o.poolSize,
      connectionTimeoutMillis: o.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true, // an idle pool does not keep the process alive
      types: TYPES,
    });
    // An idle connection that the server closes emits an error; the pool drops it and opens another when needed.
    this.pool.on("error", () => {
      this.idleErrors++;
    });
  }

  /** Runs `fn` again on transient errors, waiting longer each time, up to `retry.attempts` tries. */
  withRetry<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(operation, fn, {
      options: this.o.retry,
      closed: () => this.closed,
      retrying: (event) => {
        this.retries++;
        this.o.onRetry?.(event);
      },
      failure: (op, e, attempts, transient) => operationFailure(this.o, op, e, attempts, transient),
    });
  }

  /** One statement on any pooled connection. */
  query<R extends pg.QueryResultRow>(operation: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.withRetry(operation, () => this.pool.query<R>(sql, params));
  }

  /**
   * Runs `fn` in a transaction on one connection; on a transient error the whole transaction is
   * run again. `begin` opens it: "BEGIN", or BEGIN and statements without parameters that must
   * come first (sent in the same round trip).
   */
  transaction<T>(operation: string, fn: (c: pg.PoolClient) => Promise<T>, begin = "BEGIN"): Promise<T> {
    return this.withRetry(operation, async () => {
      const { client, done } = await this.checkout();
      let broken = false;
      try {
        await client.query(begin);
        const result = await fn(client);
        await client.query("COMMIT");
        return result;
      } catch (e) {
        try {
          await client.query("ROLLBACK");
        } catch {
          broken = true;
        }
        throw e;
      } finally {
        done(broken);
      }
    });
  }

  /**
   * A connection from the pool, with an error listener attached before anything else can run:
   * the server may end it in the same network read that completed its startup, and an
   * unlistened error event would crash the process. (A lost connection surfaces as the error
   * of the query that needed it.) `done(true)` discards it instead of returning it to the pool.
   */
  checkout(): Promise<Checkout> {
    return new Promise((resolve, reject) => {
      this.pool.connect((err, client, release) => {
        if (err || !client) return reject(err ?? new Error("the pool gave no connection"));
        const swallow = () => undefined;
        client.on("error", swallow);
        resolve({
          client,
          done: (broken) => {
            client.removeListener("error", swallow);
            release(broken);
          },
        });
      });
    });
  }
}
