/**
 * A month of the simulated home (bench/control-home.ts: house load and PV of src/drivers/sim, a
 * 10 kWh battery, a car on an 11 kW charger with a session a day) run second by second through
 * three strategies:
 * - uncontrolled: the car charges at 16 A as soon as it is plugged in; the battery self-consumes;
 * - instantaneous: evcc's circuit behaviour, checked every second: the current is cut so the grid
 *   stays under the target, the car pauses when even 6 A does not fit and resumes after the room
 *   for 6 A has held 60 s; the battery self-consumes;
 * - budget: Kwartier's decide() (src/core/control) on the quarter's energy; weekday sessions in
 *   deadline mode (their energy by 07:00), weekend sessions max_under_peak; the battery holds
 *   below 20 % (keeps that for shaving) and never goes below 10 %.
 * The instantaneous and budget strategies also run with a charger that switches to one phase.
 *   npm run bench -- control
 * Capacity rate: KWARTIER_BENCH_CAPACITY_RATE (€/kW/year, default 57.45: Fluvius Imewo 2026 incl.
 * 6 % VAT, guide control.md §4.1). Energy prices: a 2026 day/night contract (config/tariffs.example.yaml).
 */
import { parseControlConfig } from '../src/core/control/config.js';
import { type ControlContext, decide } from '../src/core/control/decide.js';
import { type ControlInput, type ControlState, INITIAL_CONTROL_STATE } from '../src/core/control/types.js';
import type { EnergyBucket } from '../src/core/tariff/bucket.js';
import { computeCost } from '../src/core/tariff/cost.js';
import { parseTariffFile } from '../src/core/tariff/schema.js';
import { carSessions, homeTrace, Plant, type Session, type Trace, TZ } from './control-home.js';
import type { BenchResult } from './run.js';

const MONTH = '2026-03';
const TARGET_W = 2500;
const RATE = Number(process.env.KWARTIER_BENCH_CAPACITY_RATE ?? 57.45);
const QUARTER_S = 900;

const TARIFF = parseTariffFile(
  {
    periods: [
      {
        valid_from: '2026-01-01',
        vat_pct: 6,
        electricity: {
          import: { day: 0.108, night: 0.089 },
          export: { single: 0.025 },
          network_eur_per_kwh: 0.072,
          levies_eur_per_kwh: 0.052,
        },
      },
    ],
  },
  'bench tariff',
);

type Strategy = (now: number, plant: Plant, session: Session | null) => void;

function uncontrolled(): Strategy {
  let told = false;
  return (now, plant) => {
    if (!told) plant.tellCar(now, { charge: true, current_a: 16, phases: 3 });
    told = true;
  };
}

function instantaneous(phaseSwitching: boolean): Strategy {
  let roomSince: number | null = null;
  let told = { charge: false, current_a: 6, phases: 3 as 1 | 3 };
  return (now, plant, session) => {
    if (session === null) return;
    const room = TARGET_W - (plant.gridW - plant.carW);
    const phases: 1 | 3 = phaseSwitching && room < 3 * 230 * 6 ? 1 : 3;
    const current = Math.min(16, Math.floor(room / (230 * phases)));
    let next = told;
    if (told.charge) {
      next = current >= 6 ? { charge: true, current_a: current, phases } : { ...told, charge: false };
      roomSince = null;
    } else if (current >= 6) {
      roomSince = roomSince ?? now;
      if (now - roomSince >= 60_000) next = { charge: true, current_a: current, phases };
    } else roomSince = null;
    if (next.charge !== told.charge || next.current_a !== told.current_a || next.phases !== told.phases) {
      told = next;
      plant.tellCar(now, next);
    }
  };
}

function budget(phaseSwitching: boolean, stats: { decideNs: number; calls: number; writes: number }): Strategy {
  let state: ControlState = INITIAL_CONTROL_STATE;
  const contexts = new Map<string, ControlContext>();
  const context = (s: Session | null): ControlContext => {
    const key = s?.deadline ? `d${s.needKwh}` : 'max';
    let ctx = contexts.get(key);
    if (!ctx) {
      const car = s?.deadline
        ? { mode: 'deadline', energy_kwh: s.needKwh, deadline: '07:00', phase_switching: phaseSwitching }
        : { mode: 'max_under_peak', phase_switching: phaseSwitching };
      const settings = parseControlConfig({
        capacity_target_w: TARGET_W,
        chargers: { car },
        batteries: { home: { reserve_soc_pct: 10, hold_soc_pct: 20 } },
      });
      ctx = { settings, timezone: TZ, tariff: TARIFF, prices: null };
      contexts.set(key, ctx);
    }
    return ctx;
  };
  return (now, plant, session) => {
    const input: ControlInput = {
      now,
      grid: {
        at: now,
        power_w: plant.gridW,
        import_kwh: plant.importKwh,
        month_peak_w: null,
        month_peak_at: null,
        quarter_avg_w: null,
        stale: false,
      },
      chargers: {
        car: {
          stale: false,
          power_w: plant.carW,
          connected: session !== null,
          session_kwh: session ? plant.delivered : null,
        },
      },
      batteries: { home: { stale: false, power_w: plant.batteryW, soc_pct: plant.soc } },
    };
    const t0 = process.hrtime.bigint();
    const out = decide(input, state, context(session));
    stats.decideNs += Number(process.hrtime.bigint() - t0);
    stats.calls++;
    state = out.state;
    for (const c of out.decision.chargers) {
      if (c.write) {
        plant.tellCar(now, c.setpoint);
        stats.writes++;
      }
    }
    for (const b of out.decision.batteries) {
      if (b.write) {
        plant.tellBattery(now, b.setpoint);
        stats.writes++;
      }
    }
  };
}

