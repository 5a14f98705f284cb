/**
 * Recorded register answers of real Morningstar TriStar MPPT controllers, and their parser. The
 * texts are the files of test/fixtures/tristar-mppt (their sources in its SOURCES.md; a test keeps
 * the two equal), so the simulator serves them without reading the test folder.
 *
 * Format (the shared one of ../modbus/recorded-reads.ts), one item a line (`#` starts a comment;
 * numbers decimal or 0x hex):
 *   unit N                  the MODBUS id the answers came from
 *   read ADDRESS COUNT      a read of COUNT registers from the PDU (wire) address
 *   words W…                its answer as 16-bit words (a library's data, a log)
 *   csv U,F,N,B…            or as the TS-MPPT-60 web server's MODBUS-over-HTTP answer (MBCSV):
 *                           unit, function (3 or 4), byte count, then the bytes, high byte first
 * Overlapping reads must agree word for word. The RAM answers FC03 and FC04 alike (MODBUS
 * document v10 p.3), so a recording of either serves both.
 */
import {
  parseRecordedReads,
  type RecordedFormat,
  type RecordedUnit,
  recordedInteger,
  wordsAnswer,
} from '../modbus/recorded-reads.js';
import { scaled, scalesOf } from './decode.js';
import { encodeHalf } from './half-float.js';
import { QUANTITY_OF, TRISTAR_ROWS, type TristarField } from './registers.js';

/** A recorded controller (its registers by wire address). */
export type { RecordedUnit };

export const RECORDED = {
  'iobroker-night-12v': `# A TriStar MPPT (the adapter author's TSMPPT10480676, a 12 V battery) at night: the raw words of
# joergspoerl/ioBroker.tristar-mppt @cfae57d src/mppt-data.json, sections "scale", "battRegister"
# and "state" (raw), and the "today" values that are raw words (scale 1, or 0), each at the
# register readTristar() of src/tristar_mppt.js reads it from (hr.register[N] = wire N); see
# SOURCES.md. Format: docs/tristar-mppt.md, "Fixtures".
unit 1
read 0 4
words 180 0 80 0
read 24 1
words 2445
read 26 4
words 2440 60 0 0
read 35 3
words 4 5 5
read 38 7
words 2446 5 25 3017 1 21481 0
read 46 5
words 0 0 188 6 3
read 58 2
words 0 0
read 67 4
words 0 0 9 0
read 71 3
words 5 25 0
`,
  'dodo-night-24v': `# A TriStar MPPT-60 (24 V battery) at night: the answers of its web server's MODBUS-over-HTTP
# interface (MBCSV, FC04) as dodo5522/tsmppt60_driver's tests replay them
# (@0a4eb74 test/test_base_management.py, _dummy_table_scaling and _dummy_table_response); see
# SOURCES.md. Format: docs/tristar-mppt.md, "Fixtures".
unit 1
read 0x0000 2
csv 1,4,4,0,180,0,0
read 0x0002 2
csv 1,4,4,0,80,0,0
read 0x0026 1
csv 1,4,2,17,160
read 0x0027 1
csv 1,4,2,255,168
read 0x0033 1
csv 1,4,2,0,0
read 0x003A 1
csv 1,4,2,0,0
read 0x001B 1
csv 1,4,2,0,84
read 0x001D 1
csv 1,4,2,0,0
read 0x003D 1
csv 1,4,2,11,208
read 0x003E 1
csv 1,4,2,15,193
read 0x003C 1
csv 1,4,2,0,23
read 0x0023 1
csv 1,4,2,0,7
read 0x0025 1
csv 1,4,2,0,25
read 0x0034 2
csv 1,4,4,0,2,231,134
read 0x0038 1
csv 1,4,2,1,4
`,
  'doc-example-p25': `# The TriStar MPPT MODBUS Document v10 (05 Dec 2011) p.25, "Read Holding Register, Scaling a voltage
# value": V_PU HI 0x007B, V_PU LO 0xE041, Battery Voltage (0x0018) 0x0DB0, "Vbattery = (3504 *
# 123.876) / 32768 = 13.25 Volts"; see SOURCES.md. Format: docs/tristar-mppt.md, "Fixtures".
unit 1
read 0x0000 2
words 0x007B 0xE041
read 0x0018 1
words 0x0DB0
`,
  'campbell-f16': `# A TriStar MPPT that sends half-floats ("It is a TriStar MPPT, and they changed all of their output
# types to float16"): the battery voltage register (logical 25 = PDU 0x0018, FC03) read 21226,
# "the expected value of 55.3125" (Campbell Scientific forum thread 16800, Nov 2021); see SOURCES.md.
# Format: docs/tristar-mppt.md, "Fixtures".
unit 1
read 0x0018 1
words 21226
`,
} as const;
export type RecordedName = keyof typeof RECORDED;

