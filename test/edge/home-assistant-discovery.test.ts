/**
 * The Home Assistant discovery and state messages (src/edge/home-assistant/discovery.ts), checked
 * by a consumer written from HA's documentation (test/helpers/ha-discovery.ts), with snapshots of
 * the simulated home and the capacity watch's real status.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/core/snapshot.js';
import { KWARTIER_VERSION } from '../../src/core/version.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { type CapacityStatus, CapacityWatch } from '../../src/edge/capacity-watch.js';
import {
  buildDiscovery,
  buildState,
  type HomeDescription,
  homeTopics,
} from '../../src/edge/home-assistant/discovery.js';
import {
  checkSensorDiscovery,
  energyDashboardUse,
  type HaSensorConfig,
  PAYLOAD_NONE,
  renderState,
} from '../helpers/ha-discovery.js';
import { sampleHome } from '../helpers/snapshots.js';

const home: HomeDescription = { deviceId: 'home-01', chargers: ['car'], discoveryPrefix: 'homeassistant' };

function configs(h = home): Map<string, HaSensorConfig> {
  return new Map(buildDiscovery(h).map((m) => [m.config.unique_id, m.config as HaSensorConfig]));
}

/** A morning of the simulated home at 10 s steps, through the capacity watch as on the edge. */
function morning(): Array<{ snapshot: Snapshot; status: CapacityStatus | null }> {
  const start = Date.parse('2026-03-30T06:00:00Z');
  const model = new HomeModel({ start, seed: 7 });
  const watch = new CapacityWatch({ timezone: 'Europe/Brussels' });
  return sampleHome(model, 'home-01', start + 40 * 60_000, 10_000).map((snapshot) => {
    watch.update(snapshot);
    return { snapshot, status: watch.status };
  });
}

