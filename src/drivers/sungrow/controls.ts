/**
 * The controls a Sungrow SH offers (control.md §2.1): the spec the definition lists, the register
 * row each writes and how enum values map onto codes. Data only: the definition lists the specs
 * without loading the driver.
 */
import type { ControlSpec } from '../control.js';
import { SUNGROW_EMS_MODES, SUNGROW_FORCED_COMMANDS, type SungrowField } from './registers.js';

export interface SungrowControl {
  spec: ControlSpec;
  field: SungrowField;
  codes?: Readonly<Record<string, number>>;
}

export const SUNGROW_CONTROL_TABLE: readonly SungrowControl[] = [
  {
    spec: {
      name: 'ems_mode',
      kind: 'enum',
      values: Object.keys(SUNGROW_EMS_MODES),
      description: 'EMS mode (holding 13050); forced (dis)charge needs forced + battery_command',
    },
    field: 'ems_mode',
    codes: SUNGROW_EMS_MODES,
  },
  {
    spec: {
      name: 'battery_command',
      kind: 'enum',
      values: Object.keys(SUNGROW_FORCED_COMMANDS),
      description: 'Forced charge/discharge command (holding 13051), acts in EMS mode forced',
    },
    field: 'battery_forced_command',
    codes: SUNGROW_FORCED_COMMANDS,
  },
  {
    spec: {
      name: 'battery_forced_power',
      kind: 'number',
      min: 0,
      description: 'Forced (dis)charge power (holding 13052); only with sungrow.forced_power_unit set (W or %)',
    },
    field: 'battery_forced_power',
  },
  {
    spec: {
      name: 'battery_max_soc_pct',
      kind: 'number',
      unit: '%',
      min: 0,
      max: 100,
      description: 'Max SoC (holding 13058)',
    },
    field: 'battery_max_soc_pct',
  },
  {
    spec: {
      name: 'battery_min_soc_pct',
      kind: 'number',
      unit: '%',
      min: 0,
      max: 100,
      description: 'Min SoC (holding 13059)',
    },
    field: 'battery_min_soc_pct',
  },
  {
    spec: {
      name: 'export_limit_w',
      kind: 'number',
      unit: 'W',
      min: 0,
      description: 'Export power limit (holding 13074)',
    },
    field: 'export_limit_w',
  },
  {
    spec: {
      name: 'backup_reserved_soc_pct',
      kind: 'number',
      unit: '%',
      min: 0,
      max: 100,
      description: 'Reserved SoC for backup (holding 13100); only with sungrow.reserved_soc_scale set',
    },
    field: 'backup_reserved_soc_pct',
  },
  {
    spec: {
      name: 'battery_max_charge_power_w',
      kind: 'number',
      unit: 'W',
      min: 0,
      description: 'Battery max charge power (holding 33047, steps of 10 W)',
    },
    field: 'battery_max_charge_power_w',
  },
  {
    spec: {
      name: 'battery_max_discharge_power_w',
      kind: 'number',
      unit: 'W',
      min: 0,
      description: 'Battery max discharge power (holding 33048, steps of 10 W; 10 W holds the battery)',
    },
    field: 'battery_max_discharge_power_w',
  },
];

/** The controls a Sungrow SH offers (for the driver definition). */
export const SUNGROW_CONTROLS: readonly ControlSpec[] = SUNGROW_CONTROL_TABLE.map((c) => c.spec);
