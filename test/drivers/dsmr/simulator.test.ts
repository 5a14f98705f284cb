import { describe, expect, it } from 'vitest';
import { telegramToFields } from '../../../src/drivers/dsmr/fields.js';
import { parseTelegramBytes } from '../../../src/drivers/dsmr/parser.js';
import { encodeTelegram, startDsmrTcpSimulator } from '../../../src/drivers/dsmr/simulator.js';
import { createDsmrSource } from '../../../src/drivers/dsmr/source.js';
import type { P1Telegram } from '../../../src/drivers/dsmr/telegram.js';
import { HomeModel, type HomeState } from '../../../src/drivers/sim/home-model.js';
import type { SourceReading } from '../../../src/drivers/source.js';
import { silentLogger } from '../../../src/lib/log.js';
import { bodyOf, hex4, refCrc16 } from './helpers.js';

const iso = (ms: number) => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function expectRoundTrip(s: HomeState, t: P1Telegram): void {
  expect(t.country).toBe(s.country);
  expect(t.meter_timestamp).toBe(iso(s.at));
  expect(t.tariff_indicator).toBe(s.tariff);
  expect(t.energy_import_t1_kwh).toBe(r3(s.import_t1_kwh));
  expect(t.energy_import_t2_kwh).toBe(r3(s.import_t2_kwh));
  expect(t.energy_export_t1_kwh).toBe(r3(s.export_t1_kwh));
  expect(t.energy_export_t2_kwh).toBe(r3(s.export_t2_kwh));
  expect(t.power_import_w).toBe(Math.max(0, s.grid_w));
  expect(t.power_export_w).toBe(Math.max(0, -s.grid_w));
  const imports = [t.power_l1_import_w, t.power_l2_import_w, t.power_l3_import_w].slice(0, s.phases);
  const exports = [t.power_l1_export_w, t.power_l2_export_w, t.power_l3_export_w].slice(0, s.phases);
  expect(imports).toEqual(s.phase_grid_w.map((p) => Math.max(0, p)));
  expect(exports).toEqual(s.phase_grid_w.map((p) => Math.max(0, -p)));
  expect([t.voltage_l1_v, t.voltage_l2_v, t.voltage_l3_v].slice(0, s.phases)).toEqual(s.phase_voltage_v);
  const currents = [t.current_l1_a, t.current_l2_a, t.current_l3_a].slice(0, s.phases);
  if (s.country === 'be') expect(currents).toEqual(s.phase_current_a);
  else expect(currents).toEqual(s.phase_current_a.map((a) => Math.round(a))); // DSMR 5: whole amperes
  expect(t.gas_m3).toBe(s.gas_m3);
  expect(t.gas_timestamp).toBe(iso(s.gas_at));
  const f = telegramToFields(t);
  expect(f.grid_power_w).toBe(s.grid_w);
  expect([f.power_l1_w, f.power_l2_w, f.power_l3_w].slice(0, s.phases)).toEqual(s.phase_grid_w);
  if (s.country === 'be') {
    expect(t.avg_demand_15m_w).toBe(s.avg_15m_w);
    expect(t.month_peak_w).toBe(s.month_peak_w);
    expect(t.month_peak_timestamp).toBe(s.month_peak_at === null ? null : iso(s.month_peak_at));
    expect(t.peak_history).toEqual(
      s.peak_history.map((p) => ({
        month_start: iso(p.month_start),
        timestamp: p.at === null ? null : iso(p.at),
        peak_w: p.peak_w,
      })),
    );
    expect(t.water_m3).toBe(s.water_m3);
    expect(t.water_timestamp).toBe(iso(s.water_at));
    expect(t.mbus.map((d) => [d.channel, d.device_type, d.obis])).toEqual([
      [1, 3, '24.2.3'],
      [2, 7, '24.2.1'],
    ]);
  } else {
    expect(t.p1_version).toBe('50');
    expect(t.avg_demand_15m_w).toBeNull();
    expect(t.peak_history).toBeNull();
    expect(t.water_m3).toBeNull();
    expect(t.mbus.map((d) => [d.channel, d.device_type, d.obis])).toEqual([[1, 3, '24.2.1']]);
  }
}

