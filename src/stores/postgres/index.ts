/** The PostgreSQL store: what other modules use of it. */
export { PostgresStore } from "./store.js";
export { POSTGRES_SCHEMA_VERSION } from "./migrations.js";
export { DEFAULT_RETRY, isTransientError, type RetryEvent, type RetryOptions } from "./retry.js";
export { parsePostgresUrl, redactUrl, withoutPassword, type PostgresStoreOptions } from "./url.js";
