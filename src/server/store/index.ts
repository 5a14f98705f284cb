/** The stores behind one interface (types.ts): PostgreSQL/TimescaleDB and SQLite. */
export {
  createPostgresStore,
  type PostgresConnection,
  type PostgresMode,
  type PostgresStoreOptions,
} from './postgres.js';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite.js';
export * from './types.js';