interface Outcome {
  peakW: number;
  evKwh: number;
  costEur: number;
  deadlinesMet: number;
  feasibleMet: number;
  /** Quarters over 2.5 kW although the house alone (load − PV) stayed under it. */
  overWhereHouseUnder: number;
  /** Quarters over the target in force (max(2.5 kW, the month's peak before it)) although the house alone stayed under it. */
  overTargetWhereHouseUnder: number;
  importKwh: number;
  starts: number;
}

function run(trace: Trace, sessions: readonly Session[], strategy: Strategy, feasible: ReadonlySet<Session>): Outcome {
  const plant = new Plant();
  const quarters = Math.ceil(trace.seconds / QUARTER_S);
  const imp = new Float64Array(quarters);
  const exp = new Float64Array(quarters);
  const house = new Float64Array(quarters);
  let s = 0;
  let evKwh = 0;
  let deadlinesMet = 0;
  let feasibleMet = 0;
  let starts = 0;
  let wasCharging = false;
  for (let i = 0; i < trace.seconds; i++) {
    const now = trace.start + i * 1000;
    while (s < sessions.length && sessions[s]!.leave <= now) s++;
    const cur = sessions[s];
    const session = cur && cur.arrive <= now ? cur : null;
    if (session !== plant.session) {
      const done = plant.session;
      if (done?.deadline != null && plant.delivered >= done.needKwh - 0.01) {
        deadlinesMet++;
        if (feasible.has(done)) feasibleMet++;
      }
      evKwh += plant.session ? plant.delivered : 0;
      plant.session = session;
      plant.delivered = 0;
    }
    strategy(now, plant, session);
    plant.step(now, trace.load[i]!, trace.pv[i]!);
    const q = Math.floor(i / QUARTER_S);
    if (plant.gridW > 0) imp[q]! += plant.gridW;
    else exp[q]! -= plant.gridW;
    house[q]! += Math.max(0, trace.load[i]! - trace.pv[i]!);
    const charging = plant.carW > 0;
    if (charging && !wasCharging) starts++;
    wasCharging = charging;
  }
  evKwh += plant.delivered;
  let peakW = 0;
  let over = 0;
  let overTarget = 0;
  let importKwh = 0;
  const buckets: EnergyBucket[] = [];
  for (let q = 0; q < quarters; q++) {
    const avg = imp[q]! / QUARTER_S;
    const inForce = Math.max(TARGET_W, peakW);
    const houseAvg = house[q]! / QUARTER_S;
    if (houseAvg <= inForce && avg > inForce + 0.5) {
      overTarget++;
      if (process.env.KWARTIER_BENCH_DEBUG) {
        const at = new Date(trace.start + q * 900_000).toISOString();
        process.stdout.write(
          `  over target: ${at} grid ${avg.toFixed(0)} W > ${inForce.toFixed(0)} W, house ${houseAvg.toFixed(0)} W\n`,
        );
      }
    }
    peakW = Math.max(peakW, avg);
    importKwh += imp[q]! / 3.6e6;
    if (houseAvg <= TARGET_W && avg > TARGET_W) over++;
    const start = trace.start + q * QUARTER_S * 1000;
    buckets.push({
      start: new Date(start),
      end: new Date(start + QUARTER_S * 1000),
      samples: QUARTER_S,
      import_kwh: imp[q]! / 3.6e6,
      import_t1_kwh: null,
      import_t2_kwh: null,
      export_kwh: exp[q]! / 3.6e6,
      export_t1_kwh: null,
      export_t2_kwh: null,
      pv_kwh: null,
      battery_charge_kwh: null,
      battery_discharge_kwh: null,
      gas_m3: null,
      water_m3: null,
    });
  }
  const end = trace.start + trace.seconds * 1000;
  const costResult = computeCost({ tariff: TARIFF, buckets, start: trace.start, end });
  const cost = costResult.cost_eur ?? Number.NaN;
  return {
    peakW,
    evKwh,
    costEur: cost,
    deadlinesMet,
    feasibleMet,
    overWhereHouseUnder: over,
    overTargetWhereHouseUnder: overTarget,
    importKwh,
    starts,
  };
}

