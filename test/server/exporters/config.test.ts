/**
 * The `exporters:` section of the server config (src/server/exporters/config.ts): off by default,
 * old configs load unchanged, unknown keys and contradictions are errors naming the key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/lib/log.js';
import { loadServerConfig } from '../../../src/server/config.js';
import { createExporters } from '../../../src/server/exporters/index.js';
import { makeStore } from '../../mqtt/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-exporters-config-'));
const STORE = 'store: {type: sqlite, path: /tmp/x.sqlite}\n';
let n = 0;
function load(yaml: string) {
  const p = join(dir, `s${n++}.yaml`);
  writeFileSync(p, STORE + yaml);
  return loadServerConfig(p);
}
function errorOf(yaml: string): string {
  try {
    load(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('exporters config', () => {
  it('is off by default: a config without the section (every earlier one) loads and exports nothing', async () => {
    const cfg = load('');
    // Only the per-home Prometheus series' settings, off (per_home false), are filled in.
    const off = { prometheus: { per_home: false, max_homes: 10_000, expire_after_s: 86_400 } };
    expect(cfg.exporters).toEqual(off);
    const example = loadServerConfig('config/server.example.yaml');
    expect(example.exporters).toEqual(off);
    const store = await makeStore('sqlite');
    expect(createExporters(cfg, { store: store.store, log: silentLogger() })).toEqual([]);
    await store.dispose();
  });

  it('fills the defaults of InfluxDB v1, InfluxDB v2 and PVOutput', () => {
    const v1 = load('exporters:\n  influxdb: {url: "http://127.0.0.1:8086", database: energy}\n');
    expect(v1.exporters.influxdb).toMatchObject({
      enabled: true,
      measurement: 'kwartier',
      batch_size: 5000,
      flush_interval_ms: 1000,
      max_buffered_points: 50_000,
      timeout_s: 10,
    });
    const v2 = load('exporters:\n  influxdb: {url: "https://influx:8086", bucket: energy, org: home, token: t0k}\n');
    expect(v2.exporters.influxdb?.bucket).toBe('energy');
    const pvo = load('exporters:\n  pvoutput:\n    systems: [{device_id: home-01, system_id: 12345, api_key: abc}]\n');
    expect(pvo.exporters.pvoutput).toMatchObject({
      url: 'https://pvoutput.org',
      interval_minutes: 5,
      rate_limit_per_hour: 60,
      batch_size: 30,
      max_age_days: 14,
    });
  });

  it('names the key of every mistake', () => {
    expect(errorOf('exporters:\n  graphite: {}\n')).toMatch(/exporters\.graphite: unknown key/);
    expect(errorOf('exporters:\n  influxdb: {url: "http://x", database: d, tokn: t}\n')).toMatch(
      /exporters\.influxdb\.tokn: unknown key/,
    );
    expect(errorOf('exporters:\n  influxdb: {database: d}\n')).toMatch(/exporters\.influxdb\.url: is required/);
    expect(errorOf('exporters:\n  influxdb: {url: "http://x"}\n')).toMatch(
      /exporters\.influxdb: set database .* or bucket and org/,
    );
    expect(errorOf('exporters:\n  influxdb: {url: "http://x", database: d, bucket: b, org: o}\n')).toMatch(
      /exporters\.influxdb\.bucket: set either database/,
    );
    expect(errorOf('exporters:\n  influxdb: {url: "http://x", bucket: b}\n')).toMatch(
      /exporters\.influxdb\.org: is required/,
    );
    expect(errorOf('exporters:\n  influxdb: {url: "ftp://x", database: d}\n')).toMatch(
      /exporters\.influxdb\.url: must be an http/,
    );
    expect(errorOf('exporters:\n  influxdb: {url: "http://x", bucket: b, org: o, username: u}\n')).toMatch(
      /exporters\.influxdb\.username: is for the v1 API/,
    );
    expect(errorOf('exporters:\n  influxdb: {url: "http://x", database: d, password: p}\n')).toMatch(
      /exporters\.influxdb\.password: needs exporters\.influxdb\.username/,
    );
    expect(errorOf('exporters:\n  pvoutput: {systems: []}\n')).toMatch(/exporters\.pvoutput\.systems/);
    expect(
      errorOf('exporters:\n  pvoutput: {interval_minutes: 7, systems: [{device_id: a, system_id: 1, api_key: k}]}\n'),
    ).toMatch(/exporters\.pvoutput\.interval_minutes: must be one of 5, 10, 15/);
    expect(
      errorOf(
        'exporters:\n  pvoutput:\n    systems:\n      - {device_id: a, system_id: 1, api_key: k}\n      - {device_id: a, system_id: 2, api_key: k}\n',
      ),
    ).toMatch(/exporters\.pvoutput\.systems\[1\]\.device_id: "a" is already systems\[0\]'s/);
    expect(errorOf('exporters:\n  pvoutput:\n    systems: [{device_id: a, system_id: 1, apikey: k}]\n')).toMatch(
      /exporters\.pvoutput\.systems\[0\]\.(apikey: unknown key|api_key: is required)/,
    );
  });

  it('enabled: false keeps a section without running it', async () => {
    const cfg = load('exporters:\n  influxdb: {enabled: false, url: "http://127.0.0.1:8086", database: d}\n');
    const store = await makeStore('sqlite');
    expect(createExporters(cfg, { store: store.store, log: silentLogger() })).toEqual([]);
    await store.dispose();
  });
});
