/**
 * Recorded Modbus answers of real Huawei SUN2000 installations, and their parser. The texts are the
 * files of test/fixtures/huawei-sun2000 (their sources in its SOURCES.md; a test keeps the two
 * equal), so the simulator serves them without reading the test folder.
 *
 * Format (the shared one of ../modbus/recorded-reads.ts), one item a line (`#` starts a comment):
 *   unit N                      the unit id the answers came from
 *   read REGISTER COUNT         a request (FC03, the documented register = the wire address)
 *   answer HEX…                 its answer: the Modbus TCP frame as logged, bytes in hex ("0A" or "0xa")
 *   words W…                    or its registers as 16-bit words (a library's test data)
 * Overlapping reads must agree word for word.
 */

import { parseRecordedReads, type RecordedFormat, type RecordedUnit, wordsAnswer } from '../modbus/recorded-reads.js';

export type { RecordedUnit };

export const RECORDED = {
  'night-sun2000-3ktl': `# Huawei SUN2000-3KTL-L1 at night: register answers of a real inverter as huawei-solar-lib's tests
# replay them (wlcrs/huawei-solar-lib @873c1b3, tests/conftest.py MOCK_REGISTERS; see SOURCES.md).
# Format (docs/huawei-sun2000.md, "Fixtures"): "unit N", then per request "read REGISTER COUNT"
# followed by the answer: "words" (decimal 16-bit words) or "answer" (the Modbus TCP frame, hex bytes).
unit 1
read 30000 25
words 21333 20018 12336 12333 13131 21580 11596 12544 0 0 0 0 0 0 0 18518 13104 12849 13874 12592 14389 0 0 0 0
read 30000 15
words 21333 20018 12336 12333 13131 21580 11596 12544 0 0 0 0 0 0 0
read 30015 10
words 18518 13104 12849 13874 12592 14389 0 0 0 0
read 30070 1
words 348
read 30071 1
words 2
read 30072 1
words 2
read 30073 2
words 0 3000
read 30075 2
words 0 3300
read 30077 2
words 0 3300
read 30079 2
words 0 1980
read 30081 2
words 65535 63556
read 32000 1
words 1
read 32002 1
words 0
read 32003 2
words 0 0
read 32008 1
words 257
read 32009 1
words 514
read 32010 1
words 27
read 32016 1
words 0
read 32017 1
words 0
read 32018 1
words 0
read 32019 1
words 0
read 32020 1
words 0
read 32021 1
words 0
read 32022 1
words 0
read 32023 1
words 0
read 32064 5
words 0 0 0 0 0
read 32064 2
words 0 0
read 32066 1
words 0
read 32067 1
words 0
read 32068 1
words 0
read 32069 1
words 0
read 32070 1
words 0
read 32071 1
words 0
read 32072 2
words 0 0
read 32074 2
words 0 0
read 32076 2
words 0 0
read 32078 2
words 0 225
read 32080 2
words 0 0
read 32082 2
words 0 0
read 32084 1
words 0
read 32085 1
words 0
read 32086 1
words 0
read 32087 1
words 0
read 32088 1
words 3000
read 32089 1
words 40960
read 32090 1
words 0
read 32091 2
words 25069 6645
read 32093 2
words 25069 35661
read 32106 2
words 0 20734
read 32114 2
words 0 65
read 37200 1
words 10
read 37201 1
words 0
read 40000 2
words 25069 53611
read 42000 1
words 18
read 43006 1
words 60
`,
  'meter-dtsu666': `# Huawei SUN2000 (8 kW) with a three-phase DTSU666-H power meter, through an older SDongleA-05,
# unit 1, by day: the answers as the huawei_solar debug log of https://github.com/wlcrs/huawei_solar/issues/1371
# shows them ("TCP recv:"), byte for byte; see SOURCES.md. Format: docs/huawei-sun2000.md, "Fixtures".
unit 1
read 37100 38
answer 0A 6B 00 00 00 4F 01 03 4C 00 01 00 00 09 6A 00 00 09 4D 00 00 09 74 00 00 01 A7 FF FF FE 5E 00 00 01 97 00 00 03 E3 00 00 00 43 FE B5 13 88 00 00 9A DD 00 00 5A D1 00 00 00 00 00 01 00 00 10 34 00 00 10 3D 00 00 10 56 00 00 03 F6 FF FF FC 1E 00 00 03 CF
read 30073 4
answer 0A 6C 00 00 00 0B 01 03 08 00 00 1F 40 00 00 22 60
`,
  'inverter-charging-unit0': `# Huawei SUN2000 with a battery (the issue is about its storage counters), unit 0, by day: 5119 W
# from PV, 303 W out of the AC side (the rest charges the battery): the answer to 32064 × 52 as the pymodbus debug log of
# https://github.com/wlcrs/huawei_solar/issues/307 shows it ("recv:"), byte for byte; see SOURCES.md.
unit 0
read 32064 52
answer 0x0 0x23 0x0 0x0 0x0 0x6b 0x0 0x3 0x68 0x0 0x0 0x13 0xff 0x9 0x7e 0x0 0x0 0x0 0x0 0x4 0xc6 0x0 0x2 0x0 0x0 0x0 0x0 0x5 0x21 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0xd 0xe1 0x0 0x0 0x1 0x2f 0xff 0xff 0xff 0xff 0x3 0xe8 0x13 0x89 0x27 0x10 0x1 0x6c 0xb 0xb8 0x2 0x0 0x0 0x0 0x64 0x5d 0xf6 0x50 0xff 0xff 0xff 0xff 0x0 0x0 0x1 0x30 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x10 0xfc 0x0 0x1 0xdf 0xaf 0x0 0x2 0xf 0x54 0x64 0x5e 0x5f 0x4e 0x0 0x0 0x0 0x1e 0x0 0x0 0x2 0x1a
`,
  'inverter-day-unit0': `# Huawei SUN2000 single-phase inverter, unit 0, late morning: the answer to
# 32064 × 52 as the pymodbus debug log of https://github.com/wlcrs/huawei_solar/issues/507 shows it
# ("recv:"), byte for byte; see SOURCES.md.
unit 0
read 32064 52
answer 0x10 0xf 0x0 0x0 0x0 0x6b 0x0 0x3 0x68 0x0 0x0 0x1 0x7d 0x9 0x32 0x0 0x0 0x0 0x0 0x4 0x81 0x0 0x2 0x0 0x0 0x0 0x0 0x6 0x6a 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x5 0x79 0x0 0x0 0x1 0x74 0x0 0x0 0x0 0x0 0x3 0xe8 0x13 0x87 0x26 0x1f 0x1 0x60 0xb 0xb8 0x2 0x0 0x0 0x0 0x65 0x2c 0xee 0x11 0x65 0x2c 0x37 0x3a 0x0 0x0 0x1 0x7b 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x7 0x36 0xac 0x0 0x7 0x78 0x26 0x65 0x2d 0x30 0x89 0x0 0x0 0x0 0x2e 0x0 0x0 0x0 0x78
`,
  'battery-unit2': `# A battery behind a Huawei inverter read as unit 2 (the same log reads unit 0 too: two units on
# one connection), charging in the afternoon: the answer to 37760 × 28 as the pymodbus debug log of
# https://github.com/wlcrs/huawei_solar/issues/1314 shows it ("recv:"), byte for byte; see SOURCES.md.
unit 2
read 37760 28
answer 0x0 0x30 0x0 0x0 0x0 0x3b 0x2 0x3 0x38 0x3 0x16 0x0 0x0 0x0 0x2 0x1d 0xfb 0x0 0x2d 0x0 0x0 0xd 0x6 0x0 0x0 0x27 0x10 0x0 0x0 0x27 0x10 0x0 0x0 0x27 0x10 0x0 0x0 0x27 0x10 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x2 0xd3 0xa3 0x0 0x2 0xec 0x88 0x0 0x0 0x3 0x35 0x0 0x0 0x2 0x74
`,
} as const;
export type RecordedName = keyof typeof RECORDED;

