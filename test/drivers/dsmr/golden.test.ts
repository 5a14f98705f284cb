/**
 * Golden outputs of the P1 parser: every telegram of test/fixtures/p1 (framed, CRC-checked, parsed
 * with the detected country and with each country forced), a few hand-written telegrams for the
 * paths the fixtures do not take, and a few thousand variants of the fixtures (one line changed at a
 * time: dropped, emptied, other units, `*255` suffix, another channel, …) must give exactly the
 * output the golden files in test/fixtures/p1-golden hold, byte for byte. The golden files were written by the
 * parser as it was before its restructuring into a field table, so they pin its behaviour, not a
 * specification: a change of behaviour shows here first, and is then a decision (regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run test/drivers/dsmr/golden.test.ts` and say why in the commit).
 *
 * The variants are many and their outputs large, so p1-golden/variants.json keeps a short hash per
 * variant (the first 8 hex digits of the SHA-256 of the output) rather than the outputs.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TelegramFramer } from '../../../src/drivers/dsmr/framer.js';
import { type ParseOptions, parseFramed, parseTelegram } from '../../../src/drivers/dsmr/parser.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { buildTelegram } from './helpers.js';

const GOLDEN_DIR = fixturePath('p1-golden');
const P1_DIR = fixturePath('p1');
/** The shared originals the fixtures were copied from (../shared beside the checkout, as CI has it). */
const SHARED_P1_DIR = fileURLToPath(new URL('../../../../shared/fixtures/p1', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** JSON, except that -0, NaN and ±Infinity stay visible (JSON would print 0 and null). */
function serialize(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v !== 'number') return v;
      if (Object.is(v, -0)) return '<-0>';
      if (!Number.isFinite(v)) return `<${String(v)}>`;
      return v;
    },
    1,
  );
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** Compares with (or, with UPDATE_GOLDEN=1, writes) test/fixtures/p1-golden/<name>. */
function checkGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (UPDATE) {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) throw new Error(`golden file ${name} is missing (UPDATE_GOLDEN=1 writes it)`);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

function fixtureNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort();
}

/** Every telegram of a capture, through the framer as the edge and `dsmr parse` read them. */
function parseCapture(bytes: Buffer, opts: ParseOptions): unknown[] {
  const framer = new TelegramFramer();
  const events = framer.push(bytes);
  for (const ev of framer.end()) events.push(ev);
  return events.map((ev) => (ev.type === 'error' ? { error: ev.error.message } : parseFramed(ev, opts)));
}

function captureOutputs(bytes: Buffer): string {
  return serialize({
    detected: parseCapture(bytes, {}),
    be: parseCapture(bytes, { country: 'be' }),
    nl: parseCapture(bytes, { country: 'nl' }),
  });
}

