import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { loadEdgeConfig } from '../../src/edge/config.js';
import { loadServerConfig } from '../../src/server/config.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('edge config', () => {
  it('loads the shipped example with its defaults filled in', () => {
    const cfg = loadEdgeConfig('config/edge.example.yaml');
    expect(cfg.device_id).toBe('home-01');
    expect(cfg.dsmr?.tcp).toBe('127.0.0.1:2001');
    expect(cfg.dsmr?.baudrate).toBe(115200);
    expect(cfg.dsmr?.parity).toBe('none');
    expect(cfg.sungrow?.port).toBe(502);
    expect(cfg.sungrow?.poll_interval_s).toBe(5);
    expect(cfg.sungrow?.inter_register_delay_ms).toBe(20);
    expect(cfg.buffer?.max_age_days).toBe(7);
    expect(cfg.mqtt?.qos).toBe(1);
    expect(cfg.mqtt?.topic_prefix).toBe('energy');
  });

  it('names an unknown key, a bad value and a missing key by their path', () => {
    expect(
      errorOf(() => loadEdgeConfig(file('a.yaml', 'device_id: h\ndsmr: {tcp: "127.0.0.1:1", speed: 9}\n'))),
    ).toContain('dsmr.speed: unknown key');
    expect(errorOf(() => loadEdgeConfig(file('b.yaml', 'device_id: h\nsungrow: {ip: x, port: 70000}\n')))).toContain(
      'sungrow.port: must be <= 65535',
    );
    expect(errorOf(() => loadEdgeConfig(file('c.yaml', 'dsmr: {tcp: "127.0.0.1:1"}\n')))).toContain(
      'device_id: is required',
    );
    expect(
      errorOf(() => loadEdgeConfig(file('d.yaml', 'device_id: h\nhomewizard: {ip: x, api_version: v3}\n'))),
    ).toContain('homewizard.api_version: must be one of "v1", "v2"');
  });

  it('refuses two P1 sources, naming both', () => {
    const msg = errorOf(() =>
      loadEdgeConfig(file('e.yaml', 'device_id: h\ndsmr: {tcp: "127.0.0.1:1"}\nhomewizard: {ip: 127.0.0.1}\n')),
    );
    expect(msg).toContain('dsmr and homewizard are both P1 sources');
  });

  it('names the file for unreadable or non-YAML input', () => {
    expect(errorOf(() => loadEdgeConfig(join(dir, 'missing.yaml')))).toContain('missing.yaml: cannot read config file');
    expect(errorOf(() => loadEdgeConfig(file('f.yaml', 'device_id: [unclosed\n')))).toContain('not valid YAML');
    expect(
      errorOf(() => loadEdgeConfig(file('g.yaml', 'device_id: h\ntimezone: Mars/Olympus\ndsmr: {tcp: "a:1"}\n'))),
    ).toContain('timezone: unknown time zone');
  });
});

