/** The notice an off-grid home gets instead of grid energy, costs and the capacity tariff. */
import { useI18n } from '../i18n/index.js';

export function OffGridNote() {
  const { t } = useI18n();
  return (
    <div class="card note" role="note" data-testid="off-grid">
      <h2>{t('offgrid.title')}</h2>
      <p>{t('offgrid.text')}</p>
    </div>
  );
}
