/**
 * The NRGkick source against its simulator on 127.0.0.1 (real HTTP): a reading with the car's
 * power, session energy, state and the charger's set current and phases; nothing written without
 * `control: true`; with it each write is read back and the simulated car follows it, and the
 * simulated home counts what the car draws in its grid power (the loop a controller closes); a
 * value the charger refuses (406) is an error quoting it; HTTP Basic auth; the config's checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { parseWithSchema } from '../../../src/core/validate.js';
import { type NrgkickConfig, NrgkickConfigSchema } from '../../../src/drivers/nrgkick/config.js';
import { nrgkick } from '../../../src/drivers/nrgkick/definition.js';
import { carHome, type NrgkickSimulator, startNrgkickSimulator } from '../../../src/drivers/nrgkick/simulator.js';
import { type NrgkickReading, NrgkickSource } from '../../../src/drivers/nrgkick/source.js';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import type { SourceState } from '../../../src/drivers/source.js';
import { silentLogger } from '../../../src/lib/log.js';
import { waitFor } from '../../helpers/wait.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

const log = silentLogger();

async function setup(
  over: Partial<NrgkickConfig> = {},
  sim: Partial<Parameters<typeof startNrgkickSimulator>[0]> = {},
): Promise<{
  model: HomeModel;
  sim: NrgkickSimulator;
  src: NrgkickSource;
  readings: NrgkickReading[];
  states: string[];
}> {
  const model = new HomeModel({ start: Date.now(), seed: 3, pvPeakW: 0, batteryCapacityKwh: 0 });
  const s = await startNrgkickSimulator({ host: '127.0.0.1', port: 0, model, responseS: 0, log, ...sim });
  cleanup.push(() => s.stop());
  const cfg = parseWithSchema(
    NrgkickConfigSchema,
    { host: '127.0.0.1', port: s.port, poll_interval_s: 1, control_interval_s: 1, settle_ms: 50, ...over },
    'nrgkick',
  ) as NrgkickConfig;
  const src = new NrgkickSource(cfg, { log, name: 'car' });
  const readings: NrgkickReading[] = [];
  const states: string[] = [];
  src.onReading((r) => readings.push(r as NrgkickReading));
  src.onState((st: SourceState, d?: string) => states.push(d === undefined ? st : `${st}: ${d}`));
  cleanup.push(() => src.stop());
  return { model, sim: s, src, readings, states };
}

describe('NRGkick source', () => {
  it("reads the car's power, energy and state, and the charger's set current and phases", async () => {
    const { src, readings, model } = await setup();
    await src.start();
    await waitFor(() => readings.length >= 2, 'two readings');
    const first = readings[0]?.fields;
    // The default car takes 16 A on three phases; the charger is rated 16 A and set to it.
    expect(first).toMatchObject({
      ev_power_w: 230 * 16 * 3,
      ev_state: 'charging',
      ev_current_set_a: 16,
      ev_phases: 3,
      ev_charge_pause: 0,
      ev_signaled_current_a: 16,
    });
    expect(model.state().ev_w).toBe(11_040);
    const last = readings.at(-1)?.fields;
    expect(last?.ev_session_kwh).toBeGreaterThanOrEqual(0);
    expect(last?.ev_total_kwh).toBeCloseTo(14.187 + (last?.ev_session_kwh ?? 0), 6);
  });

  it('a car with visits is plugged in only inside its window (local time, past midnight), each visit a new session', async () => {
    const car = { capacityKwh: 60, socPct: 30, maxCurrentA: 16, phases: 3 as const };
    const visits = { arrive: '18:30', leave: '07:30', timezone: 'Europe/Brussels' };
    // Brussels is UTC+1 in December.
    expect(carHome({ ...car, visits }, Date.parse('2026-12-05T17:29:59Z'))).toBe(false); // 18:29:59
    expect(carHome({ ...car, visits }, Date.parse('2026-12-05T17:30:00Z'))).toBe(true); // 18:30
    expect(carHome({ ...car, visits }, Date.parse('2026-12-05T23:59:00Z'))).toBe(true); // 00:59
    expect(carHome({ ...car, visits }, Date.parse('2026-12-06T06:29:59Z'))).toBe(true); // 07:29:59
    expect(carHome({ ...car, visits }, Date.parse('2026-12-06T06:30:00Z'))).toBe(false); // 07:30
    expect(
      carHome({ ...car, visits: { ...visits, arrive: '09:00', leave: '17:00' } }, Date.parse('2026-12-05T12:00:00Z')),
    ).toBe(true);
    expect(carHome(car, 0)).toBe(true);
    expect(carHome(null, 0)).toBe(false);

    // Away now (a window that has just closed): the charger has no car, draws nothing.
    const local = (ms: number) =>
      new Date(ms).toLocaleTimeString('en-GB', { timeZone: 'Europe/Brussels', hour: '2-digit', minute: '2-digit' });
    const now = Date.now();
    const away = { arrive: local(now - 3 * 3_600_000), leave: local(now - 3_600_000), timezone: 'Europe/Brussels' };
    const { src, readings, model } = await setup({}, { car: { ...car, visits: away } });
    await src.start();
    await waitFor(() => readings.length >= 1, 'a reading');
    expect(readings[0]?.fields).toMatchObject({ ev_power_w: 0, ev_state: 'standby' });
    expect(model.state().ev_w).toBe(0);
  });

  it('writes nothing without control: true', async () => {
    const { src, sim } = await setup();
    await expect(src.control('current_set_a', 10)).rejects.toMatchObject({ code: 'control_disabled' });
    expect(sim.writes).toBe(0);
    expect(sim.control.current_set).toBe(16);
  });

  it('with control: true, writes, reads back, and the car and the home follow', async () => {
    const { src, sim, model, readings } = await setup({ control: true });
    await src.start();
    await waitFor(() => readings.length >= 1, 'a reading');
    const before = model.state();
    const gridBefore = before.grid_w - before.ev_w;

    const r = await src.control('current_set_a', 10);
    expect(r).toMatchObject({ control: 'current_set_a', requested: 10, readBack: 10 });
    await waitFor(() => sim.drawW === 230 * 10 * 3, 'the car at 10 A');
    await waitFor(() => readings.at(-1)?.fields.ev_power_w === 6900, 'a reading at 6.9 kW');
    expect(readings.at(-1)?.fields.ev_current_set_a).toBe(10);
    // The home's grid power carries the car's draw: grid = house + car.
    await waitFor(() => model.state().ev_w === 6900, 'the home at 6.9 kW of car');
    const st = model.state();
    expect(st.grid_w).toBe(st.load_w - st.pv_w + st.battery_w);
    expect(st.grid_w - st.ev_w).toBeLessThan(gridBefore + 5000); // the house alone, kettle or not

    expect((await src.control('charge_pause', true)).readBack).toBe(true);
    await waitFor(() => sim.drawW === 0 && model.state().ev_w === 0, 'the car paused');
    await waitFor(() => readings.at(-1)?.fields.ev_state === 'connected', 'state connected');

    expect((await src.control('phase_count', 1)).readBack).toBe(1);
    expect((await src.control('charge_pause', false)).readBack).toBe(false);
    await waitFor(() => sim.drawW === 230 * 10, 'the car at 10 A on one phase');
    expect(sim.writes).toBe(4);
  });

  it('a current the charger refuses is an error quoting its answer, and nothing changes', async () => {
    const { src, sim } = await setup({ control: true });
    // Within the spec (≤ 32 A) but above this charger's rated 16 A: the charger answers 406.
    await expect(src.control('current_set_a', 20)).rejects.toThrow(
      /406.*Invalid current entered, allowed 6\.0A - 16\.0A/,
    );
    expect(sim.control.current_set).toBe(16);
    await expect(src.control('current_set_a', 'ten')).rejects.toMatchObject({ code: 'control_value' });
    await expect(src.control('energy', 1)).rejects.toMatchObject({ code: 'control_unknown' });
  });

  it('uses HTTP Basic auth when the charger asks for it', async () => {
    const auth = { username: 'kwartier', password: 's3cret' };
    const bad = await setup({ username: 'kwartier', password: 'wrong' }, { auth });
    await bad.src.start();
    await waitFor(() => bad.states.some((s) => s.includes('401')), 'a 401');
    expect(bad.readings).toHaveLength(0);
    const good = await setup(auth, { auth });
    await good.src.start();
    await waitFor(() => good.readings.length >= 1, 'a reading with credentials');
  });

  it('refuses a username without a password, naming the key', () => {
    const c = parseWithSchema(NrgkickConfigSchema, { host: 'x', username: 'u' }, 'nrgkick') as NrgkickConfig;
    expect(() => nrgkick.check?.(c, 'devices[1]')).toThrow(ConfigError);
    expect(() => nrgkick.check?.(c, 'devices[1]')).toThrow(/^devices\[1\]\.password: /);
  });
});
