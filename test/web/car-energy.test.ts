/**
 * The Day page's EV total (web/src/car-energy.ts) from the history points of a real store: a car
 * at 7.4 kW for an hour, read every 30 s, gives 7.4 kWh; a running quarter counts its elapsed part;
 * a site whose snapshots never had the chargers' power has no total (null, not 0).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emptySnapshot, type Snapshot } from '../../src/core/snapshot.js';
import { silentLogger } from '../../src/lib/log.js';
import { createSqliteStore } from '../../src/server/store/sqlite.js';
import { carEnergyKwh, hasCar } from '../../web/src/car-energy.js';
import type { HistoryAnswer } from '../../web/src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-car-energy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-20T17:00:00Z'); // 18:00 in Brussels

/** A reading every 30 s from T0 for `minutes`; the car draws `evW(t)` (undefined: no charger). */
function readings(minutes: number, evW: (t: number) => number | undefined): Snapshot[] {
  const out: Snapshot[] = [];
  for (let t = T0; t < T0 + minutes * 60_000; t += 30_000) {
    const s = emptySnapshot('home', new Date(t).toISOString());
    s.grid_power_w = 500;
    const ev = evW(t);
    if (ev !== undefined) s.ev_power_w = ev;
    out.push(s);
  }
  return out;
}

async function dayAnswer(file: string, snaps: Snapshot[]): Promise<HistoryAnswer> {
  const store = createSqliteStore(join(dir, file), { timezone: 'Europe/Brussels', logger: silentLogger() });
  await store.migrate();
  try {
    await store.insert({
      deviceId: 'home',
      outboxId: null,
      floorSeq: null,
      readings: snaps.map((snapshot) => ({ snapshot, seq: null })),
    });
    const start = new Date(T0 - 3_600_000);
    const end = new Date(T0 + 3 * 3_600_000);
    const buckets = await store.buckets('home', '15min', start, end);
    return {
      device_id: 'home',
      resolution: '15min',
      start: start.toISOString(),
      end: end.toISOString(),
      points: buckets.map(({ start: s, end: _e, ...b }) => ({ timestamp: s.toISOString(), ...b })),
    } as HistoryAnswer;
  } finally {
    await store.close();
  }
}

describe("the Day page's EV total", () => {
  it('a car at 7.4 kW for an hour, then 0 W for half an hour: 7.4 kWh', async () => {
    const answer = await dayAnswer(
      'a.sqlite',
      readings(90, (t) => (t < T0 + 3_600_000 ? 7400 : 0)),
    );
    expect(hasCar(answer)).toBe(true);
    expect(answer.points.map((p) => (p as { avg_ev_power_w: number | null }).avg_ev_power_w)).toEqual([
      7400, 7400, 7400, 7400, 0, 0,
    ]);
    expect(carEnergyKwh(answer, T0 + 86_400_000)).toBeCloseTo(7.4, 9);
  });

  it('the running quarter counts only its elapsed part', async () => {
    const answer = await dayAnswer(
      'b.sqlite',
      readings(20, () => 3600),
    );
    // 15 minutes of the first quarter and 5 of the running one at 3.6 kW: 1.2 kWh.
    expect(carEnergyKwh(answer, T0 + 20 * 60_000)).toBeCloseTo(1.2, 9);
  });

  it('a site without an EV charger has no total (null, not 0)', async () => {
    const answer = await dayAnswer(
      'c.sqlite',
      readings(60, () => undefined),
    );
    expect(answer.points.length).toBe(4);
    expect(hasCar(answer)).toBe(false);
    expect(carEnergyKwh(answer, T0 + 86_400_000)).toBeNull();
  });
});
