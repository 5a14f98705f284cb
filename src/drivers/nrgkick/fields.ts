/**
 * NRGkick Gen2 local JSON API ↔ snapshot fields, as data. The driver decodes with these tables; the
 * simulator answers in the same shape.
 *
 * Facts (docs/nrgkick.md; shared guide control.md §1.1, from DiniTech's "NRGkick Gen2 Local API
 * Documentation", © 2024 DiniTech, mirrored in andijakl/nrgkick-api):
 * - `GET /values`: `energy.total_charged_energy` (Wh, uint64) and `energy.charged_energy` (Wh, the
 *   most recent charge); `powerflow.total_active_power` (W, all phases), `powerflow.charging_current`
 *   ("max current signaled to EV", A); `general.status` a name (`STANDBY`, `CONNECTED`, `CHARGING`,
 *   `ERROR`, `WAKEUP`, `UNKNOWN`), or its code with `?raw` (1, 2, 3, 6, 7, 0).
 * - `GET /control`: `current_set` (A, 6.0 – rated current), `charge_pause` (0/1), `energy_limit`
 *   (Wh, 0 = none), `phase_count` (1–3). The same path with query parameters writes them and
 *   answers the values it took; a value it refuses answers 406 `{"Response": "Invalid …"}`.
 * A key that is missing or not a number stays null, never 0.
 */

export const INFO_PATH = '/info';
export const VALUES_PATH = '/values';
export const CONTROL_PATH = '/control';

/** `general.status` codes (raw mode) and their names. */
export const NRGKICK_STATUS: Readonly<Record<number, string>> = {
  0: 'UNKNOWN',
  1: 'STANDBY',
  2: 'CONNECTED',
  3: 'CHARGING',
  6: 'ERROR',
  7: 'WAKEUP',
};

/** The fields of an NRGkick reading: the snapshot's `ev_power_w`, and the device's own. */
export interface NrgkickFields {
  /** Charging power, W, + into the car (`powerflow.total_active_power`). */
  ev_power_w?: number | null;
  /** Energy of the most recent (or running) charge, kWh (`energy.charged_energy`). */
  ev_session_kwh?: number | null;
  /** Energy charged over the charger's life, kWh (`energy.total_charged_energy`). */
  ev_total_kwh?: number | null;
  /** `general.status` in lower case: standby, connected, charging, error, wakeup, unknown. */
  ev_state?: string | null;
  /** The current signaled to the car now, A (`powerflow.charging_current`). */
  ev_signaled_current_a?: number | null;
  /** The set current, A (`/control` current_set). */
  ev_current_set_a?: number | null;
  /** The set phase count, 1–3 (`/control` phase_count). */
  ev_phases?: number | null;
  /** Charging paused by a user or a controller: 1, else 0 (`/control` charge_pause). */
  ev_charge_pause?: number | null;
}

export interface ControlState {
  current_set: number | null;
  charge_pause: number | null;
  energy_limit: number | null;
  phase_count: number | null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function section(body: Record<string, unknown>, key: string): Record<string, unknown> {
  const s = body[key];
  return isObject(s) ? s : {};
}

/** Wh → kWh without binary noise (14187 Wh → 14.187). */
function kwh(wh: number | null): number | null {
  return wh === null ? null : Number((wh / 1000).toPrecision(15));
}

/** `general.status` as lower-case text (a name, or a raw code), null when absent or unknown. */
export function statusText(v: unknown): string | null {
  if (typeof v === 'string' && /^[A-Za-z_]{1,32}$/.test(v)) return v.toLowerCase();
  if (typeof v === 'number') return NRGKICK_STATUS[v]?.toLowerCase() ?? null;
  return null;
}

/** Throws when an answer is not the API's object (a body the poller counts as that path's failure). */
export function checkAnswer(body: unknown, what: string): Record<string, unknown> {
  if (!isObject(body)) throw new NrgkickAnswerError(`${what}: not a JSON object`);
  return body;
}

/** The fields of a `GET /values` answer. */
export function decodeValues(body: unknown): NrgkickFields {
  const b = checkAnswer(body, 'GET /values');
  const energy = section(b, 'energy');
  const flow = section(b, 'powerflow');
  const general = section(b, 'general');
  return {
    ev_power_w: num(flow.total_active_power),
    ev_session_kwh: kwh(num(energy.charged_energy)),
    ev_total_kwh: kwh(num(energy.total_charged_energy)),
    ev_state: statusText(general.status),
    ev_signaled_current_a: num(flow.charging_current),
  };
}

/** A `GET /control` answer (read, or the values a write took). */
export function decodeControl(body: unknown): ControlState {
  const b = checkAnswer(body, 'GET /control');
  return {
    current_set: num(b.current_set),
    charge_pause: num(b.charge_pause),
    energy_limit: num(b.energy_limit),
    phase_count: num(b.phase_count),
  };
}

/** The reading's fields of a control state. */
export function controlFields(c: ControlState): NrgkickFields {
  return { ev_current_set_a: c.current_set, ev_phases: c.phase_count, ev_charge_pause: c.charge_pause };
}

/** The write of one control as the query of `GET /control?…`. */
export function controlQuery(param: 'current_set' | 'charge_pause' | 'phase_count', value: number): string {
  return `${CONTROL_PATH}?${param}=${encodeURIComponent(String(value))}`;
}

export class NrgkickAnswerError extends Error {
  readonly code = 'nrgkick_answer';
  readonly retriable = true;
}
