import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { checkP1Device, HomeWizardDeviceError, parseDeviceInfo } from '../../../src/drivers/homewizard/device-info.js';
import {
  decodeMeasurement,
  encodeMeasurement,
  FIELD_TABLE,
  HomeWizardDataError,
} from '../../../src/drivers/homewizard/fields.js';
import { HOMEWIZARD_CA_PEM } from '../../../src/drivers/homewizard/homewizard-ca.js';
import { v1TimestampToIso, v2TimestampToIso } from '../../../src/drivers/homewizard/timestamps.js';
import type { SnapshotFields } from '../../../src/drivers/source.js';
import { fixtureJson, fixturePath } from '../../helpers/fixtures.js';

const hw = (name: string) => fixtureJson(`homewizard/${name}`);

describe('HomeWizard v1 /api/v1/data → snapshot fields (test/fixtures/SOURCES.md)', () => {
  it('3-phase with external meters', () => {
    const f = decodeMeasurement(hw('v1-data-hwe-p1-3phase-external.json'), 'v1');
    expect(f).toEqual({
      grid_power_w: -543,
      grid_import_t1_kwh: 10830.511,
      grid_import_t2_kwh: 2948.827,
      grid_export_t1_kwh: 0,
      grid_export_t2_kwh: 0,
      grid_avg_15m_w: 123,
      grid_monthly_peak_w: 1111,
      // 230101080010 = 2023-01-01 08:00:10 in Brussels (winter, UTC+1)
      grid_monthly_peak_timestamp: '2023-01-01T07:00:10Z',
      grid_tariff: 2,
      power_l1_w: -676,
      power_l2_w: 133,
      power_l3_w: 0,
      current_l1_a: -4,
      current_l2_a: 2,
      current_l3_a: 0,
      // the top-level total (the meter's own gas channel) wins over external[gas_meter] (111.111)
      gas_total_m3: 2569.646,
      water_total_m3: 444.444,
    });
    // the split adds up to the total the device reports (13779.338)
    expect((f.grid_import_t1_kwh ?? 0) + (f.grid_import_t2_kwh ?? 0)).toBeCloseTo(13779.338, 6);
    // no voltages in this document: absent, not 0
    expect('voltage_l1_v' in f).toBe(false);
    expect('meter_timestamp' in f).toBe(false);
  });

  it('1-phase: L2 and L3 (sent as null) stay absent; no tariff, no peak', () => {
    const f = decodeMeasurement(hw('v1-data-hwe-p1-1phase.json'), 'v1');
    expect(f.power_l1_w).toBe(-676);
    expect('power_l2_w' in f).toBe(false);
    expect('power_l3_w' in f).toBe(false);
    expect('grid_tariff' in f).toBe(false);
    expect('grid_monthly_peak_w' in f).toBe(false);
    expect(f.grid_export_t2_kwh).toBe(2876.51);
    expect(f.gas_total_m3).toBe(2569.646);
  });

  it('no gas: total_gas_m3 null → gas absent', () => {
    const f = decodeMeasurement(hw('v1-data-hwe-p1-no-gas.json'), 'v1');
    expect('gas_total_m3' in f).toBe(false);
    expect(f.grid_power_w).toBe(-543);
    expect(f.power_l3_w).toBe(0);
  });

  it('reads the correct spelling of the peak too, and ignores a tariff outside 1..4', () => {
    const f = decodeMeasurement(
      {
        total_power_import_t1_kwh: 1,
        monthly_power_peak_w: 2500,
        monthly_power_peak_timestamp: 240704120000,
        active_tariff: 0,
      },
      'v1',
    );
    expect(f.grid_monthly_peak_w).toBe(2500);
    expect(f.grid_monthly_peak_timestamp).toBe('2024-07-04T10:00:00Z');
    expect('grid_tariff' in f).toBe(false);
  });
});

