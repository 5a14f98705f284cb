/** The cost estimate's lines as a table. */
import { useI18n } from '../i18n/index.js';
import type { CostAnswer } from '../types.js';

export function CostBreakdown({ cost }: { cost: CostAnswer }) {
  const i = useI18n();
  const { t } = i;
  if (cost.breakdown.length === 0) return null;
  return (
    <details class="card breakdown" data-testid="breakdown">
      <summary>{t('day.breakdown')}</summary>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('breakdown.label')}</th>
              <th scope="col">{t('breakdown.quantity')}</th>
              <th scope="col">{t('breakdown.unitPrice')}</th>
              <th scope="col">{t('breakdown.amount')}</th>
            </tr>
          </thead>
          <tbody>
            {cost.breakdown.map((l) => (
              <tr key={l.label}>
                <th scope="row">{l.label}</th>
                <td>
                  {i.num(l.quantity, 3)} {l.unit}
                </td>
                <td>{i.eur(l.unit_price_eur, 4)}</td>
                <td>{i.eur(l.amount_eur)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">{t('common.total')}</th>
              <td />
              <td />
              <td>{i.eur(cost.cost_eur)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
    </details>
  );
}
