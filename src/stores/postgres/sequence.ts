/**
 * The update sequence of a PostgreSQL store (StoreReader.changedSince): one SEQUENCE per schema
 * (`change_seq`), drawn by every write that changes a trial, or an experiment's status or state,
 * through the function `next_seq` (schema version 4).
 *
 * A sequence hands out numbers in the order asked, not in the order the transactions that asked
 * commit: a reader could see number 11 committed while 10 is still in flight, move its watermark
 * to 11, and never see 10. So the numbers are fenced by an advisory lock per schema:
 *
 * - a writer holds it in shared mode from before it draws a number until it commits
 *   (`next_seq` takes it before `nextval`; a transaction that writes several statements takes
 *   it first thing, in its BEGIN round trip). Writers never wait for each other;
 * - `changedSince` takes it in exclusive mode before its read: it waits for the writers in
 *   flight to commit, and the writers that come after draw numbers above everything it reads.
 */

/** The lock's key (a SQL expression); the schema name is checked against SCHEMA_NAME, so it can be inlined. */
export function seqLockKey(schema: string): string {
  return `hashtextextended('archsearch-seq:${schema}', 0)`;
}

/** SQL expression: the next number of the sequence, drawn under the writers' (shared) lock. */
export function nextSeqSql(schema: string): string {
  const s = `"${schema}"`;
  return `${s}.next_seq(${seqLockKey(schema)}, '${s}.change_seq')`;
}

/** BEGIN of a transaction that writes several statements: the writers' lock first, held until it ends. */
export function beginWriting(schema: string): string {
  return `BEGIN; SELECT pg_advisory_xact_lock_shared(${seqLockKey(schema)})`;
}

/** BEGIN of a changedSince read: the readers' (exclusive) lock, which waits for the writers in flight. */
export function beginReadingChanges(schema: string): string {
  return `BEGIN; SELECT pg_advisory_xact_lock(${seqLockKey(schema)})`;
}
