/**
 * The cost of a period per time-of-use band (day/night, Wallonia's peak/medium/eco…), from the
 * cost estimate's breakdown lines, grouped by their `band` and `kind` (never by their labels), and
 * the capacity part of a period (the capacity tariff, or Brussels' connection term).
 */
import { type I18n, type MessageKey, useI18n } from '../i18n/index.js';
import type { CostLine } from '../types.js';

export interface BandRow {
  band: string;
  /** kWh from the grid in the band (the import or network line's quantity). */
  importKwh: number;
  /** Amounts excl. VAT; null where the band has no such line. */
  energy: number | null;
  network: number | null;
  injection: number | null;
}

/** Known bands first, in the order of a day's importance; others as the tariff file names them. */
const BAND_ORDER = ['peak', 'medium', 'eco', 'day', 'night'];
const BAND_KEYS: Record<string, MessageKey> = {
  peak: 'band.peak',
  medium: 'band.medium',
  eco: 'band.eco',
  day: 'band.day',
  night: 'band.night',
};

export function bandName(i: I18n, band: string): string {
  const key = BAND_KEYS[band];
  return key ? i.t(key) : band;
}

const add = (a: number | null, b: number | null): number | null => (b === null ? a : (a ?? 0) + b);

/** Lines of one or several cost answers, per band; empty when no line has a band. */
export function bandRows(lines: readonly CostLine[]): BandRow[] {
  const rows = new Map<string, BandRow>();
  for (const l of lines) {
    // an older server's lines have no band: nothing to group
    const band = l.band ?? null;
    if (band === null || (l.kind !== 'import' && l.kind !== 'export' && l.kind !== 'network')) continue;
    const row = rows.get(band) ?? { band, importKwh: 0, energy: null, network: null, injection: null };
    if (l.kind === 'import') {
      row.energy = add(row.energy ?? 0, l.amount_eur);
      row.importKwh = Math.max(row.importKwh, l.quantity);
    } else if (l.kind === 'network') {
      row.network = add(row.network ?? 0, l.amount_eur);
      row.importKwh = Math.max(row.importKwh, l.quantity);
    } else row.injection = add(row.injection ?? 0, l.amount_eur);
    rows.set(band, row);
  }
  const rank = (b: string) => {
    const k = BAND_ORDER.indexOf(b);
    return k < 0 ? BAND_ORDER.length : k;
  };
  return [...rows.values()].sort((x, y) => rank(x.band) - rank(y.band) || x.band.localeCompare(y.band));
}

/** The capacity part of a period, excl. VAT: its capacity-tariff and connection-term lines (null: none). */
export function capacityPart(lines: readonly CostLine[]): { kind: 'capacity' | 'connection'; eur: number } | null {
  let eur: number | null = null;
  let kind: 'capacity' | 'connection' = 'capacity';
  for (const l of lines) {
    if ((l.kind === 'capacity' || l.kind === 'connection') && l.amount_eur !== null) {
      eur = (eur ?? 0) + l.amount_eur;
      if (l.kind === 'connection') kind = 'connection';
    }
  }
  return eur === null ? null : { kind, eur: Math.round(eur * 100) / 100 };
}

/** The table of bandRows; nothing when the lines have no bands (a single price, a dynamic price). */
export function CostBands({ lines, testId = 'band-costs' }: { lines: readonly CostLine[]; testId?: string }) {
  const i = useI18n();
  const { t } = i;
  const rows = bandRows(lines);
  if (rows.length === 0) return null;
  const has = (k: 'energy' | 'network' | 'injection') => rows.some((r) => r[k] !== null);
  const cols = (['energy', 'network', 'injection'] as const).filter(has);
  const label: Record<(typeof cols)[number], MessageKey> = {
    energy: 'band.energy',
    network: 'band.network',
    injection: 'band.injection',
  };
  const total = (r: BandRow) => [r.energy, r.network, r.injection].reduce<number | null>(add, null);
  return (
    <div class="card table-scroll band-costs" data-testid={testId}>
      <table>
        <caption>
          {t('band.title')}
          <span class="caption-note">{t('band.caption')}</span>
        </caption>
        <thead>
          <tr>
            <th scope="col">{t('band.band')}</th>
            <th scope="col">{t('band.kwh')}</th>
            {cols.map((c) => (
              <th key={c} scope="col">
                {t(label[c])}
              </th>
            ))}
            <th scope="col">{t('band.total')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.band} data-band={r.band}>
              <th scope="row">{bandName(i, r.band)}</th>
              <td data-col="kwh">{i.energy(r.importKwh)}</td>
              {cols.map((c) => (
                <td key={c} data-col={c}>
                  {i.eur(r[c])}
                </td>
              ))}
              <td data-col="total">{i.eur(total(r))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
