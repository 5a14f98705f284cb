/**
 * Start-up errors through the real CLI (issue 13, item 15): a missing, unreadable or garbage TLS file,
 * an unusable store or outbox path, a port in use and an unreachable PostgreSQL each end the process
 * by itself with exit 2 (configuration) or 1 (runtime) and one line naming the key, the file (or
 * address) and the cause, without a stack trace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';

let tmp: string;
let certs: string;
let n = 0;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kw-start-errors-'));
  certs = join(tmp, 'certs');
  const r = await runCli(['certs', 'init', '--dir', certs]);
  expect(r.code).toBe(0);
  const d = await runCli(['certs', 'device', 'home-a', '--dir', certs]);
  expect(d.code).toBe(0);
  writeFileSync(join(tmp, 'garbage.pem'), 'this is not PEM at all\n');
}, 60_000);

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const cert = (name: string) => join(certs, name);

function file(name: string, text: string): string {
  const p = join(tmp, `${n++}-${name}`);
  writeFileSync(p, text);
  return p;
}

/** A server config: SQLite in tmp, API and broker on free loopback ports, plus `extra` YAML. */
function serverConfig(extra: string, opts: { store?: string } = {}): string {
  const store = opts.store ?? `store:\n  type: sqlite\n  path: ${join(tmp, `store-${n}`, 'kw.sqlite')}\n`;
  return file('server.yaml', `${store}api:\n  host: 127.0.0.1\n  port: 0\n${extra}`);
}

function brokerTls(over: Partial<Record<'ca_cert' | 'cert' | 'key', string>>): string {
  const t = { ca_cert: cert('ca.crt'), cert: cert('server.crt'), key: cert('server.key'), ...over };
  return `broker:\n  enabled: true\n  host: 127.0.0.1\n  port: 0\n  tls:\n    ca_cert: ${t.ca_cert}\n    cert: ${t.cert}\n    key: ${t.key}\n`;
}

/** An edge config forwarding over MQTT with TLS to a broker that is not there (it must not get that far). */
function edgeConfig(over: Partial<Record<'ca_cert' | 'client_cert' | 'client_key' | 'db_path', string>>): string {
  const t = {
    ca_cert: cert('ca.crt'),
    client_cert: cert('home-a.crt'),
    client_key: cert('home-a.key'),
    db_path: join(tmp, `edge-${n}`, 'outbox.sqlite'),
    ...over,
  };
  return file(
    'edge.yaml',
    [
      'device_id: home-a',
      'dsmr:',
      '  tcp: 127.0.0.1:9',
      'buffer:',
      `  db_path: ${t.db_path}`,
      'mqtt:',
      '  host: 127.0.0.1',
      '  port: 9',
      '  tls:',
      `    ca_cert: ${t.ca_cert}`,
      `    client_cert: ${t.client_cert}`,
      `    client_key: ${t.client_key}`,
      '',
    ].join('\n'),
  );
}

/** The lines of stderr that are not structured log records (pino's JSON lines). */
function messageLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
}

/** The one line of the error; asserts there is exactly one, and no stack trace anywhere in stderr. */
function oneLine(r: CliResult): string {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain('\\n    at ');
  const lines = messageLines(r);
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0] ?? '';
}

const run = (args: string[]) => runCli(args, { timeoutMs: 30_000 });

