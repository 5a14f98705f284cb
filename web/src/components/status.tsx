/** Loading and error states, and small shared pieces. */
import type { ComponentChildren } from 'preact';
import { ApiError } from '../api.js';
import { type I18n, useI18n } from '../i18n/index.js';

export function errorText(i: I18n, err: Error): string {
  if (err instanceof ApiError) {
    if (err.kind === 'timeout') return i.t('error.timeout');
    if (err.kind === 'network') return i.t('error.network');
    if (err.kind === 'not_found') return `${i.t('error.notFound')} (${err.message})`;
    return `${i.t('error.status', { status: err.status ?? 0 })}: ${err.message}`;
  }
  return err.message;
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p class="loading" role="status">
      {t('common.loading')}
    </p>
  );
}

export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  const i = useI18n();
  return (
    <div class="error-box" role="alert">
      <p>{i.t('common.error', { error: errorText(i, error) })}</p>
      {retry && (
        <button type="button" onClick={retry}>
          {i.t('common.retry')}
        </button>
      )}
    </div>
  );
}

export function Stat({
  label,
  value,
  sub,
  tone,
  testId,
}: {
  label: string;
  value: string;
  sub?: ComponentChildren;
  tone?: string;
  testId?: string;
}) {
  return (
    <div class={`stat${tone ? ` tone-${tone}` : ''}`}>
      <dt>{label}</dt>
      <dd>
        <span class="stat-value" data-testid={testId}>
          {value}
        </span>
        {sub && <span class="stat-sub">{sub}</span>}
      </dd>
    </div>
  );
}