describe('HomeWizard v2 /api/measurement → snapshot fields', () => {
  it('3-phase with gas and water', () => {
    const f = decodeMeasurement(hw('v2-measurement-hwe-p1-3phase-gas-water.json'), 'v2');
    expect(f).toEqual({
      meter_timestamp: '2024-06-28T12:12:34Z', // 14:12:34 in Brussels (summer, UTC+2)
      grid_power_w: -543,
      grid_import_t1_kwh: 10830.511,
      grid_import_t2_kwh: 2948.827,
      grid_export_t1_kwh: 0,
      grid_export_t2_kwh: 0,
      grid_avg_15m_w: 123,
      grid_monthly_peak_w: 1111,
      grid_monthly_peak_timestamp: '2024-06-04T08:11:22Z',
      grid_tariff: 2,
      power_l1_w: -676,
      power_l2_w: 133,
      power_l3_w: 0,
      current_l1_a: -4,
      current_l2_a: 2,
      current_l3_a: 0,
      gas_total_m3: 2569.646,
      water_total_m3: 123.456,
    });
  });

  it('1-phase without gas', () => {
    const f = decodeMeasurement(hw('v2-measurement-hwe-p1-1phase.json'), 'v2');
    expect(f).toEqual({
      meter_timestamp: '2024-06-28T12:12:34Z',
      grid_power_w: -678,
      grid_import_t1_kwh: 10830.511,
      grid_import_t2_kwh: 2948.827,
      grid_export_t1_kwh: 1285.951,
      grid_export_t2_kwh: 2876.51,
      power_l1_w: -676,
    });
  });

  it('a kWh meter or battery measurement decodes, but GET /api of such a device is refused for the P1 source', () => {
    // They carry an import counter, so they decode (no T1/T2, hence no import fields) ...
    const kwh3 = decodeMeasurement(hw('v2-measurement-hwe-kwh3.json'), 'v2');
    expect(kwh3.grid_power_w).toBe(123);
    expect('grid_import_t1_kwh' in kwh3).toBe(false);
    const bat = decodeMeasurement(hw('v2-measurement-hwe-bat.json'), 'v2');
    expect(bat.grid_power_w).toBe(1234);
    expect('battery_soc_pct' in bat).toBe(false);
    // ... which is why the source checks the product type first and reads P1 meters only.
    for (const productType of ['HWE-KWH3', 'HWE-BAT']) {
      const info = parseDeviceInfo({ product_type: productType, serial: '5c2fafaabbcc', api_version: '2.0.0' });
      expect(() => checkP1Device(info, 'v2')).toThrow(HomeWizardDeviceError);
      expect(() => checkP1Device(info, 'v2')).toThrow(/not a P1 meter/);
    }
  });

  it('refuses /api/system and /api/batteries answers as measurements (no import counter)', () => {
    expect(() => decodeMeasurement(hw('v2-system-hwe-p1.json'), 'v2')).toThrow(HomeWizardDataError);
    expect(() => decodeMeasurement(hw('v2-batteries-hwe-p1.json'), 'v2')).toThrow(/no import counter/);
    expect(() => decodeMeasurement([1, 2], 'v2')).toThrow(/JSON object/);
    expect(() => decodeMeasurement({}, 'v1')).toThrow(HomeWizardDataError);
  });
});

describe('HomeWizard GET /api', () => {
  it('v1 and v2 device information', () => {
    const v1 = parseDeviceInfo(hw('v1-api-device-hwe-p1.json'));
    expect(v1).toEqual({
      product_type: 'HWE-P1',
      product_name: 'P1 Meter',
      serial: '3c39e7aabbcc',
      firmware_version: '2.11',
      api_version: 'v1',
    });
    expect(() => checkP1Device(v1, 'v1')).not.toThrow();
    // v1-only firmware cannot be used with api_version v2
    expect(() => checkP1Device(v1, 'v2')).toThrow(/does not offer API v2/);
    const v2 = parseDeviceInfo(hw('v2-api-device-hwe-p1.json'));
    expect(v2.serial).toBe('5c2fafaabbcc');
    expect(v2.firmware_version).toBe('6.00');
    expect(v2.api_version).toBe('2.0.0');
    expect(() => checkP1Device(v2, 'v2')).not.toThrow();
    expect(() => parseDeviceInfo({ product_type: 'HWE-P1' })).toThrow(/serial/);
  });
});