/** Telegrams for paths the fixtures do not take (no CRC: parseTelegram does not check it). */
const HAND_WRITTEN: Record<string, string> = {
  'dsmr22-legacy-gas': buildTelegram(
    'ISk5\\2MT382-1004',
    [
      '0-0:96.1.1(00000000000000)',
      '1-0:1.8.1(00123.456*kWh)',
      '0-0:96.14.0(0001)',
      '1-0:1.7.0(0001.01*kW)',
      '0-0:17.0.0(0999.00*kW)',
      '0-0:96.13.1()',
      '0-0:96.13.0()',
      '0-1:24.1.0(3)',
      '0-1:96.1.0(000000000000)',
      '0-1:24.3.0(161107190000)(00)(60)(1)(0-1:24.2.1)(m3)',
      '(00001.001)',
      '0-1:24.4.0(1)',
      '0-2:24.3.0(161107190000)(00)(60)(1)(0-2:24.2.1)',
      '1-0:2.7.0(0000.00*kW)',
      '(00002.002)',
      '0-3:24.3.0(161107190000)(00)(60)(1)(0-3:24.2.1)(m3)',
      '(abc)',
    ],
    'none',
  ),
  'iskra-ie5-reversed-peak': buildTelegram('ISK5\\2M550E-1011', [
    '0-0:96.1.4(50217)',
    '0-0:96.1.0(91318181)',
    '0-0:1.0.0(261023081500S)',
    '1-0:1.6.0(006.4*kW)(261023051500)',
    '1-0:2.6.0(001.2*kW)(261023051500S)',
    '1-0:2.4.0(000.3*kW)',
    '0-0:98.1.0(2)(1-0:1.6.0)(1-0:1.6.0)(03.100*kW)(260901000000)(260815093000)(260801000000S)(632525252525W)(00.000*kW)(260701000000S)',
    '1-0:0.0.0(00000000)',
    '1-0:13.7.0(4.556)',
    '1-0:3.8.0(000000747*varh)',
    '0-0:96.99.0(1)(2)',
    '0-0:96.99.1()',
  ]),
  'power-failure-log': buildTelegram('KFM5KAIFA-METER', [
    '1-3:0.2.8(42)',
    '0-0:96.7.21(00004)',
    '0-0:96.7.9(00002)',
    '1-0:99.97.0(3)(0-0:96.7.19)(000104180320W)(0000237126*s)(000101000001W)(2147483647*s)(170405120000S)(00000012)',
    '1-0:32.32.0(00000)',
    '1-0:52.32.0(00001)',
    '1-0:72.32.0(00002)',
    '1-0:32.36.0(00000)',
    '1-0:52.36.0(00003)',
    '1-0:72.36.0(00004)',
    '0-0:96.13.0(303132333435)',
    '1-0:1.8.0(00012345678*Wh)',
    '1-0:2.8.0(00000001.5*MWh)',
    '1-0:31.4.0(025.0*A)',
    '0-0:96.3.10(2)',
  ]),
  'mbus-heat-and-water-inference': buildTelegram('XMX5LGF0010453094090', [
    '0-3:24.2.1(231102121532W)(00012.345*GJ)',
    '0-4:24.2.1(231102121532W)(01234.5*kWh)',
    '0-2:24.2.1(231102121532W)(00008.579*m3)',
    '0-2:24.2.3(231102121002W)(00092.287*m3)',
    '0-1:24.1.0(007)',
    '0-1:24.2.1(231102121532W)(00001.000*m3)',
    '0-5:24.1.0(012)',
    '0-5:24.2.1(00044.5*MJ)(231102121532S)',
    '0-6:24.1.0(003)',
    '0-6:24.2.1(700101010000W)(00000.000*m3)',
    '0-7:24.1.0(003)',
    '0-7:24.2.1(231102121532W)(00003.000)',
    '0-8:96.1.0(ABC)',
    '0-8:24.9.9(1)',
  ]),
  'nonsense-1': '',
  'nonsense-2': '/',
  'nonsense-3': '!',
  'nonsense-4': '/X\r\n\r\n1-0:1.8.1(\r\n!',
  'nonsense-5': '/X\r\n(((\r\n0-1:24.2.1()()\r\n1-0:1.7.0(abc*kW)\r\n!',
  'nonsense-6': 'junk\n/X\n1-0:1.7.0(1.5*kW)\n1-0:1.7.0\n1-0:1.7(1*kW)\n9-0:1.7.0(1)\n1-0:1000.7.0(1)\n!1234\nafter',
  'nonsense-7': '/X\r\n\r\n1-0:1.7.0*255(00.338*kW)\r\n1-0:2.7.0*(1*kW)\r\n0-0:1.0.0(2311021215)\r\n',
  'nonsense-8':
    '/X\r\n\r\n1-0:1.7.0(-00.338*kW)\r\n1-0:2.7.0(-0.000*kW)\r\n1-0:1.8.1(123456789012345678.9*kWh)\r\n0-0:96.14.0(3)\r\n!',
};

type Mutation = (line: string) => string | null;

/** Replaces `from` by `to` when the line has it. */
function swap(from: string, to: string): Mutation {
  return (line) => (line.includes(from) ? line.split(from).join(to) : null);
}

/** Each changes one line of a telegram (null: does not apply to that line). */
const MUTATIONS: Record<string, Mutation> = {
  drop: () => '',
  duplicate: (line) => `${line}\r\n${line}`,
  empty: (line) => (line.includes('(') ? line.replace(/\([^)]*\)/, '()') : null),
  star255: (line) => (line.includes('(') ? line.replace('(', '*255(') : null),
  negative: (line) => (line.includes('(') ? line.replace('(', '(-') : null),
  garbage: (line) => (line.includes('(') ? line.replace(/\([^)]*\)/, '(x1)') : null),
  noDot: (line) => (/\([^)]*\./.test(line) ? line.replace(/(\([^.)]*)\./, '$1') : null),
  longNumber: (line) => (line.includes('(') ? line.replace(/\([^)*]*/, '(123456789012345678.25') : null),
  cut: (line) => (line.endsWith(')') ? line.slice(0, -1) : null),
  noUnit: (line) => (/\*[A-Za-z0-9]+\)/.test(line) ? line.replace(/\*[A-Za-z0-9]+\)/g, ')') : null),
  noLetter: (line) => (/\(\d{12}[SW]\)/.test(line) ? line.replace(/\((\d{12})[SW]\)/g, '($1)') : null),
  swapGroups: (line) => {
    const m = /^([^(]*)(\([^)]*\))(\([^)]*\))(.*)$/.exec(line);
    return m ? `${m[1]}${m[3]}${m[2]}${m[4]}` : null;
  },
  channel0to2: swap('0-0:', '0-2:'),
  channel1to4: swap('0-1:', '0-4:'),
  group1: swap('1-0:', '1-1:'),
  kWhToWh: swap('*kWh)', '*Wh)'),
  kWhToMWh: swap('*kWh)', '*MWh)'),
  kWToW: swap('*kW)', '*W)'),
  kWToMW: swap('*kW)', '*MW)'),
  kWToKVA: swap('*kW)', '*kVA)'),
  VToKV: swap('*V)', '*kV)'),
  AToMA: swap('*A)', '*mA)'),
  m3ToGJ: swap('*m3)', '*GJ)'),
  m3ToKWh: swap('*m3)', '*kWh)'),
  r1ToR3: swap(':24.2.1(', ':24.2.3('),
};

