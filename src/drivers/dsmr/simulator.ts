/**
 * The P1 side of the simulated home: a telegram encoder (e-MUCS 1.7.1 for 'be', DSMR 5.0.2 for 'nl',
 * with a correct CRC) and a TCP server that streams one telegram per tick to every client, like a
 * ser2net or P1-to-network bridge would.
 *
 * Formats follow the fixtures: BE currents with 2 decimals, NL currents in whole amperes; BE gas on
 * 0-1:24.2.3 and water on 0-2:24.2.1 (both captured every 5 minutes); NL gas on 0-1:24.2.1.
 */
import { createServer, type Socket } from 'node:net';
import { listen } from '../../lib/listen.js';
import type { Logger } from '../../lib/log.js';
import type { HomeModel, HomeState } from '../sim/home-model.js';
import { crc16String, formatCrc } from './crc.js';
import type { Country } from './telegram.js';
import { msToDsmrTimestamp } from './timestamp.js';

export interface EncodeOptions {
  /** Default: the state's country. */
  country?: Country;
  /** Identification line without the `/`. */
  header?: string;
  /** Serial numbers (plain text; the telegram carries them hex-encoded). */
  meterSerial?: string;
  gasSerial?: string;
  waterSerial?: string;
}

const EMPTY_MONTH = '632525252525W';

/** `value` with `decimals` decimals and at least `intDigits` integer digits, as meters print it. */
function fixed(value: number, intDigits: number, decimals: number): string {
  const v = Math.max(0, value);
  const s =
    decimals === 0 ? String(Math.round(v)) : (Math.round(v * 10 ** decimals) / 10 ** decimals).toFixed(decimals);
  const dot = s.indexOf('.');
  const int = dot < 0 ? s.length : dot;
  return int >= intDigits ? s : '0'.repeat(intDigits - int) + s;
}

function hexId(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex').toUpperCase();
}

function ts(ms: number): string {
  return msToDsmrTimestamp(Math.floor(ms / 1000) * 1000);
}

const kwh = (v: number) => `${fixed(v, 6, 3)}*kWh`;
const kw = (w: number) => `${fixed(w / 1000, 2, 3)}*kW`;

/** One telegram (latin1 text, CR LF line ends, `!CRC` trailer) for the meter state. */
export function encodeTelegram(state: HomeState, opts: EncodeOptions = {}): string {
  const country = opts.country ?? state.country;
  const be = country === 'be';
  const lines: string[] = [];
  const phases = state.phase_grid_w.length;
  const imp = Math.max(0, state.grid_w);
  const exp = Math.max(0, -state.grid_w);

  if (be) {
    lines.push(
      '0-0:96.1.4(50217)',
      `0-0:96.1.1(${hexId(opts.meterSerial ?? '1SAG3100721326')})`,
      `0-0:1.0.0(${ts(state.at)})`,
    );
  } else {
    lines.push(
      '1-3:0.2.8(50)',
      `0-0:1.0.0(${ts(state.at)})`,
      `0-0:96.1.1(${hexId(opts.meterSerial ?? 'E0044007118529318')})`,
    );
  }
  lines.push(
    `1-0:1.8.1(${kwh(state.import_t1_kwh)})`,
    `1-0:1.8.2(${kwh(state.import_t2_kwh)})`,
    `1-0:2.8.1(${kwh(state.export_t1_kwh)})`,
    `1-0:2.8.2(${kwh(state.export_t2_kwh)})`,
    `0-0:96.14.0(000${state.tariff})`,
  );
  if (be) {
    lines.push(`1-0:1.4.0(${kw(state.avg_15m_w)})`);
    const peakAt = state.month_peak_at === null ? EMPTY_MONTH : ts(state.month_peak_at);
    lines.push(`1-0:1.6.0(${peakAt})(${kw(state.month_peak_w)})`);
    const hist = state.peak_history
      .map((p) => `(${ts(p.month_start)})(${p.at === null ? EMPTY_MONTH : ts(p.at)})(${kw(p.peak_w)})`)
      .join('');
    lines.push(`0-0:98.1.0(${state.peak_history.length})(1-0:1.6.0)(1-0:1.6.0)${hist}`);
  }
  lines.push(`1-0:1.7.0(${kw(imp)})`, `1-0:2.7.0(${kw(exp)})`);
  if (!be) {
    lines.push('0-0:96.7.21(00004)', '0-0:96.7.9(00002)', '1-0:99.97.0(0)(0-0:96.7.19)');
    for (let i = 0; i < phases; i++) lines.push(`1-0:${32 + 20 * i}.32.0(00000)`);
    for (let i = 0; i < phases; i++) lines.push(`1-0:${32 + 20 * i}.36.0(00000)`);
    lines.push('0-0:96.13.0()');
  }
  const phaseLines = (c: number, f: (i: number) => string) => {
    for (let i = 0; i < phases; i++) lines.push(`1-0:${c + 20 * i}.7.0(${f(i)})`);
  };
  const pw = (i: number) => state.phase_grid_w[i] ?? 0;
  if (be) {
    phaseLines(21, (i) => kw(Math.max(0, pw(i))));
    phaseLines(22, (i) => kw(Math.max(0, -pw(i))));
    phaseLines(32, (i) => `${fixed(state.phase_voltage_v[i] ?? 0, 3, 1)}*V`);
    phaseLines(31, (i) => `${fixed(state.phase_current_a[i] ?? 0, 3, 2)}*A`);
    lines.push('0-0:96.3.10(1)', '0-0:17.0.0(999.9*kW)', '1-0:31.4.0(999*A)', '0-0:96.13.0()');
    lines.push(
      '0-1:24.1.0(003)',
      `0-1:96.1.1(${hexId(opts.gasSerial ?? '7FLO2123088027')})`,
      '0-1:24.4.0(1)',
      `0-1:24.2.3(${ts(state.gas_at)})(${fixed(state.gas_m3, 5, 3)}*m3)`,
      '0-2:24.1.0(007)',
      `0-2:96.1.1(${hexId(opts.waterSerial ?? '8SET0000961173')})`,
      `0-2:24.2.1(${ts(state.water_at)})(${fixed(state.water_m3, 5, 3)}*m3)`,
    );
  } else {
    phaseLines(32, (i) => `${fixed(state.phase_voltage_v[i] ?? 0, 3, 1)}*V`);
    phaseLines(31, (i) => `${fixed(state.phase_current_a[i] ?? 0, 3, 0)}*A`);
    phaseLines(21, (i) => kw(Math.max(0, pw(i))));
    phaseLines(22, (i) => kw(Math.max(0, -pw(i))));
    lines.push(
      '0-1:24.1.0(003)',
      `0-1:96.1.0(${hexId(opts.gasSerial ?? 'G0039001936990619')})`,
      `0-1:24.2.1(${ts(state.gas_at)})(${fixed(state.gas_m3, 5, 3)}*m3)`,
    );
  }
  const header = opts.header ?? (be ? 'FLU5\\253769484_A' : 'ISK5\\2M550T-1012');
  const body = `/${header}\r\n\r\n${lines.join('\r\n')}\r\n!`;
  return `${body}${formatCrc(crc16String(body))}\r\n`;
}

export interface DsmrTcpSimulatorOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Telegrams per second (a real DSMR 5 / e-MUCS meter: 1). */
  rateHz: number;
  /** The simulated home whose state each telegram encodes. */
  model?: HomeModel;
  /** Instead of the model: these recorded bytes (one telegram, as a meter sent it) every tick. */
  telegram?: Buffer;
  log: Logger;
  encode?: EncodeOptions;
}

export interface RunningDsmrSimulator {
  port: number;
  stop(): Promise<void>;
}

/** Bytes a slow client may have queued before it misses telegrams. */
const MAX_QUEUED_BYTES = 64 * 1024;

/**
 * Streams a telegram of the model's current state (or the recorded `telegram`) to every connected
 * client, `rateHz` times a second.
 */
export async function startDsmrTcpSimulator(opts: DsmrTcpSimulatorOptions): Promise<RunningDsmrSimulator> {
  if (!(opts.rateHz > 0 && opts.rateHz <= 100)) throw new RangeError(`rateHz must be in (0, 100], got ${opts.rateHz}`);
  const { model, telegram: recorded } = opts;
  let next: () => Buffer;
  if (recorded && !model) next = () => recorded;
  else if (model && !recorded)
    next = () => Buffer.from(encodeTelegram(model.advanceTo(Date.now()), opts.encode), 'latin1');
  else throw new TypeError('P1 simulator: give exactly one of model or telegram');
  const clients = new Set<Socket>();
  const server = createServer((sock) => {
    clients.add(sock);
    opts.log.info(
      { client: `${sock.remoteAddress}:${sock.remotePort}`, clients: clients.size },
      'P1 simulator: client connected',
    );
    sock.on('error', () => {});
    sock.on('close', () => {
      clients.delete(sock);
      opts.log.info({ clients: clients.size }, 'P1 simulator: client gone');
    });
    // The client only listens; ignore anything it sends.
    sock.resume();
  });
  const port = await listen(server, opts.port, opts.host);
  const timer = setInterval(
    () => {
      if (clients.size === 0) return;
      const telegram = next();
      for (const c of clients) if (c.writableLength < MAX_QUEUED_BYTES) c.write(telegram);
    },
    Math.round(1000 / opts.rateHz),
  );
  opts.log.info({ host: opts.host, port, rate_hz: opts.rateHz }, 'P1 simulator listening');
  return {
    port,
    stop: async () => {
      clearInterval(timer);
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
