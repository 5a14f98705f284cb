/**
 * The two feeds' answers parsed from stored documents (test/fixtures/prices, README there): real
 * ENTSO-E A44 documents (DE-LU quarter-hours with two classification positions and missing Points,
 * CH hours, the "no matching data" acknowledgement), a real Energy-Charts answer, and BE days with
 * a DST change built in the same formats.
 */
import { describe, expect, it } from 'vitest';
import { energyChartsUrl, parseEnergyCharts } from '../../../src/server/prices/energy-charts.js';
import { entsoeUrl, parseEntsoe } from '../../../src/server/prices/entsoe.js';
import { fixture } from './fake-feed.js';

const Q = 900_000;
const H = 3_600_000;
const t = (iso: string): number => Date.parse(iso);

describe('ENTSO-E A44', () => {
  it('a real quarter-hour day (DE-LU, 2025-10-31): position 1 wins over position 2', () => {
    const p = parseEntsoe(fixture('entsoe-de-lu-2025-10-31-pt15m.xml'));
    expect(p).toHaveLength(96);
    expect(p[0]).toEqual({ start: t('2025-10-30T23:00:00Z'), end: t('2025-10-30T23:15:00Z'), eurPerMwh: 102.81 });
    expect(p[19]!.eurPerMwh).toBe(84.61);
    expect(p[71]!.eurPerMwh).toBe(105.06);
    expect(p[95]).toEqual({ start: t('2025-10-31T22:45:00Z'), end: t('2025-10-31T23:00:00Z'), eurPerMwh: 42.37 });
    expect(p.every((x, i) => x.start === t('2025-10-30T23:00:00Z') + i * Q && x.end - x.start === Q)).toBe(true);
  });

  it('a missing Point carries the previous price forward (curve A03), as the market document means', () => {
    // The real series at position 2 alone: it has no Point 20 and no Point 72.
    const p = parseEntsoe(fixture('entsoe-de-lu-2025-10-31-pt15m-position2.xml'));
    expect(p).toHaveLength(96);
    expect(p.slice(18, 21).map((x) => x.eurPerMwh)).toEqual([80.5, 80.5, 84.04]);
    expect(p.slice(70, 73).map((x) => x.eurPerMwh)).toEqual([119.96, 119.96, 123.18]);
    expect(p[19]!.start).toBe(t('2025-10-30T23:00:00Z') + 19 * Q);
  });

  it('a real hourly document (CH, two days): 48 hours', () => {
    const p = parseEntsoe(fixture('entsoe-ch-2025-11-27-pt60m.xml'));
    expect(p).toHaveLength(48);
    expect(p[0]).toEqual({ start: t('2025-11-25T23:00:00Z'), end: t('2025-11-26T00:00:00Z'), eurPerMwh: 104.06 });
    expect(p[24]).toEqual({ start: t('2025-11-26T23:00:00Z'), end: t('2025-11-27T00:00:00Z'), eurPerMwh: 110.63 });
    expect(p[47]!.end - p[47]!.start).toBe(H);
  });

  it('the DST days of BE: 92 quarters on 2026-03-29 (a missing Point filled), 100 on 2025-10-26', () => {
    const spring = parseEntsoe(fixture('entsoe-be-2026-03-29-constructed.xml'));
    expect(spring).toHaveLength(92);
    expect(spring[0]!.start).toBe(t('2026-03-28T23:00:00Z'));
    expect(spring[91]!.end).toBe(t('2026-03-29T22:00:00Z'));
    expect(spring[8]!.eurPerMwh).toBe(spring[7]!.eurPerMwh); // Point 9 is missing
    const autumn = parseEntsoe(fixture('entsoe-be-2025-10-26-constructed.xml'));
    expect(autumn).toHaveLength(100);
    expect(autumn[99]!.end - autumn[0]!.start).toBe(25 * H);
  });

  it('"No matching data found" (reason 999) is no prices yet; another refusal and bad documents are errors', () => {
    expect(parseEntsoe(fixture('entsoe-acknowledgement-no-data.xml'))).toEqual([]);
    const refused = fixture('entsoe-acknowledgement-no-data.xml')
      .replace('<code>999</code>', '<code>401</code>')
      .replace('No matching data found', 'Unauthorized. Missing or invalid security token');
    expect(() => parseEntsoe(refused)).toThrow(/refused \(401\): Unauthorized/);
    expect(() => parseEntsoe('{"not": "xml"}')).toThrow(/entsoe: the answer is not XML/);
    expect(() => parseEntsoe('<html><body>busy</body></html>')).toThrow(/entsoe: the answer is neither/);
    const badRes = fixture('entsoe-ch-2025-11-27-pt60m.xml').replace('<resolution>PT60M', '<resolution>P1D');
    expect(() => parseEntsoe(badRes)).toThrow(/TimeSeries\[0\]\.Period\[0\]\.resolution: P1D/);
    const usd = fixture('entsoe-ch-2025-11-27-pt60m.xml').replace('<currency_Unit.name>EUR', '<currency_Unit.name>CHF');
    expect(() => parseEntsoe(usd)).toThrow(/currency CHF, not EUR/);
  });

  it('the request: A44, the zone twice, UTC minutes, the token', () => {
    const u = new URL(
      entsoeUrl(
        'https://web-api.tp.entsoe.eu/',
        '10YBE----------2',
        'tok',
        t('2026-03-28T23:00:00Z'),
        t('2026-03-29T22:00:00Z'),
      ),
    );
    expect(u.pathname).toBe('/api');
    expect(Object.fromEntries(u.searchParams)).toEqual({
      documentType: 'A44',
      in_Domain: '10YBE----------2',
      out_Domain: '10YBE----------2',
      periodStart: '202603282300',
      periodEnd: '202603292200',
      securityToken: 'tok',
    });
  });
});

