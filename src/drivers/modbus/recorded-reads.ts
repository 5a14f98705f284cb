/**
 * Recorded Modbus reads: one unit's answers to a real device's reads, as a text file (the fixtures
 * of test/fixtures/huawei-sun2000 and test/fixtures/tristar-mppt, and the recordings their
 * simulators serve), and the parser the two types share. One item a line (`#` starts a comment;
 * numbers decimal or 0x hex):
 *   unit N                  the unit id the answers came from
 *   read START COUNT        a read of COUNT registers from START
 *   KIND …                  its answer: `words` (16-bit words) or a kind of the device's own
 *                           (Huawei's logged frame `answer`, the TriStar web server's `csv`)
 * Overlapping reads must agree word for word. What a type's files hold is its `RecordedFormat`.
 */
import type { ReplayOptions, RunningDeviceSimulator, RunningReplay } from '../definition.js';
import type { UnitsSimulatorOptions } from './register-server.js';

/** One recorded unit: the registers its answers cover (register → word). */
export interface RecordedUnit {
  unit: number;
  registers: ReadonlyMap<number, number>;
}

/** Turns the rest of an answer line into the words of a read of `count` from `unit`. */
export type AnswerWords = (rest: string[], count: number, unit: number, where: string) => number[];

/** What a type's recorded files hold. */
export interface RecordedFormat {
  /** The unit ids a file may name. */
  units: { min: number; max: number };
  /** What the start of a read is called in errors ('register', 'address'). */
  start: string;
  /** The kinds of answer line, in the order an error lists them (`words` among them). */
  answers: Readonly<Record<string, AnswerWords>>;
}

/** The `words` answer: the registers as 16-bit words. */
export const wordsAnswer: AnswerWords = (rest, _count, _unit, where) =>
  rest.map((w) => recordedInteger(w, 0, 0xffff, `${where}: word`));

/** Parses a recorded file; anything it does not understand is an error naming the file and line. */
export function parseRecordedReads(format: RecordedFormat, text: string, name: string): RecordedUnit {
  let unit: number | null = null;
  let pending: { start: number; count: number; line: number } | null = null;
  const registers = new Map<number, number>();
  const kinds = Object.keys(format.answers);
  text.split('\n').forEach((raw, i) => {
    const where = `${name}:${i + 1}`;
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [word = '', ...rest] = line.split(/\s+/);
    const answer = Object.hasOwn(format.answers, word) ? format.answers[word] : undefined;
    if (word === 'unit') {
      unit = recordedInteger(rest[0], format.units.min, format.units.max, `${where}: unit`);
    } else if (word === 'read') {
      if (pending) throw new Error(`${name}:${pending.line}: read without an answer`);
      pending = {
        start: recordedInteger(rest[0], 0, 0xffff, `${where}: ${format.start}`),
        count: recordedInteger(rest[1], 1, 125, `${where}: count`),
        line: i + 1,
      };
    } else if (answer) {
      if (!pending) throw new Error(`${where}: ${word} without a read before it`);
      if (unit === null) throw new Error(`${where}: no unit line before it`);
      const words = answer(rest, pending.count, unit, where);
      if (words.length !== pending.count) {
        throw new Error(`${where}: ${words.length} words for a read of ${pending.count}`);
      }
      const { start } = pending;
      words.forEach((w, k) => {
        const had = registers.get(start + k);
        if (had !== undefined && had !== w)
          throw new Error(`${where}: register ${start + k} is ${had} in an earlier answer, ${w} here`);
        registers.set(start + k, w);
      });
      pending = null;
    } else {
      const expected = `${['unit', 'read', ...kinds].slice(0, -1).join(', ')} or ${kinds.at(-1)}`;
      throw new Error(`${where}: expected ${expected}, not ${JSON.stringify(word)}`);
    }
  });
  if (pending) throw new Error(`${name}: the last read has no answer`);
  if (unit === null) throw new Error(`${name}: no unit line`);
  return { unit, registers };
}

/** A whole number of a recorded file (decimal or 0x hex) within min..max. */
export function recordedInteger(text: string | undefined, min: number, max: number, what: string): number {
  const n = text !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${what}: expected an integer ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * A definition's replay of one recorded file: its unit alone, served by the type's simulator
 * (`start`), and the driver set to read that unit.
 */
export async function replayRecordedUnit(
  o: ReplayOptions,
  parse: (text: string, name: string) => RecordedUnit,
  start: (opts: UnitsSimulatorOptions) => Promise<RunningDeviceSimulator>,
): Promise<RunningReplay> {
  const rec = parse(o.fixture.bytes.toString('utf8'), o.fixture.name);
  const sim = await start({ host: o.host, port: o.port, log: o.log, units: new Map([[rec.unit, rec.registers]]) });
  return { port: sim.port, stop: () => sim.stop(), config: { unit_id: rec.unit } };
}
