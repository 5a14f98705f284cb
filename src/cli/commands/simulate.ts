/**
 * `kwartier simulate`: simulated devices on loopback that speak the real protocols, all driven by
 * one simulated home (src/drivers/sim/home-model.ts), so what the P1 port, the HomeWizard meter and
 * the inverter report is coherent.
 */
import { writeFileSync } from 'node:fs';
import { UsageError } from '../../core/errors.js';
import { type HostPort, parseHostPort } from '../../core/host-port.js';
import { isValidZone } from '../../core/time/index.js';
import { DRIVERS, driverOf } from '../../drivers/registry.js';
import { HomeModel } from '../../drivers/sim/home-model.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { type Command, parseFlags, untilShutdown } from '../command.js';

const usage = `Usage: kwartier simulate [--device TYPE HOST:PORT]... [--dsmr-tcp HOST:PORT] [--homewizard HOST:PORT [--api v1|v2]] [--sungrow HOST:PORT] [options]

Serves one simulated home on the given addresses until Ctrl-C:
  --device TYPE HOST:PORT  a device of a type with a simulator (${simulatedTypes()});
                           repeat it for more devices (\`kwartier devices\` lists the types);
                           an OCPP charge point connects to the edge at HOST:PORT as
                           ws://HOST:PORT/ocpp/CP1, or give the URL: --device ocpp ws://HOST:PORT/ocpp/ID
  --dsmr-tcp HOST:PORT     a raw P1 telegram stream over TCP (like ser2net or a P1-to-network bridge)
  --homewizard HOST:PORT   a HomeWizard P1 meter's local API
  --api v1|v2              HomeWizard API version (default v1; v2 serves HTTPS with a generated certificate)
  --sungrow HOST:PORT      a Sungrow SH hybrid inverter over Modbus TCP (unit id 1)

Options:
  --country be|nl          Belgian e-MUCS or Dutch DSMR 5 telegrams and tariff hours (default be)
  --rate HZ                telegrams per second on the DSMR stream (default 1)
  --seed N                 random seed of the simulated home (default 1)
  --timezone TZ            local time of the home (default Europe/Brussels)
  --pv-peak-w W            PV peak power, 0 for none (default 6000)
  --battery-kwh KWH        battery capacity, 0 for none (default 10)
  --phases 1|3             meter phases (default 3)
  --token TOKEN            HomeWizard v2: the token the simulator accepts (default: generated, printed)
  --ca-out FILE            HomeWizard v2: write the simulator's CA certificate (PEM) to FILE
  --unsupported REG,...    Sungrow: documented registers that answer Modbus exception 2

Addresses should be loopback (127.0.0.1); anything else is listened on only because you asked.

Examples:
  kwartier simulate --device dsmr 127.0.0.1:2001 --device sungrow 127.0.0.1:5020 --device sungrow 127.0.0.1:5021
  kwartier simulate --dsmr-tcp 127.0.0.1:2001
  kwartier simulate --device dsmr 127.0.0.1:2001 --device ocpp ws://127.0.0.1:8887/ocpp/CP1
  kwartier simulate --homewizard 127.0.0.1:8081 --sungrow 127.0.0.1:5020
  kwartier simulate --homewizard 127.0.0.1:8443 --api v2 --ca-out /tmp/hw-ca.pem --token 0123456789ABCDEF0123456789ABCDEF
`;

function simulatedTypes(): string {
  return DRIVERS.filter((d) => d.simulator)
    .map((d) => d.type)
    .join(', ');
}

/**
 * Takes every \`--device TYPE HOST:PORT\` out of the arguments (a flag with two values, which
 * parseArgs cannot read) and checks the type against the registry.
 */
export function takeDevices(args: string[]): { rest: string[]; devices: SimulatedDevice[] } {
  const rest: string[] = [];
  const devices: SimulatedDevice[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a !== '--device') {
      rest.push(a);
      continue;
    }
    const type = args[i + 1];
    const addr = args[i + 2];
    if (type === undefined || addr === undefined || type.startsWith('-') || addr.startsWith('-'))
      throw new UsageError('kwartier simulate: --device: expected --device TYPE HOST:PORT');
    const def = driverOf(type);
    if (!def?.simulator)
      throw new UsageError(
        `kwartier simulate: --device: no simulator for device type ${JSON.stringify(type)}; one of ${simulatedTypes()}`,
      );
    devices.push(deviceAddress(type, addr, def.simulator.client === true));
    i += 2;
  }
  return { rest, devices };
}

