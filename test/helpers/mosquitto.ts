/**
 * A real Mosquitto for tests and benchmarks: `mosquitto -c <conf>` where the conf is the project's
 * deploy/mosquitto/mosquitto.conf with only its paths and port rewritten (certificates generated
 * into a temp dir, listener on a free loopback port, persistence in the temp dir). The system
 * Mosquitto on 127.0.0.1:1883 is never touched.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INGESTER_IDENTITY, initCertDir, issueDeviceFiles } from '../../src/lib/certs.js';
import { freePort } from './net.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/mosquitto/', import.meta.url));
export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface MosquittoOptions {
  /** Device ids to make client certificates for (besides the ingester's). */
  devices?: string[];
  /** TLS with client certificates (the project config). false: plain TCP, identity = username. */
  tls?: boolean;
  /** Extra config lines appended (tests of limits). */
  extraConf?: string[];
  /** Use the certificates in this directory (e.g. made by `kwartier certs init`) instead of new ones. */
  certDir?: string;
  /**
   * false: no acl_file, every authenticated client may use every topic: a home's own broker (the
   * one Home Assistant reads), not Kwartier's server broker. Default true.
   */
  acl?: boolean;
}

/** Builds the test config from the project's: same directives, local paths and port. */
export function deriveConf(opts: { port: number; dir: string; tls: boolean; extra?: string[]; acl?: boolean }): string {
  const src = readFileSync(join(DEPLOY, 'mosquitto.conf'), 'utf8');
  const out: string[] = [];
  const tlsOnly = new Set([
    'cafile',
    'certfile',
    'keyfile',
    'tls_version',
    'require_certificate',
    'use_identity_as_username',
  ]);
  for (const raw of src.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [key] = line.split(/\s+/);
    if (key === undefined) continue;
    if (!opts.tls && tlsOnly.has(key)) continue;
    switch (key) {
      case 'listener':
        out.push(`listener ${opts.port} 127.0.0.1`);
        break;
      case 'cafile':
        out.push(`cafile ${join(opts.dir, 'certs', 'ca.crt')}`);
        break;
      case 'certfile':
        out.push(`certfile ${join(opts.dir, 'certs', 'server.crt')}`);
        break;
      case 'keyfile':
        out.push(`keyfile ${join(opts.dir, 'certs', 'server.key')}`);
        break;
      case 'acl_file':
        if (opts.acl !== false) out.push(`acl_file ${join(opts.dir, 'acl')}`);
        break;
      case 'persistence_location':
        out.push(`persistence_location ${join(opts.dir, 'data')}/`);
        break;
      default:
        out.push(line);
    }
  }
  if (!opts.tls) {
    // No certificate identity: a password file gives each test identity a username (password = name).
    out.push(`password_file ${join(opts.dir, 'passwd')}`);
  }
  out.push(...(opts.extra ?? []));
  return `${out.join('\n')}\n`;
}

function waitListening(port: number, child: ChildProcess, stderr: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) {
        reject(new Error(`mosquitto exited with ${child.exitCode}: ${stderr()}`));
        return;
      }
      const sock = connect({ host: '127.0.0.1', port });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`mosquitto did not listen on ${port}: ${stderr()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export class Mosquitto {
  readonly dir: string;
  port = 0;
  private child: ChildProcess | null = null;
  private log = '';
  private readonly logListeners = new Set<(chunk: string) => void>();
  readonly tls: boolean;

  private constructor(dir: string, tls: boolean) {
    this.dir = dir;
    this.tls = tls;
  }

  /** Generates certificates (CA, server, ingester, devices) and config, then starts the broker. */
  static async start(opts: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = mkdtempSync(join(tmpdir(), 'kw-mosq-'));
    const tls = opts.tls ?? true;
    const m = new Mosquitto(dir, tls);
    mkdirSync(join(dir, 'data'));
    const certDir = join(dir, 'certs');
    if (opts.certDir) {
      mkdirSync(certDir);
      for (const f of readdirSync(opts.certDir)) copyFileSync(join(opts.certDir, f), join(certDir, f));
    } else {
      await initCertDir({ dir: certDir });
    }
    for (const id of opts.devices ?? []) {
      if (!existsSync(join(certDir, `${id}.crt`))) await issueDeviceFiles({ dir: certDir, id });
    }
    copyFileSync(join(DEPLOY, 'acl'), join(dir, 'acl'));
    if (!tls) {
      const names = [INGESTER_IDENTITY, ...(opts.devices ?? [])];
      const pw = join(dir, 'passwd');
      writeFileSync(pw, '');
      for (const n of names) execFileSync('/usr/bin/mosquitto_passwd', ['-b', pw, n, n], { stdio: 'ignore' });
    }
    m.port = await freePort();
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      deriveConf({ port: m.port, dir, tls, extra: opts.extraConf, acl: opts.acl ?? true }),
    );
    m.giveToBrokerUser();
    await m.restart();
    return m;
  }

  /** Running as root, mosquitto drops to the `mosquitto` user: let it read its files. */
  private giveToBrokerUser(): void {
    if (process.getuid?.() !== 0) return;
    let uid: number;
    let gid: number;
    try {
      uid = Number(execFileSync('id', ['-u', 'mosquitto']).toString().trim());
      gid = Number(execFileSync('id', ['-g', 'mosquitto']).toString().trim());
    } catch {
      return;
    }
    const walk = (p: string): void => {
      chownSync(p, uid, gid);
      for (const e of readdirSync(p, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(p, e.name));
        else chownSync(join(p, e.name), uid, gid);
      }
    };
    walk(this.dir);
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** The broker's log as it comes, uncut (logText keeps only the last 100–200 kB). */
  onLog(listener: (chunk: string) => void): void {
    this.logListeners.add(listener);
  }

  get logText(): string {
    return this.log;
  }

  /** CA, certificate and key of an identity (a device id or 'kwartier-ingester'). */
  tlsFiles(identity: string): TlsFiles {
    const c = join(this.dir, 'certs');
    return { ca: join(c, 'ca.crt'), cert: join(c, `${identity}.crt`), key: join(c, `${identity}.key`) };
  }

  /** MQTT.js connection options for an identity (certificate or, without TLS, username/password). */
  clientOptions(identity: string): {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    username?: string;
    password?: string;
    rejectUnauthorized?: boolean;
  } {
    if (!this.tls) return { username: identity, password: identity };
    const f = this.tlsFiles(identity);
    return { ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key), rejectUnauthorized: true };
  }

  /** Issues another device certificate (readable by the broker user). */
  async addDevice(id: string): Promise<void> {
    await issueDeviceFiles({ dir: join(this.dir, 'certs'), id });
    if (!this.tls)
      execFileSync('/usr/bin/mosquitto_passwd', ['-b', join(this.dir, 'passwd'), id, id], { stdio: 'ignore' });
    this.giveToBrokerUser();
  }

  /** (Re)starts on the same port with the same persistence directory. */
  async restart(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null)
      throw new Error('mosquitto is running');
    const child = spawn(MOSQUITTO_BIN, ['-c', join(this.dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => {
      for (const l of this.logListeners) l(d.toString());
      this.log += d.toString();
      if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
    });
    await waitListening(this.port, child, () => this.log);
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** kill -9: no clean shutdown, no persistence save. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill(sig);
    });
  }

  /** Stops the broker and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
