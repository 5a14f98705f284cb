import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16Bytes, crc16String } from '../../../src/drivers/dsmr/crc.js';
import { type FrameEvent, TelegramFramer } from '../../../src/drivers/dsmr/framer.js';
import { parseTelegram } from '../../../src/drivers/dsmr/parser.js';
import { fixtureBytes } from '../../helpers/fixtures.js';
import { bodyOf, buildTelegram, hex4, refCrc16 } from './helpers.js';

const FIXTURES = [
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
];
const fixtures = FIXTURES.map((f) => fixtureBytes(`p1/${f}`).toString('latin1'));
const mt382 = fixtureBytes('p1/dsmr50-iskra-mt382.txt').toString('latin1');
const alt = fixtureBytes('p1/fluvius-v171-3phase-alt.txt').toString('latin1');

function run(chunks: (string | Buffer)[]): FrameEvent[] {
  const f = new TelegramFramer();
  const out: FrameEvent[] = [];
  for (const c of chunks) out.push(...f.push(c));
  out.push(...f.end());
  return out;
}

function telegrams(events: FrameEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'telegram' ? [e.telegram] : []));
}

function errors(events: FrameEvent[]): { code: string; message: string }[] {
  return events.flatMap((e) => (e.type === 'error' ? [{ code: e.error.code, message: e.error.message }] : []));
}

describe('CRC-16/ARC', () => {
  it('has the catalogue check value and matches every fixture trailer', () => {
    expect(crc16String('123456789')).toBe(0xbb3d);
    expect(crc16Bytes(Buffer.from('123456789'))).toBe(0xbb3d);
    for (const t of fixtures) {
      const body = bodyOf(t);
      const trailer = t.slice(t.indexOf('!') + 1).trim();
      expect(hex4(crc16Bytes(Buffer.from(body, 'latin1')))).toBe(trailer.padStart(4, '0'));
      expect(crc16String(body)).toBe(refCrc16(body));
    }
  });

  it('agrees with a bitwise CRC on any bytes and any length (the 4-byte unrolled loop and its tail)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(crc16Bytes(bytes)).toBe(refCrc16(bytes));
      }),
    );
  });
});

describe('TelegramFramer: CRC', () => {
  it('accepts every fixture, byte for byte', () => {
    for (const t of fixtures) {
      const ev = run([t]);
      expect(errors(ev)).toEqual([]);
      expect(telegrams(ev)).toEqual([t]);
    }
  });

  it('rejects a CRC mismatch, naming the expected and the received CRC', () => {
    const bad = mt382.replace('1-0:1.7.0(00.244*kW)', '1-0:1.7.0(00.245*kW)');
    const expected = hex4(refCrc16(bodyOf(bad)));
    const f = new TelegramFramer();
    const ev = [...f.push(bad), ...f.end()];
    expect(telegrams(ev)).toEqual([]);
    expect(errors(ev)).toHaveLength(1);
    const err = ev[0]?.type === 'error' ? ev[0].error : null;
    expect(err?.code).toBe('dsmr_crc');
    expect(err?.expectedCrc).toBe(expected);
    expect(err?.receivedCrc).toBe('6EEE');
    expect(err?.message).toContain(`expected ${expected}, received 6EEE`);
    expect(err?.message).toContain('/ISk5\\2MT382-1000');
    expect(f.stats.crcErrors).toBe(1);
    expect(f.stats.telegrams).toBe(0);
  });

  it('accepts an unpadded 3-digit CRC (the fixture and a built one)', () => {
    const warm = fixtures[FIXTURES.indexOf('dsmr50-warmtelink-heat-unpadded-crc.txt')] as string;
    expect(telegrams(run([warm]))).toEqual([warm]);
    // Find a telegram whose CRC has a leading zero and send it with 3 digits.
    let n = 0;
    let body = '';
    for (;;) {
      body = bodyOf(buildTelegram('XMX5LG', [`1-0:1.8.1(${String(n).padStart(6, '0')}.000*kWh)`]));
      if (refCrc16(body) < 0x1000) break;
      n++;
    }
    const three = `${body}${refCrc16(body).toString(16).toUpperCase()}\r\n`;
    expect(three.slice(three.indexOf('!') + 1).trim()).toHaveLength(3);
    expect(telegrams(run([three]))).toEqual([three]);
    expect(parseTelegram(three).energy_import_t1_kwh).toBe(n);
  });

  it('accepts a DSMR 2.2 telegram without CRC, but not a DSMR 4+/e-MUCS telegram that lost its CRC', () => {
    const v22 = buildTelegram('ISk5\\2MT382-1004', ['1-0:1.8.1(00001.001*kWh)', '1-0:1.7.0(0001.01*kW)'], 'none');
    const ev = run([v22]);
    expect(errors(ev)).toEqual([]);
    expect(telegrams(ev)).toEqual([v22]);
    expect(ev[0]?.type === 'telegram' && ev[0].crc).toBeNull();

    for (const t of [mt382, alt]) {
      const stripped = `${bodyOf(t)}\r\n`;
      const e2 = run([stripped]);
      expect(telegrams(e2)).toEqual([]);
      expect(errors(e2).map((e) => e.code)).toEqual(['dsmr_missing_crc']);
    }
  });

  it('refuses a telegram without CRC on a stream that carried CRCs, or one cut off after its "!"', () => {
    const v22 = buildTelegram('ISk5\\2MT382-1004', ['1-0:1.8.1(00001.001*kWh)'], 'none');
    const after = run([mt382, v22]);
    expect(telegrams(after)).toEqual([mt382]);
    expect(errors(after).map((e) => e.code)).toEqual(['dsmr_missing_crc']);
    const cut = run([v22.slice(0, -2)]);
    expect(telegrams(cut)).toEqual([]);
    expect(errors(cut).map((e) => e.code)).toEqual(['dsmr_missing_crc']);
  });

  it('does not take a stray "/" plus a lost CRC line for a legacy telegram (found by the property test)', () => {
    // dsmr42-kaifa-3phase-export with a ")" turned into "/" mid-telegram, cut right after the "!".
    const t = fixtures[FIXTURES.indexOf('dsmr42-kaifa-3phase-export.txt')] as string;
    const pos = t.indexOf('0-0:96.7.9(00001)') + 16;
    const damaged = `${t.slice(0, pos)}/${t.slice(pos + 1, t.indexOf('!') + 1)}`;
    const ev = run([damaged]);
    expect(telegrams(ev)).toEqual([]);
    expect(errors(ev).map((e) => e.code)).toEqual(['dsmr_incomplete', 'dsmr_missing_crc']);
  });

  it('rejects a malformed trailer', () => {
    for (const trailer of ['6EE?', '6eee', '6EEEE', 'XYZ']) {
      const t = `${bodyOf(mt382)}${trailer}\r\n`;
      const ev = run([t]);
      expect(telegrams(ev)).toEqual([]);
      expect(errors(ev).map((e) => e.code)).toEqual(['dsmr_trailer']);
    }
  });
});

