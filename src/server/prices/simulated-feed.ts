/**
 * A simulated Energy-Charts price feed on loopback, for `kwartier demo` (no network): it answers
 * `GET /price?bzn=…&start=YYYY-MM-DD&end=YYYY-MM-DD` in Energy-Charts' format with one price per
 * quarter-hour of the local days asked (92, 96 or 100 on DST days). The prices follow a day's shape
 * (dear mornings and evenings, cheap nights, a solar dip at noon, sometimes below zero) with a
 * deterministic day-to-day variation, and, like the market, a day is there only once published:
 * tomorrow from 13:00 in the zone.
 */
import { createServer, type Server } from 'node:http';

import { DateTime } from 'luxon';
import { DAY_MS, localDateStart, localDay, localDayStart, QUARTER_MS, wallClock } from '../../core/time/index.js';
import { listen } from '../../lib/listen.js';

export interface SimulatedPriceFeed {
  /** The base URL to give the feed (prices.base_url). */
  url: string;
  /** Requests answered. */
  requests(): number;
  stop(): Promise<void>;
}

/** The simulated price (€/MWh) of the quarter starting at `ms`. */
export function simulatedPrice(ms: number, timezone: string): number {
  const t = wallClock(ms, timezone);
  const h = t.hour + t.minute / 60;
  const dayNumber = Math.floor(localDayStart(ms, timezone) / DAY_MS);
  const daySwing = 25 * Math.sin(dayNumber * 1.7) + 10 * Math.sin(dayNumber * 0.45);
  const morning = 45 * Math.exp(-((h - 8) ** 2) / 3);
  const evening = 70 * Math.exp(-((h - 19) ** 2) / 4);
  const solar = -75 * Math.exp(-((h - 13.5) ** 2) / 6);
  const wiggle = 6 * Math.sin(ms / QUARTER_MS);
  return Math.round((70 + daySwing + morning + evening + solar + wiggle) * 100) / 100;
}

export async function startSimulatedPriceFeed(
  opts: { timezone?: string; host?: string; now?: () => number } = {},
): Promise<SimulatedPriceFeed> {
  const tz = opts.timezone ?? 'Europe/Brussels';
  const now = opts.now ?? Date.now;
  let count = 0;
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const start = DateTime.fromISO(u.searchParams.get('start') ?? '', { zone: tz });
    const end = DateTime.fromISO(u.searchParams.get('end') ?? u.searchParams.get('start') ?? '', { zone: tz });
    if (u.pathname !== '/price' || !start.isValid || !end.isValid || end < start) {
      res.writeHead(u.pathname === '/price' ? 422 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: 'give start and end as YYYY-MM-DD' }));
      return;
    }
    count++;
    const local = wallClock(now(), tz);
    const publishedUntil = localDateStart(local.year, local.month, local.day + (local.hour >= 13 ? 2 : 1), tz);
    const unix: number[] = [];
    const price: number[] = [];
    const until = Math.min(localDay(end.toMillis(), tz).end, publishedUntil);
    for (let t = localDayStart(start.toMillis(), tz); t < until; t += QUARTER_MS) {
      unix.push(t / 1000);
      price.push(simulatedPrice(t, tz));
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        license_info: 'simulated prices (kwartier demo)',
        unix_seconds: unix,
        price,
        unit: 'EUR / MWh',
        deprecated: false,
      }),
    );
  });
  const port = await listen(server, 0, opts.host ?? '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
