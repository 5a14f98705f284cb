/**
 * Value decoders: each turns the current line of a LineReader into one value of the parse output.
 * The `…At` functions read a range [a, b) (a group of a multi-group line); the decoders named after
 * a kind (energyKwh, powerW, volts, …) read the line's first group and are what obis-table.ts puts
 * in its rows. A malformed value, or one in a unit the kind does not take, gives null.
 */
import type { LineReader } from './line-reader.js';
import type { OtherValue } from './telegram.js';

/** Reads the current line's value (what obis-table.ts's rows name). */
export type Decoder<T> = (line: LineReader) => T;

/** Energy in kWh from kWh, Wh or MWh (no unit: kWh). */
export function energyKwhAt(line: LineReader, a: number, b: number): number | null {
  if (!line.readNumber(a, b)) return null;
  const decimals = line.decimals;
  if (line.noUnit(b) || line.unitIs(b, 'kWh')) return line.scaled(-decimals);
  if (line.unitIs(b, 'Wh')) return line.scaled(-decimals - 3);
  if (line.unitIs(b, 'MWh')) return line.scaled(3 - decimals);
  return null;
}

/** Power in W from kW, W or MW (no unit: kW, as DSMR sends it). */
export function powerWAt(line: LineReader, a: number, b: number): number | null {
  if (!line.readNumber(a, b)) return null;
  const decimals = line.decimals;
  if (line.noUnit(b) || line.unitIs(b, 'kW')) return line.scaled(3 - decimals);
  if (line.unitIs(b, 'W')) return line.scaled(-decimals);
  if (line.unitIs(b, 'MW')) return line.scaled(6 - decimals);
  return null;
}

/** A value in one fixed unit (V, A, s) or without unit; another unit gives null. */
export function plainAt(line: LineReader, a: number, b: number, unit: string): number | null {
  if (!line.readNumber(a, b)) return null;
  if (line.noUnit(b) || line.unitIs(b, unit)) return line.value();
  return null;
}

/** A whole number without unit. */
export function integerAt(line: LineReader, a: number, b: number): number | null {
  if (!line.readNumber(a, b) || !line.noUnit(b) || line.decimals !== 0) return null;
  return line.mantissa;
}

/** The text as sent; null when empty. */
export function textAt(line: LineReader, a: number, b: number): string | null {
  return b > a ? line.text.slice(a, b) : null;
}

export function energyKwh(line: LineReader): number | null {
  return energyKwhAt(line, line.valueStart, line.valueEnd);
}

export function powerW(line: LineReader): number | null {
  return powerWAt(line, line.valueStart, line.valueEnd);
}

export function volts(line: LineReader): number | null {
  return plainAt(line, line.valueStart, line.valueEnd, 'V');
}

export function amperes(line: LineReader): number | null {
  return plainAt(line, line.valueStart, line.valueEnd, 'A');
}

export function integer(line: LineReader): number | null {
  return integerAt(line, line.valueStart, line.valueEnd);
}

export function text(line: LineReader): string | null {
  return textAt(line, line.valueStart, line.valueEnd);
}

/** Text where the line's presence matters even when empty (0-0:96.1.4 says Belgium): '' then. */
export function textOrEmpty(line: LineReader): string {
  return textAt(line, line.valueStart, line.valueEnd) ?? '';
}

export function timestamp(line: LineReader): string | null {
  return line.timestamp(line.valueStart, line.valueEnd);
}

/** 0-0:96.14.0: 1 or 2; anything else is null. */
export function tariff(line: LineReader): 1 | 2 | null {
  const t = integer(line);
  return t === 1 || t === 2 ? t : null;
}

/**
 * A line the tables do not map, kept as sent: its OBIS code (without a `*255` suffix) and its value,
 * a number when it has a unit or decimals, else the text; several groups as sent (see OtherValue).
 */
export function otherValue(line: LineReader): OtherValue {
  const { text: s, start, open, valueStart, valueEnd } = line;
  const star = s.indexOf('*', start);
  const obis = s.slice(start, star >= 0 && star < open ? star : open);
  if (line.opensGroupAfter(valueEnd)) {
    return { obis, value: s.slice(open, line.endOfLastGroup(open)), unit: null };
  }
  if (valueEnd === valueStart) return { obis, value: null, unit: null };
  if (line.readNumber(valueStart, valueEnd) && (!line.noUnit(valueEnd) || line.decimals > 0)) {
    return { obis, value: line.value(), unit: line.unit(valueEnd) };
  }
  return { obis, value: s.slice(valueStart, valueEnd), unit: null };
}
