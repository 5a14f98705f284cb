/** Fixed settings of the dashboard. */

/** The home's time zone: days, hours and quarters are shown in it (the server's default, Europe/Brussels). */
export const TIME_ZONE = 'Europe/Brussels';
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
/** Keys in localStorage. */
export const STORAGE = {
  token: 'kwartier.token',
  device: 'kwartier.device',
  lang: 'kwartier.lang',
  theme: 'kwartier.theme',
} as const;
