import type Database from "better-sqlite3";

/**
 * Schema migrations of the SQLite store, applied in order, each in its own IMMEDIATE
 * transaction; the applied version (the number of migrations run) is SQLite's `user_version`.
 * Databases in the field are at any of these versions: never edit one, append a new one.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE experiments (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     config TEXT NOT NULL,
     config_hash TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'running',
     search_state TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE trials (
     id INTEGER PRIMARY KEY,
     experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
     number INTEGER NOT NULL,
     status TEXT NOT NULL,
     point TEXT NOT NULL,
     arch TEXT NOT NULL,
     hp TEXT NOT NULL,
     arch_hash TEXT NOT NULL,
     cache_key TEXT,
     fidelity TEXT,
     metrics TEXT,
     hidden TEXT,
     cost_s REAL,
     cached_from INTEGER,
     error TEXT,
     worker TEXT,
     created_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER,
     heartbeat_at INTEGER,
     UNIQUE (experiment_id, number)
   );
   CREATE INDEX trials_by_status ON trials (experiment_id, status);
   CREATE INDEX trials_by_cache_key ON trials (experiment_id, cache_key) WHERE status = 'finished';
   CREATE TABLE trial_values (
     trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
     step REAL NOT NULL,
     name TEXT NOT NULL,
     value REAL,
     PRIMARY KEY (trial_id, step, name)
   );`,
  // Workers: an attempt counter (fencing token) and retry count per trial, a driver lease per experiment.
  `ALTER TABLE trials ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE trials ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE experiments ADD COLUMN driver TEXT;
   ALTER TABLE experiments ADD COLUMN driver_until INTEGER;`,
  // Cache hits from another experiment of the store (cache: shared) name it.
  `ALTER TABLE trials ADD COLUMN cached_from_experiment TEXT;`,
  // Update sequence (StoreReader.changedSince): one store-wide counter, bumped in the transaction of
  // every write that changes a trial (and of every change of an experiment's status or state).
  // Existing rows are numbered by id: trials first, then experiments.
  `CREATE TABLE seq_counter (id INTEGER PRIMARY KEY CHECK (id = 0), value INTEGER NOT NULL);
   ALTER TABLE trials ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE experiments ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
   UPDATE trials SET seq = id;
   UPDATE experiments SET seq = (SELECT COALESCE(MAX(id), 0) FROM trials) + id;
   INSERT INTO seq_counter (id, value) VALUES (0, (SELECT COALESCE(MAX(id), 0) FROM trials) + (SELECT COALESCE(MAX(id), 0) FROM experiments));
   CREATE INDEX trials_by_seq ON trials (experiment_id, seq);`,
  // A bounded search state: its version in a column (was "$.v" in the state), which trials the
  // strategy was told and in what order (told_seq) and which run of each a promotion scheduler
  // heard (heard) on the trial rows (were the lists "$.told" and "$.runs" in the state). A state
  // without "$.told" was written by a local run, which tells every trial that ended for good as it
  // ends (numbered here in the order they ended) and whose scheduler heard every run that ended.
  // Also: the data version of each trial, and the artifacts table.
  `ALTER TABLE experiments ADD COLUMN state_version INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE trials ADD COLUMN told_seq INTEGER;
   ALTER TABLE trials ADD COLUMN heard TEXT;
   ALTER TABLE trials ADD COLUMN data_version TEXT;
   UPDATE experiments SET state_version = COALESCE(json_extract(search_state, '$.v'), 0) WHERE search_state IS NOT NULL;
   UPDATE trials SET told_seq = (
       SELECT j.key + 1 FROM experiments e, json_each(e.search_state, '$.told') j WHERE e.id = trials.experiment_id AND j.value = trials.number)
     WHERE experiment_id IN (SELECT id FROM experiments WHERE json_type(search_state, '$.told') = 'array');
   UPDATE trials SET told_seq = (
       SELECT x.r FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY experiment_id ORDER BY COALESCE(finished_at, 0), number) AS r FROM trials
                        WHERE status IN ('finished', 'failed', 'pruned')) x WHERE x.id = trials.id)
     WHERE status IN ('finished', 'failed', 'pruned')
       AND experiment_id IN (SELECT id FROM experiments WHERE search_state IS NOT NULL AND json_type(search_state, '$.told') IS NULL);
   UPDATE trials SET heard = (
       SELECT json_extract(j.value, '$[1]') FROM experiments e, json_each(e.search_state, '$.runs') j
        WHERE e.id = trials.experiment_id AND json_extract(j.value, '$[0]') = trials.number)
     WHERE experiment_id IN (SELECT id FROM experiments WHERE json_type(search_state, '$.runs') = 'array');
   UPDATE trials SET heard = status || '@' || COALESCE(fidelity, 'null')
     WHERE status IN ('paused', 'finished', 'failed', 'pruned')
       AND experiment_id IN (SELECT id FROM experiments WHERE search_state IS NOT NULL AND json_type(search_state, '$.told') IS NULL);
   CREATE INDEX trials_by_told ON trials (experiment_id, told_seq);
   CREATE TABLE artifacts (
     experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
     trial INTEGER NOT NULL,
     name TEXT NOT NULL,
     path TEXT NOT NULL,
     bytes INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (experiment_id, trial, name)
   );`,
];

/** Number of migrations this version knows: the schema version of a store it creates or opens. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length;

/** The applied schema version of a database (0 for a new one). */
export function sqliteSchemaVersion(db: Database.Database): number {
  return (db.pragma("user_version", { simple: true }) as number) ?? 0;
}

