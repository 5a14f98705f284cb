/**
 * A test ingester in its own process (run with `node --import tsx`): PostgreSQL store, ingester with
 * a fixed client id (persistent session), until killed. Settings in KW_INGEST (JSON).
 */
import { createLogger } from '../../src/lib/log.js';
import { createIngester, type IngesterTls } from '../../src/server/ingest/ingester.js';
import { createPostgresStore } from '../../src/server/store/postgres.js';

interface IngestSettings {
  mqttUrl: string;
  tls: IngesterTls;
  clientId: string;
  connectionString: string;
  schema: string;
}

const s = JSON.parse(process.env.KW_INGEST ?? '{}') as IngestSettings;
const log = createLogger('ingest-entry');
const store = createPostgresStore(
  { connectionString: s.connectionString, schema: s.schema },
  { timezone: 'Europe/Brussels', connectTimeoutMs: 2000, statementTimeoutMs: 10_000 },
);
// The database may be restarting: keep trying.
for (let attempt = 0; ; attempt++) {
  try {
    await store.migrate();
    break;
  } catch (err) {
    if (attempt % 10 === 0) log.warn({ err: (err as Error).message }, 'store not ready');
    await new Promise((r) => setTimeout(r, 300));
  }
}
const ingester = createIngester({
  mqttUrl: s.mqttUrl,
  tls: s.tls,
  clientId: s.clientId,
  prefix: 'energy',
  store,
  flushIntervalMs: 50,
});
await ingester.start();
log.info('ingester entry started');

process.on('SIGTERM', () => {
  void ingester.stop().finally(() => {
    void store.close().finally(() => process.exit(0));
  });
});
