import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TObject } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import {
  checkEdgeConfig,
  type EdgeConfig,
  HomeAssistantConfigSchema,
  loadEdgeConfig,
  siteDevices,
} from '../../src/edge/config.js';

const base = { device_id: 'h', sungrow: { ip: '127.0.0.1' } } as unknown as EdgeConfig;

describe('edge config: the time zone', () => {
  it('accepts canonical IANA names and their aliases (UTC, US/Eastern, Europe/Amsterdam)', () => {
    for (const timezone of ['Europe/Brussels', 'Europe/Amsterdam', 'UTC', 'Etc/UTC', 'US/Eastern', 'Asia/Calcutta']) {
      expect(checkEdgeConfig({ ...base, timezone }, 'edge.yaml').timezone).toBe(timezone);
    }
  });

  it('rejects a name ICU does not know, naming the key', () => {
    for (const timezone of ['Mars/Olympus', 'Europe/brussel', 'CET+1']) {
      expect(() => checkEdgeConfig({ ...base, timezone }, 'edge.yaml')).toThrow(ConfigError);
      expect(() => checkEdgeConfig({ ...base, timezone }, 'edge.yaml')).toThrow(
        `edge.yaml: timezone: unknown time zone "${timezone}"`,
      );
    }
  });
});

describe('edge config: devices', () => {
  const file = (text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-devices-'));
    const p = join(dir, 'edge.yaml');
    writeFileSync(p, text);
    return p;
  };
  const load = (text: string) => loadEdgeConfig(file(`device_id: h\n${text}`));
  const fails = (text: string) => {
    try {
      load(text);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('loaded');
  };

  it('reads a site of a P1 meter and two inverters, with each type’s defaults and keys mapped', () => {
    const cfg = load(
      [
        'devices:',
        '  - {name: p1, type: dsmr, tcp: 127.0.0.1:2001}',
        '  - {name: roof, type: sungrow, host: 192.168.1.60, port: 502, unit_id: 1}',
        '  - {name: garage, type: sungrow, host: 192.168.1.61, unit_id: 3, poll_interval_s: 10}',
      ].join('\n'),
    );
    const site = siteDevices(cfg);
    expect(site.map((d) => [d.name, d.definition.type])).toEqual([
      ['p1', 'dsmr'],
      ['roof', 'sungrow'],
      ['garage', 'sungrow'],
    ]);
    expect(site[2]?.config).toMatchObject({
      host: '192.168.1.61',
      port: 502,
      unit_id: 3,
      poll_interval_s: 10,
      timeout_ms: 3000,
    });
  });

  it('keeps the sections of the releases before devices: as devices named after them', () => {
    const cfg = load('dsmr: {tcp: 127.0.0.1:2001}\nsungrow: {ip: 10.0.0.5, slave_id: 2}\n');
    const site = siteDevices(cfg);
    expect(site.map((d) => d.name)).toEqual(['dsmr', 'sungrow']);
    expect(site[1]?.config).toMatchObject({ host: '10.0.0.5', unit_id: 2, port: 502, poll_interval_s: 5 });
    const hw = siteDevices(load('homewizard: {ip: 10.0.0.7}\n'));
    expect(hw[0]).toMatchObject({ name: 'homewizard', config: { host: '10.0.0.7', api_version: 'v1' } });
  });

  it('names the entry and key of an unknown or bad key', () => {
    const msg = fails(
      'devices:\n  - {name: p1, type: dsmr, tcp: 127.0.0.1:2001}\n  - {name: roof, type: sungrow, host: h, prot: 502}\n',
    );
    expect(msg).toMatch(/edge\.yaml: devices\[1\]\.prot: unknown key$/);
    expect(fails('devices:\n  - {name: roof, type: sungrow, host: h, port: 70000}\n')).toContain(
      'devices[0].port: must be <= 65535',
    );
    expect(fails('devices:\n  - {name: roof, type: sungrow}\n')).toContain('devices[0].host: is required');
  });

  it('refuses an unknown type, listing the known ones', () => {
    expect(fails('devices:\n  - {name: x, type: acme-x, host: h}\n')).toContain(
      'devices[0].type: unknown device type "acme-x"; one of dsmr, homewizard, sungrow, fronius',
    );
  });

  it('wants unique lower-case names', () => {
    expect(fails('devices:\n  - {name: Roof, type: sungrow, host: h}\n')).toContain('devices[0].name: must match');
    expect(
      fails('devices:\n  - {name: roof, type: sungrow, host: a}\n  - {name: roof, type: sungrow, host: b}\n'),
    ).toContain('devices[1].name: "roof" is already the name of devices[0]');
  });

  it('refuses both forms at once, and two grid meters', () => {
    expect(fails('dsmr: {tcp: 127.0.0.1:1}\ndevices:\n  - {name: roof, type: sungrow, host: h}\n')).toContain(
      'devices: cannot be combined with the dsmr section',
    );
    expect(
      fails('devices:\n  - {name: a, type: dsmr, tcp: 127.0.0.1:1}\n  - {name: b, type: homewizard, host: 10.0.0.7}\n'),
    ).toContain('devices: a (dsmr) and b (homewizard) are both grid meters; a site has one grid meter');
  });

  it('checks each type’s own rules with the entry’s key', () => {
    expect(fails('devices:\n  - {name: p1, type: dsmr}\n')).toContain(
      'devices[0]: set exactly one of devices[0].tcp or devices[0].serial',
    );
    expect(fails('devices:\n  - {name: p1, type: dsmr, tcp: nocolon}\n')).toContain(
      'devices[0].tcp: missing port in "nocolon"',
    );
    expect(fails('devices:\n  - {name: hw, type: homewizard, host: h, api_version: v2}\n')).toContain(
      'devices[0].token: required for api_version v2',
    );
    // The legacy section keeps its message.
    expect(fails('dsmr: {baudrate: 9600}\n')).toContain('dsmr: set exactly one of dsmr.tcp or dsmr.serial');
  });

  it('wants at least one device', () => {
    expect(fails('timezone: UTC\n')).toContain('no device configured');
  });
});

describe('edge config: home_assistant', () => {
  const file = (text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-ha-'));
    const p = join(dir, 'edge.yaml');
    writeFileSync(p, text);
    return p;
  };
  const load = (ha: string) =>
    loadEdgeConfig(file(`device_id: h\ndevices:\n  - {name: p1, type: dsmr, tcp: 127.0.0.1:2001}\n${ha}`));
  const fails = (ha: string): string => {
    try {
      load(ha);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('loaded');
  };

  it('is off unless configured', () => {
    expect(load('').home_assistant).toBeUndefined();
  });

  it('reads the contract’s keys with their defaults', () => {
    const cfg = load('home_assistant:\n  mqtt: {host: 192.168.1.10, username: kwartier, password: s3cret}\n');
    expect(cfg.home_assistant).toEqual({
      mqtt: { host: '192.168.1.10', username: 'kwartier', password: 's3cret', tls: false },
      discovery_prefix: 'homeassistant',
      state_interval_s: 5,
    });
    const full = load(
      [
        'home_assistant:',
        '  mqtt: {host: ha.lan, port: 8883, username: u, password: p, tls: {ca_cert: /etc/ssl/ha-ca.crt}}',
        '  discovery_prefix: ha',
        '  state_interval_s: 10',
      ].join('\n'),
    );
    expect(full.home_assistant).toEqual({
      mqtt: { host: 'ha.lan', port: 8883, username: 'u', password: 'p', tls: { ca_cert: '/etc/ssl/ha-ca.crt' } },
      discovery_prefix: 'ha',
      state_interval_s: 10,
    });
    expect(load('home_assistant: {mqtt: {host: h, tls: true}}').home_assistant?.mqtt.tls).toBe(true);
  });

  it('names the key of every mistake', () => {
    expect(fails('home_assistant: {mqtt: {host: h}, discovery_prefx: x}')).toMatch(
      /edge\.yaml: home_assistant\.discovery_prefx: unknown key/,
    );
    expect(fails('home_assistant: {mqtt: {host: h, pasword: x}}')).toMatch(
      /home_assistant\.mqtt\.pasword: unknown key/,
    );
    expect(fails('home_assistant: {mqtt: {host: h, tls: {ca: x}}}')).toMatch(/home_assistant\.mqtt\.tls/);
    expect(fails('home_assistant: {mqtt: {host: h, tls: yes-please}}')).toMatch(
      /home_assistant\.mqtt\.tls: must be true, false or \{ca_cert, client_cert, client_key\}/,
    );
    expect(fails('home_assistant: {mqtt: {host: h, port: 70000}}')).toMatch(
      /home_assistant\.mqtt\.port: must be <= 65535/,
    );
    expect(fails('home_assistant: {mqtt: {port: 1883}}')).toMatch(/home_assistant\.mqtt\.host: is required/);
    expect(fails('home_assistant: {discovery_prefix: homeassistant}')).toMatch(/home_assistant\.mqtt: is required/);
    expect(fails('home_assistant: {mqtt: {host: h}, state_interval_s: 0.5}')).toMatch(
      /home_assistant\.state_interval_s: must be >= 1/,
    );
    expect(fails('home_assistant: {mqtt: {host: h}, discovery_prefix: "ha/#"}')).toMatch(
      /home_assistant\.discovery_prefix: must match/,
    );
    expect(fails('home_assistant: {mqtt: {host: h, password: x}}')).toMatch(
      /edge\.yaml: home_assistant\.mqtt\.password: needs home_assistant\.mqtt\.username/,
    );
    expect(fails('home_assistant: {mqtt: {host: h, tls: {client_key: /k.pem}}}')).toMatch(
      /home_assistant\.mqtt\.tls\.client_key: needs home_assistant\.mqtt\.tls\.client_cert/,
    );
  });
});

describe('home_assistant: the documentation', () => {
  const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

  it('documents every key in docs/configuration.md', () => {
    const md = doc('configuration.md');
    const keys = (schema: TObject, prefix: string): string[] =>
      Object.entries(schema.properties).flatMap(([k, v]) =>
        k === 'mqtt' ? keys(v as TObject, `${prefix}.mqtt`) : [`${prefix}.${k}`],
      );
    const all = keys(HomeAssistantConfigSchema, 'home_assistant');
    expect(all).toHaveLength(7);
    for (const k of all) expect(md, k).toContain(`| \`${k}\` |`);
  });

  it('gives copy-paste configs in docs/integrations.md that load', () => {
    const section = doc('integrations.md')
      .split('\n## ')
      .find((s) => s.startsWith('Home Assistant'));
    const blocks = [...(section ?? '').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const yaml of blocks) {
      const dir = mkdtempSync(join(tmpdir(), 'kw-ha-doc-'));
      const p = join(dir, 'edge.yaml');
      writeFileSync(p, `device_id: h\ndevices:\n  - {name: p1, type: dsmr, tcp: 127.0.0.1:2001}\n${yaml}`);
      expect(loadEdgeConfig(p).home_assistant?.mqtt.username).toBe('kwartier');
    }
  });
});