describe('server config', () => {
  it('loads the shipped example', () => {
    const cfg = loadServerConfig('config/server.example.yaml');
    expect(cfg.store.type).toBe('postgres');
    expect(cfg.api.host).toBe('127.0.0.1');
    expect(cfg.api.tokens[0]?.devices).toEqual(['home-01']);
    expect(cfg.devices['home-01']?.day_hours).toBe('7-22');
  });

  it('a token reads unless its scope says write; another scope is refused naming the key', () => {
    const store = 'store: {type: sqlite, path: /tmp/x.sqlite}\n';
    const tok = (extra: string) =>
      `${store}api: {tokens: [{name: a, token: 0123456789abcdef0123, devices: [h]${extra}}]}\n`;
    expect(loadServerConfig(file('t1.yaml', tok(''))).api.tokens[0]?.scope).toBe('read');
    expect(loadServerConfig(file('t2.yaml', tok(', scope: write'))).api.tokens[0]?.scope).toBe('write');
    expect(errorOf(() => loadServerConfig(file('t3.yaml', tok(', scope: admin'))))).toContain(
      'api.tokens[0].scope: must be read or write',
    );
  });

  it('listens on loopback by default and requires the store path', () => {
    const cfg = loadServerConfig(file('s1.yaml', 'store: {type: sqlite, path: /tmp/x.sqlite}\n'));
    expect(cfg.api.host).toBe('127.0.0.1');
    expect(cfg.broker.enabled).toBe(false);
    expect(errorOf(() => loadServerConfig(file('s2.yaml', 'store: {type: sqlite}\n')))).toContain(
      'store.path: is required',
    );
  });

  it('refuses an embedded broker beyond loopback without TLS, unless broker.insecure says so', () => {
    const store = 'store: {type: sqlite, path: /tmp/x.sqlite}\n';
    for (const host of ['0.0.0.0', '::', '192.0.2.10'])
      expect(
        errorOf(() => loadServerConfig(file('b1.yaml', `${store}broker: {enabled: true, host: '${host}'}\n`))),
      ).toMatch(/broker\.host: .* is not a loopback address and broker\.tls is not set: .*broker\.insecure: true/);
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost'])
      expect(loadServerConfig(file('b2.yaml', `${store}broker: {enabled: true, host: '${host}'}\n`)).broker.host).toBe(
        host,
      );
    const insecure = loadServerConfig(
      file('b3.yaml', `${store}broker: {enabled: true, host: 0.0.0.0, insecure: true}\n`),
    );
    expect(insecure.broker.insecure).toBe(true);
    expect(insecure.broker.max_connections_per_address).toBe(32);
  });

  it('prices: off by default, Energy-Charts for BE; a token for ENTSO-E; unknown keys and bad values named', () => {
    const store = 'store: {type: sqlite, path: /tmp/x.sqlite}\n';
    const cfg = loadServerConfig(file('p0.yaml', store));
    expect(cfg.prices).toEqual({ enabled: false, source: 'energy-charts', zone: 'BE', backfill_days: 35 });
    const on = loadServerConfig(
      file(
        'p1.yaml',
        `${store}prices: {enabled: true, source: entsoe, zone: NL, token: abc, base_url: 'https://x.example'}\n`,
      ),
    );
    expect(on.prices).toMatchObject({ source: 'entsoe', zone: 'NL', token: 'abc', base_url: 'https://x.example' });
    expect(
      errorOf(() => loadServerConfig(file('p2.yaml', `${store}prices: {enabled: true, source: entsoe}\n`))),
    ).toMatch(/p2\.yaml: prices\.token: is required for prices\.source entsoe/);
    expect(errorOf(() => loadServerConfig(file('p3.yaml', `${store}prices: {enabled: true, zones: BE}\n`)))).toContain(
      'prices.zones',
    );
    expect(errorOf(() => loadServerConfig(file('p4.yaml', `${store}prices: {zone: DE}\n`)))).toContain(
      'prices.zone: must be BE or NL',
    );
    expect(errorOf(() => loadServerConfig(file('p5.yaml', `${store}prices: {source: nordpool}\n`)))).toContain(
      'prices.source: must be energy-charts or entsoe',
    );
    expect(
      errorOf(() => loadServerConfig(file('p6.yaml', `${store}prices: {base_url: 'http://prices.example.com'}\n`))),
    ).toContain('prices.base_url: plain http is allowed only to a loopback address');
    expect(
      errorOf(() => loadServerConfig(file('p7.yaml', `${store}prices: {base_url: 'ftp://127.0.0.1'}\n`))),
    ).toContain('prices.base_url: must be an http or https URL');
    expect(
      loadServerConfig(file('p8.yaml', `${store}prices: {base_url: 'http://127.0.0.1:9000'}\n`)).prices.base_url,
    ).toBe('http://127.0.0.1:9000');
  });
});

describe('server config defaults inside per-device settings', () => {
  it('fills day_hours and the alert lead time for a device that names only its tariffs', () => {
    const cfg = loadServerConfig(
      file('s3.yaml', 'store: {type: sqlite, path: /tmp/x.sqlite}\ndevices:\n  home-9: {tariffs: t.yaml}\n'),
    );
    expect(cfg.devices['home-9']).toEqual({
      country: 'be',
      tariffs: 't.yaml',
      day_hours: '7-22',
      capacity_alert_lead_s: 300,
    });
  });
});
