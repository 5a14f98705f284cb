import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planReads } from '../../../src/drivers/modbus/read-plan.js';
import { decodeRow, decodeString, encodeRow, encodeString } from '../../../src/drivers/modbus/register-codec.js';
import { type RegisterRow, rowEnd } from '../../../src/drivers/modbus/register-table.js';
import { tableProblems } from '../../../src/drivers/modbus/table-problems.js';
import { SUNGROW_REGISTERS, sungrowModel } from '../../../src/drivers/sungrow/registers.js';

const row = (type: RegisterRow['type'], extra: Partial<RegisterRow> = {}): RegisterRow => ({
  field: 'x',
  fn: 'input',
  doc: 101,
  wire: 100,
  type,
  scale: 1,
  unit: '',
  ...(type === 'u32' || type === 's32' ? { words: 'lsw' as const } : {}),
  ...extra,
});

describe('register codec', () => {
  it('decodes U16 and S16, negative values in two’s complement', () => {
    expect(decodeRow(row('u16'), [0x8000])).toBe(32768);
    expect(decodeRow(row('s16'), [0x8000])).toBe(-32768);
    expect(decodeRow(row('s16'), [0xffe7])).toBe(-25);
    expect(decodeRow(row('s16', { scale: 0.1 }), [0xffe7])).toBe(-2.5);
  });

  it('decodes 32-bit values low word first (Sungrow) and high word first (msw)', () => {
    // 1 234 567 = 0x0012D687
    expect(decodeRow(row('u32'), [0xd687, 0x0012])).toBe(1_234_567);
    expect(decodeRow(row('u32', { words: 'msw' }), [0x0012, 0xd687])).toBe(1_234_567);
    // −1200 = 0xFFFFFB50
    expect(decodeRow(row('s32'), [0xfb50, 0xffff])).toBe(-1200);
    expect(decodeRow(row('s32', { words: 'msw' }), [0xffff, 0xfb50])).toBe(-1200);
    // the largest U32 that is not the marker
    expect(decodeRow(row('u32'), [0xfffe, 0xffff])).toBe(0xfffffffe);
  });

  it('applies scales without float noise', () => {
    expect(decodeRow(row('u16', { scale: 0.1 }), [873])).toBe(87.3);
    expect(decodeRow(row('u32', { scale: 0.1 }), [0xd687, 0x0012])).toBe(123_456.7);
    expect(decodeRow(row('u16', { scale: 0.01 }), [5003])).toBe(50.03);
  });

  it('turns the not-available markers into null, never a number', () => {
    expect(decodeRow(row('u16'), [0xffff])).toBeNull();
    expect(decodeRow(row('s32'), [0xffff, 0x7fff])).toBeNull(); // 0x7FFFFFFF, low word first
    expect(decodeRow(row('u32'), [0xffff, 0xffff])).toBeNull();
    expect(decodeRow(row('s16'), [0x7fff])).toBeNull();
    // but the same words in another type are values
    expect(decodeRow(row('s16'), [0xffff])).toBe(-1);
    expect(decodeRow(row('s32'), [0xffff, 0xffff])).toBe(-1);
  });

  it('flips the battery sign: 5214 is + discharging on the wire, battery_power_w is + charging', () => {
    const bat = SUNGROW_REGISTERS.find((r) => r.field === 'battery_power_w');
    expect(bat).toMatchObject({ doc: 5214, wire: 5213, type: 's32', words: 'lsw', negate: true });
    if (!bat) return;
    expect(decodeRow(bat, [0xfb50, 0xffff])).toBe(1200); // wire −1200: charging 1200 W
    expect(decodeRow(bat, [2500, 0])).toBe(-2500); // wire +2500: discharging
    expect(decodeRow(bat, [0, 0])).toBe(0);
    expect(Object.is(decodeRow(bat, [0, 0]), -0)).toBe(false);
    expect(encodeRow(bat, 1200)).toEqual([0xfb50, 0xffff]);
  });

  it('encodes as the exact inverse of decoding for every numeric Sungrow row', () => {
    for (const r of SUNGROW_REGISTERS.filter((x) => x.type !== 'utf8')) {
      const max = r.type === 'u16' ? 0xfffe : r.type === 's16' ? 0x7ffe : r.type === 'u32' ? 0xfffffffe : 0x7ffffffe;
      const min = r.type === 's16' ? -0x8000 : r.type === 's32' ? -0x80000000 : 0;
      fc.assert(
        fc.property(fc.integer({ min, max }), (raw) => {
          const value = decodeRow(r, encodeRow({ ...r, scale: 1, negate: false }, raw));
          expect(value).not.toBeNull();
          expect(encodeRow(r, value)).toEqual(encodeRow({ ...r, scale: 1, negate: false }, raw));
        }),
        { numRuns: 200 },
      );
    }
  });

  it('encodes null as the marker and clamps out-of-range values', () => {
    expect(encodeRow(row('u16'), null)).toEqual([0xffff]);
    expect(encodeRow(row('s32'), null)).toEqual([0xffff, 0x7fff]);
    expect(encodeRow(row('u16'), -5)).toEqual([0]);
    expect(encodeRow(row('u16'), 1e9)).toEqual([0xfffe]); // clamped below the marker
  });

  it('reads and writes the serial as UTF-8, bytes big-endian within a word, NUL-padded', () => {
    const serial = SUNGROW_REGISTERS.find((r) => r.field === 'serial');
    expect(serial).toMatchObject({ doc: 4990, wire: 4989, type: 'utf8', count: 10, poll: 'start' });
    if (!serial) return;
    // "A2" = 0x41 0x32
    const words = encodeString(serial, 'A2123456789');
    expect(words[0]).toBe(0x4132);
    expect(words.length).toBe(10);
    expect(words[9]).toBe(0);
    expect(decodeString(serial, words)).toBe('A2123456789');
    expect(decodeString(serial, new Array(10).fill(0))).toBeNull();
  });

  it('names the models listed in protocols.md', () => {
    expect(sungrowModel(0x0d0f)).toBe('SH5.0RS');
    expect(sungrowModel(0x0e03)).toBe('SH10RT');
    expect(sungrowModel(0x0e13)).toBe('SH10RT-20');
    expect(sungrowModel(0x1234)).toBe('unknown (0x1234)');
    expect(sungrowModel(null)).toBeNull();
  });
});

