/**
 * Issue 15, "Also in the P1 reader": a telegram of a format that carries a CRC, whose CRC digits are
 * missing, is rejected like a bad CRC (not read as DSMR 2.2); a meter's serial on 0-0:96.1.0
 * (Belgian Iskra IE.5) fills equipment_id; lines the parser does not map are kept under `other`.
 * Telegrams: test/fixtures/p1 (sources in test/fixtures/SOURCES.md).
 */
import { describe, expect, it } from 'vitest';
import { type FrameEvent, TelegramFramer } from '../../../src/drivers/dsmr/framer.js';
import { parseTelegram, parseTelegramBytes } from '../../../src/drivers/dsmr/parser.js';
import { fixtureBytes } from '../../helpers/fixtures.js';
import { bodyOf, buildTelegram } from './helpers.js';

const WITH_CRC = [
  'fluvius-v171-3phase.txt',
  'fluvius-v171-3phase-alt.txt',
  'fluvius-v17-1phase-capacity.txt',
  'fluvius-v15-1phase.txt',
  'dsmr50-iskra-mt382.txt',
  'dsmr50-iskra-am550-2mbus.txt',
  'dsmr50-iskra-am550-3phase.txt',
  'dsmr50-landisgyr-e350-1phase.txt',
  'dsmr50-warmtelink-heat-unpadded-crc.txt',
  'dsmr42-kaifa.txt',
  'dsmr42-kaifa-3phase-export.txt',
  'sagemcom-t210-dr-wh-units.txt',
  'iskra-ie5e-be-1phase.txt',
];
const text = (f: string) => fixtureBytes(`p1/${f}`).toString('latin1');
const ie5 = text('iskra-ie5e-be-1phase.txt');

