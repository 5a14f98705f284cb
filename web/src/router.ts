/**
 * Client-side routing in the address's hash: `#/live`, `#/day?date=2024-06-03`,
 * `#/history?period=month&date=2024-06-01`, `#/capacity`, `#/control`. `/?page=day&date=…` is accepted too and
 * rewritten to its hash form.
 */
import { useEffect, useState } from 'preact/hooks';

export type Page = 'live' | 'day' | 'history' | 'capacity' | 'control';
export const PAGES: readonly Page[] = ['live', 'day', 'history', 'capacity', 'control'];

export interface Route {
  page: Page;
  params: URLSearchParams;
}

function isPage(s: string | null | undefined): s is Page {
  return (PAGES as readonly (string | null | undefined)[]).includes(s);
}

export function parseRoute(hash: string = location.hash): Route {
  const h = hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  const name = q < 0 ? h : h.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  return { page: isPage(name) ? name : 'live', params };
}

export function href(page: Page, params: Record<string, string | undefined> = {}): string {
  const sp = new URLSearchParams();
  // a device named in the address stays there from page to page
  const device = parseRoute().params.get('device');
  if (device) sp.set('device', device);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) sp.set(k, v);
  const qs = sp.toString();
  return `#/${page}${qs ? `?${qs}` : ''}`;
}

export function navigate(page: Page, params: Record<string, string | undefined> = {}, replace = false): void {
  const target = href(page, params);
  if (replace) history.replaceState(history.state, '', target);
  else location.hash = target;
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** `/?page=day&date=…` → `/#/day?date=…`. */
export function normaliseLegacyUrl(): void {
  const url = new URL(location.href);
  const page = url.searchParams.get('page');
  if (!isPage(page)) return;
  url.searchParams.delete('page');
  const sp = new URLSearchParams();
  for (const key of ['date', 'period', 'res', 'metric']) {
    const v = url.searchParams.get(key);
    if (v !== null) {
      sp.set(key, v);
      url.searchParams.delete(key);
    }
  }
  const qs = sp.toString();
  url.hash = `/${page}${qs ? `?${qs}` : ''}`;
  history.replaceState(history.state, '', url.toString());
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute);
  useEffect(() => {
    const on = () => setRoute(parseRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
