import { describe, expect, it } from 'vitest';
import { telegramToFields } from '../../../src/drivers/dsmr/fields.js';
import { parseTelegram, parseTelegramBytes } from '../../../src/drivers/dsmr/parser.js';
import { P1_TELEGRAM_KEYS, type P1Telegram } from '../../../src/drivers/dsmr/telegram.js';
import { fixtureBytes } from '../../helpers/fixtures.js';
import { buildTelegram } from './helpers.js';

function fixture(name: string, opts: { country?: 'be' | 'nl' } = {}): P1Telegram {
  return parseTelegramBytes(fixtureBytes(`p1/${name}`), opts);
}

describe('parseTelegram on the fixtures (values from test/fixtures/SOURCES.md)', () => {
  it('fluvius-v171-3phase: the e-MUCS spec example (dsmr_parser test_parse_fluvius)', () => {
    const t = fixture('fluvius-v171-3phase.txt');
    expect(t).toMatchObject({
      p1_version: '50217',
      country: 'be',
      equipment_id: '3153414733313031303231363035',
      meter_timestamp: '2020-05-12T11:54:09Z', // 13:54:09 Brussels (S = UTC+2)
      energy_import_t1_kwh: 0.034,
      energy_import_t2_kwh: 15.758,
      energy_export_t1_kwh: 0,
      energy_export_t2_kwh: 0.011,
      tariff_indicator: 1,
      avg_demand_15m_w: 2351,
      month_peak_w: 2589,
      month_peak_timestamp: '2020-05-09T11:45:58Z',
      power_import_w: 0,
      power_export_w: 0,
      power_l1_import_w: 0,
      power_l2_import_w: 0,
      power_l3_import_w: 0,
      power_l1_export_w: 0,
      power_l2_export_w: 0,
      power_l3_export_w: 0,
      voltage_l1_v: 234.7,
      voltage_l2_v: 234.7,
      voltage_l3_v: 234.7,
      current_l1_a: 0,
      current_l2_a: 0,
      current_l3_a: 0,
      breaker_state: 1,
      limiter_threshold_w: 999_900,
      fuse_threshold_a: 999,
      text_message: null,
      gas_m3: 112.384,
      gas_timestamp: '2020-05-12T11:45:58Z',
      water_m3: 872.234,
      water_timestamp: '2020-05-12T11:45:58Z',
    });
    // The spec example stamps two March dates with S (summer). The letter is honoured (UTC+2), so these
    // are an hour earlier than dsmr_parser's, which applies the zone rules and ignores the letter there.
    expect(t.peak_history).toEqual([
      { month_start: '2020-04-30T22:00:00Z', timestamp: '2020-04-23T17:25:38Z', peak_w: 3695 },
      { month_start: '2020-03-31T22:00:00Z', timestamp: '2020-03-05T10:21:39Z', peak_w: 5980 },
      { month_start: '2020-02-29T22:00:00Z', timestamp: '2020-02-10T02:54:21Z', peak_w: 4318 },
    ]);
    expect(t.mbus).toEqual([
      {
        channel: 1,
        device_type: 3,
        equipment_id: '37464C4F32313139303333373333',
        value: 112.384,
        unit: 'm3',
        timestamp: '2020-05-12T11:45:58Z',
        obis: '24.2.3',
        valve_position: 1,
      },
      {
        channel: 2,
        device_type: 7,
        equipment_id: '3853414731323334353637383930',
        value: 872.234,
        unit: 'm3',
        timestamp: '2020-05-12T11:45:58Z',
        obis: '24.2.1',
        valve_position: null,
      },
    ]);
  });

  it('fluvius-v171-3phase-alt: real capture with an empty month in 98.1.0 (dsmr_parser test_to_json)', () => {
    const t = fixture('fluvius-v171-3phase-alt.txt');
    expect(t).toMatchObject({
      country: 'be',
      meter_timestamp: '2023-11-02T11:15:48Z',
      energy_import_t1_kwh: 301.548,
      energy_import_t2_kwh: 270.014,
      energy_export_t1_kwh: 0.005,
      energy_export_t2_kwh: 0,
      tariff_indicator: 1,
      avg_demand_15m_w: 52,
      month_peak_w: 3064,
      month_peak_timestamp: '2023-11-02T10:45:00Z',
      power_import_w: 338,
      power_export_w: 0,
      power_l1_import_w: 47,
      power_l2_import_w: 179,
      power_l3_import_w: 111,
      voltage_l1_v: 232.9,
      voltage_l2_v: 228.1,
      voltage_l3_v: 228.1,
      current_l1_a: 0.27,
      current_l2_a: 0.88,
      current_l3_a: 0.52,
      gas_m3: 92.287,
      gas_timestamp: '2023-11-02T11:10:02Z',
      water_m3: 8.579,
      water_timestamp: '2023-11-02T11:15:32Z',
    });
    expect(t.peak_history).toEqual([
      { month_start: '2023-07-31T22:00:00Z', timestamp: null, peak_w: 0 },
      { month_start: '2023-08-31T22:00:00Z', timestamp: '2023-08-31T16:15:00Z', peak_w: 1862 },
      { month_start: '2023-09-30T22:00:00Z', timestamp: '2023-09-10T16:30:00Z', peak_w: 4229 },
      { month_start: '2023-10-31T23:00:00Z', timestamp: '2023-10-16T11:00:00Z', peak_w: 4927 },
    ]);
  });

  it('dsmr50-iskra-mt382: NL DSMR 5.0 (dsmr_parser test_parse_v5)', () => {
    const t = fixture('dsmr50-iskra-mt382.txt');
    expect(t).toMatchObject({
      p1_version: '50',
      country: 'nl',
      meter_timestamp: '2017-01-02T18:20:02Z',
      equipment_id: '4B384547303034303436333935353037',
      energy_import_t1_kwh: 4.426,
      energy_import_t2_kwh: 2.399,
      energy_export_t1_kwh: 2.444,
      energy_export_t2_kwh: 0,
      tariff_indicator: 2,
      power_import_w: 244,
      power_export_w: 0,
      power_failures: 13,
      long_power_failures: 0,
      power_failure_log: [],
      voltage_l1_v: 230,
      voltage_l2_v: 230,
      voltage_l3_v: 229,
      current_l1_a: 0.48,
      current_l2_a: 0.44,
      current_l3_a: 0.86,
      power_l1_import_w: 70,
      power_l2_import_w: 32,
      power_l3_import_w: 142,
      gas_m3: 0.107,
      gas_timestamp: '2017-01-02T15:10:05Z',
      water_m3: null,
      avg_demand_15m_w: null,
      month_peak_w: null,
      peak_history: null,
    });
    expect(t.mbus.map((d) => [d.channel, d.device_type, d.equipment_id])).toEqual([
      [1, 3, '3232323241424344313233343536373839'],
      [2, 3, null],
    ]);
  });

  it('dsmr50-iskra-am550-2mbus: gas on channel 2, channel 1 empty with a placeholder (test_mbus_devices)', () => {
    const t = fixture('dsmr50-iskra-am550-2mbus.txt');
    expect(
      t.mbus.map((d) => ({ channel: d.channel, type: d.device_type, id: d.equipment_id, value: d.value })),
    ).toEqual([
      { channel: 1, type: 3, id: null, value: 0 },
      { channel: 2, type: 3, id: '4730303339303031393336393930363139', value: 246.138 },
    ]);
    expect(t.mbus[0]?.timestamp).toBeNull(); // 700101010000W
    expect(t.gas_m3).toBe(246.138);
    expect(t.gas_timestamp).toBe('2020-04-26T20:30:01Z');
    expect(t.meter_timestamp).toBe('2020-04-26T20:33:25Z');
  });

  it('dsmr42-kaifa: NL DSMR 4.2 (test_parse_v4_2)', () => {
    const t = fixture('dsmr42-kaifa.txt');
    expect(t).toMatchObject({
      p1_version: '42',
      meter_timestamp: '2016-11-13T19:57:57Z',
      energy_import_t1_kwh: 1581.123,
      energy_import_t2_kwh: 1435.706,
      energy_export_t1_kwh: 0,
      energy_export_t2_kwh: 0,
      tariff_indicator: 2,
      power_import_w: 2027,
      power_failures: 15,
      long_power_failures: 7,
      current_l1_a: 0,
      current_l2_a: 6,
      current_l3_a: 2,
      power_l1_import_w: 170,
      power_l2_import_w: 1247,
      power_l3_import_w: 209,
      gas_m3: 981.443,
      gas_timestamp: '2016-11-29T19:00:00Z',
      voltage_l1_v: null,
    });
  });

  it('dsmr50-warmtelink: unpadded CRC and a heat meter in GJ', () => {
    const t = fixture('dsmr50-warmtelink-heat-unpadded-crc.txt');
    expect(t.heat_gj).toBe(240.86);
    expect(t.heat_timestamp).toBe('2026-02-15T19:05:23Z');
    expect(t.mbus[0]).toMatchObject({ channel: 1, device_type: 4, value: 240.86, unit: 'GJ' });
    expect(t.gas_m3).toBeNull();
    expect(t.equipment_id).toBe('ADC3100000158491');
  });

  it('sagemcom-t210-dr: Wh and W units are converted to kWh and W (literal values)', () => {
    const t = fixture('sagemcom-t210-dr-wh-units.txt');
    expect(t).toMatchObject({
      energy_import_total_kwh: 6545.766,
      energy_import_t1_kwh: 5017.12,
      energy_import_t2_kwh: 1528.646,
      power_import_w: 286,
      power_export_w: 0,
      energy_export_total_kwh: 0.058,
      energy_export_t1_kwh: 0,
      energy_export_t2_kwh: 0.058,
      meter_timestamp: '2022-10-06T13:50:14Z',
    });
  });

  it('fluvius-v17-1phase-capacity (literal values)', () => {
    const t = fixture('fluvius-v17-1phase-capacity.txt');
    expect(t).toMatchObject({
      header: 'FLU5\\253770234_A',
      p1_version: '50217',
      country: 'be',
      meter_timestamp: '2023-02-05T18:14:49Z',
      energy_import_t1_kwh: 330.621,
      energy_import_t2_kwh: 343.023,
      energy_export_t1_kwh: 240.444,
      energy_export_t2_kwh: 95.132,
      tariff_indicator: 2,
      avg_demand_15m_w: 222,
      month_peak_w: 1911,
      month_peak_timestamp: '2023-02-01T12:45:00Z',
      power_import_w: 155,
      voltage_l1_v: 242.3,
      voltage_l2_v: null,
      current_l1_a: 1.87,
      gas_m3: 481.628,
      gas_timestamp: '2023-02-05T18:09:59Z',
    });
    expect(t.peak_history).toEqual([
      { month_start: '2022-12-31T23:00:00Z', timestamp: '2022-12-16T17:15:00Z', peak_w: 3921 },
      { month_start: '2023-01-31T23:00:00Z', timestamp: '2023-01-31T18:15:00Z', peak_w: 2962 },
    ]);
  });

  it('fluvius-v15-1phase: older e-MUCS without 1.4.0 / 1.6.0 / 98.1.0 (literal values)', () => {
    const t = fixture('fluvius-v15-1phase.txt');
    expect(t).toMatchObject({
      p1_version: '50215',
      country: 'be',
      meter_timestamp: '2021-03-20T20:46:36Z',
      energy_import_t1_kwh: 1311.025,
      energy_import_t2_kwh: 1651.825,
      energy_export_t1_kwh: 1885.818,
      energy_export_t2_kwh: 750.923,
      tariff_indicator: 2,
      power_import_w: 433,
      gas_m3: 2559.077,
      avg_demand_15m_w: null,
      month_peak_w: null,
      month_peak_timestamp: null,
      peak_history: null,
    });
  });

  it('dsmr50-landisgyr-e350-1phase (literal values)', () => {
    const t = fixture('dsmr50-landisgyr-e350-1phase.txt');
    expect(t).toMatchObject({
      header: 'XMX5LGBBLA4415290514',
      country: 'nl',
      meter_timestamp: '2018-09-01T17:42:46Z',
      tariff_indicator: 1,
      energy_import_t1_kwh: 1362.372,
      energy_import_t2_kwh: 851.129,
      power_import_w: 276,
      voltage_l1_v: 230,
      current_l1_a: 2,
      gas_m3: 485.627,
      power_l2_import_w: null,
    });
  });

  it('dsmr50-iskra-am550-3phase (literal values)', () => {
    const t = fixture('dsmr50-iskra-am550-3phase.txt');
    expect(t).toMatchObject({
      meter_timestamp: '2019-12-29T22:37:14Z',
      tariff_indicator: 1,
      energy_import_t1_kwh: 4000.647,
      energy_import_t2_kwh: 1154.948,
      power_import_w: 1765,
      power_l1_import_w: 132,
      power_l2_import_w: 37,
      power_l3_import_w: 1596,
      current_l3_a: 6,
      gas_m3: null,
    });
  });

  it('dsmr42-kaifa-3phase-export (literal values)', () => {
    const t = fixture('dsmr42-kaifa-3phase-export.txt');
    expect(t).toMatchObject({
      meter_timestamp: '2022-01-07T23:02:26Z',
      tariff_indicator: 1,
      energy_import_t1_kwh: 24575.366,
      energy_import_t2_kwh: 13445.403,
      energy_export_t1_kwh: 5595.177,
      energy_export_t2_kwh: 14397.615,
      power_import_w: 712,
    });
  });

  it('always gives the fixed keys first, in order', () => {
    for (const name of [
      'fluvius-v171-3phase-alt.txt',
      'dsmr50-iskra-mt382.txt',
      'dsmr50-warmtelink-heat-unpadded-crc.txt',
    ]) {
      expect(Object.keys(fixture(name)).slice(0, P1_TELEGRAM_KEYS.length)).toEqual([...P1_TELEGRAM_KEYS]);
    }
  });
});