describe('kwartier server: TLS files are checked at start-up (exit 2, one line)', () => {
  it('a missing broker certificate names broker.tls.cert, the file and ENOENT', async () => {
    const missing = join(tmp, 'no-such.crt');
    const cfg = serverConfig(brokerTls({ cert: missing }));
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(2);
    const line = oneLine(r);
    expect(line).toContain(`${cfg}: broker.tls.cert: ${missing}: cannot read: ENOENT`);
  });

  it('a garbage broker certificate names broker.tls.cert and exits (it used to hang)', async () => {
    const cfg = serverConfig(brokerTls({ cert: join(tmp, 'garbage.pem') }));
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: broker.tls.cert: ${join(tmp, 'garbage.pem')}: not a PEM certificate`);
  });

  it('a garbage broker key names broker.tls.key', async () => {
    const cfg = serverConfig(brokerTls({ key: join(tmp, 'garbage.pem') }));
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: broker.tls.key: ${join(tmp, 'garbage.pem')}: not a PEM private key`);
  });

  it('a key that does not belong to the certificate names broker.tls.key and broker.tls.cert', async () => {
    const cfg = serverConfig(brokerTls({ key: cert('home-a.key') }));
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(
      `${cfg}: broker.tls.key: ${cert('home-a.key')}: does not match the certificate of broker.tls.cert (${cert('server.crt')})`,
    );
  });

  it('a CA file that is not a certificate is refused, naming broker.tls.ca_cert', async () => {
    const cfg = serverConfig(brokerTls({ ca_cert: cert('ca.key') }));
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: broker.tls.ca_cert: ${cert('ca.key')}: not a PEM certificate`);
  });

  it("the ingester's client key (mqtt.tls.key) is checked too, without the embedded broker", async () => {
    const dir = join(tmp, 'a-directory');
    mkdirSync(dir, { recursive: true });
    const cfg = serverConfig(
      `mqtt:\n  url: mqtts://127.0.0.1:9\n  tls:\n    ca_cert: ${cert('ca.crt')}\n    cert: ${cert('kwartier-ingester.crt')}\n    key: ${dir}\n`,
    );
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: mqtt.tls.key: ${dir}: cannot read: EISDIR (is a directory)`);
  });
});

describe('kwartier server: the store path', () => {
  it('a store.path whose directory cannot be made exits 2 naming store.path and the cause', async () => {
    const notADir = file('plain-file', 'x');
    const path = join(notADir, 'kw.sqlite');
    const cfg = serverConfig('', { store: `store:\n  type: sqlite\n  path: ${path}\n` });
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: store.path: ${path}: cannot create the directory: ${notADir} is a file`);
  });

  it('a store.path that is not a SQLite database exits 2 naming store.path', async () => {
    const path = file('not-a-db.sqlite', 'hello, I am no database, but I am long enough to look like one. '.repeat(40));
    const cfg = serverConfig('', { store: `store:\n  type: sqlite\n  path: ${path}\n` });
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: store.path: ${path}: not a SQLite database (SQLITE_NOTADB)`);
  });

  it('an unreachable PostgreSQL exits 1 naming store.url without its password', async () => {
    const port = await freePort();
    const url = `postgres://kw:s3cret@127.0.0.1:${port}/kwartier`;
    const cfg = serverConfig('', { store: `store:\n  type: postgres\n  url: ${url}\n` });
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(1);
    const line = oneLine(r);
    expect(line).toBe(
      `kwartier: ${cfg}: store.url: postgres://kw@127.0.0.1:${port}/kwartier: cannot connect: ECONNREFUSED (connection refused)`,
    );
    expect(r.stderr).not.toContain('s3cret');
  });
});

describe('ports in use (exit 1, one line, the process ends)', () => {
  let busy: Server;
  let port = 0;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const a = busy.address();
    port = typeof a === 'object' && a ? a.port : 0;
  });
  afterAll(async () => {
    await new Promise((r) => busy.close(r));
  });

  it('broker.port in use names broker.port, the address and EADDRINUSE', async () => {
    const cfg = serverConfig(`broker:\n  enabled: true\n  host: 127.0.0.1\n  port: ${port}\n`);
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toBe(
      `kwartier: ${cfg}: broker.port: 127.0.0.1:${port}: cannot listen: EADDRINUSE (address already in use)`,
    );
  });

  it('api.port in use names api.port, the address and EADDRINUSE', async () => {
    const cfg = file(
      'server.yaml',
      `store:\n  type: sqlite\n  path: ${join(tmp, `store-${n}`, 'kw.sqlite')}\nbroker:\n  enabled: true\n  port: 0\napi:\n  host: 127.0.0.1\n  port: ${port}\n`,
    );
    const r = await run(['server', '--config', cfg]);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toBe(
      `kwartier: ${cfg}: api.port: 127.0.0.1:${port}: cannot listen: EADDRINUSE (address already in use)`,
    );
  });

  it('kwartier demo --port in use names --port and exits 1', async () => {
    const dataDir = join(tmp, 'demo-data');
    const r = await run(['demo', '--port', String(port), '--data-dir', dataDir]);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toBe(
      `kwartier demo: --port: 127.0.0.1:${port}: cannot listen: EADDRINUSE (address already in use); choose another with --port`,
    );
  });
});

