/**
 * A walked SunSpec chain as a register table for the shared poller (../modbus/poller.ts): each point
 * a driver wants, of each model instance it knows, becomes a row at the address the chain puts it
 * (model address + the point's offset), only when it lies inside the L the device reported. Scale
 * factors are rows of their own (`scaleFrom`), so a value and its SF are decoded from the same
 * cycle's read. The ID and L of each instance and the common model's strings are read once per
 * connection (`poll: 'start'`): the identity that tells whether the chain is still the one walked.
 *
 * SunSpec's own types ride on the table's integer types: float32 is read as u32 and its bits are
 * turned into the float here, accumulators whose value is 0 mean "not implemented" and become null
 * (devices.md §3.3), and the table's markers are SunSpec's (int16 0x8000, uint16 0xFFFF, …).
 */
import { MARKERS_SUNSPEC, type RegisterRow, type RegisterType } from '../modbus/register-table.js';
import type { Chain } from './chain.js';
import type { ModelLayout, PointSpec, PointType } from './models.js';

export type FieldValue = number | string | null;

/** A model of the chain whose layout is known. */
export interface ModelInstance {
  /** Its position in the chain (0 = the first model after the marker). */
  index: number;
  id: number;
  /** Wire address of its ID register. */
  address: number;
  /** L as the device reports it. */
  length: number;
  layout: ModelLayout;
  /** Repeating groups (160's modules) that fit in L. */
  repeats: number;
}

/** One instance's decoded points, by point name (`module2.DCW` for a repeating group's point). */
export interface ModelValues {
  instance: ModelInstance;
  values: ReadonlyMap<string, FieldValue>;
}

/** Which points of a layout a driver reads (their scale factors are added). */
export type PointSelector = (layout: ModelLayout) => readonly string[];

export interface SunSpecTable {
  rows: RegisterRow[];
  instances: ModelInstance[];
  markers: typeof MARKERS_SUNSPEC;
}

const ROW_TYPE: Readonly<Record<Exclude<PointType, 'pad'>, RegisterType>> = {
  u16: 'u16',
  enum16: 'u16',
  bits16: 'u16',
  acc16: 'u16',
  s16: 's16',
  sf: 's16',
  u32: 'u32',
  acc32: 'u32',
  enum32: 'u32',
  bits32: 'u32',
  f32: 'u32',
  s32: 's32',
  u64: 'u64',
  acc64: 'u64',
  s64: 's64',
  str: 'utf8',
};

const SIZE: Readonly<Record<RegisterType, number>> = { u16: 1, s16: 1, u32: 2, s32: 2, u64: 4, s64: 4, utf8: 0 };

/** The row key of a point of an instance: `3:W`, `5:module2.DCW`. */
export function pointKey(index: number, point: string): string {
  return `${index}:${point}`;
}

function pointSize(p: PointSpec): number {
  if (p[2] === 'pad') return 1;
  const t = ROW_TYPE[p[2]];
  return t === 'utf8' ? Number(p[3] ?? 1) : SIZE[t];
}

/** The instances of the chain with a known layout, with how many repeating groups fit. */
export function instancesOf(chain: Chain, layouts: readonly ModelLayout[]): ModelInstance[] {
  const out: ModelInstance[] = [];
  chain.models.forEach((m, index) => {
    const layout = layouts.find((l) => l.ids.includes(m.id));
    if (!layout) return;
    const r = layout.repeat;
    const repeats = r ? Math.max(0, Math.floor((m.length + 2 - r.start) / r.size)) : 0;
    out.push({ index, id: m.id, address: m.address, length: m.length, layout, repeats });
  });
  return out;
}

/** Points with their name as keyed (`module2.DCW`) and their offset from the model start. */
function expand(inst: ModelInstance): Array<{ name: string; offset: number; spec: PointSpec; sf?: string }> {
  const out: Array<{ name: string; offset: number; spec: PointSpec; sf?: string }> = [];
  // Offsets 0 and 1 are ID and L whatever a vendor's table calls them (OutBack: CC_DID, CC_Length).
  for (const p of inst.layout.points) {
    const name = p[1] === 0 ? 'ID' : p[1] === 1 ? 'L' : p[0];
    out.push({ name, offset: p[1], spec: p, ...sfOf(p) });
  }
  const r = inst.layout.repeat;
  if (r) {
    for (let k = 1; k <= inst.repeats; k++) {
      const base = r.start + (k - 1) * r.size;
      for (const p of r.points) out.push({ name: `${r.name}${k}.${p[0]}`, offset: base + p[1], spec: p, ...sfOf(p) });
    }
  }
  return out;
}