describe('encodeTelegram', () => {
  it('BE 3-phase across a month boundary: valid CRC, parses back to the model, counters monotonic', () => {
    // 31 January 2024, 20:00 Brussels; six hours later it is February: 1.6.0 resets, 98.1.0 grows.
    // No battery, so the evening load is imported and the month gets a peak.
    const model = new HomeModel({
      start: Date.UTC(2024, 0, 31, 19, 0, 0),
      country: 'be',
      seed: 7,
      batteryCapacityKwh: 0,
    });
    let prev: P1Telegram | null = null;
    let sawHistory = false;
    let sawPeak = false;
    for (let t = model.now; t <= Date.UTC(2024, 1, 1, 1, 0, 0); t += 137_000) {
      const s = model.advanceTo(t);
      const text = encodeTelegram(s);
      expect(text.slice(text.indexOf('!') + 1, -2)).toBe(hex4(refCrc16(bodyOf(text))));
      const parsed = parseTelegramBytes(text);
      expectRoundTrip(s, parsed);
      if (prev) {
        for (const k of [
          'energy_import_t1_kwh',
          'energy_import_t2_kwh',
          'energy_export_t1_kwh',
          'energy_export_t2_kwh',
          'gas_m3',
          'water_m3',
        ] as const) {
          expect(parsed[k] as number).toBeGreaterThanOrEqual(prev[k] as number);
        }
      }
      sawHistory ||= (parsed.peak_history?.length ?? 0) > 0;
      sawPeak ||= (parsed.month_peak_w ?? 0) > 0;
      prev = parsed;
    }
    expect(sawPeak).toBe(true);
    expect(sawHistory).toBe(true);
    expect(prev?.peak_history?.[0]?.month_start).toBe('2024-01-31T23:00:00Z');
    expect(prev?.peak_history?.[0]?.peak_w).toBeGreaterThan(0);
  });

  it('NL 1-phase DSMR 5: gas on 24.2.1, whole-ampere currents, summer time stamps', () => {
    const model = new HomeModel({ start: Date.UTC(2024, 6, 6, 10, 0, 0), country: 'nl', phases: 1, seed: 3 });
    for (let i = 0; i < 20; i++) {
      const s = model.advanceTo(model.now + 61_000);
      const text = encodeTelegram(s);
      expect(text.startsWith('/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(')).toBe(true);
      expect(text).toMatch(/0-0:1\.0\.0\(24070\d{7}S\)/);
      expectRoundTrip(s, parseTelegramBytes(text));
    }
  });
});

describe('startDsmrTcpSimulator', () => {
  it('streams telegrams on loopback that the real P1 source reads', async () => {
    const model = new HomeModel({ start: Date.now() - 5_000, country: 'be', seed: 11 });
    const sim = await startDsmrTcpSimulator({ host: '127.0.0.1', port: 0, rateHz: 20, model, log: silentLogger() });
    const src = createDsmrSource(
      { tcp: `127.0.0.1:${sim.port}`, baudrate: 115200, parity: 'none', data_bits: 8, stop_bits: 1 },
      { log: silentLogger() },
    );
    const readings: SourceReading[] = [];
    src.onReading((r) => readings.push(r));
    try {
      await src.start();
      const until = Date.now() + 10_000;
      while (readings.length < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(readings.length).toBeGreaterThanOrEqual(5);
      expect(src.stats().crcErrors).toBe(0);
      for (const r of readings) {
        const f = r.fields;
        expect(f.country).toBe('be');
        // The model balances the phases exactly; the wire must keep that.
        expect((f.power_l1_w ?? 0) + (f.power_l2_w ?? 0) + (f.power_l3_w ?? 0)).toBe(f.grid_power_w);
        expect(f.water_total_m3).toBeGreaterThan(0);
        expect(Date.parse(f.meter_timestamp ?? '')).toBeLessThanOrEqual(model.now);
      }
      const stamps = readings.map((r) => Date.parse(r.fields.meter_timestamp ?? ''));
      expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    } finally {
      await src.stop();
      await sim.stop();
    }
  });
});
