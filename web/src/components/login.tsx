/** Sign-in: the API token (kept in localStorage) and, when the address did not name one, the device id. */
import { useState } from 'preact/hooks';
import { ApiError, apiGet } from '../api.js';
import { DEVICE_ID } from '../auth.js';
import { addDays, today } from '../dates.js';
import { type MessageKey, useI18n } from '../i18n/index.js';
import { errorText } from './status.js';

interface Props {
  initialDevice: string | null;
  notice: MessageKey | null;
  onSignedIn(token: string, device: string): void;
}

/** Finds the device to show when none was given: the server's device list, if it has that route. */
async function firstDevice(token: string): Promise<string | null> {
  try {
    const answer = await apiGet<unknown>(token, 'devices');
    const list = Array.isArray(answer) ? answer : (answer as { devices?: unknown })?.devices;
    if (!Array.isArray(list)) return null;
    for (const d of list) {
      const id = typeof d === 'string' ? d : (d as { device_id?: unknown })?.device_id;
      if (typeof id === 'string' && DEVICE_ID.test(id)) return id;
    }
  } catch (err) {
    if (err instanceof ApiError && err.kind === 'unauthorized') throw err;
  }
  return null;
}

/** Checks the token against the device: the history route answers 401 (bad token) or 404 (device not held). */
export async function checkAccess(token: string, device: string): Promise<void> {
  const d = today();
  await apiGet(token, `history/${encodeURIComponent(device)}`, { start: d, end: addDays(d, 1), resolution: 'daily' });
}

export function Login({ initialDevice, notice, onSignedIn }: Props) {
  const i = useI18n();
  const { t } = i;
  const [token, setToken] = useState('');
  const [device, setDevice] = useState(initialDevice ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const tok = token.trim();
    if (!tok) return;
    setBusy(true);
    setError(null);
    try {
      let dev = device.trim();
      if (!dev) dev = (await firstDevice(tok)) ?? '';
      if (!dev || !DEVICE_ID.test(dev)) {
        setError(t('login.deviceNeeded'));
        return;
      }
      await checkAccess(tok, dev);
      onSignedIn(tok, dev);
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'unauthorized') setError(t('login.refused'));
      else if (err instanceof ApiError && err.kind === 'not_found')
        setError(t('login.deviceUnknown', { device: device.trim() }));
      else setError(t('login.unreachable', { error: err instanceof Error ? errorText(i, err) : String(err) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="login card" aria-labelledby="login-h">
      <h1 id="login-h">{t('login.title')}</h1>
      {notice && (
        <p class="alert alert-danger" role="alert">
          {t(notice)}
        </p>
      )}
      <p>{t('login.intro')}</p>
      <form onSubmit={submit} data-testid="login-form">
        <label class="field">
          <span>{t('login.token')}</span>
          <input
            type="password"
            name="token"
            autocomplete="current-password"
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            data-testid="login-token"
          />
        </label>
        <label class="field">
          <span>{t('login.device')}</span>
          <input
            type="text"
            name="device"
            autocomplete="off"
            spellcheck={false}
            pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
            aria-describedby="login-device-hint"
            value={device}
            onInput={(e) => setDevice(e.currentTarget.value)}
            data-testid="login-device"
          />
          <small id="login-device-hint">{t('login.deviceHint')}</small>
        </label>
        {error && (
          <p class="alert alert-danger" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('login.checking') : t('login.submit')}
        </button>
      </form>
    </section>
  );
}