function run(framer: TelegramFramer, ...chunks: string[]): FrameEvent[] {
  const out: FrameEvent[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  return out;
}
const telegrams = (ev: FrameEvent[]) => ev.flatMap((e) => (e.type === 'telegram' ? [e.telegram] : []));
const errors = (ev: FrameEvent[]) => ev.flatMap((e) => (e.type === 'error' ? [e.error] : []));

describe('a CRC format without its CRC', () => {
  it('is rejected and counted as a CRC error, for every real telegram that carries one', () => {
    for (const f of WITH_CRC) {
      const stripped = `${bodyOf(text(f))}\r\n`;
      const framer = new TelegramFramer();
      const ev = [...run(framer, stripped), ...framer.end()];
      expect(telegrams(ev), f).toEqual([]);
      expect(
        errors(ev).map((e) => e.code),
        f,
      ).toEqual(['dsmr_missing_crc']);
      expect(framer.stats, f).toMatchObject({ telegrams: 0, crcErrors: 1, otherErrors: 0 });
    }
  });

  it('names why it wanted a CRC: the version line, the e-MUCS line, or an Iskra IE.5', () => {
    const why = (f: string) => {
      const framer = new TelegramFramer();
      return errors(run(framer, `${bodyOf(text(f))}\r\n`))[0]?.message;
    };
    expect(why('dsmr42-kaifa.txt')).toContain(
      'has no CRC after "!" though its format carries one (a 1-3:0.2.8 line: DSMR 4+)',
    );
    expect(why('fluvius-v15-1phase.txt')).toContain('(a 0-0:96.1.4 line: e-MUCS)');
    // The IE.5 has neither line and the legacy shape: without the identification check it passed as DSMR 2.2.
    expect(ie5).not.toContain('1-3:0.2.8');
    expect(ie5).not.toContain('0-0:96.1.4');
    expect(why('iskra-ie5e-be-1phase.txt')).toBe(
      'telegram /ISk5\\2MIE5E-200 has no CRC after "!" though its format carries one (an Iskra IE.5)',
    );
  });

  it('is rejected after a telegram with a CRC on the same stream, even in the legacy shape', () => {
    const framer = new TelegramFramer();
    const legacyShaped = buildTelegram('ISk5\\2MT382-1004', ['1-0:1.8.1(00001.001*kWh)'], 'none');
    const ev = run(framer, ie5, legacyShaped, ie5);
    expect(telegrams(ev)).toEqual([ie5, ie5]);
    expect(errors(ev).map((e) => e.message)).toEqual([
      'telegram /ISk5\\2MT382-1004 has no CRC after "!" after telegrams with one on this stream',
    ]);
    expect(framer.stats).toMatchObject({ telegrams: 2, crcErrors: 1 });
    // A DSMR 2.2 meter's own stream (no CRC anywhere) still reads.
    const legacy = new TelegramFramer();
    expect(telegrams(run(legacy, legacyShaped, legacyShaped))).toEqual([legacyShaped, legacyShaped]);
  });
});

describe('the meter serial on 0-0:96.1.0 and the values kept under other', () => {
  it('Iskra IE.5 (a user’s capture, dsmr_parser issue 152): its serial on 0-0:96.1.0, its other values', () => {
    const t = parseTelegramBytes(fixtureBytes('p1/iskra-ie5e-be-1phase.txt'));
    expect(t).toMatchObject({
      equipment_id: '91318181',
      meter_timestamp: '2024-04-05T13:49:53Z', // 15:49:53 Brussels, sent without S/W
      energy_import_t1_kwh: 36.396,
      energy_import_t2_kwh: 44.115,
      energy_export_t1_kwh: 83.176,
      energy_export_t2_kwh: 8.863,
      tariff_indicator: 1,
      power_import_w: 0,
      power_export_w: 1568,
      power_l1_export_w: 1568,
      voltage_l1_v: 236.8,
      current_l1_a: 6,
      breaker_state: 1,
      text_message: null,
      p1_version: null,
    });
    expect(t.other).toEqual([{ obis: '1-0:0.0.0', value: '00000000', unit: null }]);
    // 0-1:96.1.1() is channel 1's (empty) id, not the meter's.
    expect(t.mbus).toEqual([expect.objectContaining({ channel: 1, equipment_id: null })]);
  });

  it('keeps 0-0:96.1.1 as equipment_id when a meter sends both', () => {
    const t = parseTelegram(
      buildTelegram('SAG5SAG-METER', [
        '0-0:96.1.0(383930303832)',
        '0-0:96.1.1(4530303433)',
        '1-0:1.8.1(000047.719*kWh)',
      ]),
    );
    expect(t.equipment_id).toBe('4530303433');
  });

  it('keeps what it does not map, with OBIS code, value and unit as sent', () => {
    const sag = parseTelegramBytes(fixtureBytes('p1/sagemcom-t210-dr-wh-units.txt'));
    expect(sag.other).toEqual([
      { obis: '1-0:3.8.0', value: 747, unit: 'varh' },
      { obis: '1-0:3.8.1', value: 0, unit: 'varh' },
      { obis: '1-0:3.8.2', value: 747, unit: 'varh' },
      { obis: '1-0:3.7.0', value: 0, unit: 'var' },
      { obis: '1-0:4.8.0', value: 3897726, unit: 'varh' },
      { obis: '1-0:4.8.1', value: 2692848, unit: 'varh' },
      { obis: '1-0:4.8.2', value: 1204878, unit: 'varh' },
      { obis: '1-0:4.7.0', value: 166, unit: 'var' },
    ]);
    expect(parseTelegramBytes(fixtureBytes('p1/dsmr42-kaifa.txt')).other).toEqual([
      { obis: '0-0:96.13.1', value: null, unit: null },
    ]);
    expect(parseTelegramBytes(fixtureBytes('p1/dsmr50-iskra-mt382.txt')).other).toEqual([]);
    // Frequency, a power factor without unit, a logical device name (hex text), a multi-group line
    // and a `*255` suffix (lines of E.ON Hungary's and EasyMeter's telegrams in dsmr_parser).
    const t = parseTelegram(
      buildTelegram('SAG5SAG-METER', [
        '1-0:14.7.0(50.00*Hz)',
        '1-0:13.7.0(4.556)',
        '0-0:42.0.0(53414733303832323030303032313630)',
        '1-0:96.5.5*255(80)',
        '0-1:24.9.9(230701000000S)(000040.777*kWh)',
      ]),
    );
    expect(t.other).toEqual([
      { obis: '1-0:14.7.0', value: 50, unit: 'Hz' },
      { obis: '1-0:13.7.0', value: 4.556, unit: null },
      { obis: '0-0:42.0.0', value: '53414733303832323030303032313630', unit: null },
      { obis: '1-0:96.5.5', value: '80', unit: null },
      { obis: '0-1:24.9.9', value: '(230701000000S)(000040.777*kWh)', unit: null },
    ]);
  });
});
