import type pg from "pg";
import { UserError } from "../../core/errors.js";
import type { DriverLease, LeaseResult } from "../../core/store.js";
import { NOW_MS, type PgDb } from "./db.js";
import { isTransientError } from "./retry.js";

/** The driver lease's connection was lost (so was the lock): the holder's step is abandoned. */
class LeaseLost extends Error {}

/**
 * PostgresStore.withDriverLease. The driver lease is a session advisory lock: the server releases
 * it when the holder's connection ends (process killed included). The holder also holds a second
 * lock, the gate, for as long as it drives. Waiting (`waitMs`) is a request for the gate in
 * shared mode, queued by the server under a lock_timeout: no polling, and every waiter is let
 * through at once when the holder opens the gate (each gives it back at once and goes to claim).
 * The lease itself is only ever tried, never waited for, so waiters passing the gate never keep a
 * new driver out. The holder counts the waiters in pg_locks. Taking the lease retries transient
 * errors like every other operation.
 */
export async function withDriverLease<T>(
  db: PgDb,
  where: { url: string; schema: string; poolSize: number },
  experimentId: number,
  fn: (lease: DriverLease) => Promise<T>,
  waitMs = 0,
): Promise<LeaseResult<T>> {
  if (where.poolSize < 2) throw new UserError(`workers need pool_size >= 2 in storage ${where.url} (the driver lease holds one connection while the others work)`);
  const key = `archsearch-driver:${where.schema}:${experimentId}`;
  const gate = `archsearch-driver-gate:${where.schema}:${experimentId}`;
  const held = await db.withRetry("driverLease", async () => {
    const c = await db.checkout();
    try {
      const { rows } = await c.client.query<{ ok: boolean; now: string }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok, ${NOW_MS} AS now`, [key]);
      if (rows[0].ok) {
        const clock = { server: Number(rows[0].now), local: Date.now() };
        // Close the gate (after any waiter still passing it): the workers that wait from now on queue on it.
        await c.client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [gate]);
        return { ...c, clock };
      }
      if (waitMs > 0) await awaitGate(c.client, gate, waitMs);
      c.done(false);
      return undefined;
    } catch (e) {
      c.done(true); // the session ends, and any lock it took with it
      throw e;
    }
  });
  if (!held) return { acquired: false };
  const { client, done, clock } = held;
  // The server's clock, advanced by the local one since it was read (workers' clocks may differ from the server's).
  const now = () => clock.server + (Date.now() - clock.local);
  const waiting = () =>
    gateWaiters(client, gate).catch((e: unknown) => {
      // The lease's own connection is gone, and the server released the locks with it.
      throw isTransientError(e) ? new LeaseLost() : e;
    });
  try {
    return { acquired: true, value: await fn({ waiting, now }) };
  } catch (e) {
    if (e instanceof LeaseLost) return { acquired: false };
    throw e;
  } finally {
    // Open the gate, then let go of the lease. A lost connection has released both already; it is then discarded.
    const unlocked = await client
      .query("SELECT pg_advisory_unlock(hashtextextended($1, 0)), pg_advisory_unlock(hashtextextended($2, 0))", [gate, key])
      .then(
        () => true,
        () => false,
      );
    done(!unlocked);
  }
}

/** Waits up to `waitMs` until the driver opens the gate `gate` (a shared request, given back at once). */
async function awaitGate(client: pg.PoolClient, gate: string, waitMs: number): Promise<void> {
  const { rows } = await client.query<{ old: string }>("SELECT current_setting('lock_timeout') AS old, set_config('lock_timeout', $1, false)", [`${Math.ceil(waitMs)}ms`]);
  try {
    await client.query("SELECT pg_advisory_lock_shared(hashtextextended($1, 0))", [gate]);
  } catch (e) {
    // 55P03 lock_not_available: waited waitMs. Another error ends the connection (the caller discards it).
    if ((e as { code?: unknown }).code !== "55P03") throw e;
  }
  // Given back in every case: the timeout can fire just after the lock was granted, and a session
  // lock survives the statement's error (this pooled connection would keep it for ever). The same
  // round trip puts lock_timeout back.
  await client.query("SELECT pg_advisory_unlock_shared(hashtextextended($1, 0)), set_config('lock_timeout', $2, false)", [gate, rows[0].old]);
}

/** Sessions waiting at the gate `gate` (a bigint key shows in pg_locks as classid = high half, objid = low half, objsubid 1). */
async function gateWaiters(client: pg.PoolClient, gate: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM pg_locks
     WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND classid::bigint = (hashtextextended($1, 0) >> 32) & 4294967295
       AND objid::bigint = hashtextextended($1, 0) & 4294967295`,
    [gate],
  );
  return rows[0].n;
}
