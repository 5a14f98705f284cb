/**
 * Which network rule applies to the home (the capacity answer's `network_rule`), in words, and the
 * figures of the rules other than the Flemish capacity tariff: a Walloon home's time-of-use bands
 * with their hours and network prices, a Brussels home's yearly capacity term by connection size.
 */
import { type I18n, type MessageKey, useI18n } from '../i18n/index.js';
import type { NetworkRule } from '../types.js';
import { bandName } from './cost-bands.js';

const RULE_TEXT: Record<NetworkRule['kind'], MessageKey> = {
  capacity_tariff: 'rule.capacity',
  time_of_use: 'rule.timeOfUse',
  connection_capacity: 'rule.connection',
  none: 'rule.none',
};

/** The capacity figures (quarters, monthly peaks, their yearly cost) belong to the capacity tariff alone. */
export function showsPeaks(rule: NetworkRule | null): boolean {
  return rule === null || rule.kind === 'capacity_tariff';
}

/** A band's hours: once when every day is alike, else weekdays and weekends. */
function hoursText(i: I18n, b: NonNullable<NetworkRule['bands']>[number]): string {
  const list = (h: string[]) => h.map((r) => r.replace('-', '–')).join(', ');
  if (list(b.weekdays) === list(b.weekends)) return i.t('rule.everyDay', { hours: list(b.weekdays) });
  const parts: string[] = [];
  if (b.weekdays.length > 0) parts.push(i.t('rule.weekdays', { hours: list(b.weekdays) }));
  if (b.weekends.length > 0) parts.push(i.t('rule.weekends', { hours: list(b.weekends) }));
  return parts.join('; ');
}

export function NetworkRuleCard({ rule }: { rule: NetworkRule | null }) {
  const i = useI18n();
  const { t } = i;
  const vat = rule?.vat_pct ?? 0;
  return (
    <div class="card rule" data-testid="cap-rule" data-rule={rule?.kind ?? 'no_tariff'}>
      <p data-testid="cap-rule-text">{t(rule ? RULE_TEXT[rule.kind] : 'rule.noTariff')}</p>
      {rule?.region && <p class="muted">{t('rule.region', { region: rule.region })}</p>}
      {rule?.kind === 'time_of_use' && rule.bands && rule.bands.length > 0 && (
        <div class="table-scroll">
          <table data-testid="cap-bands">
            <caption>{t('rule.bands')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('band.band')}</th>
                <th scope="col">{t('rule.hours')}</th>
                <th scope="col">{vat > 0 ? t('rule.priceExclVat', { vat: i.num(vat, 0) }) : t('rule.price')}</th>
              </tr>
            </thead>
            <tbody>
              {rule.bands.map((b) => (
                <tr key={b.band} data-band={b.band}>
                  <th scope="row">{bandName(i, b.band)}</th>
                  <td data-col="hours">{hoursText(i, b)}</td>
                  <td data-col="price">{i.eur(b.network_eur_per_kwh, 4)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rule?.kind === 'connection_capacity' && rule.connection && (
        <dl class="stats">
          <div class="stat">
            <dt>{t('rule.connectionTerm')}</dt>
            <dd>
              <span class="stat-value" data-testid="cap-connection">
                {i.eur(rule.connection.eur_per_year)}
              </span>
              <span class="stat-sub">
                {rule.connection.label}
                {vat > 0 && ` · ${t('rule.exclVat', { vat: i.num(vat, 0) })}`}
              </span>
            </dd>
          </div>
        </dl>
      )}
    </div>
  );
}