describe('TelegramFramer: framing', () => {
  it('skips garbage before and between telegrams', () => {
    const ev = run([`\x00\xffnoise!12\r\n${mt382}garbage without a slash!AB\r\n\r\n${alt}trailing junk`]);
    expect(telegrams(ev)).toEqual([mt382, alt]);
    expect(errors(ev)).toEqual([]);
  });

  it('restarts at a new "/" when a telegram is cut short (a meter read mid-stream, a reconnect)', () => {
    const cut = mt382.slice(0, 300);
    const ev = run([cut, alt]);
    expect(telegrams(ev)).toEqual([alt]);
    expect(errors(ev).map((e) => e.code)).toEqual(['dsmr_incomplete']);
  });

  it('reassembles a telegram sent one byte at a time', () => {
    const bytes = Buffer.from(mt382 + alt, 'latin1');
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
    expect(telegrams(run(chunks))).toEqual([mt382, alt]);
  });

  it('reassembles telegrams split at random chunk sizes', () => {
    const stream = Buffer.from(`xx${mt382}${alt}${fixtures[3]}`, 'latin1');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 60 }), (sizes) => {
        const chunks: Buffer[] = [];
        let pos = 0;
        for (let i = 0; pos < stream.length; i++) {
          const n = sizes[i % sizes.length] as number;
          chunks.push(stream.subarray(pos, pos + n));
          pos += n;
        }
        expect(telegrams(run(chunks))).toEqual([mt382, alt, fixtures[3]]);
      }),
    );
  });

  it('emits two telegrams from one chunk', () => {
    const f = new TelegramFramer();
    const ev = f.push(Buffer.from(mt382 + alt, 'latin1'));
    expect(telegrams(ev)).toEqual([mt382, alt]);
    expect(f.pendingBytes).toBe(0);
  });

  it('completes a telegram at end of input when only its final CR LF is missing', () => {
    const noCrlf = mt382.slice(0, -2);
    expect(telegrams(run([noCrlf]))).toEqual([noCrlf]);
  });

  it('keeps memory bounded: bytes without "/" are never held, a "/" without "!" is dropped at the limit', () => {
    const f = new TelegramFramer({ maxTelegramBytes: 4096 });
    const junk = Buffer.alloc(100_000, 0x41);
    expect(f.push(junk)).toEqual([]);
    expect(f.pendingBytes).toBe(0);
    expect(f.stats.discardedBytes).toBe(100_000);
    const ev: FrameEvent[] = [];
    ev.push(...f.push('/'));
    for (let i = 0; i < 50; i++) {
      ev.push(...f.push(Buffer.alloc(1000, 0x42)));
      expect(f.pendingBytes).toBeLessThanOrEqual(4096 + 1000);
    }
    expect(errors(ev).map((e) => e.code)).toContain('dsmr_overflow');
    // And it still works afterwards.
    expect(telegrams(f.push(mt382))).toEqual([mt382]);
  });
});