describe('Home Assistant discovery (pure)', () => {
  it('announces every sensor in HA’s documented sensor schema, one device for the home', () => {
    const messages = buildDiscovery(home);
    for (const m of messages) {
      expect(checkSensorDiscovery(m.topic, JSON.stringify(m.config)), m.topic).toEqual([]);
      // The docs' best practice: the object id is the unique id, no node id.
      expect(m.topic).toBe(`homeassistant/sensor/${m.config.unique_id}/config`);
      expect(m.config.device.identifiers).toEqual(['kwartier_home-01']);
      expect(m.config.state_topic).toBe('kwartier/home-01/state');
      expect(m.config.availability_topic).toBe('kwartier/home-01/availability');
      expect(m.config.origin).toEqual({ name: 'Kwartier', sw_version: KWARTIER_VERSION });
    }
    const ids = messages.map((m) => m.config.unique_id);
    expect(new Set(ids).size).toBe(ids.length);
    // The consumer is strict where HA's docs are: it refuses what HA would not take.
    const energy = messages.find((m) => m.config.device_class === 'energy');
    if (!energy) throw new Error('no energy sensor');
    const bad = (over: Record<string, unknown>) =>
      checkSensorDiscovery(energy.topic, JSON.stringify({ ...energy.config, ...over }));
    expect(bad({ unit_of_measurment: 'kWh' })).toEqual(['unit_of_measurment: unknown key']);
    expect(bad({ state_class: 'measurement' })).toEqual(['energy with state_class measurement']);
    expect(bad({ unit_of_measurement: 'kW' })[0]).toMatch(/^unit kW is not one of energy's/);
    expect(checkSensorDiscovery('homeassistant/sensor/a.b/config', JSON.stringify(energy.config))).toEqual([
      'topic homeassistant/sensor/a.b/config: bad id a.b',
    ]);
    // The brief's list, and the charger's.
    const suffixes = ids.map((id) => id.replace('kwartier_home-01_', ''));
    expect(suffixes).toEqual([
      'grid_power_w',
      'grid_import_power_w',
      'grid_export_power_w',
      'pv_power_w',
      'battery_power_w',
      'battery_soc_pct',
      'load_power_w',
      'grid_import_t1_kwh',
      'grid_import_t2_kwh',
      'grid_export_t1_kwh',
      'grid_export_t2_kwh',
      'pv_total_kwh',
      'battery_total_charge_kwh',
      'battery_total_discharge_kwh',
      'gas_total_m3',
      'water_total_m3',
      'quarter_avg_w',
      'quarter_forecast_w',
      'quarter_headroom_w',
      'month_peak_w',
      'car_ev_power_w',
      'car_ev_session_kwh',
      'car_ev_current_set_a',
      'car_ev_state',
    ]);
  });

  it('gives every counter what HA’s Energy dashboard asks, and every power sensor W/measurement', () => {
    const c = configs();
    const use = (key: string) => energyDashboardUse(c.get(`kwartier_home-01_${key}`) as HaSensorConfig);
    for (const key of [
      'grid_import_t1_kwh',
      'grid_import_t2_kwh',
      'grid_export_t1_kwh',
      'grid_export_t2_kwh',
      'pv_total_kwh',
      'battery_total_charge_kwh',
      'battery_total_discharge_kwh',
      'car_ev_session_kwh',
    ])
      expect(use(key), key).toBe('energy');
    expect(use('gas_total_m3')).toBe('gas');
    expect(use('water_total_m3')).toBe('water');
    for (const key of ['grid_import_power_w', 'pv_power_w', 'quarter_forecast_w', 'month_peak_w', 'car_ev_power_w']) {
      const s = c.get(`kwartier_home-01_${key}`);
      expect(s, key).toMatchObject({ device_class: 'power', state_class: 'measurement', unit_of_measurement: 'W' });
      expect(use(key)).toBeNull();
    }
    expect(c.get('kwartier_home-01_battery_soc_pct')).toMatchObject({
      device_class: 'battery',
      state_class: 'measurement',
      unit_of_measurement: '%',
    });
    // A text sensor: no class, no unit (HA would expect a number otherwise).
    const state = c.get('kwartier_home-01_car_ev_state');
    expect(state?.device_class ?? null).toBeNull();
    expect(state?.unit_of_measurement ?? null).toBeNull();
    expect(state?.state_class ?? null).toBeNull();
  });

  it('derives unique ids from the device id and the field only: the same on every build (restart)', () => {
    const first = buildDiscovery(home);
    const again = buildDiscovery({ ...home, chargers: [...home.chargers] });
    expect(again).toEqual(first);
    // Another home: other ids, so two homes on one HA broker do not collide.
    const other = buildDiscovery({ ...home, deviceId: 'home-02' }).map((m) => m.config.unique_id);
    expect(other.some((id) => first.some((m) => m.config.unique_id === id))).toBe(false);
    // A device id with a dot (allowed by the edge config) becomes `_` where HA allows only [a-zA-Z0-9_-].
    const dotted = buildDiscovery({ ...home, deviceId: 'flat.2b', chargers: [] });
    for (const m of dotted) expect(checkSensorDiscovery(m.topic, JSON.stringify(m.config))).toEqual([]);
    expect(dotted[0]?.config.unique_id).toBe('kwartier_flat_2b_grid_power_w');
    expect(dotted[0]?.config.state_topic).toBe('kwartier/flat.2b/state');
  });

  it('uses the configured discovery prefix', () => {
    const m = buildDiscovery({ ...home, discoveryPrefix: 'ha/discovery' });
    expect(m[0]?.topic).toBe('ha/discovery/sensor/kwartier_home-01_grid_power_w/config');
    expect(checkSensorDiscovery(m[0]?.topic ?? '', JSON.stringify(m[0]?.config), 'ha/discovery')).toEqual([]);
  });

  it('puts the simulated home’s values and the capacity watch’s quarter in the state HA renders', () => {
    const rows = morning();
    // The last sample: 40 minutes in, so the watch has seen a quarter begin (avg and forecast known).
    const last = rows.at(-1);
    if (!last?.status) throw new Error('no status');
    const s = last.snapshot;
    const state = buildState(home, { snapshot: s, capacity: last.status });
    const json = JSON.stringify(state);
    const c = configs();
    const rendered = (key: string) => renderState(c.get(`kwartier_home-01_${key}`)?.value_template ?? '', json);
    expect(Number(rendered('grid_power_w'))).toBe(s.grid_power_w);
    const grid = s.grid_power_w as number;
    expect(Number(rendered('grid_import_power_w'))).toBe(Math.max(0, grid));
    expect(Number(rendered('grid_export_power_w'))).toBe(Math.max(0, -grid));
    expect(Number(rendered('grid_import_t1_kwh'))).toBe(s.grid_import_t1_kwh);
    expect(Number(rendered('grid_export_t2_kwh'))).toBe(s.grid_export_t2_kwh);
    expect(Number(rendered('pv_total_kwh'))).toBe(s.pv_total_kwh);
    expect(Number(rendered('gas_total_m3'))).toBe(s.gas_total_m3);
    expect(Number(rendered('water_total_m3'))).toBe(s.water_total_m3);
    expect(Number(rendered('battery_soc_pct'))).toBe(s.battery_soc_pct);
    expect(Number(rendered('load_power_w'))).toBe(s.load_power_w);
    expect(last.status.avg_so_far_w).not.toBeNull();
    expect(Number(rendered('quarter_avg_w'))).toBe(last.status.avg_so_far_w);
    expect(Number(rendered('quarter_forecast_w'))).toBe(last.status.projected_w);
    expect(Number(rendered('month_peak_w'))).toBe(last.status.month_peak_w);
    // Every sensor's template finds its key (HA would warn about an undefined one).
    for (const [, cfg] of c) expect(() => renderState(cfg.value_template ?? '', json)).not.toThrow();
    // No charger in this snapshot (`devices` absent): unknown, not 0.
    expect(rendered('car_ev_power_w')).toBe(PAYLOAD_NONE);
    expect(rendered('car_ev_state')).toBe(PAYLOAD_NONE);
  });

  it('sends unknown (None), never 0, for what is absent: a stale source, the first quarter, a stale charger', () => {
    const rows = morning();
    const first = rows[0];
    if (!first?.status) throw new Error('no status');
    // The first snapshot: the quarter began before the edge did, so its average is unknown.
    expect(first.status.avg_so_far_w).toBeNull();
    const s: Snapshot = { ...first.snapshot, pv_power_w: null, pv_total_kwh: null, stale_sources: ['roof'] };
    s.devices = {
      car: { type: 'nrgkick', stale: true, fields: { ev_power_w: 7200, ev_state: 'charging' } },
    };
    const state = buildState(home, { snapshot: s, capacity: first.status });
    const json = JSON.stringify(state);
    const c = configs();
    for (const key of [
      'pv_power_w',
      'pv_total_kwh',
      'quarter_avg_w',
      'quarter_forecast_w',
      'car_ev_power_w',
      'car_ev_state',
    ])
      expect(renderState(c.get(`kwartier_home-01_${key}`)?.value_template ?? '', json), key).toBe(PAYLOAD_NONE);
    // Before the capacity watch's first status: unknown too.
    const none = buildState(home, { snapshot: s, capacity: null });
    expect(none.month_peak_w).toBeNull();
    // A fresh charger's values as it reports them.
    s.devices = {
      car: { type: 'nrgkick', stale: false, fields: { ev_power_w: 7200, ev_session_kwh: 3.25, ev_state: 'charging' } },
    };
    const fresh = buildState(home, { snapshot: s, capacity: first.status });
    expect(fresh).toMatchObject({ car_ev_power_w: 7200, car_ev_session_kwh: 3.25, car_ev_state: 'charging' });
    expect(fresh.car_ev_current_set_a).toBeNull();
  });

  it('names the version package.json has', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(KWARTIER_VERSION).toBe(pkg.version);
    expect(homeTopics('x')).toEqual({ state: 'kwartier/x/state', availability: 'kwartier/x/availability' });
  });
});