function sfOf(p: PointSpec): { sf?: string } {
  return typeof p[3] === 'string' ? { sf: p[3] } : {};
}

/** The base name of a point key's point (`module2.DCW` → `DCW`), to match a selector's names. */
function baseName(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? name : name.slice(dot + 1);
}

/**
 * The register table for the wanted points of every known instance. Points past the reported L are
 * left out (never read beyond a model), as are strings the caller does not want.
 */
export function buildTable(chain: Chain, layouts: readonly ModelLayout[], wanted: PointSelector): SunSpecTable {
  const instances = instancesOf(chain, layouts);
  const rows: RegisterRow[] = [];
  for (const inst of instances) {
    const end = inst.address + 2 + inst.length;
    const points = expand(inst);
    const want = new Set(wanted(inst.layout));
    const keep = new Set<string>(['ID', 'L']);
    for (const p of points) {
      if (!want.has(baseName(p.name))) continue;
      keep.add(p.name);
      if (p.sf) keep.add(p.sf);
    }
    for (const p of points) {
      if (!keep.has(p.name) || p.spec[2] === 'pad') continue;
      const wire = inst.address + p.offset;
      if (wire + pointSize(p.spec) > end) continue;
      const type = ROW_TYPE[p.spec[2] as Exclude<PointType, 'pad'>];
      const identity = p.name === 'ID' || p.name === 'L' || type === 'utf8';
      const row: RegisterRow = {
        field: pointKey(inst.index, p.name),
        fn: 'holding',
        doc: wire + 1,
        wire,
        type,
        scale: 1,
        unit: '',
        ...(identity ? { poll: 'start' as const } : {}),
        ...(type === 'utf8' ? { count: pointSize(p.spec) } : {}),
        ...(SIZE[type] > 1 ? { words: 'msw' as const } : {}),
        ...(p.sf && keep.has(p.sf) && p.spec[2] !== 'f32' ? { scaleFrom: pointKey(inst.index, p.sf) } : {}),
        note: `SunSpec model ${inst.id} ${p.name} (+${p.offset})`,
      };
      rows.push(row);
    }
  }
  return { rows, instances, markers: MARKERS_SUNSPEC };
}

/** float32 bits (as an unsigned 32-bit integer) → its value; NaN → null (float32's "not implemented"). */
export function float32(bits: number): number | null {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  const f = view.getFloat32(0);
  if (!Number.isFinite(f)) return null;
  // float32 carries ~7 significant digits: 230.40001 is 230.4 on the device's display.
  return Number(f.toPrecision(7));
}

/**
 * Splits a cycle's values by instance and applies SunSpec's own rules: float32 from its bits,
 * an accumulator of 0 is "not implemented" (null).
 */
export function valuesByInstance(
  instances: readonly ModelInstance[],
  values: ReadonlyMap<string, FieldValue>,
): ModelValues[] {
  const per = new Map<number, Map<string, FieldValue>>();
  for (const inst of instances) per.set(inst.index, new Map());
  const typeOf = new Map<string, PointType>();
  for (const inst of instances) for (const p of expand(inst)) typeOf.set(pointKey(inst.index, p.name), p.spec[2]);
  for (const [key, v] of values) {
    const colon = key.indexOf(':');
    const index = Number(key.slice(0, colon));
    const name = key.slice(colon + 1);
    const type = typeOf.get(key);
    let value = v;
    if (typeof v === 'number' && type === 'f32') value = float32(v);
    else if (v === 0 && (type === 'acc16' || type === 'acc32' || type === 'acc64')) value = null;
    per.get(index)?.set(name, value);
  }
  return instances.map((instance) => ({ instance, values: per.get(instance.index) ?? new Map() }));
}
