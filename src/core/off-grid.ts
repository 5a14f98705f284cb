/**
 * Whether a home is off-grid, from its latest snapshot (or the API's realtime answer): the dashboard
 * and `kwartier top` leave the grid out of such a home's power flow.
 */

/** The snapshot's grid fields: all null on a site without a grid meter. */
const GRID_FIELDS = [
  'grid_power_w',
  'grid_import_t1_kwh',
  'grid_import_t2_kwh',
  'grid_export_t1_kwh',
  'grid_export_t2_kwh',
] as const;

/**
 * The device types whose main role is `grid_meter` (src/drivers/registry.ts; a test keeps the two
 * lists equal): a home with one of them has a grid, even before its meter's first reading.
 */
export const GRID_METER_TYPES: readonly string[] = ['dsmr', 'homewizard'];

/** What isOffGrid reads: a snapshot, or an API answer carrying its fields. */
export type OffGridInput = Partial<Record<(typeof GRID_FIELDS)[number], number | null>> & {
  devices?: Readonly<
    Record<string, { type: string; stale: boolean; fields: Readonly<Record<string, unknown>> }>
  > | null;
};

/**
 * True when the home is off-grid: its snapshot's grid fields are null, none of its devices is a
 * grid meter, and none measures the grid. A device's fields list every field it reports, null
 * while it is stale, so a grid meter that is down still names its `grid_*` fields and the home is
 * not taken for off-grid; a fresh device whose `grid_*` fields are null (an inverter without its
 * own meter) measures no grid. A snapshot without `devices` (a single-meter home of the legacy
 * config) is never off-grid.
 */
export function isOffGrid(s: OffGridInput | null | undefined): boolean {
  if (!s) return false;
  if (GRID_FIELDS.some((k) => s[k] !== null && s[k] !== undefined)) return false;
  const devices = s.devices ? Object.values(s.devices) : [];
  if (devices.length === 0) return false;
  if (devices.some((d) => GRID_METER_TYPES.includes(d.type))) return false;
  return !devices.some((d) =>
    Object.entries(d.fields).some(([k, v]) => k.startsWith('grid_') && (d.stale || v !== null)),
  );
}
