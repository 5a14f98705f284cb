/**
 * M-Bus devices (gas, water, heat meters) on channels n ≥ 1 (`0-n:C.D.E`): what their lines say,
 * collected per channel while the telegram is read (the decoders obis-table.ts's M-Bus rows name),
 * then resolved once the country is known: which register holds the reading, which type a device
 * without 24.1.0 is, and which device gives the telegram's gas, water and heat.
 */
import { textAt } from './decoders.js';
import type { LineReader } from './line-reader.js';
import type { Country, MbusDevice } from './telegram.js';

/** A reading `(ts)(value*unit)`. */
export interface Reading {
  value: number | null;
  unit: string | null;
  ts: string | null;
}

/** The unit and time of a DSMR 2.2/3 reading (0-n:24.3.0), whose value follows on the next line. */
export interface LegacyHeader {
  unit: string | null;
  ts: string | null;
}

/** What the lines of one channel said. */
export interface MbusChannel {
  channel: number;
  /** 0-n:24.1.0 */
  type: number | null;
  /** 0-n:96.1.0 or 0-n:96.1.1 */
  id: string | null;
  /** 0-n:24.2.1 (NL gas, BE water) */
  reading1: Reading | null;
  /** 0-n:24.2.3 (BE gas) */
  reading3: Reading | null;
  /** 0-n:24.3.0 and its value line (DSMR 2.2/3) */
  legacy: Reading | null;
  legacyHeader: LegacyHeader | null;
  /** 0-n:24.4.0 */
  valve: number | null;
}

/** The channel's entry in `list`, added (in telegram order) when it is new. */
export function mbusChannel(list: MbusChannel[], channel: number): MbusChannel {
  for (const d of list) if (d.channel === channel) return d;
  const d: MbusChannel = {
    channel,
    type: null,
    id: null,
    reading1: null,
    reading3: null,
    legacy: null,
    legacyHeader: null,
    valve: null,
  };
  list.push(d);
  return d;
}

/** Reading groups `(ts)(value*unit)`; the order of the two may be swapped and S/W may be missing. */
export function reading(line: LineReader): Reading {
  const n = line.splitGroups(line.open);
  let ts: string | null = null;
  let value: number | null = null;
  let unit: string | null = null;
  for (let i = 0; i < n; i++) {
    const a = line.groupStart(i);
    const b = line.groupEnd(i);
    const key = line.timestampKey(a, b);
    if (key >= 0) {
      if (ts === null) ts = line.timestampIso(key, a, b);
    } else if (value === null && line.readNumber(a, b)) {
      value = line.value();
      unit = line.unit(b);
    }
  }
  return { value, unit, ts };
}

/** 0-n:24.3.0 `(ts)(period)(?)(?)(0-n:24.2.1)(unit)`: the value comes on the next line. */
export function legacyHeader(line: LineReader): LegacyHeader {
  const n = line.splitGroups(line.open);
  const ts = n > 0 ? line.timestamp(line.groupStart(0), line.groupEnd(0)) : null;
  const unit = n >= 6 ? textAt(line, line.groupStart(5), line.groupEnd(5)) : null;
  return { unit, ts };
}

/** The line after a 24.3.0 line, `(value)`: completes the channel's DSMR 2.2/3 reading. */
export function legacyValue(line: LineReader, device: MbusChannel): void {
  if (line.splitGroups(line.start) === 0) return;
  if (!line.readNumber(line.groupStart(0), line.groupEnd(0))) return;
  device.legacy = { value: line.value(), unit: device.legacyHeader?.unit ?? null, ts: device.legacyHeader?.ts ?? null };
}

/**
 * The devices in channel order. The reading comes from 24.2.3 in Belgium (gas not corrected for
 * temperature) and 24.2.1 elsewhere, the other one or 24.3.0 when it is missing.
 */
export function resolveMbus(list: MbusChannel[], country: Country): MbusDevice[] {
  const out: MbusDevice[] = [];
  for (let i = 1; i < list.length; i++) {
    if ((list[i - 1] as MbusChannel).channel > (list[i] as MbusChannel).channel) {
      list.sort((x, y) => x.channel - y.channel);
      break;
    }
  }
  for (const d of list) {
    const r = country === 'be' ? (d.reading3 ?? d.reading1 ?? d.legacy) : (d.reading1 ?? d.reading3 ?? d.legacy);
    const obis = r === null ? null : r === d.reading3 ? '24.2.3' : r === d.reading1 ? '24.2.1' : '24.3.0';
    out.push({
      channel: d.channel,
      device_type: d.type ?? (r === null ? null : inferredType(r, obis, country)),
      equipment_id: d.id,
      value: r?.value ?? null,
      unit: r?.unit ?? null,
      timestamp: r?.ts ?? null,
      obis,
      valve_position: d.valve,
    });
  }
  return out;
}

/** The type of a device without 24.1.0, from the unit and the register (BE: water on 24.2.1, gas on 24.2.3). */
function inferredType(r: Reading, obis: string | null, country: Country): number {
  if (r.unit === 'GJ' || r.unit === 'MJ' || r.unit === 'kWh' || r.unit === 'MWh') return 4;
  if (country === 'be' && obis === '24.2.1') return 7;
  return 3;
}

/** The first device of a type with a stamped reading (an empty channel has a placeholder time), else with a value. */
export function pickDevice(devices: MbusDevice[], type: number, unit: string): MbusDevice | null {
  let fallback: MbusDevice | null = null;
  for (const d of devices) {
    if (d.device_type !== type || d.value === null || (d.unit !== null && d.unit !== unit)) continue;
    if (d.timestamp !== null) return d;
    fallback ??= d;
  }
  return fallback;
}

const TO_GJ: Record<string, number> = { GJ: 1, MJ: 0.001, kWh: 0.0036, MWh: 3.6 };

/** The first heat meter (type 4 or 12) with a reading in an energy unit, in GJ. */
export function pickHeat(devices: MbusDevice[]): { gj: number; timestamp: string | null } | null {
  for (const d of devices) {
    if (d.device_type !== 4 && d.device_type !== 12) continue;
    const f = d.unit === null ? undefined : TO_GJ[d.unit];
    if (d.value === null || f === undefined) continue;
    return { gj: f === 1 ? d.value : d.value * f, timestamp: d.timestamp };
  }
  return null;
}
