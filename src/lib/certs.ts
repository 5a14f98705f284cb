/**
 * A dedicated certificate authority for the MQTT uplink: the broker trusts only certificates it
 * signed, and the certificate's common name is the client's identity (Mosquitto's
 * `use_identity_as_username`, the embedded broker's authorizer). Keys are ECDSA P-256; files are
 * PEM (certificates) and PKCS#8 PEM (keys, mode 0600).
 *
 * Layout of a certificate directory:
 *   ca.crt, ca.key                 the device CA (keep ca.key offline if you can)
 *   server.crt, server.key         the broker's certificate (SAN localhost, 127.0.0.1 and names given)
 *   kwartier-ingester.crt/.key     the ingester's client certificate (reads everything, writes acks)
 *   <device-id>.crt/.key           one per edge device (CN = device id, clientAuth)
 */
// @peculiar/x509 (through tsyringe) needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { KwartierError, UsageError } from '../core/errors.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const crypto = webcrypto;
x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALG: webcrypto.EcKeyGenParams & webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN_ALG: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

/** The identity (certificate CN, MQTT username) of the server's ingester. Never a device id. */
export const INGESTER_IDENTITY = 'kwartier-ingester';
/** Device ids as in the snapshot schema and the edge config (`device_id`). */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const DNS_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface PemPair {
  cert: string;
  key: string;
}

