import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { P1_TELEGRAM_KEYS } from '../../../src/drivers/dsmr/telegram.js';
import { runCli } from '../../helpers/cli.js';
import { fixtureBytes, fixturePath } from '../../helpers/fixtures.js';
import { bodyOf, hex4, refCrc16 } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-dsmr-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mt382 = fixtureBytes('p1/dsmr50-iskra-mt382.txt');
const alt = fixtureBytes('p1/fluvius-v171-3phase-alt.txt');
const kaifa = fixtureBytes('p1/dsmr42-kaifa.txt');

function lines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('kwartier dsmr parse', () => {
  it('prints one JSON line with the exact keys for a telegram file', async () => {
    const r = await runCli(['dsmr', 'parse', fixturePath('p1/fluvius-v171-3phase-alt.txt')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out).toHaveLength(1);
    const t = out[0] as Record<string, unknown>;
    expect(Object.keys(t).slice(0, P1_TELEGRAM_KEYS.length)).toEqual([...P1_TELEGRAM_KEYS]);
    expect(t).toMatchObject({
      meter_timestamp: '2023-11-02T11:15:48Z',
      country: 'be',
      tariff_indicator: 1,
      energy_import_t1_kwh: 301.548,
      power_import_w: 338,
      avg_demand_15m_w: 52,
      month_peak_w: 3064,
      gas_m3: 92.287,
      water_m3: 8.579,
    });
  });

  it('prints the good telegrams around a bad-CRC one, names the CRCs on stderr, and exits 2', async () => {
    const bad = Buffer.from(mt382.toString('latin1').replace('(00.244*kW)', '(00.245*kW)'), 'latin1');
    const expected = hex4(refCrc16(bodyOf(bad.toString('latin1'))));
    const file = join(dir, 'mixed.txt');
    writeFileSync(file, Buffer.concat([alt, bad, kaifa]));
    const r = await runCli(['dsmr', 'parse', file]);
    expect(r.code).toBe(2);
    const out = lines(r.stdout);
    expect(out.map((t) => t.meter_timestamp)).toEqual(['2023-11-02T11:15:48Z', '2016-11-13T19:57:57Z']);
    expect(r.stderr).toContain(`expected ${expected}, received 6EEE`);
    expect(r.stderr).toContain('2 telegram(s) parsed, 1 rejected');
  });

  it('reads several concatenated telegrams from stdin ("-") and with no argument', async () => {
    const input = Buffer.concat([mt382, Buffer.from('line noise\r\n'), alt, kaifa]);
    for (const args of [
      ['dsmr', 'parse', '-'],
      ['dsmr', 'parse'],
    ]) {
      const r = await runCli(args, { input });
      expect(r.code).toBe(0);
      expect(lines(r.stdout).map((t) => [t.meter_timestamp, t.country])).toEqual([
        ['2017-01-02T18:20:02Z', 'nl'],
        ['2023-11-02T11:15:48Z', 'be'],
        ['2016-11-13T19:57:57Z', 'nl'],
      ]);
    }
  });

  it('--country nl overrides the detection', async () => {
    const r = await runCli(['dsmr', 'parse', '-', '--country', 'nl'], { input: alt });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]?.country).toBe('nl');
  });

  it('fails clearly on a missing file, an empty input and a bad --country', async () => {
    const missing = await runCli(['dsmr', 'parse', join(dir, 'nope.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.txt: no such file');
    const empty = await runCli(['dsmr', 'parse', '-'], { input: 'no telegram here\n' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no telegram found');
    const country = await runCli(['dsmr', 'parse', '--country', 'de'], { input: alt });
    expect(country.code).toBe(2);
    expect(country.stderr).toContain('--country must be be or nl');
  });

  it('has --help with examples', async () => {
    const r = await runCli(['dsmr', 'parse', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: kwartier dsmr parse [FILE|-] [--country be|nl]');
    expect(r.stdout).toContain('Examples:');
  });
});