/** What a Huawei recording holds: unit 0 (the access point) to 255, answers as frames or words. */
const HUAWEI_RECORDED: RecordedFormat = {
  units: { min: 0, max: 255 },
  start: 'register',
  answers: { answer: frameWords, words: wordsAnswer },
};

/** Parses a recorded file; anything it does not understand is an error naming the file and line. */
export function parseRecorded(text: string, name: string): RecordedUnit {
  return parseRecordedReads(HUAWEI_RECORDED, text, name);
}

/** The registers of a logged Modbus TCP answer to an FC03 read of `count` registers from `unit`. */
function frameWords(hex: string[], count: number, unit: number, where: string): number[] {
  const bytes = hex.map((h) => {
    const b = Number.parseInt(h.replace(/^0x/i, ''), 16);
    if (!/^(0x)?[0-9a-f]{1,2}$/i.test(h) || !Number.isInteger(b))
      throw new Error(`${where}: ${JSON.stringify(h)} is not a hex byte`);
    return b;
  });
  const at = (k: number) => bytes[k] ?? -1;
  const length = at(4) * 256 + at(5);
  if (bytes.length !== 9 + 2 * count || length !== bytes.length - 6 || at(7) !== 3 || at(8) !== 2 * count) {
    throw new Error(`${where}: not a Modbus TCP answer to an FC03 read of ${count} registers`);
  }
  if (at(6) !== unit) throw new Error(`${where}: the answer is from unit ${at(6)}, the file says unit ${unit}`);
  const words: number[] = [];
  for (let k = 0; k < count; k++) words.push(at(9 + 2 * k) * 256 + at(10 + 2 * k));
  return words;
}

/** A recorded file's unit. */
export function recordedUnit(name: RecordedName): RecordedUnit {
  return parseRecorded(RECORDED[name], `${name}.txt`);
}

/**
 * The simulator's SDongle (`kwartier simulate --device huawei-sun2000`): unit 1 a hybrid inverter
 * with a power meter and a battery, unit 2 an inverter alone (SUN2000-3KTL-L1 at night). Unit 1 is
 * put together from recorded blocks of three installations (the inverter of huawei_solar#307, the
 * DTSU666 meter and rated power of #1371, the battery of #1314): each block is a real answer; the
 * three do not add up to one moment of one home, which is not what they are served for.
 */
export function dongleUnits(): Map<number, ReadonlyMap<number, number>> {
  const hybrid = new Map<number, number>();
  for (const n of ['inverter-charging-unit0', 'meter-dtsu666', 'battery-unit2'] as const) {
    for (const [reg, w] of recordedUnit(n).registers) hybrid.set(reg, w);
  }
  return new Map([
    [1, hybrid],
    [2, recordedUnit('night-sun2000-3ktl').registers],
  ]);
}