describe('Sungrow register table', () => {
  it('matches the corrected table of protocols.md §3.2 (doc number, function, type, scale, sign)', () => {
    const got = SUNGROW_REGISTERS.map((r) => [r.field, r.fn, r.doc, r.type, r.scale, r.negate ?? false]);
    expect(got).toEqual(
      expect.arrayContaining([
        ['pv_power_w', 'input', 5017, 'u32', 1, false],
        ['pv_daily_kwh', 'input', 13002, 'u16', 0.1, false],
        ['pv_total_kwh', 'input', 13003, 'u32', 0.1, false],
        ['mppt1_voltage_v', 'input', 5011, 'u16', 0.1, false],
        ['mppt1_current_a', 'input', 5012, 'u16', 0.1, false],
        ['mppt2_voltage_v', 'input', 5013, 'u16', 0.1, false],
        ['mppt2_current_a', 'input', 5014, 'u16', 0.1, false],
        ['battery_power_w', 'input', 5214, 's32', 1, true],
        ['battery_soc_pct', 'input', 13023, 'u16', 0.1, false],
        ['battery_temp_c', 'input', 13025, 's16', 0.1, false],
        ['battery_daily_charge_kwh', 'input', 13040, 'u16', 0.1, false],
        ['battery_daily_discharge_kwh', 'input', 13026, 'u16', 0.1, false],
        ['battery_total_discharge_kwh', 'input', 13027, 'u32', 0.1, false],
        ['battery_total_charge_kwh', 'input', 13041, 'u32', 0.1, false],
        ['load_power_w', 'input', 13008, 's32', 1, false],
        ['daily_direct_consumption_kwh', 'input', 13017, 'u16', 0.1, false],
        ['running_state', 'input', 13000, 'u16', 1, false],
        ['power_flow_bits', 'input', 13001, 'u16', 1, false],
        ['inverter_grid_power_w', 'input', 5601, 's32', 1, false],
        ['inverter_export_power_w', 'input', 13010, 's32', 1, false],
        ['device_type_code', 'input', 5000, 'u16', 1, false],
        ['serial', 'input', 4990, 'utf8', 1, false],
        ['ems_mode', 'holding', 13050, 'u16', 1, false],
      ]),
    );
  });

  it('has wire = doc − 1 on every row, low word first on every 32-bit row, and no overlaps', () => {
    for (const r of SUNGROW_REGISTERS) {
      expect(r.wire, r.field).toBe(r.doc - 1);
      if (r.type === 'u32' || r.type === 's32') expect(r.words, r.field).toBe('lsw');
    }
    expect(tableProblems(SUNGROW_REGISTERS, 1)).toEqual([]);
  });

  it('finds problems in a broken table (the sanity check can fail)', () => {
    const broken: RegisterRow[] = [
      { field: 'a', fn: 'input', doc: 5017, wire: 5017, type: 'u32', words: 'lsw', scale: 1, unit: 'W' },
      { field: 'b', fn: 'input', doc: 5019, wire: 5018, type: 'u16', scale: 1, unit: 'V' },
      { field: 'c', fn: 'input', doc: 5030, wire: 5029, type: 's32', scale: 1, unit: 'W' },
    ];
    const problems = tableProblems(broken, 1);
    expect(problems).toContain('a: wire 5017 is not doc 5017 − 1');
    expect(problems.some((p) => p.startsWith('b (input 5018) overlaps a'))).toBe(true);
    expect(problems).toContain('c: 32-bit row without words');
  });

  it('groups the table into few requests that cover every row once, none over 100 registers', () => {
    for (const maxGap of [0, 16]) {
      const groups = planReads(SUNGROW_REGISTERS, { maxCount: 100, maxGap });
      const covered = groups.flatMap((g) => g.rows.map((r) => r.field)).sort();
      expect(covered).toEqual(SUNGROW_REGISTERS.map((r) => r.field).sort());
      for (const g of groups) {
        expect(g.count).toBeLessThanOrEqual(100);
        for (const r of g.rows) {
          expect(r.fn).toBe(g.fn);
          expect(r.wire).toBeGreaterThanOrEqual(g.start);
          expect(rowEnd(r)).toBeLessThanOrEqual(g.start + g.count);
        }
      }
    }
    // Default (gap 16): identity + PV block, battery, meter, the 13000 block, holding 13050.
    const groups = planReads(SUNGROW_REGISTERS, { maxCount: 100, maxGap: 16 });
    expect(groups.map((g) => `${g.fn}:${g.start}+${g.count}`)).toEqual([
      'input:4989+29',
      'input:5213+2',
      'input:5600+2',
      'input:12999+43',
      'holding:13049+1',
    ]);
    // Touching rows only: more, smaller requests.
    expect(planReads(SUNGROW_REGISTERS, { maxCount: 100, maxGap: 0 }).length).toBe(13);
  });

  it('never spans an avoided address and keeps apart pairs in separate requests', () => {
    const rows = SUNGROW_REGISTERS.filter((r) => (r.poll ?? 'cycle') === 'cycle' && r.fn === 'input' && r.doc >= 13000);
    // battery_temp_c (doc 13025, wire 13024) left out as unsupported: no request may cover it.
    const withoutTemp = rows.filter((r) => r.doc !== 13025);
    const groups = planReads(withoutTemp, { maxCount: 100, maxGap: 16, avoid: (_fn, wire) => wire === 13024 });
    for (const g of groups) expect(13024 >= g.start && 13024 < g.start + g.count).toBe(false);
    expect(groups.map((g) => `${g.start}+${g.count}`)).toEqual(['12999+24', '13025+17']);
    // without the avoid, the hole is bridged
    expect(planReads(withoutTemp, { maxCount: 100, maxGap: 16 }).length).toBe(1);
    const apart = planReads(rows, {
      maxCount: 100,
      maxGap: 16,
      apart: (a, b) => a.doc === 13017 && b.doc === 13023,
    });
    expect(apart.map((g) => `${g.start}+${g.count}`)).toEqual(['12999+18', '13022+20']);
    // and maxCount splits long runs
    const small = planReads(rows, { maxCount: 10, maxGap: 16 });
    for (const g of small) expect(g.count).toBeLessThanOrEqual(10);
    expect(small.length).toBeGreaterThan(3);
  });
});