/** Deadlines a controller knowing the future could meet at the target: room left by the house alone, quarter by quarter. */
function feasibleDeadlines(trace: Trace, sessions: readonly Session[]): Set<Session> {
  const out = new Set<Session>();
  for (const s of sessions) {
    if (s.deadline === null) continue;
    let roomJ = 0;
    const from = (s.arrive - trace.start) / 1000;
    const to = (s.deadline - trace.start) / 1000;
    for (let q0 = Math.floor(from / QUARTER_S) * QUARTER_S; q0 < to; q0 += QUARTER_S) {
      let houseJ = 0;
      for (let i = q0; i < q0 + QUARTER_S && i < trace.seconds; i++)
        houseJ += Math.max(0, trace.load[i]! - trace.pv[i]!);
      const seconds = Math.min(q0 + QUARTER_S, to) - Math.max(q0, from);
      roomJ += Math.min(11_040 * seconds, Math.max(0, TARGET_W * QUARTER_S - houseJ) * (seconds / QUARTER_S));
    }
    if (roomJ / 3.6e6 >= s.needKwh) out.add(s);
  }
  return out;
}

export async function bench(): Promise<BenchResult[]> {
  const trace = homeTrace(MONTH, 7);
  const sessions = carSessions(trace, 11);
  const feasible = feasibleDeadlines(trace, sessions);
  const deadlines = sessions.filter((s) => s.deadline !== null).length;
  const needed = sessions.reduce((a, s) => a + s.needKwh, 0);
  const results: BenchResult[] = [
    { name: `${MONTH}: car sessions (weekday deadlines 07:00 / weekend)`, value: sessions.length, unit: 'sessions' },
    { name: 'energy the car asked for', value: Math.round(needed * 10) / 10, unit: 'kWh' },
    {
      name: `deadlines feasible under ${TARGET_W / 1000} kW (hindsight)`,
      value: feasible.size,
      unit: `of ${deadlines}`,
    },
  ];
  const stats = { decideNs: 0, calls: 0, writes: 0 };
  const runs: Array<[string, Strategy]> = [
    ['uncontrolled', uncontrolled()],
    ['instantaneous limit, 3 phases', instantaneous(false)],
    ['budget, 3 phases', budget(false, stats)],
    ['instantaneous limit, 1/3-phase switching', instantaneous(true)],
    ['budget, 1/3-phase switching', budget(true, { decideNs: 0, calls: 0, writes: 0 })],
  ];
  const outcomes = new Map<string, Outcome>();
  for (const [label, strategy] of runs) {
    const o = run(trace, sessions, strategy, feasible);
    outcomes.set(label, o);
    const billedKw = Math.max(o.peakW, 2500) / 1000;
    results.push(
      { name: `${label}: month peak`, value: Math.round(o.peakW) / 1000, unit: 'kW' },
      {
        name: `${label}: capacity tariff at ${RATE} €/kW/year`,
        value: Math.round(billedKw * RATE * 100) / 100,
        unit: '€/year',
      },
      { name: `${label}: energy cost of the month`, value: Math.round(o.costEur * 100) / 100, unit: '€' },
      { name: `${label}: EV energy delivered`, value: Math.round(o.evKwh * 10) / 10, unit: 'kWh' },
      { name: `${label}: deadlines met`, value: o.deadlinesMet, unit: `of ${deadlines}` },
      { name: `${label}: feasible deadlines met`, value: o.feasibleMet, unit: `of ${feasible.size}` },
      { name: `${label}: grid import`, value: Math.round(o.importKwh * 10) / 10, unit: 'kWh' },
      {
        name: `${label}: quarters over ${TARGET_W} W where the house alone was under`,
        value: o.overWhereHouseUnder,
        unit: 'quarters',
      },
      {
        name: `${label}: quarters over the target in force (max(2.5 kW, month peak so far)) where the house alone was under`,
        value: o.overTargetWhereHouseUnder,
        unit: 'quarters',
        ...(label.startsWith('budget') ? { target: '<= 0' } : {}),
      },
      { name: `${label}: charging starts`, value: o.starts, unit: 'starts' },
    );
  }
  for (const ph of ['3 phases', '1/3-phase switching']) {
    const inst = outcomes.get(`instantaneous limit, ${ph}`)!;
    const bud = outcomes.get(`budget, ${ph}`)!;
    results.push(
      {
        name: `${ph}: month peak, budget − instantaneous limit`,
        value: Math.round(bud.peakW - inst.peakW) / 1000,
        unit: 'kW',
        target: '<= 0',
      },
      {
        name: `${ph}: EV energy, budget − instantaneous limit`,
        value: Math.round((bud.evKwh - inst.evKwh) * 10) / 10 + 0,
        unit: 'kWh',
        target: '>= 0',
      },
    );
  }
  results.push(
    { name: 'budget: decide() per call', value: Math.round(stats.decideNs / stats.calls / 10) / 100, unit: 'µs' },
    {
      name: 'budget, 3 phases: device writes per day',
      value: Math.round((stats.writes / (trace.seconds / 86_400)) * 10) / 10,
      unit: 'writes/day',
    },
  );
  return results;
}