describe('Energy-Charts', () => {
  it('a real answer (DE-LU, 2024-05-04, hourly): each price holds until the next timestamp', () => {
    const p = parseEnergyCharts(fixture('energy-charts-de-lu-2024-05-04.json'));
    expect(p).toHaveLength(24);
    expect(p[0]).toEqual({ start: 1714773600_000, end: 1714777200_000, eurPerMwh: 90.8 });
    expect(p[14]!.eurPerMwh).toBe(13.34);
    expect(p[23]).toEqual({ start: 1714856400_000, end: 1714860000_000, eurPerMwh: 83.6 });
  });

  it('the DST days of BE in quarter-hours: 92 and 100', () => {
    const spring = parseEnergyCharts(fixture('energy-charts-be-2026-03-29-constructed.json'));
    expect(spring).toHaveLength(92);
    expect(spring[91]!.end).toBe(t('2026-03-29T22:00:00Z'));
    expect(parseEnergyCharts(fixture('energy-charts-be-2025-10-26-constructed.json'))).toHaveLength(100);
  });

  it('a null price is a gap, not 0; a broken answer is an error naming what is wrong', () => {
    const doc = JSON.parse(fixture('energy-charts-be-2026-03-29-constructed.json'));
    doc.price[5] = null;
    const p = parseEnergyCharts(JSON.stringify(doc));
    expect(p).toHaveLength(91);
    expect(p.find((x) => x.start === t('2026-03-28T23:00:00Z') + 5 * Q)).toBeUndefined();
    expect(p[5]!.start).toBe(t('2026-03-28T23:00:00Z') + 6 * Q);
    expect(() => parseEnergyCharts('<html>')).toThrow(/energy-charts: the answer is not JSON/);
    expect(() => parseEnergyCharts('{"unix_seconds":[1,2],"price":[1]}')).toThrow(/2 entries, price 1/);
    expect(() => parseEnergyCharts('{"unix_seconds":[1,2],"price":[1,2],"unit":"EUR / kWh"}')).toThrow(/unit/);
  });

  it('the request: bzn and the local days', () => {
    expect(energyChartsUrl('https://api.energy-charts.info', 'BE', '2026-03-29', '2026-03-30')).toBe(
      'https://api.energy-charts.info/price?bzn=BE&start=2026-03-29&end=2026-03-30',
    );
  });
});
