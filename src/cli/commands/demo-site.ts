/**
 * The demo's simulated site (demo.ts): the devices on loopback that the simulated home drives, and
 * the edge config's `devices:` (and `control:`) that read them.
 * - `home`: a P1 meter (DSMR over TCP), a Sungrow inverter with its battery, and an NRGkick charger
 *   whose car the edge's control charges by a deadline under the month's capacity peak, the battery
 *   shaving on the same budget.
 * - `multi`: a P1 meter and two Sungrow inverters, the second (the garage: PV only) on a home model
 *   of its own, which the meter does not see.
 */
import { wallClock } from '../../core/time/zone.js';
import { HomeModel } from '../../drivers/sim/home-model.js';
import type { Logger } from '../../lib/log.js';
import { type RunningSimulator, startSimulators } from './simulate.js';

/** The demo's car: home from 18:30 to 07:30 with 18 of its 60 kWh (room for the 25 it wants). */
const DEMO_CAR = {
  capacityKwh: 60,
  socPct: 30,
  maxCurrentA: 16,
  phases: 3 as const,
  visits: { arrive: '18:30', leave: '07:30' },
};

/** What the demo's car wants by its deadline; 2 kWh an hour is the pace of 25 kWh from 18:30 to 07:00. */
const DEMO_WANT = { energyKwh: 25, deadline: '07:00', kwhPerHour: 2 } as const;

/**
 * The energy the demo's car asks for when the demo starts at `now`: 25 kWh, or, when the car is
 * already home (from 18:30), what the hours left before 07:00 give at the same pace (at least
 * 1 kWh). A demo started at night or in the early morning then shows a plan it can keep instead
 * of "not feasible".
 */
export function demoCarEnergyKwh(now: number, timezone: string): number {
  const { hour, minute } = wallClock(now, timezone);
  const at = hour * 60 + minute;
  const [arrive, deadline] = [DEMO_CAR.visits.arrive, DEMO_WANT.deadline].map((t) => {
    const [h, m] = t.split(':').map(Number);
    return h! * 60 + m!;
  }) as [number, number];
  if (at >= deadline && at < arrive) return DEMO_WANT.energyKwh;
  const hoursLeft = ((deadline - at + 24 * 60) % (24 * 60)) / 60;
  return Math.max(1, Math.min(DEMO_WANT.energyKwh, Math.floor(hoursLeft * DEMO_WANT.kwhPerHour)));
}

/**
 * The demo's control: the car gets 25 kWh by 07:00 (demoCarEnergyKwh), never above the month's
 * peak so far (at least 2.5 kW), in the cheapest quarters of the server's day/night contract (its
 * tariff file, `tariffFile`); the home battery shares that budget: it keeps its last 20 % (above
 * the 10 % reserve) for shaving the quarters the car and the house would push over it.
 */
function demoControl(tariffFile: string, timezone: string) {
  const energy_kwh = demoCarEnergyKwh(Date.now(), timezone);
  return {
    capacity_target_w: 'follow_peak',
    tariff_file: tariffFile,
    chargers: { car: { mode: 'deadline', energy_kwh, deadline: DEMO_WANT.deadline, phase_switching: true } },
    batteries: { sungrow: { reserve_soc_pct: 10, hold_soc_pct: 30 } },
  };
}

export interface DemoSiteOptions {
  site: 'home' | 'multi';
  /** The simulated home's seed and start (the garage's model takes the next seed). */
  seed: number;
  modelStart: number;
  timezone: string;
  /** Telegrams per second of the simulated meter. */
  rateHz: number;
  /** The tariff file the server prices the home with: the car's deadline plans with it too. */
  tariffFile: string;
  log: Logger;
}

/** The edge config's sections that read the simulated devices (inverters polled every 5 s). */
type SiteConfig = Record<string, unknown>;

const INVERTER = { poll_interval_s: 5, connect_delay_ms: 100 };

/**
 * Starts the site's simulators on `model` (each one added to `simulators` as it runs, so the caller
 * can stop them whatever happens next) and returns the edge config's sections that read them.
 */
export async function startDemoSite(
  model: HomeModel,
  simulators: RunningSimulator[],
  o: DemoSiteOptions,
): Promise<SiteConfig> {
  const simLog = o.log.child({ part: 'simulator' });
  simulators.push(
    ...(await startSimulators(model, {
      dsmrTcp: { host: '127.0.0.1', port: 0 },
      sungrow: { host: '127.0.0.1', port: 0 },
      rateHz: o.rateHz,
      log: simLog,
    })),
  );
  const dsmr = simulators.find((s) => s.name === 'dsmr');
  const sungrow = simulators.find((s) => s.name === 'sungrow');
  if (o.site === 'multi') {
    const garage = await startGarage(o, simLog);
    if (garage) {
      simulators.push(garage);
    }
    return {
      devices: [
        { name: 'p1', type: 'dsmr', tcp: `127.0.0.1:${dsmr?.address.port}` },
        { name: 'roof', type: 'sungrow', host: '127.0.0.1', port: sungrow?.address.port, ...INVERTER },
        { name: 'garage', type: 'sungrow', host: '127.0.0.1', port: garage?.address.port, ...INVERTER },
      ],
    };
  }
  const kick = await startCar(model, o.timezone, simLog);
  simulators.push(kick);
  return {
    devices: [
      { name: 'dsmr', type: 'dsmr', tcp: `127.0.0.1:${dsmr?.address.port}` },
      {
        name: 'sungrow',
        type: 'sungrow',
        host: '127.0.0.1',
        port: sungrow?.address.port,
        ...INVERTER,
        control: true,
      },
      { name: 'car', type: 'nrgkick', host: '127.0.0.1', port: kick.address.port, control: true },
    ],
    control: demoControl(o.tariffFile, o.timezone),
  };
}

/** The garage: a second, PV-only inverter on a home model of its own (another seed). */
async function startGarage(o: DemoSiteOptions, simLog: Logger): Promise<RunningSimulator | undefined> {
  const garageModel = new HomeModel({
    start: o.modelStart,
    seed: o.seed + 1,
    country: 'be',
    timezone: o.timezone,
    pvPeakW: 2500,
    batteryCapacityKwh: 0,
  });
  garageModel.advanceTo(Date.now());
  const [garage] = await startSimulators(garageModel, { sungrow: { host: '127.0.0.1', port: 0 }, log: simLog });
  return garage;
}

/**
 * The car: an NRGkick on the same home (its draw is in the meter's import), the car home from the
 * evening to the morning, wanting 25 kWh by 07:00 under the capacity budget.
 */
async function startCar(model: HomeModel, timezone: string, simLog: Logger): Promise<RunningSimulator> {
  const { startNrgkickSimulator } = await import('../../drivers/nrgkick/simulator.js');
  const kick = await startNrgkickSimulator({
    host: '127.0.0.1',
    port: 0,
    model,
    car: { ...DEMO_CAR, visits: { ...DEMO_CAR.visits, timezone } },
    log: simLog.child({ sim: 'nrgkick' }),
  });
  return { name: 'nrgkick', address: { host: '127.0.0.1', port: kick.port }, stop: () => kick.stop() };
}
