import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/core/snapshot.js';
import { createDsmrSource } from '../../src/drivers/dsmr/source.js';
import { Edge } from '../../src/edge/edge.js';
import { silentLogger } from '../../src/lib/log.js';
import { fixtureBytes } from '../helpers/fixtures.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A P1-to-network bridge on loopback that sends `telegram` every `everyMs`. */
async function bridge(telegram: Buffer, everyMs: number): Promise<number> {
  const clients = new Set<Socket>();
  const srv = createServer((s) => {
    clients.add(s);
    s.on('close', () => clients.delete(s));
    s.on('error', () => {});
    s.write(telegram);
  });
  const timer = setInterval(() => {
    for (const c of clients) c.write(telegram);
  }, everyMs);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        clearInterval(timer);
        for (const c of clients) c.destroy();
        srv.close(() => r());
      }),
  );
  const addr = srv.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

describe('Edge', () => {
  it('learns that a DSMR 4.2 meter sends every few seconds and stops calling it stale between telegrams', async () => {
    const port = await bridge(fixtureBytes('p1/dsmr42-kaifa.txt'), 4000);
    const source = createDsmrSource(
      { tcp: `127.0.0.1:${port}`, baudrate: 115200, parity: 'even', data_bits: 7, stop_bits: 1 },
      { log: silentLogger() },
    );
    const edge = new Edge({ deviceId: 'nl-home', sources: [source], log: silentLogger() });
    const snaps: Snapshot[] = [];
    edge.on('snapshot', (s) => snaps.push(s));
    await edge.start();
    cleanups.push(() => edge.stop());
    // Four telegrams give three gaps of ~4 s: the learnt interval becomes 4 s, stale after 12 s.
    await new Promise((r) => setTimeout(r, 4 * 4000 + 1500));
    const learntAt = snaps.length;
    await new Promise((r) => setTimeout(r, 2 * 4000));
    const after = snaps.slice(learntAt);
    expect(after.length).toBeGreaterThanOrEqual(2);
    // Only the meter's own ticks now: no own-clock snapshots marking it stale between telegrams.
    expect(after.filter((s) => s.stale_sources.includes('dsmr'))).toEqual([]);
    for (const s of after) {
      expect(s.grid_import_t1_kwh).toBe(1581.123);
      expect(s.grid_power_w).toBe(2027);
      expect(s.country).toBe('nl');
    }
    // Before the interval was learnt the own clock did tick and named the meter stale.
    expect(snaps.slice(0, learntAt).some((s) => s.stale_sources.includes('dsmr') && s.grid_power_w === null)).toBe(
      true,
    );
  }, 40_000);
});
