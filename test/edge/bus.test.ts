/**
 * The edge's bus (src/edge/bus.ts): a consumer that throws, or whose promise rejects, is logged once per
 * kind of error with its name, and the others go on. The real edge app with a simulated P1 meter on
 * loopback (DSMR over TCP, 10 telegrams a second), the real outbox (SQLite) and `--console`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../src/core/validate.js';
import { startDsmrTcpSimulator } from '../../src/drivers/dsmr/simulator.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { EdgeApp } from '../../src/edge/app.js';
import { EdgeConfigSchema } from '../../src/edge/config.js';
import { silentLogger } from '../../src/lib/log.js';
import { captureLogger } from '../helpers/log.js';
import { waitFor } from '../mqtt/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('edge bus', () => {
  it('a throwing or rejecting consumer does not stop the outbox from receiving every snapshot', async () => {
    const sim = await startDsmrTcpSimulator({
      host: '127.0.0.1',
      port: 0,
      rateHz: 10,
      model: new HomeModel({ start: Date.now() }),
      log: silentLogger(),
    });
    cleanups.push(() => sim.stop());
    const dir = mkdtempSync(join(tmpdir(), 'kw-bus-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = parseWithSchema(
      EdgeConfigSchema,
      {
        device_id: 'bus-home',
        dsmr: { tcp: `127.0.0.1:${sim.port}` },
        buffer: { db_path: join(dir, 'outbox.sqlite') },
      },
      'test',
    );
    const { log, lines } = captureLogger();
    const consoleLines: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) consoleLines.push(l);
        cb();
      },
    });
    const app = await EdgeApp.create({ config, log, console: out });
    // Before the app's own consumers: they come after these in every publish.
    app.bus.subscribe('broken', 'snapshot', (s) => {
      throw new Error(`cannot take ${s.timestamp}`);
    });
    app.bus.subscribe('broken-async', 'snapshot', async () => {
      throw Object.assign(new Error('exporter unreachable'), { code: 'ECONNREFUSED' });
    });
    await app.start();
    cleanups.push(() => app.stop());
    await waitFor(() => (app.outbox?.lastSeq() ?? 0) >= 20, '20 snapshots in the outbox');
    await app.edge.stop();
    await new Promise((r) => setImmediate(r)); // the last rejection is handled

    const published = app.bus.publishedCount('snapshot');
    expect(published).toBeGreaterThanOrEqual(20);
    // Every snapshot reached the outbox (seq 1…n), the console and the watchdog.
    expect(app.outbox?.lastSeq()).toBe(published);
    expect(app.outbox?.pending(0, 10_000).map((r) => r.seq)).toEqual(
      Array.from({ length: published }, (_, i) => i + 1),
    );
    expect(consoleLines).toHaveLength(published);
    expect(app.snapshotCount).toBe(published);
    // Each failure counted; logged once per consumer and kind of error, with the consumer's name.
    expect(app.bus.errors()).toEqual({ broken: published, 'broken-async': published });
    const logged = lines.filter((l) => typeof l.consumer === 'string');
    expect(logged.map((l) => [l.consumer, l.event, l.level])).toEqual([
      ['broken', 'snapshot', 50],
      ['broken-async', 'snapshot', 50],
    ]);
    expect(logged[0]?.msg).toContain('broken');
    // The consumers, registered in one place, in order: the outbox before anything that publishes.
    expect(app.bus.consumers().snapshot).toEqual([
      'broken',
      'broken-async',
      'watchdog',
      'outbox',
      'console',
      'capacity-watch',
    ]);
  });

  it('publishes each change of a source state with the source name', async () => {
    const sim = await startDsmrTcpSimulator({
      host: '127.0.0.1',
      port: 0,
      rateHz: 10,
      model: new HomeModel({ start: Date.now() }),
      log: silentLogger(),
    });
    cleanups.push(() => sim.stop());
    const config = parseWithSchema(
      EdgeConfigSchema,
      { device_id: 'bus-home', dsmr: { tcp: `127.0.0.1:${sim.port}` } },
      'test',
    );
    const app = await EdgeApp.create({ config, log: silentLogger() });
    const seen: string[] = [];
    app.bus.subscribe('test', 'source_state', (e) => void seen.push(`${e.source}:${e.state}`));
    await app.start();
    cleanups.push(() => app.stop());
    await waitFor(() => seen.includes('dsmr:connected'), 'the P1 source connected');
  });
});
