/** The shell: sign-in, header (pages, language, theme), and the page of the address. */
import { Fragment } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, apiGet } from './api.js';
import { saveDevice, saveToken, takeCredentialsFromUrl } from './auth.js';
import { checkAccess, Login } from './components/login.js';
import { setTimeZone, TIME_ZONE } from './config.js';
import {
  createI18n,
  I18nContext,
  initialLang,
  LANG_NAMES,
  LANG_TAGS,
  LANGS,
  type Lang,
  type MessageKey,
  storeLang,
} from './i18n/index.js';
import { CapacityPage } from './pages/capacity.js';
import { ControlPage } from './pages/control.js';
import { DayPage } from './pages/day.js';
import { HistoryPage } from './pages/history.js';
import { LivePage } from './pages/live.js';
import { href, normaliseLegacyUrl, PAGES, type Page, useRoute } from './router.js';
import { type Session, SessionContext } from './session.js';
import { initialThemeChoice, storeThemeChoice, type ThemeChoice, ThemeContext, useTheme } from './theme.js';
import type { DeviceListAnswer } from './types.js';

normaliseLegacyUrl();
const creds = takeCredentialsFromUrl();

const NAV: Record<Page, MessageKey> = {
  live: 'nav.live',
  day: 'nav.day',
  history: 'nav.history',
  capacity: 'nav.capacity',
  control: 'nav.control',
};
const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = { auto: 'light', light: 'dark', dark: 'auto' };

export function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const [themeChoice, setThemeChoice] = useState<ThemeChoice>(initialThemeChoice);
  const [token, setToken] = useState<string | null>(creds.token);
  const [device, setDevice] = useState<string | null>(creds.urlDevice ?? creds.storedDevice);
  const [notice, setNotice] = useState<MessageKey | null>(null);
  const theme = useTheme(themeChoice);
  const i18n = createI18n(lang);
  const { t } = i18n;
  const route = useRoute();

  useEffect(() => {
    document.documentElement.lang = LANG_TAGS[lang];
  }, [lang]);
  useEffect(() => {
    document.title = `${t(NAV[route.page])} · ${t('app.name')}`;
  }, [route.page, lang]);

  const unauthorized = useCallback(() => {
    saveToken(null);
    setToken(null);
    setNotice('login.expired');
  }, []);

  // a token that came with a link but no device: check it once the device is known
  useEffect(() => {
    if (!token || !device) return;
    checkAccess(token, device).catch((err) => {
      if (err instanceof ApiError && err.kind === 'unauthorized') unauthorized();
    });
  }, []);

  // The server's time zone (days, quarters): asked once signed in; the pages are drawn again in it.
  const [tz, setTz] = useState(TIME_ZONE);
  useEffect(() => {
    if (!token) return;
    const ctl = new AbortController();
    apiGet<Partial<DeviceListAnswer>>(token, 'devices', {}, ctl.signal)
      .then((d) => {
        if (setTimeZone(d.timezone)) setTz(TIME_ZONE);
      })
      .catch(() => undefined); // an older server without the route: keep the default
    return () => ctl.abort();
  }, [token]);

  const session: Session | null = useMemo(
    () => (token && device ? { token, device, unauthorized } : null),
    [token, device, unauthorized],
  );

  const changeLang = (l: Lang) => {
    setLang(l);
    storeLang(l);
  };
  const cycleTheme = () => {
    const next = NEXT_THEME[themeChoice];
    setThemeChoice(next);
    storeThemeChoice(next);
  };
  const signOut = () => {
    saveToken(null);
    setToken(null);
    setNotice(null);
  };

  return (
    <I18nContext.Provider value={i18n}>
      <ThemeContext.Provider value={theme}>
        <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
          {t('skip.main')}
        </button>
        <header class="top">
          <div class="brand">
            <svg viewBox="0 0 16 16" width="22" height="22" aria-hidden="true">
              <circle cx="8" cy="8" r="7" fill="var(--c-pv)" />
              <path d="M8 8V1a7 7 0 0 1 7 7z" fill="var(--accent)" />
            </svg>
            <span class="brand-name">{t('app.name')}</span>
            {session && (
              <span class="device" title={t('device.label')} data-testid="device">
                <span class="sr-only">{t('device.label')}: </span>
                {session.device}
              </span>
            )}
          </div>
          <div class="controls">
            <label class="lang">
              <span class="sr-only">{t('settings.language')}</span>
              <select value={lang} onChange={(e) => changeLang(e.currentTarget.value as Lang)} data-testid="lang">
                {LANGS.map((l) => (
                  <option key={l} value={l} lang={LANG_TAGS[l]}>
                    {LANG_NAMES[l]}
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              class="icon-button"
              onClick={cycleTheme}
              aria-label={t('theme.toggle', { theme: t(`theme.${themeChoice}`) })}
              data-testid="theme"
            >
              <span aria-hidden="true">{themeChoice === 'auto' ? '◐' : themeChoice === 'dark' ? '☾' : '☀'}</span>
            </button>
            {session && (
              <button type="button" class="link-button" onClick={signOut}>
                {t('login.logout')}
              </button>
            )}
          </div>
          {session && (
            <nav class="tabs" aria-label={t('nav.main')}>
              {PAGES.map((p) => (
                <a key={p} href={href(p)} aria-current={route.page === p ? 'page' : undefined} data-testid={`nav-${p}`}>
                  {t(NAV[p])}
                </a>
              ))}
            </nav>
          )}
        </header>
        <main id="main" tabIndex={-1}>
          {!session ? (
            <Login
              initialDevice={device}
              notice={notice}
              onSignedIn={(tok, dev) => {
                saveToken(tok);
                saveDevice(dev);
                setToken(tok);
                setDevice(dev);
                setNotice(null);
              }}
            />
          ) : (
            <SessionContext.Provider value={session}>
              <Fragment key={tz}>
                {route.page === 'live' && <LivePage />}
                {route.page === 'day' && <DayPage route={route} />}
                {route.page === 'history' && <HistoryPage route={route} />}
                {route.page === 'capacity' && <CapacityPage />}
                {route.page === 'control' && <ControlPage />}
              </Fragment>
            </SessionContext.Provider>
          )}
        </main>
      </ThemeContext.Provider>
    </I18nContext.Provider>
  );
}
