/**
 * Pairing with a HomeWizard device (local API v2, docs/v2/authorization.mdx): `POST /api/user` with
 * `{"name":"local/<name>"}` and `X-Api-Version: 2`. Until the button on the device is pressed it answers
 * 403 `user:creation-not-enabled`; we keep asking (each request resets the device's timer) every
 * `retryMs` until it answers 200 with the token, or the time is up. TLS is verified as for the driver
 * (tls.ts); the identity is learnt from the certificate and confirmed with GET /api once we have the token.
 */
import { KwartierError, UsageError } from '../../core/errors.js';
import { sleep } from '../../lib/sleep.js';
import { type DeviceInfo, parseDeviceInfo } from './device-info.js';
import { apiErrorOf, createAgent, type Endpoint, requestJson, urlOf } from './http.js';
import { DeviceIdentity, HomeWizardTlsError, tlsOptions } from './tls.js';

export const USER_NAME_RULE = /^local\/[a-zA-Z0-9\-_/\\# ]{1,40}$/;

export interface PairOptions {
  host: string;
  port?: number;
  /** The user name, with or without the `local/` prefix (default `kwartier`). */
  name?: string;
  /** Give up after this long without a token (default 60 s). */
  timeoutMs?: number;
  /** Pause between attempts while the device answers 403 (default 2 s). */
  retryMs?: number;
  /** Timeout per request (default 5 s). */
  requestTimeoutMs?: number;
  /** The CA to verify the device against (PEM). */
  caPem: string;
  /** Called once, when the device first asks for the button press. */
  onWaitingForButton?: () => void;
  signal?: AbortSignal;
}

export interface PairResult {
  token: string;
  name: string;
  /** The certificate CN `appliance/<type>/<serial>`, confirmed against GET /api when that answered. */
  identity: string | null;
  device: DeviceInfo | null;
}

export class PairError extends KwartierError {
  constructor(code: string, message: string) {
    super(code, message, { retriable: false });
    this.name = 'PairError';
  }
}

/** `name` → `local/<name>`, checked against HomeWizard's rule. Throws UsageError. */
export function userName(name: string): string {
  const full = name.startsWith('local/') ? name : `local/${name}`;
  if (!USER_NAME_RULE.test(full)) {
    throw new UsageError(
      `--name: ${JSON.stringify(name)}: 1 to 40 characters of a-z A-Z 0-9 - _ \\ / # and space (the device registers it as local/NAME)`,
    );
  }
  return full;
}

export async function pairHomeWizard(opts: PairOptions): Promise<PairResult> {
  const name = userName(opts.name ?? 'kwartier');
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const retryMs = opts.retryMs ?? 2000;
  const identity = new DeviceIdentity(null);
  const agent = createAgent('https');
  const ep: Endpoint = {
    scheme: 'https',
    host: opts.host,
    port: opts.port ?? 443,
    agent,
    timeoutMs: opts.requestTimeoutMs ?? 5000,
    tls: tlsOptions(opts.caPem, identity),
  };
  const deadline = Date.now() + timeoutMs;
  let asked = false;
  let lastProblem: string | null = null;
  let peerCn: string | null = null;
  try {
    let token: string | null = null;
    while (token === null) {
      if (opts.signal?.aborted) throw new PairError('homewizard_pair_aborted', 'pairing aborted');
      try {
        const res = await requestJson(ep, '/api/user', {
          method: 'POST',
          headers: { 'X-Api-Version': '2' },
          body: { name },
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        peerCn = res.peerCn;
        const apiError = apiErrorOf(res.body);
        const t = (res.body as { token?: unknown } | undefined)?.token;
        if (res.status === 200 && typeof t === 'string' && t !== '') {
          token = t;
          break;
        }
        if (res.status === 403 && apiError === 'user:creation-not-enabled') {
          lastProblem = null;
          if (!asked) {
            asked = true;
            opts.onWaitingForButton?.();
          }
        } else {
          throw new PairError(
            'homewizard_pair_refused',
            `POST ${urlOf(ep, '/api/user')}: HTTP ${res.status}${apiError ? ` ${apiError}` : ''}${apiError === 'user:name-invalid' ? ' (the device refused the name)' : ''}`,
          );
        }
      } catch (err) {
        if (err instanceof PairError || err instanceof HomeWizardTlsError) throw err;
        // Network trouble (device rebooting, Wi-Fi hiccup): keep trying until the deadline.
        lastProblem = (err as Error).message;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new PairError(
          'homewizard_pair_timeout',
          lastProblem !== null
            ? `no answer from the device within ${Math.round(timeoutMs / 1000)} s: ${lastProblem}`
            : `the button was not pressed within ${Math.round(timeoutMs / 1000)} s; run the command again and press the button on the meter while it waits`,
        );
      }
      await sleep(Math.min(retryMs, left), opts.signal);
    }

    // Confirm who we paired with: GET /api with the new token; its serial must be in the certificate CN.
    let device: DeviceInfo | null = null;
    let confirmed: string | null = null;
    try {
      const res = await requestJson(ep, '/api', {
        headers: { Authorization: `Bearer ${token}`, 'X-Api-Version': '2' },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (res.status === 200) {
        device = parseDeviceInfo(res.body);
        confirmed = identity.confirm(res.peerCn ?? peerCn, device);
      }
    } catch (err) {
      if (err instanceof HomeWizardTlsError) throw err;
      // The token is good; the device information is a bonus.
    }
    return { token, name, identity: confirmed ?? peerCn, device };
  } finally {
    agent.destroy();
  }
}
