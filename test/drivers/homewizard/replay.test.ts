/**
 * Replay: the fixture JSON served by a real HTTP(S) server on 127.0.0.1; the driver polls it and emits
 * the mapped reading.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulatedCertificates } from '../../../src/drivers/homewizard/sim-certificates.js';
import { createHomeWizardSource, type HomeWizardConfigInput } from '../../../src/drivers/homewizard/source.js';
import { fixtureJson } from '../../helpers/fixtures.js';
import { runSource } from './helpers.js';

interface Served {
  port: number;
  hits: Array<{ path: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** A route's answer with a status other than 200. */
class Answer {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}
type Route = Answer | unknown;

/** A plain HTTP(S) server answering fixed JSON per path (404 otherwise). */
async function serve(routes: Record<string, Route>, tls?: { key: string; cert: string }): Promise<Served> {
  const hits: Served['hits'] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = req.url ?? '/';
    hits.push({ path, headers: req.headers });
    const r = routes[path];
    const answer =
      r === undefined ? new Answer(404, { error: 'request:not-found' }) : r instanceof Answer ? r : new Answer(200, r);
    res.writeHead(answer.status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

const start = (cfg: HomeWizardConfigInput) => runSource(cfg, cleanups);

const hw = (name: string) => fixtureJson(`homewizard/${name}`);

describe('HomeWizard v1 replay over HTTP', () => {
  it('GET /api once, then polls /api/v1/data and emits the mapped reading', async () => {
    const srv = await serve({
      '/api': hw('v1-api-device-hwe-p1.json'),
      '/api/v1/data': hw('v1-data-hwe-p1-3phase-external.json'),
    });
    cleanups.push(srv.close);
    const s = start({ ip: '127.0.0.1', port: srv.port, poll_interval_s: 0.5 });
    const r1 = await s.next();
    expect(r1.source).toBe('homewizard');
    expect(r1.fields).toMatchObject({
      country: 'be',
      grid_power_w: -543,
      grid_import_t1_kwh: 10830.511,
      grid_import_t2_kwh: 2948.827,
      grid_tariff: 2,
      power_l1_w: -676,
      gas_total_m3: 2569.646,
      grid_avg_15m_w: 123,
      grid_monthly_peak_w: 1111,
      grid_monthly_peak_timestamp: '2023-01-01T07:00:10Z',
    });
    await s.next(); // it keeps polling
    expect(s.source.kind).toBe('p1');
    expect(s.source.intervalMs).toBe(500);
    expect(s.source.deviceInfo?.serial).toBe('3c39e7aabbcc');
    expect(s.states[0]?.[0]).toBe('connecting');
    expect(s.states).toContainEqual(['connected', 'rest']);
    expect(srv.hits.filter((h) => h.path === '/api')).toHaveLength(1);
    expect(srv.hits.filter((h) => h.path === '/api/v1/data').length).toBeGreaterThanOrEqual(2);
  });

  it('single phase: absent phases are absent, not 0; country from config', async () => {
    const srv = await serve({
      '/api': hw('v1-api-device-hwe-p1.json'),
      '/api/v1/data': hw('v1-data-hwe-p1-1phase.json'),
    });
    cleanups.push(srv.close);
    const s = start({ ip: '127.0.0.1', port: srv.port, country: 'nl' });
    const r = await s.next();
    expect(r.fields.country).toBe('nl');
    expect(r.fields.power_l1_w).toBe(-676);
    expect(r.fields).not.toHaveProperty('power_l2_w');
    expect(r.fields).not.toHaveProperty('power_l3_w');
    expect(r.fields).not.toHaveProperty('grid_tariff');
  });

  it('the local API switched off (403) is reported as such', async () => {
    const srv = await serve({
      '/api': new Answer(403, { error: { id: 202, description: 'API not enabled' } }),
    });
    cleanups.push(srv.close);
    const s = start({ ip: '127.0.0.1', port: srv.port });
    expect(await s.state('lost')).toMatch(/local API is disabled.*HomeWizard Energy app/);
    expect(s.readings).toHaveLength(0);
  });

  it('refuses a device that is not a P1 meter (kWh meter)', async () => {
    const srv = await serve({
      '/api': {
        product_type: 'HWE-KWH3',
        product_name: 'kWh meter',
        serial: '5c2fafaabbcc',
        firmware_version: '4.19',
        api_version: 'v1',
      },
      '/api/v1/data': hw('v2-measurement-hwe-kwh3.json'),
    });
    cleanups.push(srv.close);
    const s = start({ ip: '127.0.0.1', port: srv.port });
    expect(await s.state('lost')).toMatch(/HWE-KWH3.*not a P1 meter/);
    expect(s.readings).toHaveLength(0);
    expect(srv.hits.some((h) => h.path === '/api/v1/data')).toBe(false);
  });

  it('a measurement without meter data is an error, never a reading of zeros', async () => {
    const srv = await serve({
      '/api': hw('v1-api-device-hwe-p1.json'),
      '/api/v1/data': { wifi_ssid: 'x', wifi_strength: 80 },
    });
    cleanups.push(srv.close);
    const s = start({ ip: '127.0.0.1', port: srv.port });
    expect(await s.state('lost')).toMatch(/no import counter/);
    expect(s.readings).toHaveLength(0);
  });
});

describe('HomeWizard v2 replay over HTTPS (REST)', () => {
  const identity = 'appliance/p1dongle/5c2fafaabbcc';
  const token = '0123456789ABCDEF0123456789ABCDEF';

  async function v2Server(measurement: unknown, apiStatus = 200) {
    const certs = await createSimulatedCertificates(identity);
    const srv = await serve(
      {
        '/api':
          apiStatus === 200 ? hw('v2-api-device-hwe-p1.json') : new Answer(apiStatus, { error: 'user:unauthorized' }),
        '/api/measurement': measurement,
      },
      { key: certs.keyPem, cert: certs.certPem },
    );
    cleanups.push(srv.close);
    return { srv, ca: certs.caCertPem };
  }

  it('sends the token and X-Api-Version, learns the identity, maps the measurement', async () => {
    const { srv, ca } = await v2Server(hw('v2-measurement-hwe-p1-3phase-gas-water.json'));
    const s = start({ ip: '127.0.0.1', port: srv.port, api_version: 'v2', token, ca_cert: ca, transport: 'rest' });
    const r = await s.next();
    expect(r.fields).toEqual({
      country: 'be',
      meter_timestamp: '2024-06-28T12:12:34Z',
      grid_power_w: -543,
      grid_import_t1_kwh: 10830.511,
      grid_import_t2_kwh: 2948.827,
      grid_export_t1_kwh: 0,
      grid_export_t2_kwh: 0,
      grid_avg_15m_w: 123,
      grid_monthly_peak_w: 1111,
      grid_monthly_peak_timestamp: '2024-06-04T08:11:22Z',
      grid_tariff: 2,
      power_l1_w: -676,
      power_l2_w: 133,
      power_l3_w: 0,
      current_l1_a: -4,
      current_l2_a: 2,
      current_l3_a: 0,
      gas_total_m3: 2569.646,
      water_total_m3: 123.456,
    });
    expect(s.source.tlsIdentity).toBe(identity);
    for (const h of srv.hits) {
      expect(h.headers.authorization).toBe(`Bearer ${token}`);
      expect(h.headers['x-api-version']).toBe('2');
    }
  });

  it('1-phase v2 measurement', async () => {
    const { srv, ca } = await v2Server(hw('v2-measurement-hwe-p1-1phase.json'));
    const s = start({ ip: '127.0.0.1', port: srv.port, api_version: 'v2', token, ca_cert: ca, transport: 'rest' });
    const r = await s.next();
    expect(r.fields.grid_power_w).toBe(-678);
    expect(r.fields.grid_export_t1_kwh).toBe(1285.951);
    expect(r.fields).not.toHaveProperty('power_l2_w');
    expect(r.fields).not.toHaveProperty('gas_total_m3');
  });

  it('401: names the token problem and backs off instead of hammering', async () => {
    const { srv, ca } = await v2Server(hw('v2-measurement-hwe-p1-1phase.json'), 401);
    const s = start({ ip: '127.0.0.1', port: srv.port, api_version: 'v2', token, ca_cert: ca, transport: 'rest' });
    const why = await s.state('lost');
    expect(why).toMatch(/401 user:unauthorized/);
    expect(why).toMatch(/homewizard\.token/);
    expect(why).toMatch(/kwartier homewizard pair 127\.0\.0\.1/);
    const before = srv.hits.length;
    await new Promise((r) => setTimeout(r, 1500));
    // the slow backoff waits at least 15 s before asking again
    expect(srv.hits.length).toBe(before);
    expect(s.readings).toHaveLength(0);
  });

  it('v2 without a token is a config error naming the key', () => {
    expect(() => createHomeWizardSource({ ip: '127.0.0.1', api_version: 'v2' })).toThrow(/homewizard\.token: required/);
  });
});