describe('parseTelegram quirks', () => {
  it('reads 1.6.0 with the value before the timestamp and without the S/W letter (Iskra IE.5)', () => {
    const text = buildTelegram('ISK5\\2M550E-1011', [
      '0-0:96.1.4(50217)',
      '0-0:1.0.0(261023081500S)',
      '1-0:1.6.0(006.4*kW)(261023051500)',
      '0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(03.100*kW)(260901000000)(260815093000)',
    ]);
    const t = parseTelegramBytes(text);
    expect(t.month_peak_w).toBe(6400);
    // 2026-10-23 05:15 in Brussels is still summer time (DST ends 25 October 2026): UTC+2.
    expect(t.month_peak_timestamp).toBe('2026-10-23T03:15:00Z');
    expect(t.peak_history).toEqual([
      { month_start: '2026-08-31T22:00:00Z', timestamp: '2026-08-15T07:30:00Z', peak_w: 3100 },
    ]);
    // Without the letter in winter: UTC+1.
    const winter = parseTelegramBytes(buildTelegram('X', ['0-0:1.0.0(260115120000)']));
    expect(winter.meter_timestamp).toBe('2026-01-15T11:00:00Z');
    // The repeated hour on 29 October 2023: the letter decides; without it, winter time.
    const stamp = (ts: string) => parseTelegramBytes(buildTelegram('X', [`0-0:1.0.0(${ts})`])).meter_timestamp;
    expect(stamp('231029023000S')).toBe('2023-10-29T00:30:00Z');
    expect(stamp('231029023000W')).toBe('2023-10-29T01:30:00Z');
    expect(stamp('231029023000')).toBe('2023-10-29T01:30:00Z');
    // Not dates: null, not an exception.
    expect(stamp('231329023000W')).toBeNull();
    expect(stamp('230230120000W')).toBeNull();
  });

  it('finds M-Bus devices by type on any channel (BE gas on 24.2.3 on channel 3, water on channel 1)', () => {
    const t = parseTelegramBytes(
      buildTelegram('FLU5\\253769484_A', [
        '0-0:96.1.4(50217)',
        '0-1:24.1.0(007)',
        '0-1:96.1.1(3853455430303030393631313733)',
        '0-1:24.2.1(231102121532W)(00008.579*m3)',
        '0-3:24.1.0(003)',
        '0-3:96.1.1(37464C4F32313233303838303237)',
        '0-3:24.4.0(1)',
        '0-3:24.2.3(231102121002W)(00092.287*m3)',
      ]),
    );
    expect(t.gas_m3).toBe(92.287);
    expect(t.gas_timestamp).toBe('2023-11-02T11:10:02Z');
    expect(t.water_m3).toBe(8.579);
    expect(t.water_timestamp).toBe('2023-11-02T11:15:32Z');
    expect(t.mbus.map((d) => [d.channel, d.device_type])).toEqual([
      [1, 7],
      [3, 3],
    ]);
  });

  it('takes the equipment id from channel 0 only, whatever the order of the lines', () => {
    const t = parseTelegramBytes(
      buildTelegram('FLU5\\253769484_A', [
        '0-0:96.1.4(50217)',
        '0-1:24.1.0(003)',
        '0-1:96.1.1(37464C4F32313233303838303237)',
        '0-0:96.1.1(3153414733313030373231333236)',
        '0-1:24.2.3(231102121002W)(00092.287*m3)',
      ]),
    );
    expect(t.equipment_id).toBe('3153414733313030373231333236');
    expect(t.mbus[0]?.equipment_id).toBe('37464C4F32313233303838303237');
  });

  it('treats placeholder timestamps as null', () => {
    const t = parseTelegramBytes(
      buildTelegram('X', ['0-0:1.0.0(632525252525W)', '0-1:24.1.0(003)', '0-1:24.2.1(632525252525W)(00000.000*m3)']),
    );
    expect(t.meter_timestamp).toBeNull();
    expect(t.gas_timestamp).toBeNull();
    expect(t.gas_m3).toBe(0);
  });

  it('detects the country and honours an override', () => {
    expect(fixture('fluvius-v171-3phase-alt.txt').country).toBe('be');
    expect(fixture('dsmr50-iskra-mt382.txt').country).toBe('nl');
    expect(fixture('fluvius-v171-3phase-alt.txt', { country: 'nl' }).country).toBe('nl');
    expect(fixture('dsmr50-iskra-mt382.txt', { country: 'be' }).country).toBe('be');
  });

  it('parses a DSMR 2.2 telegram without CRC, its gas value on the continuation line', () => {
    const text = buildTelegram(
      'ISk5\\2MT382-1004',
      [
        '0-0:96.1.1(00000000000000)',
        '1-0:1.8.1(00123.456*kWh)',
        '1-0:1.8.2(00234.567*kWh)',
        '1-0:2.8.1(00001.001*kWh)',
        '1-0:2.8.2(00002.002*kWh)',
        '0-0:96.14.0(0001)',
        '1-0:1.7.0(0001.01*kW)',
        '1-0:2.7.0(0000.00*kW)',
        '0-0:17.0.0(0999.00*kW)',
        '0-0:96.3.10(1)',
        '0-0:96.13.1()',
        '0-0:96.13.0()',
        '0-1:24.1.0(3)',
        '0-1:96.1.0(000000000000)',
        '0-1:24.3.0(161107190000)(00)(60)(1)(0-1:24.2.1)(m3)',
        '(00001.001)',
        '0-1:24.4.0(1)',
      ],
      'none',
    );
    const t = parseTelegramBytes(text);
    expect(t).toMatchObject({
      energy_import_t1_kwh: 123.456,
      energy_import_t2_kwh: 234.567,
      power_import_w: 1010,
      power_export_w: 0,
      tariff_indicator: 1,
      gas_m3: 1.001,
      gas_timestamp: '2016-11-07T18:00:00Z',
      meter_timestamp: null,
      country: 'nl',
    });
    expect(t.mbus[0]).toMatchObject({ channel: 1, device_type: 3, obis: '24.3.0', valve_position: 1 });
  });

  it('never throws on nonsense, and gives all keys', () => {
    for (const input of [
      '',
      '/',
      '!',
      '/X\r\n\r\n1-0:1.8.1(\r\n!',
      '/X\r\n(((\r\n0-1:24.2.1()()\r\n1-0:1.7.0(abc*kW)\r\n!',
    ]) {
      const t = parseTelegram(input);
      expect(Object.keys(t).slice(0, P1_TELEGRAM_KEYS.length)).toEqual([...P1_TELEGRAM_KEYS]);
      expect(t.power_import_w).toBeNull();
    }
  });
});

