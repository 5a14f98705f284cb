/** Fixed settings of the dashboard. */

/** Keys in localStorage. */
export const STORAGE = {
  token: 'kwartier.token',
  device: 'kwartier.device',
  lang: 'kwartier.lang',
  theme: 'kwartier.theme',
  timeZone: 'kwartier.timezone',
} as const;

/** Is `tz` an IANA time zone this browser knows? */
export function isTimeZone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || tz.length === 0) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function storedTimeZone(): string | null {
  try {
    const tz = localStorage.getItem(STORAGE.timeZone);
    return isTimeZone(tz) ? tz : null;
  } catch {
    return null;
  }
}

/**
 * The home's time zone: days, hours and quarters are shown in it. The server's (`timezone` of its
 * config, from GET /api/v1/devices after sign-in; setTimeZone), remembered for the next visit;
 * Europe/Brussels, the server's default, until then. A live binding: readers see the new value.
 */
export let TIME_ZONE = storedTimeZone() ?? 'Europe/Brussels';

/** Takes the server's time zone; true when it changed (the pages must be drawn again). */
export function setTimeZone(tz: unknown): boolean {
  if (!isTimeZone(tz) || tz === TIME_ZONE) return false;
  TIME_ZONE = tz;
  try {
    localStorage.setItem(STORAGE.timeZone, tz);
  } catch {
    // private mode: kept for this visit only
  }
  return true;
}
/** A reading older than this (seconds) is marked stale. */
export const STALE_AFTER_S = 10;
/** Timeout of one REST call (ms). */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Poll interval of the realtime fallback when the WebSocket is down (ms). */
export const POLL_INTERVAL_MS = 2_000;
/** A WebSocket that has said nothing for this long is considered dead and reopened (ms). */
export const WS_SILENCE_MS = 15_000;
/** Capacity-tariff page refresh interval (ms). */
export const CAPACITY_REFRESH_MS = 5_000;
