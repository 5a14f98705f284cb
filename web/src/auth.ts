/**
 * The API token and the device id: asked once, kept in localStorage. A link carrying
 * `#token=…&device=…` or `?token=…` signs in and the token is taken out of the address at once.
 */
import { STORAGE } from './config.js';

export interface Credentials {
  token: string | null;
  /** The device from the address (?device=), which wins over the stored one. */
  urlDevice: string | null;
  storedDevice: string | null;
}

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // storage unavailable: kept for this page only
  }
}

export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Reads the credentials, taking a token (and device) out of the address if one is there:
 * `/?token=T&device=D#/day`, `/#token=T&device=D`, `/#/live?token=T`.
 */
export function takeCredentialsFromUrl(): Credentials {
  const url = new URL(location.href);
  let token: string | null = null;
  let device: string | null = null;
  let changed = false;

  // the query string
  if (url.searchParams.has('token')) {
    token = url.searchParams.get('token');
    url.searchParams.delete('token');
    changed = true;
  }
  // the hash: "#token=…&device=…" or "#/page?token=…"
  const hash = url.hash.replace(/^#/, '');
  const q = hash.indexOf('?');
  const [route, query] = hash.startsWith('/')
    ? [hash.slice(0, q < 0 ? undefined : q), q < 0 ? '' : hash.slice(q + 1)]
    : ['', hash];
  const hp = new URLSearchParams(query);
  if (hp.has('token')) {
    token = hp.get('token');
    hp.delete('token');
    if (!route && hp.has('device')) {
      device = hp.get('device');
      hp.delete('device');
    }
    const rest = hp.toString();
    url.hash = `${route || '/live'}${rest ? `?${rest}` : ''}`;
    changed = true;
  }
  if (changed) history.replaceState(history.state, '', url.toString());
  if (token) write(STORAGE.token, token.trim());
  if (device && DEVICE_ID.test(device)) write(STORAGE.device, device);

  const urlDevice = url.searchParams.get('device') ?? new URLSearchParams(url.hash.split('?')[1] ?? '').get('device');
  return {
    token: read(STORAGE.token),
    urlDevice: urlDevice && DEVICE_ID.test(urlDevice) ? urlDevice : null,
    storedDevice: read(STORAGE.device),
  };
}

export function saveToken(token: string | null): void {
  write(STORAGE.token, token);
}

export function saveDevice(device: string | null): void {
  write(STORAGE.device, device);
}
