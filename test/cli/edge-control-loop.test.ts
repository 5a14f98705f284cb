/**
 * The closed loop of issue 16, end to end: `kwartier simulate` serves a P1 meter (DSMR over TCP) and
 * an NRGkick with a car on ONE simulated home (no PV, no battery), so every watt the car draws is in
 * the meter's import; `kwartier edge --config FILE --console` (child processes, loopback only) reads
 * both, decides every second and writes the charger over its HTTP API. The charger is in
 * `max_under_peak` under a 2,500 W target, with phase switching.
 *
 * Why this shape (and not two whole quarters): the simulators run in real time (they cannot be
 * accelerated), and a quarter shortened for the test would change the arithmetic being tested. A
 * fresh edge does not know the energy of the quarter it starts in (its fail safe: the safe current,
 * here `pause`, docs/control.md §4), so the test waits for the next clock quarter (0–15 min;
 * meanwhile it checks the fail safe), then observes the first three minutes of that quarter, whose budget is known from
 * its first second, and checks at every snapshot:
 *   - the budget is the meter's: `used_kwh` = the meter's import counters now − at the quarter's
 *     start (the last telegram before it), computed here from the telegrams, and
 *     `used + allowed × remaining = target × 900 s` (so the quarter ends at most at the target if the
 *     import keeps to `allowed`);
 *   - the set-point follows it: what the charger is told is never more than the allowed power less
 *     the house's load (one current step of slack, or the charger's minimum), and what the car draws
 *     (the NRGkick's own `ev_power_w`) follows the set-point;
 *   - the loop is closed: the meter's import is at least what the car draws;
 *   - the car charges: the energy it got in the quarter (its session counter) is above 0.
 * Worst case about 19 minutes of wall time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/core/snapshot.js';
import { childListening, childProcesses, waitForLines } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';

const QUARTER_MS = 900_000;
const OBSERVE_S = 180;
const TARGET_W = 2500;

const procs = childProcesses({ KWARTIER_LOG_LEVEL: 'info' });
const dir = mkdtempSync(join(tmpdir(), 'kw-loop-'));
afterAll(async () => {
  await procs.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const importOf = (s: Snapshot): number => (s.grid_import_t1_kwh ?? Number.NaN) + (s.grid_import_t2_kwh ?? Number.NaN);
const car = (s: Snapshot) => s.devices?.car?.fields ?? {};

// Opt-in (KW_TEST_CONTROL_LOOP=1): a fresh edge does not know the energy of the quarter it starts
// in, so the test waits for the next clock quarter (up to 15 minutes) before it observes three
// minutes of it; too long for every CI run. Reading the meter's running quarter average
// (1-0:1.4.0) at start would let the edge decide from its first second and the test shrink.
describe.skipIf(process.env.KW_TEST_CONTROL_LOOP !== '1')(
  'kwartier edge: the closed loop (P1 import includes the charger)',
  () => {
    it(
      'keeps the quarter on its budget and charges the car',
      async () => {
        const [p1, kick] = [await freePort(), await freePort()];
        const sim = procs.start([
          'simulate',
          '--device',
          'dsmr',
          `127.0.0.1:${p1}`,
          '--device',
          'nrgkick',
          `127.0.0.1:${kick}`,
          '--pv-peak-w',
          '0',
          '--battery-kwh',
          '0',
        ]);
        await childListening(sim, /nrgkick: .* on 127\.0\.0\.1:\d+/);
        const config = join(dir, 'edge.yaml');
        writeFileSync(
          config,
          [
            'device_id: loop-home',
            'devices:',
            `  - {name: p1, type: dsmr, tcp: "127.0.0.1:${p1}"}`,
            `  - {name: car, type: nrgkick, host: 127.0.0.1, port: ${kick}, poll_interval_s: 1, control_interval_s: 2, settle_ms: 200, control: true}`,
            'control:',
            `  capacity_target_w: ${TARGET_W}`,
            '  chargers:',
            // Paused while the quarter's energy is unknown (a fresh start): at the default safe
            // current, 6 A on three phases, the car would draw 4.1 kW for the rest of the quarter the
            // edge started in, and that quarter could raise the month's peak above the target.
            '    car: {mode: max_under_peak, phase_switching: true, min_on_s: 60, min_off_s: 60, safe_current_a: pause}',
            '',
          ].join('\n'),
        );
        const edge = procs.start(['edge', '--config', config, '--console']);
        const startedAt = Date.now();
        const boundary = Math.floor(startedAt / QUARTER_MS) * QUARTER_MS + QUARTER_MS;
        const end = boundary + OBSERVE_S * 1000;
        const lines = await waitForLines(
          edge,
          (ls) => {
            const last = ls.at(-1);
            return last?.startsWith('{') === true && Date.parse(JSON.parse(last).timestamp) >= end;
          },
          end - Date.now() + 60_000,
        );
        const snaps = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Snapshot);
        const before = snaps.filter((s) => Date.parse(s.timestamp) < boundary);
        const during = snaps.filter((s) => Date.parse(s.timestamp) >= boundary && Date.parse(s.timestamp) < end);

        // ---- before the boundary: the quarter's energy is unknown, the charger at its safe current ----
        expect(before.length).toBeGreaterThan(5);
        // (Unless the edge started in the first seconds of a quarter: then it knows that one too.)
        const knewStart = startedAt % QUARTER_MS < 15_000;
        const settled = before.filter((s) => Date.parse(s.timestamp) >= startedAt + 15_000 && !knewStart);
        for (const s of settled) {
          expect(s.control?.status, s.timestamp).toBe('unknown');
          expect(s.control?.used_kwh).toBeNull();
          expect(s.control?.chargers.car?.charge).toBe(false);
          expect(car(s).ev_power_w, s.timestamp).toBe(0);
        }

        // ---- the observed quarter ----
        const base = importOf(before.at(-1) as Snapshot);
        expect(Date.now() - Date.parse((before.at(-1) as Snapshot).timestamp)).toBeGreaterThan(0);
        const ok = during.filter((s) => s.control?.status === 'ok');
        expect(ok.length).toBeGreaterThan(OBSERVE_S * 0.9);
        let followed = 0;
        for (const [i, s] of ok.entries()) {
          const c = s.control!;
          const where = `${s.timestamp}: ${JSON.stringify(c)}`;
          expect(c.quarter_start, where).toBe(new Date(boundary).toISOString());
          // The target, not a month's peak: the quarter the edge started in did not raise it.
          expect(c.target_w, where).toBe(TARGET_W);
          expect(c.target_source, where).not.toBe('month_peak');
          // The budget is the meter's: the counters have 1 Wh steps, the budget rounds to 1 Wh.
          expect(Math.abs((c.used_kwh as number) - (importOf(s) - base)), where).toBeLessThanOrEqual(0.0015);
          const budgetJ = (c.used_kwh as number) * 3.6e6 + (c.allowed_w as number) * c.remaining_s;
          expect(Math.abs(budgetJ - TARGET_W * 900), where).toBeLessThanOrEqual(0.001 * 3.6e6 + c.remaining_s);
          expect(c.used_kwh as number, where).toBeLessThan(c.budget_kwh);
          // The loop is closed: the car's draw is in the meter's import. The meter and the charger
          // are read at different instants, so this holds once the car's draw has been steady for a
          // few readings (not in the second after it changed).
          const ev = car(s).ev_power_w as number;
          const grid = s.grid_power_w as number;
          const steady = i >= 3 && [1, 2, 3].every((k) => car(ok[i - k] as Snapshot).ev_power_w === ev);
          if (steady) expect(grid, where).toBeGreaterThanOrEqual(ev);
          // The set-point follows the budget: at most the allowed power less the house, or the minimum.
          const sp = c.chargers.car!;
          const house = grid - ev;
          if (steady && sp.charge && sp.current_a > 6) {
            expect(sp.setpoint_w, where).toBeLessThanOrEqual((c.allowed_w as number) - house + 230 * sp.phases + 150);
          }
          // What the car draws follows the set-point (a few seconds after each change).
          const prev = ok[i - 8];
          if (prev && JSON.stringify(prev.control!.chargers.car) === JSON.stringify(sp)) {
            expect(Math.abs(ev - sp.setpoint_w), where).toBeLessThanOrEqual(1);
            followed++;
          }
        }
        expect(followed).toBeGreaterThan(ok.length / 2);
        // Under 2.5 kW the 3-phase minimum (4,140 W) does not fit, the 1-phase one does: the charger
        // was switched to one phase and given more than its minimum, as the budget allowed.
        expect(ok.some((s) => s.control!.chargers.car!.phases === 1 && s.control!.chargers.car!.current_a > 6)).toBe(
          true,
        );
        // The car charges: its energy rose over the observed minutes.
        const first = car(ok[0] as Snapshot).ev_session_kwh as number;
        const last = car(ok.at(-1) as Snapshot).ev_session_kwh as number;
        expect(last - first).toBeGreaterThan(0);
        expect(ok.some((s) => s.control!.chargers.car!.charge && (car(s).ev_power_w as number) > 0)).toBe(true);
        const end_ = ok.at(-1)!.control!;
        console.log(
          `closed loop: ${ok.length} snapshots in ${end_.quarter_start}, used ${end_.used_kwh} of ${end_.budget_kwh} kWh with ${end_.remaining_s} s left (allowed ${end_.allowed_w} W), car +${(last - first).toFixed(3)} kWh, set-point ${JSON.stringify(end_.chargers.car)}`,
        );
      },
      20 * 60_000,
    );
  },
);