describe('timestamps (local time without a zone)', () => {
  it('v1 numbers YYMMDDhhmmss, placeholders and a lost leading zero', () => {
    expect(v1TimestampToIso(210606140010)).toBe('2021-06-06T12:00:10Z');
    expect(v1TimestampToIso(91231235959)).toBe('2009-12-31T22:59:59Z'); // 091231235959
    expect(v1TimestampToIso(632525252525)).toBeNull();
    expect(v1TimestampToIso(700101010000)).toBeNull();
    expect(v1TimestampToIso(0)).toBeNull();
    expect(v1TimestampToIso(231332000000)).toBeNull(); // month 13
    expect(v1TimestampToIso('210606140010')).toBeNull();
  });

  it('the repeated autumn hour takes the first (summer-time) occurrence', () => {
    expect(v2TimestampToIso('2024-10-27T02:30:00')).toBe('2024-10-27T00:30:00Z');
    expect(v1TimestampToIso(241027023000)).toBe('2024-10-27T00:30:00Z');
    expect(v2TimestampToIso('2024-10-27T03:30:00')).toBe('2024-10-27T02:30:00Z');
  });

  it('v2 strings: local without zone, or zoned as given', () => {
    expect(v2TimestampToIso('2024-01-15T08:00:00')).toBe('2024-01-15T07:00:00Z');
    expect(v2TimestampToIso('2024-01-15T08:00:00Z')).toBe('2024-01-15T08:00:00Z');
    expect(v2TimestampToIso('2024-01-15T08:00:00', 'Europe/London')).toBe('2024-01-15T08:00:00Z');
    expect(v2TimestampToIso('yesterday')).toBeNull();
  });
});

describe('encode is the inverse of decode (the simulator speaks what the driver reads)', () => {
  const instant = fc
    .integer({ min: Date.parse('2020-01-01T00:00:00Z') / 1000, max: Date.parse('2040-01-01T00:00:00Z') / 1000 })
    .map((s) => s * 1000)
    // the repeated autumn hour cannot round-trip through a zone-less local time
    .filter((ms) => DateTime.fromMillis(ms, { zone: 'Europe/Brussels' }).getPossibleOffsets().length <= 1)
    .map((ms) => `${new Date(ms).toISOString().slice(0, 19)}Z`);

  const fieldsArb = fc.record(
    Object.fromEntries(
      FIELD_TABLE.map((row) => [
        row.field,
        fc.option(
          row.field === 'grid_tariff'
            ? fc.integer({ min: 1, max: 4 })
            : fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }).map((n) => n / 10 ** row.decimals),
          { nil: undefined },
        ),
      ]),
    ) as Record<string, fc.Arbitrary<number | undefined>>,
  );

  for (const api of ['v1', 'v2'] as const) {
    it(`round-trips every field through ${api} JSON`, () => {
      fc.assert(
        fc.property(
          fieldsArb,
          fc.double({ min: 0, max: 99999, noNaN: true }).map((x) => Math.round(x * 1000) / 1000),
          fc.option(
            fc.double({ min: 0, max: 9999, noNaN: true }).map((x) => Math.round(x * 1000) / 1000),
            { nil: undefined },
          ),
          fc.option(instant, { nil: undefined }),
          instant,
          (nums, t1, gas, peakAt, meterAt) => {
            const fields: SnapshotFields = { grid_import_t1_kwh: t1 };
            for (const [k, v] of Object.entries(nums)) if (v !== undefined) (fields as Record<string, unknown>)[k] = v;
            fields.grid_import_t1_kwh = t1; // a measurement always has an import counter
            if (gas !== undefined) fields.gas_total_m3 = gas;
            if (peakAt !== undefined) fields.grid_monthly_peak_timestamp = peakAt;
            if (api === 'v2') fields.meter_timestamp = meterAt;
            const json = JSON.parse(JSON.stringify(encodeMeasurement({ fields }, api)));
            expect(decodeMeasurement(json, api)).toEqual(fields);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

describe('the bundled HomeWizard CA', () => {
  it('is the fixture, parses, and is the Appliance Access CA valid 2021-12-18 → 2031-12-16', () => {
    expect(HOMEWIZARD_CA_PEM).toBe(readFileSync(fixturePath('homewizard/homewizard-appliance-access-ca.pem'), 'utf8'));
    const ca = new X509Certificate(HOMEWIZARD_CA_PEM);
    expect(ca.subject).toContain('CN=Appliance Access CA');
    expect(ca.subject).toContain('O=HomeWizard');
    expect(ca.issuer).toBe(ca.subject);
    expect(ca.verify(ca.publicKey)).toBe(true); // self-signed
    expect(new Date(ca.validFrom).toISOString().slice(0, 10)).toBe('2021-12-18');
    expect(new Date(ca.validTo).toISOString().slice(0, 10)).toBe('2031-12-16');
  });
});