describe('telegramToFields', () => {
  it('maps an e-MUCS telegram onto snapshot fields', () => {
    expect(telegramToFields(fixture('fluvius-v171-3phase-alt.txt'))).toEqual({
      grid_power_w: 338,
      grid_import_t1_kwh: 301.548,
      grid_import_t2_kwh: 270.014,
      grid_export_t1_kwh: 0.005,
      grid_export_t2_kwh: 0,
      grid_avg_15m_w: 52,
      grid_monthly_peak_w: 3064,
      grid_monthly_peak_timestamp: '2023-11-02T10:45:00Z',
      grid_tariff: 1,
      power_l1_w: 47,
      power_l2_w: 179,
      power_l3_w: 111,
      voltage_l1_v: 232.9,
      voltage_l2_v: 228.1,
      voltage_l3_v: 228.1,
      current_l1_a: 0.27,
      current_l2_a: 0.88,
      current_l3_a: 0.52,
      gas_total_m3: 92.287,
      water_total_m3: 8.579,
      meter_timestamp: '2023-11-02T11:15:48Z',
      country: 'be',
    });
  });

  it('gives negative grid power when exporting, per phase too, and the exporting phases negative currents', () => {
    const t = parseTelegramBytes(
      buildTelegram('X', [
        '1-0:1.7.0(00.000*kW)',
        '1-0:2.7.0(02.345*kW)',
        '1-0:21.7.0(00.120*kW)',
        '1-0:22.7.0(00.000*kW)',
        '1-0:41.7.0(00.000*kW)',
        '1-0:42.7.0(01.000*kW)',
        '1-0:61.7.0(00.000*kW)',
        '1-0:62.7.0(01.465*kW)',
        '1-0:31.7.0(000.52*A)',
        '1-0:51.7.0(004.35*A)',
        '1-0:71.7.0(006.37*A)',
      ]),
    );
    const f = telegramToFields(t);
    expect(f.grid_power_w).toBe(-2345);
    expect([f.power_l1_w, f.power_l2_w, f.power_l3_w]).toEqual([120, -1000, -1465]);
    // The meter sends magnitudes; the snapshot signs them like HomeWizard does (− while exporting).
    expect([t.current_l1_a, t.current_l2_a, t.current_l3_a]).toEqual([0.52, 4.35, 6.37]);
    expect([f.current_l1_a, f.current_l2_a, f.current_l3_a]).toEqual([0.52, -4.35, -6.37]);
    expect(f.grid_avg_15m_w).toBeNull();
  });

  it('a current without its phase power keeps its magnitude', () => {
    const f = telegramToFields(parseTelegramBytes(buildTelegram('X', ['1-0:31.7.0(002*A)'])));
    expect(f.current_l1_a).toBe(2);
    expect(f.power_l1_w).toBeNull();
  });
});