/**
 * The address of a simulated device: HOST:PORT, or for a simulator that connects to the edge (an
 * OCPP charge point) also a ws:// URL whose path ends in its id (ws://127.0.0.1:8887/ocpp/CP1).
 */
function deviceAddress(type: string, addr: string, client: boolean): SimulatedDevice {
  if (!/^wss?:\/\//i.test(addr)) return { type, address: parseHostPort(addr, `--device ${type}`) };
  let u: URL;
  try {
    u = new URL(addr);
  } catch {
    throw new UsageError(`kwartier simulate: --device ${type}: not a URL: ${JSON.stringify(addr)}`);
  }
  if (!client || u.protocol !== 'ws:')
    throw new UsageError(
      `kwartier simulate: --device ${type}: expected HOST:PORT${client ? ' or ws://HOST:PORT/PATH/ID' : ''}, got ${JSON.stringify(addr)}`,
    );
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { type, address: { host, port: Number(u.port || 80) }, path: u.pathname };
}

function num(v: string | undefined, name: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`kwartier simulate: ${name}: must be a number ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

export interface RunningSimulator {
  name: string;
  address: HostPort;
  stop(): Promise<void>;
}

export const command: Command = {
  name: 'simulate',
  summary: 'Simulate devices on loopback',
  usage,
  async run(argv, io) {
    const { rest: args, devices } = takeDevices(argv);
    const parsed = parseFlags(this, args, {
      'dsmr-tcp': { type: 'string' },
      homewizard: { type: 'string' },
      api: { type: 'string' },
      sungrow: { type: 'string' },
      country: { type: 'string' },
      rate: { type: 'string' },
      seed: { type: 'string' },
      timezone: { type: 'string' },
      'pv-peak-w': { type: 'string' },
      'battery-kwh': { type: 'string' },
      phases: { type: 'string' },
      token: { type: 'string' },
      'ca-out': { type: 'string' },
      unsupported: { type: 'string' },
    });
    if (!parsed) {
      io.stdout.write(usage);
      return 0;
    }
    const v = parsed.values;
    if (!v['dsmr-tcp'] && !v.homewizard && !v.sungrow && devices.length === 0) {
      throw new UsageError(
        'kwartier simulate: nothing to simulate: give --device TYPE HOST:PORT, --dsmr-tcp, --homewizard and/or --sungrow',
      );
    }
    const country = v.country ?? 'be';
    if (country !== 'be' && country !== 'nl')
      throw new UsageError(`kwartier simulate: --country: must be be or nl, got ${JSON.stringify(country)}`);
    const api = v.api ?? 'v1';
    if (api !== 'v1' && api !== 'v2')
      throw new UsageError(`kwartier simulate: --api: must be v1 or v2, got ${JSON.stringify(api)}`);
    const phases = num(v.phases, '--phases', 3, 1, 3);
    if (phases !== 1 && phases !== 3) throw new UsageError('kwartier simulate: --phases: must be 1 or 3');
    const timezone = v.timezone ?? 'Europe/Brussels';
    if (!isValidZone(timezone)) {
      throw new UsageError(`kwartier simulate: --timezone: unknown time zone ${JSON.stringify(timezone)}`);
    }
    const unsupported = (v.unsupported ?? '')
      .split(',')
      .filter((x) => x.trim() !== '')
      .map((x) => {
        const n = Number(x);
        if (!Number.isInteger(n) || n < 1 || n > 65535)
          throw new UsageError(`kwartier simulate: --unsupported: bad register ${JSON.stringify(x)}`);
        return n;
      });
    const model = new HomeModel({
      start: Date.now(),
      seed: num(v.seed, '--seed', 1, 0, 2 ** 32 - 1),
      country,
      timezone,
      phases,
      pvPeakW: num(v['pv-peak-w'], '--pv-peak-w', 6000, 0, 100_000),
      batteryCapacityKwh: num(v['battery-kwh'], '--battery-kwh', 10, 0, 1000),
    });
    const sims = await startSimulators(model, {
      dsmrTcp: v['dsmr-tcp'] ? parseHostPort(v['dsmr-tcp'], '--dsmr-tcp') : undefined,
      homewizard: v.homewizard ? parseHostPort(v.homewizard, '--homewizard') : undefined,
      api,
      sungrow: v.sungrow ? parseHostPort(v.sungrow, '--sungrow') : undefined,
      rateHz: num(v.rate, '--rate', 1, 0.01, 1000),
      token: v.token,
      caOut: v['ca-out'],
      unsupported,
      devices,
      print: (line) => io.stderr.write(`${line}\n`),
    });
    await untilShutdown();
    await Promise.allSettled(sims.map((s) => s.stop()));
    return 0;
  },
};

/** A simulator of a registry type (\`--device TYPE HOST:PORT\`). */
export interface SimulatedDevice {
  type: string;
  address: HostPort;
  /** A client simulator's URL path (`/ocpp/CP1`). */
  path?: string;
}

export interface SimulatorPlan {
  /** Simulators of registry types, each on its own address, all on the one home model. */
  devices?: SimulatedDevice[];
  dsmrTcp?: HostPort | undefined;
  homewizard?: HostPort | undefined;
  api?: 'v1' | 'v2';
  sungrow?: HostPort | undefined;
  rateHz?: number;
  token?: string | undefined;
  caOut?: string | undefined;
  unsupported?: number[];
  print?: (line: string) => void;
  /** Parent logger of the simulators (default: the root logger). */
  log?: Logger;
}

/** Starts the planned simulators on one shared home model (used by `simulate` and `demo`). */
export async function startSimulators(model: HomeModel, plan: SimulatorPlan): Promise<RunningSimulator[]> {
  const started: RunningSimulator[] = [];
  const print = plan.print ?? (() => {});
  const simLog = (name: string) => (plan.log ? plan.log.child({ sim: name }) : createLogger(`sim-${name}`));
  try {
    if (plan.dsmrTcp) {
      const { startDsmrTcpSimulator } = await import('../../drivers/dsmr/simulator.js');
      const h = plan.dsmrTcp;
      const sim = await startDsmrTcpSimulator({
        host: h.host,
        port: h.port,
        rateHz: plan.rateHz ?? 1,
        model,
        log: simLog('dsmr'),
      });
      started.push({ name: 'dsmr', address: { host: h.host, port: sim.port }, stop: () => sim.stop() });
      print(`simulate: P1 telegrams (${model.options.country}) on tcp://${h.host}:${sim.port}`);
    }
    if (plan.homewizard) {
      const { startHomeWizardSimulator } = await import('../../drivers/homewizard/simulator.js');
      const h = plan.homewizard;
      const api = plan.api ?? 'v1';
      const sim = await startHomeWizardSimulator({
        host: h.host,
        port: h.port,
        api,
        model,
        log: simLog('homewizard'),
        ...(plan.token ? { token: plan.token } : {}),
      });
      started.push({ name: 'homewizard', address: { host: h.host, port: sim.port }, stop: () => sim.stop() });
      print(`simulate: HomeWizard P1 meter (API ${api}) on ${api === 'v2' ? 'https' : 'http'}://${h.host}:${sim.port}`);
      if (api === 'v2') {
        if (sim.identity) print(`simulate: HomeWizard TLS identity ${sim.identity}`);
        if (sim.token) print(`simulate: HomeWizard token ${sim.token}`);
        if (plan.caOut && sim.caCertPem) {
          writeFileSync(plan.caOut, sim.caCertPem);
          print(`simulate: HomeWizard CA certificate written to ${plan.caOut}`);
        }
      }
    }
    if (plan.sungrow) {
      const { startSungrowSimulator } = await import('../../drivers/sungrow/simulator.js');
      const h = plan.sungrow;
      const sim = await startSungrowSimulator({
        host: h.host,
        port: h.port,
        model,
        log: simLog('sungrow'),
        ...(plan.unsupported && plan.unsupported.length > 0 ? { unsupported: plan.unsupported } : {}),
      });
      started.push({ name: 'sungrow', address: { host: h.host, port: sim.port }, stop: () => sim.stop() });
      print(`simulate: Sungrow SH inverter (Modbus TCP, unit 1) on ${h.host}:${sim.port}`);
    }
    for (const [i, d] of (plan.devices ?? []).entries()) {
      const sim = driverOf(d.type)?.simulator;
      if (!sim) throw new UsageError(`no simulator for device type ${JSON.stringify(d.type)}`);
      const h = d.address;
      const running = await sim.create({
        host: h.host,
        port: h.port,
        model,
        log: simLog(`${d.type}-${i}`),
        ...(d.path !== undefined ? { path: d.path } : {}),
      });
      started.push({ name: d.type, address: { host: h.host, port: running.port }, stop: () => running.stop() });
      const where = sim.client
        ? `connecting to ws://${h.host}:${running.port}${d.path ?? '/ocpp/CP1'}`
        : `on ${h.host}:${running.port}`;
      print(`simulate: ${d.type}: ${sim.describe} ${where}`);
    }
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw err;
  }
  return started;
}