describe('kwartier demo: the data directory', () => {
  it('a --data-dir that cannot be made exits 2 naming --data-dir', async () => {
    const dataDir = file('plain-file', 'x');
    const r = await run(['demo', '--port', '0', '--data-dir', dataDir]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(
      `kwartier demo: --data-dir: ${dataDir}: cannot create the directory: a file is in its place`,
    );
  });
});

describe('kwartier edge: start-up errors (exit 2, one line)', () => {
  it('a missing client key exits 2 naming mqtt.tls.client_key (it used to log ENOENT forever)', async () => {
    const missing = join(tmp, 'no-such.key');
    const cfg = edgeConfig({ client_key: missing });
    const r = await run(['edge', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: mqtt.tls.client_key: ${missing}: cannot read: ENOENT (no such file)`);
  });

  it("a client certificate that is another device's names mqtt.tls.client_key", async () => {
    const cfg = edgeConfig({ client_cert: cert('kwartier-ingester.crt') });
    const r = await run(['edge', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(
      `${cfg}: mqtt.tls.client_key: ${cert('home-a.key')}: does not match the certificate of mqtt.tls.client_cert (${cert('kwartier-ingester.crt')})`,
    );
  });

  it('a garbage CA names mqtt.tls.ca_cert', async () => {
    const cfg = edgeConfig({ ca_cert: join(tmp, 'garbage.pem') });
    const r = await run(['edge', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: mqtt.tls.ca_cert: ${join(tmp, 'garbage.pem')}: not a PEM certificate`);
  });

  it('a garbage Home Assistant CA names home_assistant.mqtt.tls.ca_cert (an edge for Home Assistant alone)', async () => {
    const cfg = file(
      'edge.yaml',
      [
        'device_id: home-a',
        'dsmr:',
        '  tcp: 127.0.0.1:9',
        'home_assistant:',
        `  mqtt: {host: 127.0.0.1, port: 9, tls: {ca_cert: ${join(tmp, 'garbage.pem')}}}`,
        '',
      ].join('\n'),
    );
    const r = await run(['edge', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(
      `${cfg}: home_assistant.mqtt.tls.ca_cert: ${join(tmp, 'garbage.pem')}: not a PEM certificate`,
    );
  });

  it('an outbox path whose directory cannot be made exits 2 naming buffer.db_path', async () => {
    const path = join(file('plain-file', 'x'), 'sub', 'outbox.sqlite');
    const cfg = edgeConfig({ db_path: path });
    const r = await run(['edge', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: buffer.db_path: ${path}: cannot create the directory: ENOTDIR (not a directory)`);
  });

  it('an outbox file that is not a SQLite database exits 2 naming buffer.db_path', async () => {
    const path = file('not-an-outbox.sqlite', 'no database here, only words. '.repeat(100));
    const cfg = edgeConfig({ db_path: path });
    const r = await run(['edge', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: buffer.db_path: ${path}: not a SQLite database (SQLITE_NOTADB)`);
  });

  it('a garbage homewizard.ca_cert names the key and the file', async () => {
    const cfg = file(
      'edge-hw.yaml',
      `device_id: home-a\nhomewizard:\n  ip: 127.0.0.1\n  port: 9\n  api_version: v2\n  token: abc\n  ca_cert: ${join(tmp, 'garbage.pem')}\n`,
    );
    const r = await run(['edge', '--config', cfg, '--console']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`${cfg}: homewizard.ca_cert: ${join(tmp, 'garbage.pem')}: not a PEM certificate`);
  });
});

describe('stack traces', () => {
  it('are printed with KWARTIER_LOG_LEVEL=debug only', async () => {
    const port = await freePort();
    const cfg = serverConfig('', { store: `store:\n  type: postgres\n  url: postgres://kw@127.0.0.1:${port}/x\n` });
    const r = await runCli(['server', '--config', cfg], { env: { KWARTIER_LOG_LEVEL: 'debug' }, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\s+at /m);
  });
});
