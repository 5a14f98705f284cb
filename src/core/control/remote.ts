/**
 * Settings from the server (docs/control.md, "From the server"), pure: the server keeps the settings
 * it wants as an overlay of the edge's own `control:` section (core/wire-control.ts ControlWant: only
 * the keys it changes), changes it key by key (a null puts a key back to the edge config's), and the
 * edge lays it over its config before parseControlConfig checks the result as it checks the file.
 */
import { ConfigError } from '../errors.js';
import type { ControlApplied, ControlChargerWant, ControlWant } from '../wire-control.js';
import type { ControlSettings } from './config.js';

/** A change of the wanted settings (the body of PUT /api/v1/control/{id}): null = the edge config's. */
export interface ControlChange {
  capacity_target_w?: number | 'follow_peak' | null;
  dry_run?: boolean | null;
  chargers?: Record<
    string,
    { mode?: ControlChargerWant['mode'] | null; energy_kwh?: number | null; deadline?: string | null } | null
  >;
}

/** `want` with `change` applied: each key given replaces, each null removes (the edge config's again). */
export function mergeWant(want: ControlWant, change: ControlChange): ControlWant {
  const out: ControlWant = { ...want };
  if (change.capacity_target_w === null) delete out.capacity_target_w;
  else if (change.capacity_target_w !== undefined) out.capacity_target_w = change.capacity_target_w;
  if (change.dry_run === null) delete out.dry_run;
  else if (change.dry_run !== undefined) out.dry_run = change.dry_run;
  if (change.chargers) {
    const chargers: Record<string, ControlChargerWant> = { ...(want.chargers ?? {}) };
    for (const [name, c] of Object.entries(change.chargers)) {
      if (c === null) {
        delete chargers[name];
        continue;
      }
      const one: Record<string, unknown> = { ...(chargers[name] ?? {}) };
      for (const [k, v] of Object.entries(c)) {
        if (v === null) delete one[k];
        else if (v !== undefined) one[k] = v;
      }
      if (Object.keys(one).length === 0) delete chargers[name];
      else chargers[name] = one as ControlChargerWant;
    }
    if (Object.keys(chargers).length === 0) delete out.chargers;
    else out.chargers = chargers;
  }
  return out;
}

/** What the wanted settings cannot be on their own, naming the key; null when they can. */
export function checkWant(want: ControlWant): string | null {
  for (const [name, c] of Object.entries(want.chargers ?? {})) {
    if (c.mode === 'deadline' && (c.energy_kwh === undefined || c.deadline === undefined))
      return `chargers.${name}: mode deadline needs energy_kwh and deadline (HH:MM)`;
  }
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The edge's `control:` section (as parsed from YAML) with the wanted settings laid over it, to be
 * checked by parseControlConfig. A charger the section does not name is an error naming it: the
 * server changes how a charger is driven, never which devices are.
 */
export function overlayControlConfig(base: unknown, want: ControlWant): Record<string, unknown> {
  const doc: Record<string, unknown> = isObject(base) ? { ...base } : {};
  if (want.capacity_target_w !== undefined) doc.capacity_target_w = want.capacity_target_w;
  if (want.dry_run !== undefined) doc.dry_run = want.dry_run;
  if (want.chargers) {
    const chargers: Record<string, unknown> = isObject(doc.chargers) ? { ...doc.chargers } : {};
    for (const [name, c] of Object.entries(want.chargers)) {
      const own = chargers[name];
      if (own === undefined) {
        const names = Object.keys(chargers);
        throw new ConfigError(
          `chargers.${name}: no charger named ${name} in the edge's control: section (${names.join(', ') || 'none'})`,
        );
      }
      chargers[name] = { ...(isObject(own) ? own : {}), ...c };
    }
    doc.chargers = chargers;
  }
  return doc;
}

const hhmm = (minutes: number | null): string | null =>
  minutes === null
    ? null
    : `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** The settings as the edge applies them, in the wire's form (control_state `settings`). */
export function appliedView(s: ControlSettings): ControlApplied {
  return {
    capacity_target_w: s.targetW ?? 'follow_peak',
    dry_run: s.dryRun,
    chargers: Object.fromEntries(
      s.chargers.map((c) => [
        c.name,
        {
          mode: c.mode,
          energy_kwh: c.energyKwh,
          deadline: hhmm(c.deadlineMinutes),
          min_current_a: c.minCurrentA,
          max_current_a: c.maxCurrentA,
          phases: c.phases,
        },
      ]),
    ),
    batteries: Object.fromEntries(
      s.batteries.map((b) => [
        b.name,
        {
          reserve_soc_pct: b.reserveSocPct,
          hold_soc_pct: b.holdSocPct,
          max_charge_w: b.maxChargeW,
          max_discharge_w: b.maxDischargeW,
        },
      ]),
    ),
  };
}