/** The whole telegram changed: line ends, the header, what follows the `!`. */
const WHOLE_MUTATIONS: Record<string, (text: string) => string> = {
  lfOnly: (text) => text.replace(/\r\n/g, '\n'),
  noHeader: (text) => text.slice(text.indexOf('\n') + 1),
  noEnd: (text) => text.slice(0, text.indexOf('!')),
  reversedLines: (text) => {
    const lines = text.slice(0, text.indexOf('!')).split('\r\n');
    return `${[lines[0], ...lines.slice(1).reverse()].join('\r\n')}\r\n${text.slice(text.indexOf('!'))}`;
  },
};

/** For each line of a fixture, the hashes of the outputs of its variants, `name:hash` space-separated. */
function variantHashes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\r\n');
  const parse = (t: string) => shortHash(serialize([parseTelegram(t), parseTelegram(t, { country: 'be' })]));
  const whole: string[] = [];
  for (const [name, mutate] of Object.entries(WHOLE_MUTATIONS)) whole.push(`${name}:${parse(mutate(text))}`);
  out['(whole telegram)'] = whole.join(' ');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '' || line.startsWith('!')) continue;
    const hashes: string[] = [];
    for (const [name, mutate] of Object.entries(MUTATIONS)) {
      const changed = mutate(line);
      if (changed === null) continue;
      const variant = [...lines.slice(0, i), changed, ...lines.slice(i + 1)].join('\r\n');
      hashes.push(`${name}:${parse(variant)}`);
    }
    out[`${i} ${line}`] = hashes.join(' ');
  }
  return out;
}

describe('P1 parser golden outputs', () => {
  it('has fixtures to check', () => {
    expect(fixtureNames(P1_DIR).length).toBeGreaterThanOrEqual(13);
  });

  for (const name of fixtureNames(P1_DIR)) {
    it(`${name}: every telegram, detected and forced country`, () => {
      checkGolden(name.replace(/\.txt$/, '.json'), `${captureOutputs(readFileSync(join(P1_DIR, name)))}\n`);
    });
  }

  it.skipIf(!existsSync(SHARED_P1_DIR))('the shared fixtures give the same outputs as their copies here', () => {
    for (const name of fixtureNames(SHARED_P1_DIR)) {
      const golden = join(GOLDEN_DIR, name.replace(/\.txt$/, '.json'));
      expect(existsSync(golden), `${name} has no golden output (copy it to test/fixtures/p1)`).toBe(true);
      expect(`${captureOutputs(readFileSync(join(SHARED_P1_DIR, name)))}\n`).toBe(readFileSync(golden, 'utf8'));
    }
  });

  it('hand-written telegrams for the paths the fixtures do not take', () => {
    const out: Record<string, unknown> = {};
    for (const [name, text] of Object.entries(HAND_WRITTEN)) {
      out[name] = { detected: parseTelegram(text), be: parseTelegram(text, { country: 'be' }) };
      // The bytes entry point must agree with the text one.
      expect(serialize(parseTelegram(Buffer.from(text, 'latin1')))).toBe(serialize(parseTelegram(text)));
    }
    checkGolden('hand-written.json', `${serialize(out)}\n`);
  });

  it('variants of every fixture, one line changed at a time', () => {
    const out: Record<string, Record<string, string>> = {};
    for (const name of fixtureNames(P1_DIR)) {
      const text = readFileSync(join(P1_DIR, name), 'latin1');
      out[name] = variantHashes(text);
    }
    checkGolden('variants.json', `${JSON.stringify(out, null, 1)}\n`);
  });
});
