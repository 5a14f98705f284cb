/**
 * The edge's control (src/edge/control.ts) in the real edge app, against a simulated P1 meter (DSMR
 * over TCP) and a simulated NRGkick on ONE simulated home on loopback, so what the car draws is in
 * the meter's import: the `control:` section's checks (unknown keys and devices named), the budget in
 * every snapshot, the fail safe of a fresh start (the quarter's energy unknown: the safe current,
 * written through the charger's API), `dry_run` and a device without `control: true` (decided,
 * never written).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/core/snapshot.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { startDsmrTcpSimulator } from '../../src/drivers/dsmr/simulator.js';
import { type NrgkickSimulator, startNrgkickSimulator } from '../../src/drivers/nrgkick/simulator.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { EdgeApp } from '../../src/edge/app.js';
import { checkEdgeConfig, type EdgeConfig, EdgeConfigSchema } from '../../src/edge/config.js';
import { silentLogger } from '../../src/lib/log.js';
import { captureLogger } from '../helpers/log.js';
import { midQuarter, waitFor } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const site = (p1: number, car: number, control: unknown, carKeys: Record<string, unknown> = { control: true }) =>
  ({
    device_id: 'ctl-home',
    devices: [
      { name: 'p1', type: 'dsmr', tcp: `127.0.0.1:${p1}` },
      {
        name: 'car',
        type: 'nrgkick',
        host: '127.0.0.1',
        port: car,
        poll_interval_s: 1,
        control_interval_s: 1,
        settle_ms: 50,
        ...carKeys,
      },
    ],
    control,
  }) as unknown;

async function home(): Promise<{ model: HomeModel; p1: number; car: NrgkickSimulator }> {
  const model = new HomeModel({ start: Date.now(), seed: 4, pvPeakW: 0, batteryCapacityKwh: 0 });
  const dsmr = await startDsmrTcpSimulator({ host: '127.0.0.1', port: 0, rateHz: 1, model, log: silentLogger() });
  cleanups.push(() => dsmr.stop());
  const car = await startNrgkickSimulator({ host: '127.0.0.1', port: 0, model, responseS: 1, log: silentLogger() });
  cleanups.push(() => car.stop());
  return { model, p1: dsmr.port, car };
}

async function run(config: unknown) {
  const cfg = checkEdgeConfig(parseWithSchema(EdgeConfigSchema, config, 'edge.yaml') as EdgeConfig, 'edge.yaml');
  const { log, lines } = captureLogger();
  const snaps: Snapshot[] = [];
  const app = await EdgeApp.create({ config: cfg, log });
  await app.start();
  // After the app's consumers: the control has put the budget in by then.
  app.bus.subscribe('test', 'snapshot', (s) => void snaps.push(structuredClone(s)));
  cleanups.push(() => app.stop());
  return { app, snaps, lines };
}

describe('edge control: the control section', () => {
  const check =
    (control: unknown, carType = 'nrgkick') =>
    () =>
      checkEdgeConfig(
        parseWithSchema(
          EdgeConfigSchema,
          {
            device_id: 'h',
            devices: [
              { name: 'p1', type: 'dsmr', tcp: '127.0.0.1:1' },
              { name: 'car', type: carType, host: '127.0.0.1' },
            ],
            control,
          },
          'edge.yaml',
        ) as EdgeConfig,
        'edge.yaml',
      );

  it('takes the contract keys of issue 16', () => {
    expect(check({ capacity_target_w: 2500, chargers: { car: { mode: 'max_under_peak' } } })).not.toThrow();
    expect(
      check({
        capacity_target_w: 'follow_peak',
        chargers: { car: { mode: 'deadline', energy_kwh: 20, deadline: '07:00' } },
      }),
    ).not.toThrow();
  });

  it('names an unknown key, a bad value and a charger that is no charger of the site', () => {
    expect(check({ capacity_target_w: 2500, chargerz: {} })).toThrow('edge.yaml: control: chargerz: unknown key');
    expect(check({ chargers: { car: { mode: 'fast' } } })).toThrow(
      /^edge\.yaml: control: chargers\.car\.mode: must be one of/,
    );
    expect(check({ capacity_target_w: 'lots' })).toThrow(
      'edge.yaml: control: capacity_target_w: must be a number of W (0 to 1000000) or follow_peak',
    );
    expect(check({ chargers: { garage: {} } })).toThrow(
      "edge.yaml: control: chargers.garage: no device named garage; the site's ev_charger devices: car",
    );
    expect(check({ chargers: { p1: {} } })).toThrow(
      /^edge\.yaml: control: chargers\.p1: device p1 \(dsmr\) cannot be a ev_charger/,
    );
  });
});

describe('edge control: in the edge', () => {
  it('puts the budget in every snapshot and, on a fresh start (quarter unknown), writes the safe current', async () => {
    // Well inside a quarter, so the start is mid-quarter and the test ends before the next one.
    await midQuarter(20, 30);
    const { p1, car, model } = await home();
    // The charger starts at its rated 16 A (a car drawing 11 kW): the fail safe brings it to 6 A.
    // (The simulated meter sends 1-0:1.4.0, which would make the quarter known: not read here.)
    const { snaps, lines } = await run(
      site(p1, car.port, {
        capacity_target_w: 2500,
        meter_quarter_average: 'off',
        chargers: { car: { mode: 'max_under_peak' } },
      }),
    );
    await waitFor(() => car.control.current_set === 6, 'the safe current written');
    await waitFor(() => model.state().ev_w === 230 * 6 * 3, 'the car at 6 A');
    await waitFor(() => snaps.length >= 3, 'snapshots');
    const s = snaps.at(-1)!;
    expect(s.control).toMatchObject({
      target_w: 2500,
      target_source: 'floor',
      budget_kwh: 0.625,
      dry_run: false,
      chargers: { car: { charge: true, current_a: 6, phases: 3, setpoint_w: 4140 } },
    });
    // A fresh edge does not know the energy of the quarter it started in.
    expect(s.control?.status).toBe('unknown');
    expect(s.control?.used_kwh).toBeNull();
    expect(Date.parse(s.control!.quarter_start) % 900_000).toBe(0);
    expect(car.control.charge_pause).toBe(0);
    const written = lines.filter((l) => l.msg === 'control written');
    expect(written.map((l) => [l.control, l.read_back])).toContainEqual(['current_set_a', 6]);
    expect(lines.some((l) => l.msg === 'control decision' && String(l.reason).includes('safe current 6 A'))).toBe(true);
  }, 120_000);

  it('dry_run decides and logs, and writes nothing', async () => {
    const { p1, car } = await home();
    const { snaps, lines } = await run(
      site(p1, car.port, { capacity_target_w: 2500, dry_run: true, chargers: { car: {} } }),
    );
    await waitFor(() => lines.some((l) => l.msg === 'control (dry run): would write'), 'a dry-run line');
    await waitFor(() => snaps.some((s) => s.control?.dry_run === true), 'a dry-run budget');
    expect(car.writes).toBe(0);
    expect(car.control.current_set).toBe(16);
  });

  it('a charger without control: true is decided for and never written', async () => {
    const { p1, car } = await home();
    const { snaps, lines } = await run(site(p1, car.port, { capacity_target_w: 2500, chargers: { car: {} } }, {}));
    await waitFor(() => snaps.some((s) => s.control?.chargers.car !== undefined), 'a decision');
    await waitFor(() => lines.some((l) => l.level === 40 && String(l.msg).includes('control: true')), 'the warning');
    expect(car.writes).toBe(0);
  });
});

describe('edge control: prices from control.tariff_file', () => {
  /**
   * A dynamic contract whose price file makes this hour and the next expensive and the six after
   * cheap; a deadline eight hours ahead for 5 kWh, which the cheap hours hold (1.08 kWh a quarter
   * under a 6 kW target: (6,000 − 100 − 500) W × 15 min × 0.8). Without prices the plan takes the
   * earliest quarters: the car charges now.
   */
  function tariffFiles(): string {
    const dir = mkdtempSync(join(tmpdir(), 'kw-ctl-tariff-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const prices = Array.from({ length: 12 }, (_, i) => ({
      start: new Date(hour + i * 3_600_000).toISOString(),
      price_eur_per_kwh: i < 2 ? 0.4 : i < 8 ? 0.05 : 0.4,
    }));
    writeFileSync(join(dir, 'prices.json'), JSON.stringify(prices));
    writeFileSync(
      join(dir, 'tariffs.yaml'),
      [
        'price_file: prices.json',
        'periods:',
        "  - valid_from: '2026-01-01'",
        '    vat_pct: 6',
        '    electricity:',
        '      import: { dynamic: { multiplier: 1, adder_eur_per_kwh: 0.01, resolution: hour } }',
        '      network_eur_per_kwh: 0.05',
        '      levies_eur_per_kwh: 0.02',
        '',
      ].join('\n'),
    );
    return join(dir, 'tariffs.yaml');
  }

  const deadline = (): string =>
    new Date(Date.now() + 8 * 3_600_000).toLocaleTimeString('en-GB', {
      timeZone: 'Europe/Brussels',
      hour: '2-digit',
      minute: '2-digit',
    });

  it('a deadline waits for the cheap hours the tariff file gives, and charges now without one', async () => {
    const car = { mode: 'deadline', energy_kwh: 5, deadline: deadline() };
    const withTariff = await home();
    const priced = await run(
      site(withTariff.p1, withTariff.car.port, {
        capacity_target_w: 6000,
        tariff_file: tariffFiles(),
        chargers: { car },
      }),
    );
    await waitFor(
      () => priced.lines.some((l) => l.msg === 'control decision' && l.device === 'car'),
      'a decision for the car',
    );
    // It waits for the cheap hours (held at its minimum until min_on_s allows a stop: no cycling).
    const waits = priced.lines.find((l) => l.msg === 'control decision' && l.device === 'car');
    expect(String(waits?.reason)).toContain('deadline 5.00 kWh by');
    expect(String(waits?.reason)).toContain('cheaper quarters later, PV surplus only now');

    const noTariff = await home();
    const plain = await run(site(noTariff.p1, noTariff.car.port, { capacity_target_w: 6000, chargers: { car } }));
    await waitFor(
      () => plain.lines.some((l) => l.msg === 'control decision' && l.device === 'car'),
      'a decision for the car',
    );
    const now = plain.lines.find((l) => l.msg === 'control decision' && l.device === 'car');
    expect(String(now?.reason)).toContain('a planned (cheapest) quarter');
  });

  it('names the file when control.tariff_file cannot be read', async () => {
    const { p1, car } = await home();
    const bad = site(p1, car.port, { tariff_file: '/nonexistent/tariffs.yaml', chargers: { car: {} } });
    await expect(run(bad)).rejects.toThrow('control.tariff_file: cannot read /nonexistent/tariffs.yaml');
  });
});
