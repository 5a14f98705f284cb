/** The stores behind one interface (types.ts): PostgreSQL/TimescaleDB and SQLite. */
export { createSqliteStore, type SqliteStoreOptions } from './sqlite.js';
export * from './types.js';