/**
 * Moves a database forward to SQLITE_SCHEMA_VERSION; refuses one from a newer archsearch.
 * Each step reads the version again inside its write transaction, so that processes opening the
 * same old file at once apply every migration once.
 */
export function migrateSqlite(db: Database.Database): void {
  const check = (current: number) => {
    if (current > SQLITE_MIGRATIONS.length) {
      throw new Error(`its schema version ${current} is newer than this archsearch knows (${SQLITE_MIGRATIONS.length}); upgrade archsearch`);
    }
  };
  check(sqliteSchemaVersion(db));
  while (sqliteSchemaVersion(db) < SQLITE_MIGRATIONS.length) {
    db.transaction(() => {
      const v = sqliteSchemaVersion(db);
      check(v);
      if (v === SQLITE_MIGRATIONS.length) return; // another process got there first
      db.exec(SQLITE_MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

/** Tables of a database other than SQLite's own. */
function userTables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

/** A file that is not an archsearch store (schema version 0) but holds tables, or one from a newer archsearch: refused, left as it is. */
export function refuseForeignTables(db: Database.Database): void {
  const version = sqliteSchemaVersion(db);
  if (version > SQLITE_MIGRATIONS.length) throw new Error(`its schema version ${version} is newer than this archsearch knows (${SQLITE_MIGRATIONS.length}); upgrade archsearch`);
  if (version !== 0) return;
  const tables = userTables(db);
  if (tables.length === 0) return;
  const shown = tables.slice(0, 5).join(", ") + (tables.length > 5 ? `, ... (${tables.length} tables)` : "");
  throw new Error(`it is not an archsearch store: it holds other tables (${shown}); archsearch keeps its experiments in a file of its own, give another path`);
}

/** For a read-only opening: an archsearch store of this version, else a clear error (nothing is migrated). */
export function checkSqliteReadable(db: Database.Database): void {
  const version = sqliteSchemaVersion(db);
  if (version === 0) {
    const tables = userTables(db);
    throw new Error(tables.length ? `it is not an archsearch store (it holds other tables: ${tables.slice(0, 5).join(", ")})` : "it is an empty database, not an archsearch store");
  }
  if (version > SQLITE_MIGRATIONS.length) throw new Error(`its schema version ${version} is newer than this archsearch knows (${SQLITE_MIGRATIONS.length}); upgrade archsearch`);
  if (version < SQLITE_MIGRATIONS.length) throw new Error(`it was written by an older archsearch (schema version ${version} of ${SQLITE_MIGRATIONS.length}): run \`archsearch run\` on it once to upgrade it`);
}
