/**
 * A simulated Fronius inverter: an HTTP server on loopback speaking the Solar API v1 paths the
 * driver reads, answering with recorded answers of real installations (recorded.ts; values of the
 * fixtures in test/fixtures/fronius). It serves those values, not the simulated home: Fronius'
 * own answers are the facts being tested (signs, nulls, a GEN24's missing E_Day).
 *
 * - `GET /solar_api/v1/GetPowerFlowRealtimeData.fcgi`;
 * - `GET /solar_api/v1/GetMeterRealtimeData.cgi?Scope=System` (or `Scope=Device&DeviceId=0`);
 * - `GET /solar_api/v1/GetInverterRealtimeData.cgi?Scope=Device&DeviceId=1&DataCollection=CommonInverterData`;
 * - anything else, and everything while `solarApi` is false, answers 404 as a GEN24 with its
 *   Solar API switched off does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen } from '../../lib/listen.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { SOLAR_API } from './fields.js';
import { FRONIUS_PROFILES, type FroniusProfile } from './recorded.js';

export interface FroniusSimulatorOptions {
  host: string;
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  /** Which recorded installation to serve (default gen24-storage). */
  profile?: FroniusProfile;
  /** Recorded answers to serve instead of a profile's (fixture replay); null answers 404. */
  answers?: RecordedAnswers;
  log?: Logger;
  /** Called for every request, with the server's clock (tests, benchmarks). */
  onRequest?: (req: { at: number; path: string }) => void;
}

export interface FroniusSimulator {
  port: number;
  /** Requests served so far. */
  readonly requests: number;
  /** Switches the Solar API on or off (off: every request answers 404). */
  setSolarApi(on: boolean): void;
  /** Serves another recorded installation from now on. */
  setProfile(profile: FroniusProfile): void;
  stop(): Promise<void>;
}

export interface RecordedAnswers {
  powerFlow: unknown;
  meter: unknown | null;
  inverter: unknown | null;
}

export const FRONIUS_PROFILE_NAMES = Object.keys(FRONIUS_PROFILES) as FroniusProfile[];

/** The recorded answer for a request, or null (404). */
export function answerFor(profile: FroniusProfile | RecordedAnswers, url: URL): unknown {
  const p = typeof profile === 'string' ? FRONIUS_PROFILES[profile] : profile;
  const q = url.searchParams;
  switch (url.pathname) {
    case `${SOLAR_API}/GetPowerFlowRealtimeData.fcgi`:
      return p.powerFlow;
    case `${SOLAR_API}/GetMeterRealtimeData.cgi`:
      return q.get('Scope') === 'System' || (q.get('Scope') === 'Device' && q.get('DeviceId') === '0') ? p.meter : null;
    case `${SOLAR_API}/GetInverterRealtimeData.cgi`:
      return q.get('Scope') === 'Device' &&
        q.get('DeviceId') === '1' &&
        (q.get('DataCollection') ?? 'CommonInverterData') === 'CommonInverterData'
        ? p.inverter
        : null;
    default:
      return null;
  }
}

export async function startFroniusSimulator(opts: FroniusSimulatorOptions): Promise<FroniusSimulator> {
  const log = opts.log ?? createLogger('fronius-sim');
  let profile: FroniusProfile = opts.profile ?? 'gen24-storage';
  let solarApi = true;
  let requests = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://fronius.invalid');
    opts.onRequest?.({ at: Date.now(), path: `${url.pathname}${url.search}` });
    const body = req.method === 'GET' && solarApi ? answerFor(opts.answers ?? profile, url) : null;
    if (body === null) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end(solarApi ? 'Not Found' : 'Solar API disabled by customer config');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  server.keepAliveTimeout = 5000;
  const port = await listen(server, opts.port, opts.host);
  log.info({ host: opts.host, port, profile }, 'Fronius Solar API simulator listening');
  return {
    port,
    get requests() {
      return requests;
    },
    setSolarApi(on) {
      solarApi = on;
    },
    setProfile(p) {
      profile = p;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