export interface CertAuthority {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

function serial(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[0] = (b[0] ?? 0) & 0x7f; // positive INTEGER
  return Buffer.from(b).toString('hex');
}

async function newKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify']);
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function validity(days: number, now: Date): { notBefore: Date; notAfter: Date } {
  // A little slack backwards: an edge whose clock runs a few minutes behind must still accept it.
  return { notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

/** Checks a DNS name or IP address for the server certificate's SAN. */
export function checkServerName(name: string): 'dns' | 'ip' {
  if (isIP(name) !== 0) return 'ip';
  if (DNS_NAME.test(name)) return 'dns';
  throw new UsageError(`--server-name: ${JSON.stringify(name)} is neither a DNS name nor an IP address`);
}

export function checkDeviceId(id: string): void {
  if (id.length > 64 || !DEVICE_ID_PATTERN.test(id)) {
    throw new UsageError(
      `device id ${JSON.stringify(id)}: must match ${DEVICE_ID_PATTERN.source} (at most 64 characters)`,
    );
  }
  if (id === INGESTER_IDENTITY || id === 'server' || id === 'ca') {
    throw new UsageError(`device id ${JSON.stringify(id)} is reserved`);
  }
}

export async function createCa(
  opts: { name?: string; days?: number; now?: Date } = {},
): Promise<{ ca: CertAuthority; pem: PemPair }> {
  const keys = await newKeys();
  const now = opts.now ?? new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${opts.name ?? 'Kwartier device CA'}`,
    ...validity(opts.days ?? 20 * 365, now),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    ca: { cert, key: keys.privateKey },
    pem: { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) },
  };
}

async function issue(
  ca: CertAuthority,
  cn: string,
  usage: 'server' | 'client',
  sans: x509.JsonGeneralName[],
  days: number,
  now: Date,
): Promise<PemPair> {
  const keys = await newKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([
      usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${cn}`,
    issuer: ca.cert.subject,
    ...validity(days, now),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGN_ALG,
    extensions,
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** The broker's certificate: SAN localhost, 127.0.0.1, ::1 and `names` (DNS names or IPs). */
export async function issueServerCert(
  ca: CertAuthority,
  names: string[] = [],
  opts: { days?: number; now?: Date } = {},
): Promise<PemPair> {
  const sans: x509.JsonGeneralName[] = [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
  ];
  for (const n of names) {
    const type = checkServerName(n);
    if (!sans.some((s) => s.value === n)) sans.push({ type, value: n });
  }
  const cn = names[0] ?? 'localhost';
  return issue(ca, cn, 'server', sans, opts.days ?? 10 * 365, opts.now ?? new Date());
}

/** A client certificate whose CN is the MQTT identity (device id, or INGESTER_IDENTITY). */
export async function issueClientCert(
  ca: CertAuthority,
  identity: string,
  opts: { days?: number; now?: Date } = {},
): Promise<PemPair> {
  if (identity.length > 64 || !DEVICE_ID_PATTERN.test(identity)) {
    throw new UsageError(`identity ${JSON.stringify(identity)}: must match ${DEVICE_ID_PATTERN.source}`);
  }
  return issue(ca, identity, 'client', [], opts.days ?? 10 * 365, opts.now ?? new Date());
}

export async function loadCa(dir: string): Promise<CertAuthority> {
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    throw new UsageError(`${dir}: no ca.crt/ca.key here; run \`kwartier certs init --dir ${dir}\` first`);
  }
  let cert: x509.X509Certificate;
  let key: CryptoKey;
  try {
    cert = new x509.X509Certificate(readFileSync(certPath, 'utf8'));
    const der = x509.PemConverter.decodeFirst(readFileSync(keyPath, 'utf8'));
    key = await crypto.subtle.importKey('pkcs8', der, KEY_ALG, false, ['sign']);
  } catch (err) {
    throw new KwartierError('certs_invalid', `${dir}: cannot read the CA (ca.crt/ca.key): ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { cert, key };
}

/** Refuses to overwrite unless `force`; writes keys with mode 0600. */
function writeFiles(files: Array<{ path: string; content: string; secret: boolean }>, force: boolean): string[] {
  if (!force) {
    const existing = files.filter((f) => existsSync(f.path)).map((f) => f.path);
    if (existing.length > 0) throw new UsageError(`refusing to overwrite ${existing.join(', ')} (use --force)`);
  }
  for (const f of files) {
    writeFileSync(f.path, f.content, { mode: f.secret ? 0o600 : 0o644 });
    chmodSync(f.path, f.secret ? 0o600 : 0o644);
  }
  return files.map((f) => f.path);
}

export interface InitResult {
  written: string[];
}

/**
 * Creates the CA, the broker's server certificate and the ingester's client certificate in `dir`.
 */
export async function initCertDir(opts: {
  dir: string;
  serverNames?: string[];
  force?: boolean;
  now?: Date;
}): Promise<InitResult> {
  for (const n of opts.serverNames ?? []) checkServerName(n);
  const names = [
    'ca.crt',
    'ca.key',
    'server.crt',
    'server.key',
    `${INGESTER_IDENTITY}.crt`,
    `${INGESTER_IDENTITY}.key`,
  ];
  if (!opts.force) {
    const existing = names.map((n) => join(opts.dir, n)).filter((p) => existsSync(p));
    if (existing.length > 0) throw new UsageError(`refusing to overwrite ${existing.join(', ')} (use --force)`);
  }
  mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
  const ca = await createCa({ now: opts.now });
  const server = await issueServerCert(ca.ca, opts.serverNames ?? [], { now: opts.now });
  const ingester = await issueClientCert(ca.ca, INGESTER_IDENTITY, { now: opts.now });
  const written = writeFiles(
    [
      { path: join(opts.dir, 'ca.crt'), content: ca.pem.cert, secret: false },
      { path: join(opts.dir, 'ca.key'), content: ca.pem.key, secret: true },
      { path: join(opts.dir, 'server.crt'), content: server.cert, secret: false },
      { path: join(opts.dir, 'server.key'), content: server.key, secret: true },
      { path: join(opts.dir, `${INGESTER_IDENTITY}.crt`), content: ingester.cert, secret: false },
      { path: join(opts.dir, `${INGESTER_IDENTITY}.key`), content: ingester.key, secret: true },
    ],
    true,
  );
  return { written };
}

/** Creates `<id>.crt` and `<id>.key` in `dir`, signed by the CA there. */
export async function issueDeviceFiles(opts: {
  dir: string;
  id: string;
  force?: boolean;
  days?: number;
  now?: Date;
}): Promise<InitResult> {
  checkDeviceId(opts.id);
  const files = [join(opts.dir, `${opts.id}.crt`), join(opts.dir, `${opts.id}.key`)];
  if (!opts.force) {
    const existing = files.filter((p) => existsSync(p));
    if (existing.length > 0) throw new UsageError(`refusing to overwrite ${existing.join(', ')} (use --force)`);
  }
  const ca = await loadCa(opts.dir);
  const pair = await issueClientCert(ca, opts.id, { days: opts.days, now: opts.now });
  const [certPath, keyPath] = files as [string, string];
  return {
    written: writeFiles(
      [
        { path: certPath, content: pair.cert, secret: false },
        { path: keyPath, content: pair.key, secret: true },
      ],
      true,
    ),
  };
}

/** The common name of a certificate's subject (PEM or DER), or null. */
export function commonName(cert: string | Uint8Array): string | null {
  const c = new x509.X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  const cn = c.subjectName.getField('CN');
  return cn[0] ?? null;
}