type Mutation = { kind: 'flip' | 'delete' | 'insert'; pos: number; byte: number };

function mutate(t: string, muts: Mutation[]): string {
  const b = [...Buffer.from(t, 'latin1')];
  for (const m of muts) {
    const pos = m.pos % (b.length + (m.kind === 'insert' ? 1 : 0));
    if (m.kind === 'flip') b[pos] = ((b[pos] as number) ^ (m.byte || 1)) & 0xff;
    else if (m.kind === 'delete') b.splice(pos, 1);
    else b.splice(pos, 0, m.byte);
  }
  return Buffer.from(b).toString('latin1');
}

const mutationArb = fc.record({
  kind: fc.constantFrom<Mutation['kind']>('flip', 'delete', 'insert'),
  pos: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
});

function allEvents(input: string, chunk: number): FrameEvent[] {
  const f = new TelegramFramer();
  const out: FrameEvent[] = [];
  const bytes = Buffer.from(input, 'latin1');
  for (let i = 0; i < bytes.length; i += chunk) out.push(...f.push(bytes.subarray(i, i + chunk)));
  out.push(...f.end());
  return out;
}

describe('TelegramFramer: damaged input (property tests)', () => {
  it('a single changed byte inside a telegram always yields nothing and one CRC error', () => {
    fc.assert(
      fc.property(fc.nat(FIXTURES.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (fi, p, x) => {
        const t = fixtures[fi] as string;
        const bang = t.indexOf('!');
        const pos = 1 + (p % (bang - 1)); // strictly between '/' and '!'
        const old = t.charCodeAt(pos);
        const now = old ^ x;
        fc.pre(now !== 0x2f && now !== 0x21); // a new '/' or '!' changes the framing, tested below
        const damaged = t.slice(0, pos) + String.fromCharCode(now) + t.slice(pos + 1);
        const ev = allEvents(damaged, 64);
        expect(telegrams(ev)).toEqual([]);
        expect(errors(ev).map((e) => e.code)).toEqual(['dsmr_crc']);
      }),
      { numRuns: 500 },
    );
  });

  it('mutated and truncated telegrams never throw and never yield anything but a telegram whose CRC holds', () => {
    fc.assert(
      fc.property(
        fc.nat(FIXTURES.length - 1),
        fc.array(mutationArb, { minLength: 0, maxLength: 3 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.integer({ min: 1, max: 300 }),
        (fi, muts, cut, chunk) => {
          const original = fixtures[fi] as string;
          let input = mutate(original, muts);
          if (cut !== undefined) input = input.slice(0, cut % (input.length + 1));
          const ev = allEvents(input, chunk);
          for (const e of ev) {
            if (e.type !== 'telegram') continue;
            const body = bodyOf(e.telegram);
            if (body === bodyOf(original)) continue; // byte-identical: fine (e.g. the mutation hit the tail)
            // Anything else must be a genuine CRC match (a 1-in-65536 coincidence), never an unchecked frame.
            expect(e.crc).not.toBeNull();
            expect(refCrc16(body)).toBe(e.crc);
          }
          for (const e of ev) if (e.type === 'telegram') expect(() => parseTelegram(e.telegram)).not.toThrow();
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a strict prefix of a telegram yields nothing, unless only its final CR/LF is cut', () => {
    fc.assert(
      fc.property(fc.nat(FIXTURES.length - 1), fc.nat(), (fi, n) => {
        const t = fixtures[fi] as string;
        const cut = n % t.length;
        const got = telegrams(allEvents(t.slice(0, cut), 50));
        if (cut >= t.length - 2) expect(got.map(bodyOf)).toEqual([bodyOf(t)]);
        else expect(got).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it('the parser never throws on mutated telegrams (CRC not checked)', () => {
    fc.assert(
      fc.property(fc.nat(FIXTURES.length - 1), fc.array(mutationArb, { maxLength: 8 }), (fi, muts) => {
        const t = parseTelegram(mutate(fixtures[fi] as string, muts));
        expect(typeof t.country).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });
});
