/**
 * Period parsing for the cost and self-sufficiency endpoints: a name or a date → [start, end) in
 * local time, given "now" and a time zone.
 *
 *   today | yesterday | week (ISO week, Monday 00:00) | month | year
 *   YYYY-MM-DD (that local day) | YYYY-MM (that month) | YYYY (that year)
 *
 * Local days last 23, 24 or 25 hours; the boundaries are local midnights.
 */
import { DateTime } from 'luxon';
import { KwartierError } from '../errors.js';
import { assertZone, isoLocal } from './local-time.js';

export interface Period {
  /** The period as asked for. */
  period: string;
  start: number;
  end: number;
}

function invalid(spec: string): KwartierError {
  return new KwartierError(
    'invalid_period',
    `period: must be today, yesterday, week, month, year, YYYY-MM-DD, YYYY-MM or YYYY, got ${JSON.stringify(spec)}`,
  );
}

export function parsePeriod(spec: string, now: number, tz: string): Period {
  assertZone(tz);
  const n = DateTime.fromMillis(now, { zone: tz });
  let from: DateTime;
  let to: DateTime;
  switch (spec) {
    case 'today':
      from = n.startOf('day');
      to = from.plus({ days: 1 });
      break;
    case 'yesterday':
      to = n.startOf('day');
      from = to.minus({ days: 1 });
      break;
    case 'week':
      from = n.startOf('week');
      to = from.plus({ weeks: 1 });
      break;
    case 'month':
      from = n.startOf('month');
      to = from.plus({ months: 1 });
      break;
    case 'year':
      from = n.startOf('year');
      to = from.plus({ years: 1 });
      break;
    default: {
      const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(spec);
      if (!m) throw invalid(spec);
      const year = Number(m[1]);
      const month = m[2] === undefined ? undefined : Number(m[2]);
      const day = m[3] === undefined ? undefined : Number(m[3]);
      from = DateTime.fromObject({ year, month: month ?? 1, day: day ?? 1 }, { zone: tz });
      if (!from.isValid || from.month !== (month ?? 1) || from.day !== (day ?? 1)) throw invalid(spec);
      to = from.plus(day !== undefined ? { days: 1 } : month !== undefined ? { months: 1 } : { years: 1 });
    }
  }
  return { period: spec, start: from.toMillis(), end: to.toMillis() };
}

/** start/end of a period as ISO 8601 with the local offset. */
export function periodIso(p: Period, tz: string): { start: string; end: string } {
  return { start: isoLocal(p.start, tz), end: isoLocal(p.end, tz) };
}