/** What a TriStar recording holds: MODBUS ids 1 to 247, answers as words or MBCSV. */
const TRISTAR_RECORDED: RecordedFormat = {
  units: { min: 1, max: 247 },
  start: 'address',
  answers: { words: wordsAnswer, csv: (rest, count, unit, where) => csvWords(rest.join(''), count, unit, where) },
};

/** Parses a recorded file; anything it does not understand is an error naming the file and line. */
export function parseRecorded(text: string, name: string): RecordedUnit {
  return parseRecordedReads(TRISTAR_RECORDED, text, name);
}

/** The registers of an MBCSV answer "unit,function,byte count,bytes…" to a read of `count`. */
function csvWords(text: string, count: number, unit: number, where: string): number[] {
  const parts = text.split(',').map((p) => recordedInteger(p, 0, 255, `${where}: csv byte`));
  const [u, fn, bytes, ...data] = parts;
  if ((fn !== 3 && fn !== 4) || bytes !== 2 * count || data.length !== bytes) {
    throw new Error(`${where}: not an FC03/FC04 answer of ${count} registers (unit,function,byte count,bytes…)`);
  }
  if (u !== unit) throw new Error(`${where}: the answer is from unit ${u}, the file says unit ${unit}`);
  const words: number[] = [];
  for (let k = 0; k < count; k++) words.push((data[2 * k] ?? 0) * 256 + (data[2 * k + 1] ?? 0));
  return words;
}

export function recordedUnit(name: RecordedName): RecordedUnit {
  return parseRecorded(RECORDED[name], `${name}.txt`);
}

/**
 * A recorded unit in the other encoding: the voltage, current and power words of the driver's
 * table, decoded with the recording's V_PU/I_PU, as the nearest half-floats; every other word as
 * recorded (what a half-float controller holds at 0x0000–0x0003 is not documented: they stay as
 * they were, so telling the encoding apart must not lean on them). Derived, not recorded: the only
 * recorded half-float is the campbell-f16 fixture's.
 */
export function asHalfFloats(registers: ReadonlyMap<number, number>): Map<number, number> {
  const byWire = new Map<number, TristarField>(TRISTAR_ROWS.map((r) => [r.doc, r.field]));
  const raw = new Map<TristarField, number | null>();
  for (const [wire, field] of byWire) raw.set(field, registers.get(wire) ?? null);
  const scales = scalesOf(raw);
  const out = new Map(registers);
  for (const [wire, word] of registers) {
    const field = byWire.get(wire);
    const q = field === undefined ? undefined : QUANTITY_OF.get(field);
    if (field === undefined || (q !== 'voltage' && q !== 'current' && q !== 'power')) continue;
    out.set(wire, encodeHalf(scaled(field, word, 'vpu', scales)));
  }
  return out;
}

/**
 * The simulator's controllers (`kwartier simulate --device tristar-mppt`): unit 1 the ioBroker
 * recording as it is (V_PU/I_PU scaling), unit 2 the same night in half-floats (asHalfFloats).
 * Only the registers the recording holds (and, in unit 2, of the driver's table) answer.
 */
export function simulatorUnits(): Map<number, ReadonlyMap<number, number>> {
  const legacy = recordedUnit('iobroker-night-12v').registers;
  const tableWires = new Set(TRISTAR_ROWS.map((r) => r.doc));
  const f16 = new Map([...asHalfFloats(legacy)].filter(([wire]) => tableWires.has(wire)));
  return new Map<number, ReadonlyMap<number, number>>([
    [1, legacy],
    [2, f16],
  ]);
}
